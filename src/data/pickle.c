/* pickle.c - the `pickle` supplier (Kur's PickleSupplier, the data format
 * of Kur's tutorial): a Python pickle of a dict whose values are numpy
 * arrays or lists of numbers, one float32 source per key.
 *
 * Parameter: `source`, the file (positional: `- pickle: train.pkl`; ~ and
 * $VAR are expanded; relative to the working directory).  The file is read
 * with kurc's restricted reader (pickle_read.h), which never runs code:
 * keys are str (or bytes, from Python 2), and each value is
 *  - a numeric numpy array (bool, signed or unsigned integers, float32 or
 *    float64, either byte order, C or Fortran order), or
 *  - a list or tuple of numbers (int, float, bool), or of such lists, all
 *    of the same length at each level (as numpy.array would make a
 *    numeric array of it).
 * The first dimension counts samples and the rest is the per-sample shape;
 * a one-dimensional value of N numbers is N samples of shape (1,).  Every
 * other value (a string, None, a dict, a ragged list, a scalar, an object
 * array), NaN, an infinity or a number beyond float32's range, or a root
 * that is not a dict is an error naming the file and the key, where Kur
 * warned and went on.
 * Sources keep the dict's order.  describe (build) reads the pickle's
 * structure (kurc_pickle_scan): the bytes of numpy arrays are skipped, not
 * read, so a NaN in an array is found by load (train).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/memory.h"
#include "base/paths.h"
#include "base/xalloc.h"
#include "data/supplier.h"
#include "data/supplier_util.h"
#include "formats/pickle_read.h"

/* Numbers a pickle may make from lists, per byte of the file, beyond
 * PICKLE_BASE_NUMBERS: shared references let a few bytes repeat a list any
 * number of times, so a 2 KB file could ask for terabytes. */
#define PICKLE_NUMBERS_PER_BYTE 1024
#define PICKLE_BASE_NUMBERS (INT64_C(1) << 28)

struct reading {
    const char *path;
    const char *key;
    const struct kurc_loc *where;
    struct kurc_err *err;
    int64_t *budget; /* numbers the lists may still make */
    bool shapes_only; /* describe: an array's values are not converted */
};

static enum kurc_status bad(const struct reading *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum kurc_status bad(const struct reading *r, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return kurc_err_set(r->err, KURC_E_DATA, r->where, "pickle: %s: key '%s' %s", r->path, r->key,
                        what);
}

/* "None", "an int", "a str", ...: a pickled value's kind, for messages. */
static void a_kind(enum kurc_pickle_kind kind, char *buf, size_t size) {
    const char *name = kurc_pickle_kind_name(kind);
    snprintf(buf, size, "%s%s",
             kind == KURC_PICKLE_NONE  ? ""
             : kind == KURC_PICKLE_INT ? "an "
                                       : "a ",
             name);
}

/* --- numpy arrays ------------------------------------------------------- */

/* Element i of a numpy array's raw data as a double. */
static double array_item(const struct kurc_pickle *a, size_t i) {
    const struct kurc_pickle_dtype *d = &a->u.array.dtype;
    unsigned char b[8];
    memcpy(b, a->u.array.data + i * (size_t)d->itemsize, (size_t)d->itemsize);
    uint64_t bits = 0;
    for (int k = 0; k < d->itemsize; k++) /* assemble as the stored order says */
        bits |= (uint64_t)b[d->big_endian ? d->itemsize - 1 - k : k] << (8 * k);
    switch (d->kind) {
    case 'b':
        return bits != 0;
    case 'u':
        return (double)bits;
    case 'i': {
        int shift = 64 - 8 * d->itemsize; /* sign-extend */
        return (double)((int64_t)(bits << shift) >> shift);
    }
    default:
        if (d->itemsize == 4) {
            uint32_t u = (uint32_t)bits;
            float f;
            memcpy(&f, &u, sizeof f);
            return f;
        } else {
            double f;
            memcpy(&f, &bits, sizeof f);
            return f;
        }
    }
}

static enum kurc_status from_array(const struct reading *r, const struct kurc_pickle *a,
                                   struct kurc_shape *shape, int64_t *count, float **data) {
    if (!a->u.array.built)
        return bad(r, "holds a numpy array whose data was never given");
    if (a->u.array.ndim == 0)
        return bad(r, "holds a numpy scalar; its first dimension must count samples");
    if (a->u.array.ndim > KURC_MAX_DIMS + 1)
        return bad(r, "holds a numpy array of %d dimensions; at most %d are supported",
                   a->u.array.ndim, KURC_MAX_DIMS + 1);
    *count = a->u.array.dim[0];
    shape->ndim = a->u.array.ndim == 1 ? 1 : a->u.array.ndim - 1;
    shape->dim[0] = 1;
    for (int i = 1; i < a->u.array.ndim; i++)
        shape->dim[i - 1] = a->u.array.dim[i];
    if (r->shapes_only)
        return KURC_OK;
    size_t n = a->u.array.nbytes / (size_t)a->u.array.dtype.itemsize;
    *data = kurc_xmalloc((n ? n : 1) * sizeof **data);
    for (size_t i = 0; i < n; i++)
        if (!kurc_supplier_to_float(array_item(a, i), &(*data)[i])) {
            free(*data);
            *data = NULL;
            return bad(r,
                       "holds NaN, an infinity or a number beyond the float32 range (element "
                       "%zu)",
                       i);
        }
    return KURC_OK;
}

/* --- lists of numbers ---------------------------------------------------- */

static bool is_seq(const struct kurc_pickle *v) {
    return v->kind == KURC_PICKLE_LIST || v->kind == KURC_PICKLE_TUPLE;
}

static bool is_number(const struct kurc_pickle *v) {
    return v->kind == KURC_PICKLE_INT || v->kind == KURC_PICKLE_FLOAT ||
           v->kind == KURC_PICKLE_BOOL;
}

/* Checks that v has exactly dims[axis..ndim) and writes its numbers to
 * *out (advancing it).  On a mismatch, *found is the kind found where a
 * number was due (LIST when the lists are ragged). */
static bool fill(const struct kurc_pickle *v, const int64_t *dims, int ndim, int axis, float **out,
                 enum kurc_pickle_kind *found, bool *range) {
    if (axis == ndim) {
        if (!is_number(v)) {
            *found = is_seq(v) ? KURC_PICKLE_LIST : v->kind;
            return false;
        }
        double x = v->kind == KURC_PICKLE_INT     ? (double)v->u.i
                   : v->kind == KURC_PICKLE_FLOAT ? v->u.f
                                                  : (double)v->u.b;
        if (!kurc_supplier_to_float(x, *out)) {
            *range = true;
            return false;
        }
        (*out)++;
        return true;
    }
    if (!is_seq(v) || (int64_t)v->u.seq.len != dims[axis]) {
        *found = is_seq(v) || is_number(v) ? KURC_PICKLE_LIST : v->kind;
        return false;
    }
    for (size_t i = 0; i < v->u.seq.len; i++)
        if (!fill(v->u.seq.items[i], dims, ndim, axis + 1, out, found, range))
            return false;
    return true;
}

static enum kurc_status from_list(const struct reading *r, const struct kurc_pickle *v,
                                  struct kurc_shape *shape, int64_t *count, float **data) {
    /* the shape the first item at every level suggests */
    int64_t dims[KURC_MAX_DIMS + 1];
    int ndim = 0;
    int64_t numel = 1;
    for (const struct kurc_pickle *x = v; is_seq(x); x = x->u.seq.items[0]) {
        if (x->u.seq.len == 0)
            return bad(r, "holds an empty list");
        if (ndim == KURC_MAX_DIMS + 1)
            return bad(r, "holds lists nested more than %d deep", KURC_MAX_DIMS + 1);
        dims[ndim++] = (int64_t)x->u.seq.len;
        if (__builtin_mul_overflow(numel, (int64_t)x->u.seq.len, &numel) || numel > *r->budget)
            return bad(r, "holds lists of more numbers than the file may make (%lld at most: "
                          "shared references repeat a list without storing it again)",
                       (long long)*r->budget);
    }
    *r->budget -= numel;
    char what[160];
    snprintf(what, sizeof what, "the %lld numbers of key '%s' in %s", (long long)numel, r->key,
             r->path);
    enum kurc_status st = kurc_memory_check((uint64_t)numel * sizeof(float), KURC_E_DATA, what,
                                            r->err);
    float *all = st ? NULL : malloc((size_t)numel * sizeof *all), *at = all;
    if (!all)
        return st ? st : bad(r, "holds %lld numbers, more than the memory can hold",
                             (long long)numel);
    enum kurc_pickle_kind found = KURC_PICKLE_NONE;
    bool range = false;
    if (!fill(v, dims, ndim, 0, &at, &found, &range)) {
        free(all);
        if (range)
            return bad(r, "holds NaN, an infinity or a number beyond the float32 range");
        if (found == KURC_PICKLE_LIST)
            return bad(r, "holds lists of different lengths or depths (a list of numbers must "
                          "be rectangular)");
        char kind[32];
        a_kind(found, kind, sizeof kind);
        return bad(r, "holds %s among its numbers", kind);
    }
    *count = dims[0];
    shape->ndim = ndim == 1 ? 1 : ndim - 1;
    shape->dim[0] = 1;
    for (int i = 1; i < ndim; i++)
        shape->dim[i - 1] = dims[i];
    *data = all;
    return KURC_OK;
}

/* --- the supplier --------------------------------------------------------- */

/* A dict key as a NUL-terminated string, or NULL when it is not text. */
static const char *key_text(const struct kurc_pickle *k) {
    if (k->kind != KURC_PICKLE_STR && k->kind != KURC_PICKLE_BYTES)
        return NULL;
    return strlen(k->u.bytes.s) == k->u.bytes.len ? k->u.bytes.s : NULL;
}

/* The dict's sources into out (when shapes_only, arrays' values are not
 * converted, nor checked for NaN: load does that). */
static enum kurc_status load_dict(const char *path, const struct kurc_pickle *root,
                                  size_t file_bytes, const struct kurc_loc *where,
                                  bool shapes_only, struct kurc_dataset *out,
                                  struct kurc_err *err) {
    int64_t budget = PICKLE_BASE_NUMBERS + PICKLE_NUMBERS_PER_BYTE * (int64_t)file_bytes;
    char kind[32];
    if (root->kind != KURC_PICKLE_DICT) {
        a_kind(root->kind, kind, sizeof kind);
        return kurc_err_set(err, KURC_E_DATA, where,
                            "pickle: %s holds %s; Kur's pickle data is a dict of numpy arrays or "
                            "lists of numbers",
                            path, kind);
    }
    const struct kurc_pickle *d = root;
    for (size_t i = 0; i < d->u.dict.len; i++) {
        const char *key = key_text(d->u.dict.keys[i]);
        if (!key) {
            a_kind(d->u.dict.keys[i]->kind, kind, sizeof kind);
            return kurc_err_set(err, KURC_E_DATA, where,
                                "pickle: %s: key %zu is %s; keys must be strings", path, i + 1,
                                kind);
        }
        /* a key pickled twice: the last value wins, as in the dict */
        bool later = false;
        for (size_t j = i + 1; j < d->u.dict.len && !later; j++)
            later = key_text(d->u.dict.keys[j]) && strcmp(key_text(d->u.dict.keys[j]), key) == 0;
        if (later)
            continue;
        struct reading r = {path, key, where, err, &budget, shapes_only};
        const struct kurc_pickle *v = d->u.dict.vals[i];
        struct kurc_shape shape = {0};
        int64_t count = 0;
        float *data = NULL;
        enum kurc_status st;
        if (v->kind == KURC_PICKLE_ARRAY) {
            st = from_array(&r, v, &shape, &count, &data);
        } else if (is_seq(v)) {
            st = from_list(&r, v, &shape, &count, &data);
        } else {
            a_kind(v->kind, kind, sizeof kind);
            st = bad(&r, "holds %s; a numpy array or a list of numbers is expected", kind);
        }
        if (st == KURC_OK)
            st = kurc_dataset_add(out, key, &shape, count, data, path, err);
        if (st)
            return st;
    }
    return KURC_OK;
}

/* load (every value) or, when shapes_only, describe: the file is mapped,
 * not read, and describe's reader (kurc_pickle_scan) steps over the bytes
 * of numpy arrays, which stay on disk, and converts nothing. */
static enum kurc_status read_source(const struct kurc_value *params, const struct kurc_loc *where,
                                    bool shapes_only, struct kurc_dataset *out,
                                    struct kurc_err *err) {
    const char *source;
    enum kurc_status st = kurc_supplier_param_str(params, "pickle", "source", &source, err);
    if (st)
        return st;
    if (!source)
        return kurc_err_set(err, KURC_E_CONFIG, where, "pickle: needs a 'source' file");
    char *path = kurc_path_expand(source);
    struct kurc_supplier_file file;
    st = kurc_supplier_map_file(path, "pickle", where, &file, err);
    if (st) {
        free(path);
        return st;
    }
    struct kurc_pickle_doc *doc = NULL;
    st = (shapes_only ? kurc_pickle_scan : kurc_pickle_load)(file.data, file.len, path, &doc, err);
    if (st == KURC_OK) {
        st = load_dict(path, kurc_pickle_root(doc), file.len, where, shapes_only, out, err);
    } else {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        st = kurc_err_set(err, st, where, "pickle: %s", msg);
    }
    kurc_pickle_doc_free(doc);
    kurc_supplier_unmap_file(&file);
    free(path);
    return st;
}

static enum kurc_status pickle_load(const struct kurc_value *params, const struct kurc_loc *where,
                                    struct kurc_dataset *out, struct kurc_err *err) {
    return read_source(params, where, false, out, err);
}

static enum kurc_status pickle_describe(const struct kurc_value *params,
                                        const struct kurc_loc *where, struct kurc_dataset *out,
                                        struct kurc_err *err) {
    return read_source(params, where, true, out, err);
}

const struct kurc_supplier_type kurc_supplier_pickle = {
    .component = KURC_SUPPLIER_SOURCE("pickle"),
    .load = pickle_load,
    .describe = pickle_describe,
};
