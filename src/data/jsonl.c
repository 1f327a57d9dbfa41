/* jsonl.c - the `jsonl` supplier: one JSON object per non-blank line, one
 * float32 source per key of the first line (Kur's JSONLSupplier).
 *
 * Parameter: `source`, the file (positional: `- jsonl: data.jsonl`; ~ and
 * $VAR are expanded).  A value is a number, a boolean (0 or 1) or a
 * rectangular nested list of them; its shape, taken from the first line,
 * is the per-sample shape ((1,) for a scalar).  Every line must have the
 * same keys with values of the same shapes: a difference is an error
 * naming the file, the line and the key.  Kur reads lines lazily per
 * batch; kurc reads the file once, whole.  describe (build) parses the
 * first line only and counts the non-blank lines: a defect on a later
 * line is found by load (train).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/paths.h"
#include "config/yaml_load.h"
#include "data/supplier.h"
#include "data/supplier_util.h"

/* What reading one line's values can find wrong. */
enum fill_result {
    FILL_OK,
    FILL_RAGGED,     /* lists of different lengths or depths */
    FILL_NOT_NUMBER, /* a string, null or object among the numbers */
    FILL_RANGE,      /* NaN, an infinity or a number beyond float32's range */
    FILL_EMPTY,      /* an empty list */
    FILL_DEEP,       /* more than KURC_MAX_DIMS levels */
};

/* The shape v suggests, following the first item at every level. */
static enum fill_result infer_shape(const struct kurc_value *v, struct kurc_shape *shape) {
    shape->ndim = 0;
    while (v->kind == KURC_LIST) {
        if (v->u.list.len == 0)
            return FILL_EMPTY;
        if (shape->ndim == KURC_MAX_DIMS)
            return FILL_DEEP;
        shape->dim[shape->ndim++] = (int64_t)v->u.list.len;
        v = v->u.list.items[0];
    }
    return FILL_OK;
}

/* Checks that v has exactly `shape` from axis on and writes its numbers to
 * *out (advancing it), or only checks when out is NULL. */
static enum fill_result fill(const struct kurc_value *v, const struct kurc_shape *shape,
                             int axis, float **out) {
    if (axis == shape->ndim) {
        float x;
        switch (v->kind) {
        case KURC_BOOL:
            x = v->u.b ? 1.0f : 0.0f;
            break;
        case KURC_INT:
            x = (float)v->u.i;
            break;
        case KURC_FLOAT:
            if (!kurc_supplier_to_float(v->u.f, &x))
                return FILL_RANGE;
            break;
        case KURC_LIST:
            return FILL_RAGGED;
        default:
            return FILL_NOT_NUMBER;
        }
        if (out)
            *(*out)++ = x;
        return FILL_OK;
    }
    if (v->kind != KURC_LIST)
        return v->kind == KURC_BOOL || v->kind == KURC_INT || v->kind == KURC_FLOAT
                   ? FILL_RAGGED
                   : FILL_NOT_NUMBER;
    if ((int64_t)v->u.list.len != shape->dim[axis])
        return FILL_RAGGED;
    for (size_t i = 0; i < v->u.list.len; i++) {
        enum fill_result r = fill(v->u.list.items[i], shape, axis + 1, out);
        if (r != FILL_OK)
            return r;
    }
    return FILL_OK;
}

/* The sources being read: one per key of the first line. */
struct table {
    const char *path;
    const struct kurc_loc *where;
    size_t n_keys;
    struct {
        const char *name;       /* borrowed from the first line's tree */
        struct kurc_shape shape; /* from the first line; () for a scalar */
        int64_t numel;
        float *data;
    } *keys;
    int64_t rows, capacity;
    struct kurc_value *first; /* the first line, kept for its key names */
};

static enum kurc_status fill_error(const struct table *t, int line, const char *key,
                                   enum fill_result r, struct kurc_err *err) {
    static const char *const what[] = {
        [FILL_RAGGED] = "is not a rectangular list of numbers",
        [FILL_NOT_NUMBER] = "holds something other than numbers, booleans and lists",
        [FILL_RANGE] = "holds NaN, an infinity or a number beyond the float32 range",
        [FILL_EMPTY] = "holds an empty list",
        [FILL_DEEP] = "is nested too deeply",
    };
    return kurc_err_set(err, KURC_E_DATA, t->where, "jsonl: %s:%d: key '%s' %s", t->path, line,
                        key, what[r]);
}

/* Takes one source per key of the first line, with its shape (checked as
 * every line's values are), for t->capacity samples; no storage yet. */
static enum kurc_status key_shapes(struct table *t, struct kurc_value *obj, int line,
                                   struct kurc_err *err) {
    t->first = obj;
    t->n_keys = obj->u.map.len;
    t->keys = calloc(t->n_keys ? t->n_keys : 1, sizeof *t->keys);
    if (!t->keys)
        return kurc_err_set(err, KURC_E_DATA, t->where, "jsonl: out of memory reading %s",
                            t->path);
    for (size_t k = 0; k < t->n_keys; k++) {
        const struct kurc_pair *p = &obj->u.map.pairs[k];
        enum fill_result r = infer_shape(p->val, &t->keys[k].shape);
        if (r == FILL_OK)
            r = fill(p->val, &t->keys[k].shape, 0, NULL);
        if (r != FILL_OK)
            return fill_error(t, line, p->key, r, err);
        t->keys[k].name = p->key;
        t->keys[k].numel = kurc_shape_numel(&t->keys[k].shape);
        if (t->keys[k].numel > INT64_MAX / (int64_t)sizeof(float) / t->capacity)
            return kurc_err_set(err, KURC_E_DATA, t->where, "jsonl: %s: key '%s' is too large",
                                t->path, p->key);
    }
    return KURC_OK;
}

/* Sets up one source per key of the first line, with room for its values. */
static enum kurc_status start_table(struct table *t, struct kurc_value *obj, int line,
                                    struct kurc_err *err) {
    enum kurc_status st = key_shapes(t, obj, line, err);
    if (st)
        return st;
    for (size_t k = 0; k < t->n_keys; k++) {
        const char *name = t->keys[k].name;
        t->keys[k].data = malloc((size_t)(t->keys[k].numel * t->capacity) * sizeof(float));
        if (!t->keys[k].data)
            return kurc_err_set(err, KURC_E_DATA, t->where,
                                "jsonl: out of memory for key '%s' of %s (%lld samples)", name,
                                t->path, (long long)t->capacity);
    }
    return KURC_OK;
}

/* Adds one line's object as the next row. */
static enum kurc_status add_row(struct table *t, const struct kurc_value *obj, int line,
                                struct kurc_err *err) {
    for (size_t i = 0; i < obj->u.map.len; i++) {
        const char *key = obj->u.map.pairs[i].key;
        bool known = false;
        for (size_t k = 0; k < t->n_keys && !known; k++)
            known = strcmp(t->keys[k].name, key) == 0;
        if (!known)
            return kurc_err_set(err, KURC_E_DATA, t->where,
                                "jsonl: %s:%d: key '%s' is not on the first line", t->path, line,
                                key);
    }
    for (size_t k = 0; k < t->n_keys; k++) {
        const struct kurc_value *v = kurc_map_get(obj, t->keys[k].name);
        if (!v)
            return kurc_err_set(err, KURC_E_DATA, t->where, "jsonl: %s:%d: missing key '%s'",
                                t->path, line, t->keys[k].name);
        struct kurc_shape shape;
        enum fill_result r = infer_shape(v, &shape);
        if (r == FILL_OK)
            r = fill(v, &shape, 0, NULL);
        if (r != FILL_OK)
            return fill_error(t, line, t->keys[k].name, r, err);
        if (!kurc_shape_equal(&shape, &t->keys[k].shape)) {
            char got[96], want[96];
            kurc_shape_format(&shape, got, sizeof got);
            kurc_shape_format(&t->keys[k].shape, want, sizeof want);
            return kurc_err_set(err, KURC_E_DATA, t->where,
                                "jsonl: %s:%d: key '%s' has shape %s, but %s on the first line",
                                t->path, line, t->keys[k].name, got, want);
        }
        float *dst = t->keys[k].data + t->rows * t->keys[k].numel;
        fill(v, &shape, 0, &dst);
    }
    t->rows++;
    return KURC_OK;
}

/* Parses one line as a JSON object; parser errors are re-placed at the
 * line of the file. */
static enum kurc_status parse_line(const struct table *t, const char *text, size_t len, int line,
                                   struct kurc_value **obj, struct kurc_err *err) {
    enum kurc_status st = kurc_load_buffer(text, len, KURC_FORMAT_JSON, t->path, obj, err);
    if (st) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return kurc_err_set(err, KURC_E_DATA, t->where, "jsonl: %s:%d:%d: %s", t->path, line,
                            err->col, msg);
    }
    if (!*obj || (*obj)->kind != KURC_MAP) {
        const char *what = *obj ? kurc_kind_phrase((*obj)->kind) : "nothing";
        kurc_value_free(*obj);
        *obj = NULL;
        return kurc_err_set(err, KURC_E_DATA, t->where,
                            "jsonl: %s:%d: expected a JSON object, found %s", t->path, line, what);
    }
    return KURC_OK;
}

/* Reads every line into t, or when shapes_only the first line's keys and
 * shapes only, the count being the number of lines (later lines are
 * parsed and checked by load alone). */
static enum kurc_status read_lines(struct table *t, const char *text, size_t len,
                                   bool shapes_only, struct kurc_err *err) {
    const char *end = text + len, *p = text, *s, *e;
    int line = 0;
    while (kurc_supplier_next_line(&p, end, &s, &e, &line))
        t->capacity++;
    if (t->capacity == 0)
        return kurc_err_set(err, KURC_E_DATA, t->where, "jsonl: %s has no lines", t->path);
    p = text;
    line = 0;
    enum kurc_status st = KURC_OK;
    while (st == KURC_OK && kurc_supplier_next_line(&p, end, &s, &e, &line)) {
        struct kurc_value *obj;
        st = parse_line(t, s, (size_t)(e - s), line, &obj, err);
        if (st)
            break;
        if (shapes_only) {
            st = key_shapes(t, obj, line, err);
            t->rows = t->capacity;
            break;
        }
        if (!t->first) {
            st = start_table(t, obj, line, err);
            if (st)
                break;
        }
        st = add_row(t, obj, line, err);
        if (obj != t->first)
            kurc_value_free(obj);
    }
    return st;
}

/* load (every value) or, when shapes_only, describe (shapes and count). */
static enum kurc_status read_source(const struct kurc_value *params, const struct kurc_loc *where,
                                    bool shapes_only, struct kurc_dataset *out,
                                    struct kurc_err *err) {
    const char *source;
    enum kurc_status st = kurc_supplier_param_str(params, "jsonl", "source", &source, err);
    if (st)
        return st;
    if (!source)
        return kurc_err_set(err, KURC_E_CONFIG, where, "jsonl: needs a 'source' file");
    char *path = kurc_path_expand(source), *text;
    size_t len;
    st = kurc_supplier_read_file(path, "jsonl", where, &text, &len, err);
    if (st) {
        free(path);
        return st;
    }
    struct table t = {.path = path, .where = where};
    st = read_lines(&t, text, len, shapes_only, err);
    static const struct kurc_shape one = {.ndim = 1, .dim = {1}};
    for (size_t k = 0; k < t.n_keys; k++) {
        const struct kurc_shape *shape = t.keys[k].shape.ndim ? &t.keys[k].shape : &one;
        if (st == KURC_OK)
            st = kurc_dataset_add(out, t.keys[k].name, shape, t.rows, t.keys[k].data, path, err);
        else
            free(t.keys[k].data);
    }
    free(t.keys);
    kurc_value_free(t.first);
    free(text);
    free(path);
    return st;
}

static enum kurc_status jsonl_load(const struct kurc_value *params, const struct kurc_loc *where,
                                   struct kurc_dataset *out, struct kurc_err *err) {
    return read_source(params, where, false, out, err);
}

static enum kurc_status jsonl_describe(const struct kurc_value *params,
                                       const struct kurc_loc *where, struct kurc_dataset *out,
                                       struct kurc_err *err) {
    return read_source(params, where, true, out, err);
}

const struct kurc_supplier_type kurc_supplier_jsonl = {
    .component = KURC_SUPPLIER_SOURCE("jsonl"),
    .load = jsonl_load,
    .describe = jsonl_describe,
};
