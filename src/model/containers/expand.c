/* expand.c - `expand: DIM` or `expand: {dimension: DIM}`: inserts an axis
 * of length 1 before per-sample axis DIM (0-based, the batch axis not
 * counted), as numpy.expand_dims does: a negative DIM counts from the end
 * of the result, so -1 appends.  Kur's rule; a reshape, no data moves. */
#include <stdlib.h>

#include "model/containers/axis.h"

static enum kurc_status expand_shape(const struct kurc_container *c, int64_t dim,
                                     const struct kurc_shape *xs, const char *have,
                                     struct kurc_shape *ys, struct kurc_err *err) {
    if (xs->ndim + 1 > KURC_MAX_DIMS)
        return kurc_container_error(c, err,
                                    "its input of shape %s already has %d axes, kurc's "
                                    "most",
                                    have, KURC_MAX_DIMS);
    int64_t at = dim < 0 ? dim + xs->ndim + 1 : dim;
    if (at < 0 || at > xs->ndim)
        return kurc_container_error(c, err,
                                    "dimension %lld is out of range for its input of shape %s "
                                    "(from %d to %d)",
                                    (long long)dim, have, -xs->ndim - 1, xs->ndim);
    *ys = (struct kurc_shape){.ndim = xs->ndim + 1};
    for (int i = 0, k = 0; i < ys->ndim; i++)
        ys->dim[i] = i == at ? 1 : xs->dim[k++];
    return KURC_OK;
}

static enum kurc_status expand_build(struct kurc_model *m, struct kurc_container *c,
                                     const int *inputs, int n_inputs, int *out,
                                     struct kurc_err *err) {
    return kurc_axis_build(m, c, inputs, n_inputs, expand_shape, out, err);
}

const struct kurc_container_type kurc_container_expand = {
    .name = "expand",
    .args = &kurc_axis_args,
    .parse = kurc_axis_parse,
    .build = expand_build,
    .free_priv = free,
};
