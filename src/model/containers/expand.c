/* expand.c - `expand: DIM` or `expand: {dimension: DIM}`: inserts an axis
 * of length 1 before per-sample axis DIM (0-based, the batch axis not
 * counted), as numpy.expand_dims does: a negative DIM counts from the end
 * of the result, so -1 appends.  Kur's rule; a reshape, no data moves. */
#include <stdlib.h>

#include "model.h"
#include "ops/ops.h"
#include "xalloc.h"

static const struct kurc_schema expand_args = {
    .types = KT_INT | KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"dimension", &(const struct kurc_schema){.types = KT_INT}, true},
            {NULL},
        },
};

static enum kurc_status expand_parse(struct kurc_model *m, struct kurc_container *c,
                                     struct kurc_err *err) {
    (void)m;
    (void)err;
    int64_t *dim = kurc_xcalloc(1, sizeof *dim);
    c->priv = dim;
    *dim = (c->args->kind == KURC_MAP ? kurc_map_get(c->args, "dimension") : c->args)->u.i;
    return KURC_OK;
}

static enum kurc_status expand_build(struct kurc_model *m, struct kurc_container *c,
                                     const int *inputs, int n_inputs, int *out,
                                     struct kurc_err *err) {
    int64_t dim = *(const int64_t *)c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "expand takes one input, found %d", n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    char have[96];
    kurc_shape_format(xs, have, sizeof have);
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
    struct kurc_shape ys = {.ndim = xs->ndim + 1};
    for (int i = 0, k = 0; i < ys.ndim; i++)
        ys.dim[i] = i == at ? 1 : xs->dim[k++];
    *out = kurc_emit_reshape(m->graph, inputs[0], &ys, c->name, err);
    return *out < 0 ? kurc_container_error(c, err, "%s", err->msg) : KURC_OK;
}

const struct kurc_container_type kurc_container_expand = {
    .name = "expand",
    .args = &expand_args,
    .parse = expand_parse,
    .build = expand_build,
    .free_priv = free,
};
