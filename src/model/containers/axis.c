/* axis.c - arguments and build shared by expand and squeeze (axis.h). */
#include <stdlib.h>

#include "base/xalloc.h"
#include "model/containers/axis.h"
#include "ops/ops.h"

const struct kurc_schema kurc_axis_args = {
    .types = KT_INT | KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"dimension", &(const struct kurc_schema){.types = KT_INT}, true},
            {NULL},
        },
};

enum kurc_status kurc_axis_parse(struct kurc_model *m, struct kurc_container *c,
                                 struct kurc_err *err) {
    (void)m;
    (void)err;
    int64_t *dim = kurc_xcalloc(1, sizeof *dim);
    c->priv = dim;
    *dim = (c->args->kind == KURC_MAP ? kurc_map_get(c->args, "dimension") : c->args)->u.i;
    return KURC_OK;
}

enum kurc_status kurc_axis_build(struct kurc_model *m, struct kurc_container *c, const int *inputs,
                                 int n_inputs, kurc_axis_shape_fn shape, int *out,
                                 struct kurc_err *err) {
    int64_t dim = *(const int64_t *)c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "%s takes one input, found %d", c->type->name,
                                    n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    char have[96];
    kurc_shape_format(xs, have, sizeof have);
    struct kurc_shape ys;
    enum kurc_status st = shape(c, dim, xs, have, &ys, err);
    if (st != KURC_OK)
        return st;
    *out = kurc_emit_reshape(m->graph, inputs[0], &ys, c->name, err);
    return *out < 0 ? kurc_container_error(c, err, "%s", err->msg) : KURC_OK;
}
