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

void kurc_shape_format(const struct kurc_shape *s, char *buf, size_t size) {
    size_t used = 0;
    int w = snprintf(buf, size, "(");
    used = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < s->ndim && used < size; i++) {
        if (s->dim[i] < 0)
            w = snprintf(buf + used, size - used, "%sNone", i ? ", " : "");
        else
            w = snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)s->dim[i]);
        used += w > 0 ? (size_t)w : 0;
    }
    if (used < size)
        snprintf(buf + used, size - used, "%s)", s->ndim == 1 ? "," : "");
}
