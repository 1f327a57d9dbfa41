/* flatten.c - `flatten`: (d1, ..., dn) -> (d1 * ... * dn,), row-major over
 * the channels-last layout (which fixes the order the next dense layer's
 * weights see). */
#include "model/model.h"
#include "ops/ops.h"

static enum kurc_status flatten_build(struct kurc_model *m, struct kurc_container *c,
                                      const int *inputs, int n_inputs, int *out,
                                      struct kurc_err *err) {
    if (n_inputs != 1)
        return kurc_container_error(c, err, "flatten takes one input, found %d", n_inputs);
    struct kurc_shape flat = {.ndim = 1,
                              .dim = {kurc_shape_numel(kurc_graph_shape(m->graph, inputs[0]))}};
    *out = kurc_emit_reshape(m->graph, inputs[0], &flat, c->name, err);
    return *out < 0 ? err->status : KURC_OK;
}

const struct kurc_container_type kurc_container_flatten = {
    .name = "flatten",
    .anonymous = true,
    .args = &(const struct kurc_schema){.types = KT_NULL},
    .ignored = KT_ANY & ~KT_NULL, /* Kur read no argument of flatten */
    .build = flatten_build,
};
