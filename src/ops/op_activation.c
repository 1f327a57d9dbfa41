/* op_activation.c - element-wise activations and (log-)softmax over the
 * last axis. */
#include "ops/ops.h"

#include "ops/op_util.h"

static void act_forward(struct kurc_exec *x, const struct kurc_op *op) {
    OPS(x)->act_forward(BE(x), op->attr.act.act, op->attr.act.alpha,
                        kurc_exec_count(x, op->out), kurc_exec_value(x, op->in[0]),
                        kurc_exec_value(x, op->out));
}

static void act_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (dx)
        OPS(x)->act_backward(BE(x), op->attr.act.act, op->attr.act.alpha,
                             kurc_exec_count(x, op->out), kurc_exec_value(x, op->in[0]),
                             kurc_exec_value(x, op->out), kurc_exec_grad(x, op->out), dx);
}

/* The backward kernels read y for tanh and sigmoid, x for the others but
 * linear (kernels/cpu/elementwise.c, kernels/cuda/elementwise.cu). */
static unsigned act_unread(const struct kurc_op *op) {
    enum kurc_act a = op->attr.act.act;
    if (a == KURC_ACT_LINEAR)
        return KURC_UNREAD_INPUTS | KURC_UNREAD_OUTPUT;
    return a == KURC_ACT_TANH || a == KURC_ACT_SIGMOID ? KURC_UNREAD_INPUTS : KURC_UNREAD_OUTPUT;
}

static const struct kurc_op_def act_def = {
    .name = "activation",
    .forward = act_forward,
    .backward = act_backward,
    .backward_unread = act_unread,
};

bool kurc_op_is_activation(const struct kurc_op *op) {
    return op->def == &act_def;
}

int kurc_emit_activation(struct kurc_graph *g, int x, enum kurc_act act, float alpha,
                         const char *name) {
    union kurc_op_attr attr = {.act = {act, alpha}};
    return kurc_graph_add_op(g, &act_def, &x, 1, kurc_graph_shape(g, x), &attr, name);
}

static void softmax_forward(struct kurc_exec *x, const struct kurc_op *op) {
    OPS(x)->softmax_forward(BE(x), op->attr.log_softmax, kurc_op_rows(x, op->out),
                            kurc_op_cols(x, op->out), kurc_exec_value(x, op->in[0]),
                            kurc_exec_value(x, op->out));
}

static void softmax_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (dx)
        OPS(x)->softmax_backward(BE(x), op->attr.log_softmax, kurc_op_rows(x, op->out),
                                 kurc_op_cols(x, op->out), kurc_exec_value(x, op->out),
                                 kurc_exec_grad(x, op->out), dx);
}

static unsigned softmax_unread(const struct kurc_op *op) {
    (void)op;
    return KURC_UNREAD_INPUTS;
}

static const struct kurc_op_def softmax_def = {
    .name = "softmax",
    .forward = softmax_forward,
    .backward = softmax_backward,
    .backward_unread = softmax_unread,
};

int kurc_emit_softmax(struct kurc_graph *g, int x, bool log, const char *name) {
    union kurc_op_attr attr = {.log_softmax = log};
    return kurc_graph_add_op(g, &softmax_def, &x, 1, kurc_graph_shape(g, x), &attr, name);
}
