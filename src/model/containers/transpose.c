/* transpose.c - `transpose: [PERM]` or `transpose: {axes: [PERM],
 * include_batch}`: output axis i is input axis PERM[i], PERM a full
 * permutation of the per-sample axes (checked when parsed, as in Kur).
 * kurc keeps the batch axis first, so `include_batch: yes` (PERM then
 * counts the batch as axis 0) is accepted only when PERM leaves the batch
 * axis in place. */
#include <stdlib.h>

#include "base/xalloc.h"
#include "model/model.h"
#include "ops/ops.h"

struct transpose {
    int n;
    int perm[KURC_MAX_DIMS];
};

static const struct kurc_schema axes_schema = {
    .types = KT_LIST,
    .items = &(const struct kurc_schema){.types = KT_INT},
};

static const struct kurc_schema transpose_args = {
    .types = KT_LIST | KT_MAP,
    .items = &(const struct kurc_schema){.types = KT_INT},
    .keys =
        (const struct kurc_schema_key[]){
            {"axes", &axes_schema, true},
            {"include_batch", &(const struct kurc_schema){.types = KT_BOOL}},
            {NULL},
        },
};

static enum kurc_status transpose_parse(struct kurc_model *m, struct kurc_container *c,
                                        struct kurc_err *err) {
    (void)m;
    struct transpose *t = kurc_xcalloc(1, sizeof *t);
    c->priv = t;
    const struct kurc_value *axes = c->args;
    bool batch = false;
    if (c->args->kind == KURC_MAP) {
        axes = kurc_map_get(c->args, "axes");
        const struct kurc_value *include = kurc_map_get(c->args, "include_batch");
        batch = include && include->u.b;
    }
    /* with include_batch, PERM[0] is the batch axis: skip it */
    int skip = batch ? 1 : 0;
    size_t n = axes->u.list.len, min = 1 + (size_t)skip, max = KURC_MAX_DIMS + (size_t)skip;
    if (n < min || n > max)
        return kurc_container_error(c, err, "'axes' must list %zu to %zu axes, found %zu", min, max,
                                    n);
    bool seen[KURC_MAX_DIMS + 1] = {false};
    for (size_t i = 0; i < n; i++) {
        int64_t a = axes->u.list.items[i]->u.i;
        if (a < 0 || a >= (int64_t)n || seen[a])
            return kurc_container_error(c, err,
                                        "'axes' must be a permutation of 0 to %zu, each axis "
                                        "once",
                                        n - 1);
        seen[a] = true;
    }
    if (batch && axes->u.list.items[0]->u.i != 0)
        return kurc_container_error(c, err,
                                    "with include_batch, the batch axis (0) must stay first: "
                                    "kurc keeps the batch axis in front");
    t->n = (int)n - skip;
    for (int i = 0; i < t->n; i++)
        t->perm[i] = (int)axes->u.list.items[i + skip]->u.i - skip;
    return KURC_OK;
}

static enum kurc_status transpose_build(struct kurc_model *m, struct kurc_container *c,
                                        const int *inputs, int n_inputs, int *out,
                                        struct kurc_err *err) {
    const struct transpose *t = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "transpose takes one input, found %d", n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    if (xs->ndim != t->n) {
        char have[96];
        kurc_shape_format(xs, have, sizeof have);
        return kurc_container_error(c, err, "'axes' permutes %d axes, but its input has shape %s",
                                    t->n, have);
    }
    *out = kurc_emit_transpose(m->graph, inputs[0], t->perm, c->name, err);
    return *out < 0 ? kurc_container_error(c, err, "%s", err->msg) : KURC_OK;
}

const struct kurc_container_type kurc_container_transpose = {
    .name = "transpose",
    .args = &transpose_args,
    .parse = transpose_parse,
    .build = transpose_build,
    .free_priv = free,
};
