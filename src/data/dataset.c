/* dataset.c - named float32 sources: adding, stacking by name, merging the
 * datasets of several suppliers and sealing (see dataset.h). */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "core/finite.h"

void kurc_dataset_init(struct kurc_dataset *d) {
    memset(d, 0, sizeof *d);
}

static void free_strings(char **list, size_t n) {
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

static void source_release(struct kurc_source *s) {
    free(s->name);
    free(s->data);
    free(s->origin);
    free(s->lengths);
    free(s->offsets);
    free_strings(s->text, (size_t)s->count);
    free_strings(s->vocab, s->n_vocab);
}

/* Frees what an extra would have handed over. */
static void extra_release(struct kurc_source_extra *e, int64_t count) {
    if (!e)
        return;
    free(e->lengths);
    free_strings(e->text, (size_t)count);
    free_strings(e->vocab, e->n_vocab);
    memset(e, 0, sizeof *e);
}

void kurc_dataset_release(struct kurc_dataset *d) {
    for (size_t i = 0; i < d->n; i++)
        source_release(&d->sources[i]);
    free(d->sources);
    if (d->index)
        g_hash_table_destroy(d->index);
    kurc_dataset_init(d);
}

/* The source of that name (hashed: a CSV file may have 10^5 columns). */
static struct kurc_source *find(const struct kurc_dataset *d, const char *name) {
    size_t found = d->index ? GPOINTER_TO_SIZE(g_hash_table_lookup(d->index, name)) : 0;
    return found ? &d->sources[found - 1] : NULL;
}

const struct kurc_source *kurc_dataset_find(const struct kurc_dataset *d, const char *name) {
    return find(d, name);
}

int64_t kurc_source_inner(const struct kurc_source *s) {
    if (s->shape.ndim == 0)
        return 1;
    int64_t inner = 1;
    for (int i = 1; i < s->shape.ndim; i++)
        inner *= s->shape.dim[i];
    return inner;
}

const float *kurc_source_sample(const struct kurc_source *s, int64_t i, int64_t *length) {
    if (s->lengths) {
        *length = s->lengths[i];
        return s->data + s->offsets[i];
    }
    *length = s->shape.ndim ? s->shape.dim[0] : 1;
    return s->data + i * kurc_shape_numel(&s->shape);
}

/* Floats a source holds. */
static size_t source_floats(const struct kurc_source *s) {
    if (!s->lengths)
        return (size_t)(s->count * kurc_shape_numel(&s->shape));
    size_t total = 0;
    for (int64_t i = 0; i < s->count; i++)
        total += (size_t)s->lengths[i];
    return total * (size_t)kurc_source_inner(s);
}

static bool same_vocab(const struct kurc_source *s, const struct kurc_source_extra *e) {
    size_t n = e ? e->n_vocab : 0;
    if (s->n_vocab != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->vocab[i], e->vocab[i]) != 0)
            return false;
    return true;
}

/* The inner axes of a ragged source agree with the inner shape given. */
static bool same_inner(const struct kurc_source *s, const struct kurc_shape *inner) {
    if (s->shape.ndim != inner->ndim + 1)
        return false;
    for (int i = 0; i < inner->ndim; i++)
        if (s->shape.dim[i + 1] != inner->dim[i])
            return false;
    return true;
}

/* Appends count samples of data after those of s (Kur's StackSource).  The
 * shapes have been checked; data and extra are taken over whatever
 * happens. */
static enum kurc_status stack(struct kurc_source *s, int64_t count, float *data,
                              bool shapes_only,
                              struct kurc_source_extra *extra, const char *origin,
                              struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    size_t old_floats = source_floats(s), new_floats = 0;
    if (count > INT64_MAX - s->count) {
        st = kurc_err_set(err, KURC_E_DATA, NULL, "source '%s': too many samples", s->name);
        goto done;
    }
    if (s->lengths) {
        for (int64_t i = 0; i < count; i++)
            new_floats += (size_t)extra->lengths[i];
        new_floats *= (size_t)kurc_source_inner(s);
    } else {
        new_floats = (size_t)(count * kurc_shape_numel(&s->shape));
    }
    if (new_floats > 0 && !shapes_only) {
        if (old_floats + new_floats > SIZE_MAX / sizeof(float)) {
            st = kurc_err_set(err, KURC_E_DATA, NULL, "source '%s': too many samples", s->name);
            goto done;
        }
        size_t bytes = (old_floats + new_floats) * sizeof(float);
        float *grown = realloc(s->data, bytes);
        if (!grown) {
            st = kurc_err_set(err, KURC_E_DATA, NULL,
                              "out of memory stacking source '%s' (%zu bytes)", s->name, bytes);
            goto done;
        }
        memcpy(grown + old_floats, data, new_floats * sizeof(float));
        s->data = grown;
    }
    int64_t total = s->count + count;
    if (s->lengths) {
        s->lengths = kurc_xrealloc(s->lengths, (size_t)(total ? total : 1) * sizeof *s->lengths);
        s->offsets = kurc_xrealloc(s->offsets, (size_t)(total ? total : 1) * sizeof *s->offsets);
        int64_t at = (int64_t)old_floats, inner = kurc_source_inner(s);
        for (int64_t i = 0; i < count; i++) {
            s->lengths[s->count + i] = extra->lengths[i];
            s->offsets[s->count + i] = at;
            at += extra->lengths[i] * inner;
            if (extra->lengths[i] > s->shape.dim[0])
                s->shape.dim[0] = extra->lengths[i];
        }
    }
    if (s->text || (extra && extra->text)) {
        char **text = kurc_xcalloc((size_t)(total ? total : 1), sizeof *text);
        for (int64_t i = 0; s->text && i < s->count; i++)
            text[i] = s->text[i];
        for (int64_t i = 0; extra && extra->text && i < count; i++) {
            text[s->count + i] = extra->text[i];
            extra->text[i] = NULL;
        }
        free(s->text);
        s->text = text;
    }
    s->count = total;
    if (strcmp(s->origin, origin) != 0) {
        char *joined = kurc_xasprintf("%s + %s", s->origin, origin);
        free(s->origin);
        s->origin = joined;
    }
done:
    free(data);
    extra_release(extra, count);
    return st;
}

/* A variable-length shape as Kur wrote it: (None, inner...). */
static void ragged_format(int ndim, const int64_t *inner, char *buf, size_t size) {
    size_t used = (size_t)snprintf(buf, size, "(None");
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, ", %lld", (long long)inner[i]);
    if (used < size)
        snprintf(buf + used, size - used, "%s)", ndim ? "" : ",");
}

/* Why a new source cannot stack on s, or KURC_OK. */
static enum kurc_status check_stack(const struct kurc_source *s, const struct kurc_shape *shape,
                                    const struct kurc_source_extra *extra, const char *origin,
                                    struct kurc_err *err) {
    bool ragged = extra && extra->lengths;
    char have[96], got[96];
    if (ragged != (s->lengths != NULL))
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "cannot stack source '%s': its samples have %s lengths in %s but %s "
                            "lengths in %s",
                            s->name, s->lengths ? "varying" : "fixed", s->origin,
                            ragged ? "varying" : "fixed", origin);
    if (ragged ? !same_inner(s, shape) : !kurc_shape_equal(&s->shape, shape)) {
        if (ragged) {
            ragged_format(s->shape.ndim - 1, s->shape.dim + 1, have, sizeof have);
            ragged_format(shape->ndim, shape->dim, got, sizeof got);
        } else {
            kurc_shape_format(&s->shape, have, sizeof have);
            kurc_shape_format(shape, got, sizeof got);
        }
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "cannot stack source '%s': its samples have shape %s in %s but "
                            "%s in %s",
                            s->name, have, s->origin, got, origin);
    }
    if (!same_vocab(s, extra))
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "cannot stack source '%s': %s and %s have different vocabularies",
                            s->name, s->origin, origin);
    return KURC_OK;
}

/* Refuses the first NaN or infinity of samples first.. of data, which hold
 * count samples of shape `sample`. */
static enum kurc_status samples_finite(const char *name, const char *origin,
                                       const struct kurc_shape *sample, int64_t first,
                                       int64_t count, const float *data, struct kurc_err *err) {
    int64_t per = kurc_shape_numel(sample);
    int64_t bad = kurc_find_nonfinite(data, count * per);
    if (bad < 0)
        return KURC_OK;
    char at[KURC_MAX_DIMS * 24];
    kurc_shape_format_index(sample, bad % per, at, sizeof at);
    return kurc_err_set(err, KURC_E_DATA, NULL,
                        "%s: sample %lld of '%s' holds %s at index %s; kurc refuses data that "
                        "is not finite",
                        origin, (long long)(first + bad / per), name,
                        kurc_nonfinite_name(data[bad]), at);
}

enum kurc_status kurc_samples_finite(const char *name, const char *origin,
                                     const struct kurc_shape *sample, int64_t count,
                                     const float *data, struct kurc_err *err) {
    return samples_finite(name, origin, sample, 0, count, data, err);
}

/* What data a new source may not hold: an axis of size 0 in its samples
 * (no sample could be fed; declared shapes need at least 1 too), a
 * negative ragged length, a NaN or an infinity. */
static enum kurc_status check_source(const char *name, const struct kurc_shape *shape,
                                     int64_t count, const float *data,
                                     const struct kurc_source_extra *extra, const char *origin,
                                     bool shapes_only, struct kurc_err *err) {
    bool ragged = extra && extra->lengths;
    if (ragged && shape->ndim + 1 > KURC_MAX_DIMS)
        return kurc_err_set(err, KURC_E_DATA, NULL, "source '%s' (%s) has too many axes", name,
                            origin);
    for (int i = 0; i < shape->ndim; i++)
        if (shape->dim[i] < 1) {
            char have[96];
            if (ragged)
                ragged_format(shape->ndim, shape->dim, have, sizeof have);
            else
                kurc_shape_format(shape, have, sizeof have);
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "source '%s' (%s): its samples have shape %s, with an axis of "
                                "size %lld; every axis of a sample needs at least 1",
                                name, origin, have, (long long)shape->dim[i]);
        }
    if ((shapes_only || (extra && extra->finite)) && !ragged)
        return KURC_OK;
    if (!ragged)
        return samples_finite(name, origin, shape, 0, count, data, err);
    const float *at = data;
    for (int64_t i = 0; i < count; i++) {
        if (extra->lengths[i] < 0)
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "source '%s' (%s): sample %lld has a negative length", name, origin,
                                (long long)i);
        if (shapes_only)
            continue;
        struct kurc_shape one = {.ndim = shape->ndim + 1, .dim = {extra->lengths[i]}};
        for (int k = 0; k < shape->ndim; k++)
            one.dim[k + 1] = shape->dim[k];
        enum kurc_status st = samples_finite(name, origin, &one, i, 1, at, err);
        if (st)
            return st;
        at += kurc_shape_numel(&one);
    }
    return KURC_OK;
}

enum kurc_status kurc_dataset_add_ex(struct kurc_dataset *d, const char *name,
                                     const struct kurc_shape *shape, int64_t count, float *data,
                                     struct kurc_source_extra *extra, const char *origin,
                                     struct kurc_err *err) {
    if (!origin)
        origin = "?";
    bool ragged = extra && extra->lengths;
    if (d->shapes_only) { /* the shape and count are all that is kept */
        free(data);
        data = NULL;
    }
    enum kurc_status st =
        check_source(name, shape, count, data, extra, origin, d->shapes_only, err);
    struct kurc_source *s = st ? NULL : find(d, name);
    if (s && (st = check_stack(s, shape, extra, origin, err)) == KURC_OK)
        return stack(s, count, data, d->shapes_only, extra, origin, err);
    if (st) {
        free(data);
        extra_release(extra, count);
        return st;
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 8;
        d->sources = kurc_xrealloc(d->sources, d->cap * sizeof *d->sources);
    }
    if (!d->index)
        d->index = g_hash_table_new(g_str_hash, g_str_equal);
    s = &d->sources[d->n++];
    memset(s, 0, sizeof *s);
    s->name = kurc_xstrdup(name);
    /* the key is the source's own name */
    g_hash_table_insert(d->index, s->name, GSIZE_TO_POINTER(d->n));
    s->shape = *shape;
    s->count = count;
    s->data = data;
    s->origin = kurc_xstrdup(origin);
    if (extra) {
        s->fill = extra->fill;
        s->bucket = extra->bucket;
        s->text = extra->text;
        s->vocab = extra->vocab;
        s->n_vocab = extra->n_vocab;
    }
    if (ragged) {
        s->lengths = extra->lengths;
        s->offsets = kurc_xmalloc((size_t)(count ? count : 1) * sizeof *s->offsets);
        int64_t at = 0, longest = 1, inner = kurc_shape_numel(shape);
        for (int64_t i = 0; i < count; i++) {
            s->offsets[i] = at;
            at += s->lengths[i] * inner;
            if (s->lengths[i] > longest)
                longest = s->lengths[i];
        }
        s->shape.ndim = shape->ndim + 1;
        s->shape.dim[0] = longest;
        for (int i = 0; i < shape->ndim; i++)
            s->shape.dim[i + 1] = shape->dim[i];
    }
    if (extra)
        memset(extra, 0, sizeof *extra);
    return KURC_OK;
}

enum kurc_status kurc_dataset_add(struct kurc_dataset *d, const char *name,
                                  const struct kurc_shape *shape, int64_t count, float *data,
                                  const char *origin, struct kurc_err *err) {
    return kurc_dataset_add_ex(d, name, shape, count, data, NULL, origin, err);
}

/* The extra parts of s, handed over (s keeps none of them). */
static struct kurc_source_extra take_extra(struct kurc_source *s) {
    struct kurc_source_extra e = {.lengths = s->lengths,
                                  .fill = s->fill,
                                  .bucket = s->bucket,
                                  .text = s->text,
                                  .vocab = s->vocab,
                                  .n_vocab = s->n_vocab};
    free(s->offsets);
    s->lengths = s->offsets = NULL;
    s->text = s->vocab = NULL;
    s->n_vocab = 0;
    return e;
}

enum kurc_status kurc_dataset_merge(struct kurc_dataset *d, struct kurc_dataset *src,
                                    struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < src->n; i++) {
        struct kurc_source *s = &src->sources[i];
        struct kurc_shape shape = s->shape;
        if (s->lengths) { /* back to the inner axes */
            shape.ndim--;
            for (int k = 0; k < shape.ndim; k++)
                shape.dim[k] = s->shape.dim[k + 1];
        }
        struct kurc_source_extra e = take_extra(s);
        if (st == KURC_OK)
            st = kurc_dataset_add_ex(d, s->name, &shape, s->count, s->data, &e, s->origin, err);
        else {
            free(s->data);
            extra_release(&e, s->count);
        }
        s->data = NULL; /* taken over (or freed) either way */
    }
    kurc_dataset_release(src);
    return st;
}

enum kurc_status kurc_dataset_seal(struct kurc_dataset *d, struct kurc_err *err) {
    d->count = 0;
    if (d->n == 0)
        return KURC_OK;
    bool same = true;
    for (size_t i = 1; i < d->n; i++)
        same = same && d->sources[i].count == d->sources[0].count;
    if (same) {
        d->count = d->sources[0].count;
        return KURC_OK;
    }
    struct kurc_strbuf list = KURC_STRBUF_INIT;
    for (size_t i = 0; i < d->n; i++)
        kurc_strbuf_printf(&list, "%s%s (%s): %lld", i ? ", " : "", d->sources[i].name,
                           d->sources[i].origin, (long long)d->sources[i].count);
    enum kurc_status st = kurc_err_set(
        err, KURC_E_DATA, NULL, "the data sources have different numbers of samples: %s",
        list.data);
    kurc_strbuf_free(&list);
    return st;
}
