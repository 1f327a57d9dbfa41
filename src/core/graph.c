/* graph.c - building the tensor and op lists of a graph. */
#include "core/graph.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct kurc_graph *kurc_graph_create(void) {
    struct kurc_graph *g = kurc_xcalloc(1, sizeof *g);
    g->owner = -1;
    g->fold = 1;
    return g;
}

void kurc_graph_free(struct kurc_graph *g) {
    if (!g)
        return;
    for (size_t i = 0; i < g->n_tensors; i++)
        free(g->tensors[i].name);
    free(g->tensors);
    free(g->ops);
    free(g);
}

int kurc_graph_add_tensor(struct kurc_graph *g, enum kurc_tensor_kind kind,
                          const struct kurc_shape *shape, int param, bool needs_grad,
                          const char *name) {
    /* shape may point into g->tensors, which the growth below moves */
    struct kurc_shape copy = *shape;
    shape = &copy;
    if (g->n_tensors == g->cap_tensors) {
        g->cap_tensors = g->cap_tensors ? 2 * g->cap_tensors : 32;
        g->tensors = kurc_xrealloc(g->tensors, g->cap_tensors * sizeof *g->tensors);
    }
    struct kurc_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->shape = *shape;
    t->param = param;
    t->needs_grad = needs_grad;
    t->fold = kind == KURC_TENSOR_PARAM ? 1 : g->fold;
    t->name = kurc_xstrdup(name ? name : "");
    return (int)g->n_tensors++;
}

int kurc_graph_add_op(struct kurc_graph *g, const struct kurc_op_def *def, const int *inputs,
                      int n_inputs, const struct kurc_shape *out_shape,
                      const union kurc_op_attr *attr, const char *name) {
    bool needs_grad = false;
    for (int i = 0; i < n_inputs; i++)
        needs_grad = needs_grad || g->tensors[inputs[i]].needs_grad;
    int out = kurc_graph_add_tensor(g, KURC_TENSOR_ACTIVATION, out_shape, -1, needs_grad, name);
    if (g->n_ops == g->cap_ops) {
        g->cap_ops = g->cap_ops ? 2 * g->cap_ops : 32;
        g->ops = kurc_xrealloc(g->ops, g->cap_ops * sizeof *g->ops);
    }
    struct kurc_op *op = &g->ops[g->n_ops++];
    memset(op, 0, sizeof *op);
    op->def = def;
    op->n_in = n_inputs;
    for (int i = 0; i < n_inputs; i++)
        op->in[i] = inputs[i];
    op->out = out;
    op->owner = g->owner;
    op->index = (int)(g->n_ops - 1);
    if (attr)
        op->attr = *attr;
    return out;
}
