/* dataset.c - named float32 sources: adding, stacking by name, merging the
 * datasets of several suppliers and sealing (see dataset.h). */
#include "dataset.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

void kurc_dataset_init(struct kurc_dataset *d) {
    memset(d, 0, sizeof *d);
}

static void source_release(struct kurc_source *s) {
    free(s->name);
    free(s->data);
    free(s->origin);
}

void kurc_dataset_release(struct kurc_dataset *d) {
    for (size_t i = 0; i < d->n; i++)
        source_release(&d->sources[i]);
    free(d->sources);
    kurc_dataset_init(d);
}

static struct kurc_source *find(const struct kurc_dataset *d, const char *name) {
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->sources[i].name, name) == 0)
            return &d->sources[i];
    return NULL;
}

const struct kurc_source *kurc_dataset_find(const struct kurc_dataset *d, const char *name) {
    return find(d, name);
}

/* Appends count samples of data after those of s (Kur's StackSource).  The
 * shapes have been checked; data is freed here whatever happens. */
static enum kurc_status stack(struct kurc_source *s, int64_t count, float *data,
                              const char *origin, struct kurc_err *err) {
    int64_t numel = kurc_shape_numel(&s->shape);
    if (count > INT64_MAX - s->count) {
        free(data);
        return kurc_err_set(err, KURC_E_DATA, NULL, "source '%s': too many samples", s->name);
    }
    size_t old_floats = (size_t)(s->count * numel), new_floats = (size_t)(count * numel);
    if (new_floats > 0) {
        if (old_floats + new_floats > SIZE_MAX / sizeof(float)) {
            free(data);
            return kurc_err_set(err, KURC_E_DATA, NULL, "source '%s': too many samples",
                                s->name);
        }
        size_t bytes = (old_floats + new_floats) * sizeof(float);
        float *grown = realloc(s->data, bytes);
        if (!grown) {
            free(data);
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "out of memory stacking source '%s' (%zu bytes)", s->name, bytes);
        }
        memcpy(grown + old_floats, data, new_floats * sizeof(float));
        s->data = grown;
    }
    free(data);
    s->count += count;
    if (strcmp(s->origin, origin) != 0) {
        char *joined = kurc_xasprintf("%s + %s", s->origin, origin);
        free(s->origin);
        s->origin = joined;
    }
    return KURC_OK;
}

enum kurc_status kurc_dataset_add(struct kurc_dataset *d, const char *name,
                                  const struct kurc_shape *shape, int64_t count, float *data,
                                  const char *origin, struct kurc_err *err) {
    if (!origin)
        origin = "?";
    struct kurc_source *s = find(d, name);
    if (s) {
        if (!kurc_shape_equal(&s->shape, shape)) {
            char have[96], got[96];
            kurc_shape_format(&s->shape, have, sizeof have);
            kurc_shape_format(shape, got, sizeof got);
            free(data);
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "cannot stack source '%s': its samples have shape %s in %s but "
                                "%s in %s",
                                name, have, s->origin, got, origin);
        }
        return stack(s, count, data, origin, err);
    }
    d->sources = kurc_xrealloc(d->sources, (d->n + 1) * sizeof *d->sources);
    s = &d->sources[d->n++];
    s->name = kurc_xstrdup(name);
    s->shape = *shape;
    s->count = count;
    s->data = data;
    s->origin = kurc_xstrdup(origin);
    return KURC_OK;
}

enum kurc_status kurc_dataset_merge(struct kurc_dataset *d, struct kurc_dataset *src,
                                    struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < src->n; i++) {
        struct kurc_source *s = &src->sources[i];
        if (st == KURC_OK)
            st = kurc_dataset_add(d, s->name, &s->shape, s->count, s->data, s->origin, err);
        else
            free(s->data);
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
