/* repeat.c - `repeat: COUNT` or `repeat: {count}` (at least 1): a 1-D
 * input (F,) becomes (COUNT, F), each row a copy (Keras's RepeatVector, as
 * in Kur).  Other input ranks are errors, as in Kur. */
#include <stdlib.h>

#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"

static const struct kurc_schema repeat_args = {
    .types = KT_INT | KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"count", &(const struct kurc_schema){.types = KT_INT}, true},
            {NULL},
        },
};

static enum kurc_status repeat_parse(struct kurc_model *m, struct kurc_container *c,
                                     struct kurc_err *err) {
    (void)m;
    int64_t *count = kurc_xcalloc(1, sizeof *count);
    c->priv = count;
    const struct kurc_value *v =
        c->args->kind == KURC_MAP ? kurc_map_get(c->args, "count") : c->args;
    return kurc_arg_int(c, v, "count", 1, count, err);
}

static enum kurc_status repeat_build(struct kurc_model *m, struct kurc_container *c,
                                     const int *inputs, int n_inputs, int *out,
                                     struct kurc_err *err) {
    const int64_t *count = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "repeat takes one input, found %d", n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    if (xs->ndim != 1) {
        char have[96];
        kurc_shape_format(xs, have, sizeof have);
        return kurc_container_error(c, err,
                                    "the input must be 1-D (features,), but it has shape %s", have);
    }
    *out = kurc_emit_repeat(m->graph, inputs[0], *count, c->name);
    return KURC_OK;
}

const struct kurc_container_type kurc_container_repeat = {
    .name = "repeat",
    .args = &repeat_args,
    .parse = repeat_parse,
    .build = repeat_build,
    .free_priv = free,
};
