/* squeeze.c - `squeeze: DIM` or `squeeze: {dimension: DIM}`: removes
 * per-sample axis DIM (0-based, the batch axis not counted, negative from
 * the end), which must have length 1; Kur's rule.  kurc keeps at least one
 * axis per sample, so squeezing a (1,) input is an error.  A reshape, no
 * data moves. */
#include <stdlib.h>

#include "model/containers/axis.h"

static enum kurc_status squeeze_shape(const struct kurc_container *c, int64_t dim,
                                      const struct kurc_shape *xs, const char *have,
                                      struct kurc_shape *ys, struct kurc_err *err) {
    int64_t at = dim < 0 ? dim + xs->ndim : dim;
    if (at < 0 || at >= xs->ndim)
        return kurc_container_error(c, err,
                                    "dimension %lld is out of range for its input of shape %s "
                                    "(from %d to %d)",
                                    (long long)dim, have, -xs->ndim, xs->ndim - 1);
    if (xs->dim[at] != 1)
        return kurc_container_error(c, err,
                                    "axis %lld of its input of shape %s has length %lld, not 1",
                                    (long long)dim, have, (long long)xs->dim[at]);
    if (xs->ndim == 1)
        return kurc_container_error(c, err,
                                    "its input of shape %s has one axis; kurc keeps at least "
                                    "one axis per sample",
                                    have);
    *ys = (struct kurc_shape){.ndim = xs->ndim - 1};
    for (int i = 0, k = 0; i < xs->ndim; i++)
        if (i != at)
            ys->dim[k++] = xs->dim[i];
    return KURC_OK;
}

static enum kurc_status squeeze_build(struct kurc_model *m, struct kurc_container *c,
                                      const int *inputs, int n_inputs, int *out,
                                      struct kurc_err *err) {
    return kurc_axis_build(m, c, inputs, n_inputs, squeeze_shape, out, err);
}

const struct kurc_container_type kurc_container_squeeze = {
    .name = "squeeze",
    .args = &kurc_axis_args,
    .parse = kurc_axis_parse,
    .build = squeeze_build,
    .free_priv = free,
};
