/* tensor.c - shape helpers. */
#include "core/tensor.h"

#include <stdio.h>
#include <string.h>

struct kurc_shape kurc_shape_make(int ndim, const int64_t *dims) {
    struct kurc_shape s = {.ndim = ndim};
    for (int i = 0; i < ndim && i < KURC_MAX_DIMS; i++)
        s.dim[i] = dims[i];
    return s;
}

int64_t kurc_shape_numel(const struct kurc_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->dim[i];
    return n;
}

bool kurc_shape_numel_ok(const struct kurc_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        if (s->dim[i] < 0 || __builtin_mul_overflow(n, s->dim[i], &n) || n > KURC_MAX_NUMEL)
            return false;
    return true;
}

bool kurc_shape_equal(const struct kurc_shape *a, const struct kurc_shape *b) {
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i])
            return false;
    return true;
}

/* Writes open, the n values joined by ", ", tail and close into buf. */
static void format_list(const char *open, const int64_t *v, int n, const char *tail,
                        const char *close, char *buf, size_t size) {
    size_t used = 0;
    int w = snprintf(buf, size, "%s", open);
    used = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < n && used < size; i++) {
        if (v[i] < 0) /* a free axis, as Kur printed it */
            w = snprintf(buf + used, size - used, "%sNone", i ? ", " : "");
        else
            w = snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)v[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < size)
        snprintf(buf + used, size - used, "%s%s", tail, close);
}

void kurc_shape_format(const struct kurc_shape *s, char *buf, size_t size) {
    format_list("(", s->dim, s->ndim, s->ndim == 1 ? "," : "", ")", buf, size);
}

void kurc_shape_format_index(const struct kurc_shape *s, int64_t flat, char *buf, size_t size) {
    int64_t at[KURC_MAX_DIMS];
    for (int i = s->ndim - 1; i >= 0; i--) {
        at[i] = s->dim[i] > 0 ? flat % s->dim[i] : 0;
        flat = s->dim[i] > 0 ? flat / s->dim[i] : 0;
    }
    format_list("[", at, s->ndim, "", "]", buf, size);
}
