/* op_conv.c - N-D convolution and its adjoint (transposed convolution),
 * channels last, lowered onto the backend's conv kernels.
 *   conv:       y = C_w(x) + b
 *   transposed: y = C_w^T(x) + b, so dx = C_w(dy) and dw comes from the
 *               filter gradient of C with the roles of x and dy swapped. */
#include "ops/ops.h"

#include <stdio.h>

#include "ops/op_util.h"

static struct kurc_conv_geom batch_geom(const struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_conv_geom g = op->attr.conv;
    g.batch = kurc_exec_batch(x, op->out);
    return g;
}

static void add_bias(struct kurc_exec *x, const struct kurc_op *op) {
    if (op->n_in > 2)
        OPS(x)->bias_add(BE(x), kurc_op_rows(x, op->out), kurc_op_cols(x, op->out),
                         kurc_exec_value(x, op->out), kurc_exec_value(x, op->in[2]));
}

static void bias_grad(struct kurc_exec *x, const struct kurc_op *op) {
    float *db = op->n_in > 2 ? kurc_exec_grad(x, op->in[2]) : NULL;
    if (db)
        OPS(x)->bias_backward(BE(x), kurc_op_rows(x, op->out), kurc_op_cols(x, op->out),
                              kurc_exec_grad(x, op->out), db);
}

static size_t conv_workspace(struct kurc_backend *be, const struct kurc_op *op, int64_t batch) {
    struct kurc_conv_geom g = op->attr.conv;
    g.batch = batch;
    return be->ops->conv_workspace(be, &g);
}

/* With a fused activation, the backend applies it with the bias to each
 * chunk of output rows as they are made. */
static void conv_forward(struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_conv_geom g = batch_geom(x, op);
    const struct kurc_op *epi = kurc_exec_epilogue(x, op);
    if (epi) {
        OPS(x)->conv_forward_bias_act(BE(x), &g, kurc_exec_value(x, op->in[0]),
                                      kurc_exec_value(x, op->in[1]),
                                      op->n_in > 2 ? kurc_exec_value(x, op->in[2]) : NULL,
                                      epi->attr.act.act, epi->attr.act.alpha,
                                      kurc_exec_value(x, epi->out), x->workspace);
        return;
    }
    OPS(x)->conv_forward(BE(x), &g, kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->in[1]),
                         kurc_exec_value(x, op->out), x->workspace);
    add_bias(x, op);
}

static bool conv_fuses(const struct kurc_backend *be, const struct kurc_op *op,
                       const struct kurc_op *next) {
    return be->ops->conv_forward_bias_act && kurc_op_fuses_activation(be, op, next);
}

/* With a fused activation and the backend's fused backward, the
 * activation's derivative, the bias gradient and both products run chunk
 * by chunk in one pass. */
static void conv_backward(struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_conv_geom g = batch_geom(x, op);
    const struct kurc_op *epi = kurc_exec_epilogue(x, op);
    if (epi && OPS(x)->conv_backward_bias_act) {
        OPS(x)->conv_backward_bias_act(
            BE(x), &g, kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->in[1]),
            epi->attr.act.act, epi->attr.act.alpha, kurc_exec_value(x, epi->out),
            kurc_exec_grad(x, epi->out), kurc_exec_grad(x, op->out), kurc_exec_grad(x, op->in[0]),
            kurc_exec_grad(x, op->in[1]), op->n_in > 2 ? kurc_exec_grad(x, op->in[2]) : NULL,
            x->workspace);
        return;
    }
    const float *dy = kurc_op_output_grad(x, op, op->n_in > 2 ? op->in[2] : -1);
    float *dx = kurc_exec_grad(x, op->in[0]), *dw = kurc_exec_grad(x, op->in[1]);
    if (dx)
        OPS(x)->conv_backward_data(BE(x), &g, dy, kurc_exec_value(x, op->in[1]), dx,
                                   x->workspace);
    if (dw)
        OPS(x)->conv_backward_filter(BE(x), &g, kurc_exec_value(x, op->in[0]), dy, dw,
                                     x->workspace);
}

static void transpose_forward(struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_conv_geom g = batch_geom(x, op);
    float *y = kurc_exec_value(x, op->out);
    OPS(x)->zero(BE(x), y, (size_t)kurc_exec_count(x, op->out) * sizeof(float));
    OPS(x)->conv_backward_data(BE(x), &g, kurc_exec_value(x, op->in[0]),
                               kurc_exec_value(x, op->in[1]), y, x->workspace);
    add_bias(x, op);
}

static void transpose_backward(struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_conv_geom g = batch_geom(x, op);
    const float *dy = kurc_exec_grad(x, op->out);
    float *dx = kurc_exec_grad(x, op->in[0]), *dw = kurc_exec_grad(x, op->in[1]);
    if (dx) {
        float *tmp = kurc_exec_saved(x, op);
        OPS(x)->conv_forward(BE(x), &g, dy, kurc_exec_value(x, op->in[1]), tmp, x->workspace);
        kurc_op_accumulate(x, kurc_exec_count(x, op->in[0]), tmp, dx);
    }
    if (dw)
        OPS(x)->conv_backward_filter(BE(x), &g, dy, kurc_exec_value(x, op->in[0]), dw,
                                     x->workspace);
    bias_grad(x, op);
}

static size_t transpose_saved(const struct kurc_op *op, int64_t batch) {
    const struct kurc_conv_geom *g = &op->attr.conv;
    int64_t n = g->cout;
    for (int i = 0; i < g->ndim; i++)
        n *= g->out[i];
    return (size_t)(n * batch);
}

static const struct kurc_op_def conv_def = {
    .name = "conv",
    .forward = conv_forward,
    .backward = conv_backward,
    .backward_unread = kurc_op_unread_output,
    .workspace_bytes = conv_workspace,
    .fuses = conv_fuses,
};

static const struct kurc_op_def transpose_def = {
    .name = "conv_transpose",
    .forward = transpose_forward,
    .backward = transpose_backward,
    .saved_floats = transpose_saved,
    .backward_unread = kurc_op_unread_output,
    .workspace_bytes = conv_workspace,
};

/* Checks x, w (and b) for a convolution over ndim = rank(w) - 2 axes whose
 * kernel's last two axes are (channels of x, channels made). */
static int check(struct kurc_graph *g, int x, int w, int b, const char *what,
                 struct kurc_err *err) {
    const struct kurc_shape *xs = kurc_graph_shape(g, x), *ws = kurc_graph_shape(g, w);
    int nd = ws->ndim - 2;
    char msg[128];
    if (nd < 1 || nd > 3 || xs->ndim != nd + 1 || xs->dim[nd] != ws->dim[nd]) {
        snprintf(msg, sizeof msg,
                 "%s: a %d-D kernel needs an input of %d axes whose channels match the "
                 "kernel's",
                 what, nd, nd + 1);
        return kurc_op_shape_error(g, err, msg, x, w);
    }
    if (b >= 0) {
        const struct kurc_shape *bs = kurc_graph_shape(g, b);
        if (bs->ndim != 1 || bs->dim[0] != ws->dim[nd + 1]) {
            snprintf(msg, sizeof msg, "%s: the bias must match the kernel's outputs", what);
            return kurc_op_shape_error(g, err, msg, b, w);
        }
    }
    return nd;
}

/* Fills the geometry of a convolution from `big` (spatial sizes in) to
 * `small` (out); returns false when a valid window does not fit. */
static bool geometry(struct kurc_conv_geom *geo, int nd, const int64_t *big, const int64_t *kernel,
                     const int64_t *stride, bool same, int64_t *small) {
    geo->ndim = nd;
    geo->same = same;
    for (int i = 0; i < nd; i++) {
        int64_t s = stride[i] > 0 ? stride[i] : 1;
        int64_t out = same ? (big[i] + s - 1) / s : (big[i] - kernel[i]) / s + 1;
        if (!same && big[i] < kernel[i])
            return false;
        int64_t pad = (out - 1) * s + kernel[i] - big[i];
        geo->in[i] = big[i];
        geo->out[i] = out;
        geo->kernel[i] = kernel[i];
        geo->stride[i] = s;
        geo->pad_before[i] = same && pad > 0 ? pad / 2 : 0;
        small[i] = out;
    }
    return true;
}

int kurc_emit_conv(struct kurc_graph *g, int x, int w, int b, const int64_t *stride, bool same,
                   const char *name, struct kurc_err *err) {
    int nd = check(g, x, w, b, "convolution", err);
    if (nd < 0)
        return -1;
    const struct kurc_shape *xs = kurc_graph_shape(g, x), *ws = kurc_graph_shape(g, w);
    union kurc_op_attr attr = {0};
    struct kurc_shape out = {.ndim = nd + 1};
    if (!geometry(&attr.conv, nd, xs->dim, ws->dim, stride, same, out.dim))
        return kurc_op_shape_error(g, err, "convolution: the input is smaller than the kernel "
                                           "(valid border)",
                                   x, w);
    attr.conv.cin = ws->dim[nd];
    attr.conv.cout = ws->dim[nd + 1];
    out.dim[nd] = attr.conv.cout;
    int in[3] = {x, w, b};
    return kurc_graph_add_op(g, &conv_def, in, b >= 0 ? 3 : 2, &out, &attr, name);
}

int kurc_emit_conv_transpose(struct kurc_graph *g, int x, int w, int b, const int64_t *stride,
                             bool same, const char *name, struct kurc_err *err) {
    const struct kurc_shape *xs = kurc_graph_shape(g, x), *ws = kurc_graph_shape(g, w);
    int nd = ws->ndim - 2;
    if (nd < 1 || nd > 3 || xs->ndim != nd + 1 || xs->dim[nd] != ws->dim[nd + 1])
        return kurc_op_shape_error(g, err,
                                   "transposed convolution: the input's channels must match the "
                                   "kernel's last axis",
                                   x, w);
    int64_t big[3], small[3];
    for (int i = 0; i < nd; i++) {
        int64_t s = stride[i] > 0 ? stride[i] : 1;
        big[i] = same ? xs->dim[i] * s : (xs->dim[i] - 1) * s + ws->dim[i];
    }
    union kurc_op_attr attr = {0};
    geometry(&attr.conv, nd, big, ws->dim, stride, same, small);
    attr.conv.cin = ws->dim[nd];
    attr.conv.cout = ws->dim[nd + 1];
    if (b >= 0) {
        const struct kurc_shape *bs = kurc_graph_shape(g, b);
        if (bs->ndim != 1 || bs->dim[0] != attr.conv.cin)
            return kurc_op_shape_error(g, err,
                                       "transposed convolution: the bias must match the "
                                       "channels made",
                                       b, w);
    }
    struct kurc_shape out = {.ndim = nd + 1};
    for (int i = 0; i < nd; i++)
        out.dim[i] = big[i];
    out.dim[nd] = attr.conv.cin;
    int in[3] = {x, w, b};
    return kurc_graph_add_op(g, &transpose_def, in, b >= 0 ? 3 : 2, &out, &attr, name);
}
