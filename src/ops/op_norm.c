/* op_norm.c - batch normalisation with the batch's own statistics (Kur's
 * semantics: Keras 2.0 never used running averages here).  x is viewed as
 * (batch * outer, channels, inner) for the normalised axis; the saved
 * scratch keeps each channel's mean and 1/std for the backward pass. */
#include "ops.h"

#include <stdio.h>

#include "op_util.h"

static size_t norm_saved(const struct kurc_op *op, int64_t batch) {
    (void)batch;
    return (size_t)(2 * op->attr.norm.channels);
}

static void norm_forward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t c = op->attr.norm.channels;
    float *saved = kurc_exec_saved(x, op);
    OPS(x)->batchnorm_forward(BE(x), kurc_exec_batch(x, op->out) * op->attr.norm.outer, c, op->attr.norm.inner,
                              op->attr.norm.eps, kurc_exec_value(x, op->in[0]),
                              kurc_exec_value(x, op->in[1]), kurc_exec_value(x, op->in[2]),
                              kurc_exec_value(x, op->out), saved, saved + c);
}

static void norm_backward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t c = op->attr.norm.channels;
    float *saved = kurc_exec_saved(x, op);
    OPS(x)->batchnorm_backward(BE(x), kurc_exec_batch(x, op->out) * op->attr.norm.outer, c, op->attr.norm.inner,
                               kurc_exec_value(x, op->in[0]), kurc_exec_grad(x, op->out),
                               kurc_exec_value(x, op->in[1]), saved, saved + c,
                               kurc_exec_grad(x, op->in[0]), kurc_exec_grad(x, op->in[1]),
                               kurc_exec_grad(x, op->in[2]));
}

static const struct kurc_op_def norm_def = {"batchnorm", norm_forward, norm_backward, norm_saved,
                                            NULL};

int kurc_emit_batchnorm(struct kurc_graph *g, int x, int gamma, int beta, int axis, float eps,
                        const char *name, struct kurc_err *err) {
    const struct kurc_shape *s = kurc_graph_shape(g, x);
    int a = axis < 0 ? axis + s->ndim : axis;
    if (a < 0 || a >= s->ndim) {
        char have[96];
        kurc_shape_format(s, have, sizeof have);
        kurc_err_set(err, KURC_E_CONFIG, NULL,
                     "batch_normalization: axis %d is out of range for '%s' of shape %s", axis,
                     g->tensors[x].name, have);
        return -1;
    }
    const struct kurc_shape *gs = kurc_graph_shape(g, gamma);
    if (gs->ndim != 1 || gs->dim[0] != s->dim[a])
        return kurc_op_shape_error(g, err, "batch_normalization: gamma must match the axis", x,
                                   gamma);
    const struct kurc_shape *bs = kurc_graph_shape(g, beta);
    if (bs->ndim != 1 || bs->dim[0] != s->dim[a])
        return kurc_op_shape_error(g, err, "batch_normalization: beta must match the axis", x,
                                   beta);
    union kurc_op_attr attr = {.norm = {1, s->dim[a], 1, eps}};
    for (int i = 0; i < a; i++)
        attr.norm.outer *= s->dim[i];
    for (int i = a + 1; i < s->ndim; i++)
        attr.norm.inner *= s->dim[i];
    return kurc_graph_add_op(g, &norm_def, (int[]){x, gamma, beta}, 3, s, &attr, name);
}
