/* op_dropout.c - inverted dropout while training, the identity otherwise.
 * The mask of sample s comes from the counter-based RNG at offset
 * (global sample index) x (elements per sample), so a sample gets the same
 * mask whichever rank runs it. */
#include "ops/ops.h"

#include "ops/op_util.h"

static void dropout_forward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t n = kurc_exec_count(x, op->out);
    if (!x->training || op->attr.dropout.rate <= 0.0f) {
        OPS(x)->copy(BE(x), kurc_exec_value(x, op->out), kurc_exec_value(x, op->in[0]),
                     (size_t)n * sizeof(float));
        return;
    }
    OPS(x)->dropout_forward(BE(x), n, op->attr.dropout.rate, op->attr.dropout.seed,
                            x->sample_base * (uint64_t)(op->attr.dropout.elements * x->g->tensors[op->out].fold),
                            kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->out),
                            kurc_exec_saved(x, op));
}

static void dropout_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (!dx)
        return;
    int64_t n = kurc_exec_count(x, op->out);
    if (!x->training || op->attr.dropout.rate <= 0.0f)
        kurc_op_accumulate(x, n, kurc_exec_grad(x, op->out), dx);
    else
        OPS(x)->mul_backward(BE(x), n, kurc_exec_grad(x, op->out), kurc_exec_saved(x, op), dx);
}

/* The saved scratch holds the mask. */
static size_t dropout_mask_floats(const struct kurc_op *op, int64_t batch) {
    return (size_t)(batch * op->attr.dropout.elements);
}

static const struct kurc_op_def dropout_def = {
    .name = "dropout", .forward = dropout_forward, .backward = dropout_backward,
    .saved_floats = dropout_mask_floats, .backward_unread = kurc_op_unread_all};

int kurc_emit_dropout(struct kurc_graph *g, int x, float rate, uint64_t seed, const char *name) {
    const struct kurc_shape *s = kurc_graph_shape(g, x);
    union kurc_op_attr attr = {.dropout = {rate, seed, kurc_shape_numel(s)}};
    return kurc_graph_add_op(g, &dropout_def, &x, 1, s, &attr, name);
}
