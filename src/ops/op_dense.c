/* op_dense.c - the affine map over the last axis: y = x w + b.
 *   x (rows, in)  w (in, out)  b (out)  y (rows, out)
 *   dx += dy w^T;  dw += x^T dy;  db += sum_rows dy
 * An activation may run as its fused epilogue (op_epilogue.c). */
#include "ops/ops.h"

#include "ops/op_util.h"

static void dense_forward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t rows = kurc_op_rows(x, op->in[0]), in = kurc_op_cols(x, op->in[0]);
    int64_t out = kurc_op_cols(x, op->out);
    OPS(x)->gemm(BE(x), false, false, rows, out, in, 1.0f, kurc_exec_value(x, op->in[0]), in,
                 kurc_exec_value(x, op->in[1]), out, 0.0f, kurc_op_output(x, op), out);
    kurc_op_bias_act(x, op, op->n_in > 2 ? op->in[2] : -1);
}

static void dense_backward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t rows = kurc_op_rows(x, op->in[0]), in = kurc_op_cols(x, op->in[0]);
    int64_t out = kurc_op_cols(x, op->out);
    const float *dy = kurc_op_output_grad(x, op, op->n_in > 2 ? op->in[2] : -1);
    float *dx = kurc_exec_grad(x, op->in[0]);
    float *dw = kurc_exec_grad(x, op->in[1]);
    if (dx)
        OPS(x)->gemm(BE(x), false, true, rows, in, out, 1.0f, dy, out,
                     kurc_exec_value(x, op->in[1]), out, 1.0f, dx, in);
    if (dw)
        OPS(x)->gemm(BE(x), true, false, in, out, rows, 1.0f, kurc_exec_value(x, op->in[0]), in,
                     dy, out, 1.0f, dw, out);
}

static const struct kurc_op_def dense_def = {
    .name = "dense",
    .forward = dense_forward,
    .backward = dense_backward,
    .backward_unread = kurc_op_unread_output,
    .fuses = kurc_op_fuses_activation,
};

int kurc_emit_dense(struct kurc_graph *g, int x, int w, int b, const char *name,
                    struct kurc_err *err) {
    const struct kurc_shape *xs = kurc_graph_shape(g, x), *ws = kurc_graph_shape(g, w);
    if (xs->ndim < 1 || ws->ndim != 2 || xs->dim[xs->ndim - 1] != ws->dim[0])
        return kurc_op_shape_error(g, err, "dense: the input's last axis must match the kernel",
                                   x, w);
    if (b >= 0) {
        const struct kurc_shape *bs = kurc_graph_shape(g, b);
        if (bs->ndim != 1 || bs->dim[0] != ws->dim[1])
            return kurc_op_shape_error(g, err, "dense: the bias must match the kernel's outputs",
                                       b, w);
    }
    struct kurc_shape out = *xs;
    out.dim[out.ndim - 1] = ws->dim[1];
    int in[3] = {x, w, b};
    return kurc_graph_add_op(g, &dense_def, in, b >= 0 ? 3 : 2, &out, NULL, name);
}
