/* squeeze.c - `squeeze: DIM` or `squeeze: {dimension: DIM}`: removes
 * per-sample axis DIM (0-based, the batch axis not counted, negative from
 * the end), which must have length 1; Kur's rule.  kurc keeps at least one
 * axis per sample, so squeezing a (1,) input is an error.  A reshape, no
 * data moves. */
#include <stdlib.h>

#include "model.h"
#include "ops/ops.h"
#include "xalloc.h"

static const struct kurc_schema squeeze_args = {
    .types = KT_INT | KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"dimension", &(const struct kurc_schema){.types = KT_INT}, true},
            {NULL},
        },
};

static enum kurc_status squeeze_parse(struct kurc_model *m, struct kurc_container *c,
                                      struct kurc_err *err) {
    (void)m;
    (void)err;
    int64_t *dim = kurc_xcalloc(1, sizeof *dim);
    c->priv = dim;
    *dim = (c->args->kind == KURC_MAP ? kurc_map_get(c->args, "dimension") : c->args)->u.i;
    return KURC_OK;
}

static enum kurc_status squeeze_build(struct kurc_model *m, struct kurc_container *c,
                                      const int *inputs, int n_inputs, int *out,
                                      struct kurc_err *err) {
    int64_t dim = *(const int64_t *)c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "squeeze takes one input, found %d", n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    char have[96];
    kurc_shape_format(xs, have, sizeof have);
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
    struct kurc_shape ys = {.ndim = xs->ndim - 1};
    for (int i = 0, k = 0; i < xs->ndim; i++)
        if (i != at)
            ys.dim[k++] = xs->dim[i];
    *out = kurc_emit_reshape(m->graph, inputs[0], &ys, c->name, err);
    return *out < 0 ? kurc_container_error(c, err, "%s", err->msg) : KURC_OK;
}

const struct kurc_container_type kurc_container_squeeze = {
    .name = "squeeze",
    .args = &squeeze_args,
    .parse = squeeze_parse,
    .build = squeeze_build,
    .free_priv = free,
};
