/* parallel.c - `parallel: {apply: [containers...]}`: Kur's time-distributed
 * map.  The children are applied, in order and as one chain, to every
 * slice along the first per-sample axis, with the same weights for every
 * slice: (T, rest...) -> (T, f(rest...)).
 *
 * kurc folds that axis into the batch (kurc_emit_fold), builds the
 * children's layers on the folded tensor (which has the per-slice shape),
 * and unfolds the result.  parallel is therefore a layer that owns its
 * children: they are parsed and registered like any container (their
 * parameters carry their own names), but they are not nodes of the model
 * (model_assemble does not descend into layers), so they cannot be wired
 * by `inputs`, be inputs or outputs themselves, or be `sink`s. */
#include <stdlib.h>
#include <string.h>

#include "model/containers/children.h"
#include "model/model.h"
#include "ops/ops.h"

static const struct kurc_schema parallel_args = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"apply", NULL, true},
            {NULL},
        },
};

/* The children (at any depth) must be plain layers of the chain. */
static enum kurc_status check_child(const struct kurc_container *c, struct kurc_err *err) {
    if (strcmp(c->type->name, "input") == 0)
        return kurc_container_error(c, err, "an input cannot be inside a parallel");
    if (c->type->passthrough || c->sink)
        return kurc_container_error(c, err,
                                    "a model output cannot be inside a parallel (it sees one "
                                    "slice at a time)");
    if (c->n_inputs)
        return kurc_container_error(c, err,
                                    "containers inside a parallel apply in sequence; `inputs` "
                                    "is not allowed there");
    for (size_t i = 0; i < c->n_children; i++) {
        enum kurc_status st = check_child(c->children[i], err);
        if (st)
            return st;
    }
    return KURC_OK;
}

static enum kurc_status parallel_parse(struct kurc_model *m, struct kurc_container *c,
                                       struct kurc_err *err) {
    struct kurc_value *entries;
    enum kurc_status st =
        kurc_children_entries(m, c, kurc_map_get(c->args, "apply"), "apply", &entries, err);
    if (st)
        return st;
    st = kurc_children_parse(m, c, entries, err);
    kurc_value_free(entries);
    for (size_t i = 0; !st && i < c->n_children; i++)
        st = check_child(c->children[i], err);
    return st;
}

static enum kurc_status parallel_build(struct kurc_model *m, struct kurc_container *c,
                                       const int *inputs, int n_inputs, int *out,
                                       struct kurc_err *err) {
    struct kurc_graph *g = m->graph;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "parallel takes one input, found %d", n_inputs);
    int64_t slices = kurc_graph_shape(g, inputs[0])->dim[0];
    int x = kurc_emit_fold(g, inputs[0], c->name, err);
    if (x < 0)
        return kurc_container_error(c, err, "%s", err->msg);
    /* everything the children make lives in the folded batch */
    int64_t saved = g->fold;
    g->fold = g->tensors[x].fold;
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < c->n_children && !st; i++)
        st = kurc_container_apply(m, c->children[i], &x, 1, &x, err);
    g->fold = saved;
    if (st)
        return st;
    *out = kurc_emit_unfold(g, x, slices, c->name);
    return KURC_OK;
}

const struct kurc_container_type kurc_container_parallel = {
    .name = "parallel",
    .raw_args = true,
    .args = &parallel_args,
    .parse = parallel_parse,
    .build = parallel_build,
};
