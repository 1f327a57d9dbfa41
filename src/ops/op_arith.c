/* op_arith.c - element-wise sum, product and scaling, and the sum or mean
 * over the last axis. */
#include "ops/ops.h"

#include "ops/op_util.h"

static void add_forward(struct kurc_exec *x, const struct kurc_op *op) {
    OPS(x)->add(BE(x), kurc_exec_count(x, op->out), kurc_exec_value(x, op->in[0]),
                kurc_exec_value(x, op->in[1]), kurc_exec_value(x, op->out));
}

static void add_backward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t n = kurc_exec_count(x, op->out);
    const float *dy = kurc_exec_grad(x, op->out);
    for (int i = 0; i < 2; i++) {
        float *d = kurc_exec_grad(x, op->in[i]);
        if (d)
            kurc_op_accumulate(x, n, dy, d);
    }
}

static void mul_forward(struct kurc_exec *x, const struct kurc_op *op) {
    OPS(x)->mul(BE(x), kurc_exec_count(x, op->out), kurc_exec_value(x, op->in[0]),
                kurc_exec_value(x, op->in[1]), kurc_exec_value(x, op->out));
}

static void mul_backward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t n = kurc_exec_count(x, op->out);
    const float *dy = kurc_exec_grad(x, op->out);
    for (int i = 0; i < 2; i++) {
        float *d = kurc_exec_grad(x, op->in[i]);
        if (d)
            OPS(x)->mul_backward(BE(x), n, dy, kurc_exec_value(x, op->in[1 - i]), d);
    }
}

static void scale_forward(struct kurc_exec *x, const struct kurc_op *op) {
    OPS(x)->axpby(BE(x), kurc_exec_count(x, op->out), op->attr.scale,
                  kurc_exec_value(x, op->in[0]), 0.0f, kurc_exec_value(x, op->out));
}

static void scale_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (dx)
        OPS(x)->axpby(BE(x), kurc_exec_count(x, op->out), op->attr.scale,
                      kurc_exec_grad(x, op->out), 1.0f, dx);
}

static const struct kurc_op_def add_def = {
    .name = "add", .forward = add_forward, .backward = add_backward,
    .backward_unread = kurc_op_unread_all};
static const struct kurc_op_def mul_def = {
    .name = "mul", .forward = mul_forward, .backward = mul_backward,
    .backward_unread = kurc_op_unread_output};
static const struct kurc_op_def scale_def = {
    .name = "scale", .forward = scale_forward, .backward = scale_backward,
    .backward_unread = kurc_op_unread_all};

static int binary(struct kurc_graph *g, const struct kurc_op_def *def, int a, int b,
                  const char *name, struct kurc_err *err) {
    if (!kurc_shape_equal(kurc_graph_shape(g, a), kurc_graph_shape(g, b)))
        return kurc_op_shape_error(g, err, def == &add_def ? "add: shapes differ" :
                                                             "multiply: shapes differ",
                                   a, b);
    int in[2] = {a, b};
    return kurc_graph_add_op(g, def, in, 2, kurc_graph_shape(g, a), NULL, name);
}

int kurc_emit_add(struct kurc_graph *g, int a, int b, const char *name, struct kurc_err *err) {
    return binary(g, &add_def, a, b, name, err);
}

int kurc_emit_mul(struct kurc_graph *g, int a, int b, const char *name, struct kurc_err *err) {
    return binary(g, &mul_def, a, b, name, err);
}

int kurc_emit_scale(struct kurc_graph *g, int x, float s, const char *name) {
    union kurc_op_attr attr = {.scale = s};
    return kurc_graph_add_op(g, &scale_def, &x, 1, kurc_graph_shape(g, x), &attr, name);
}

/* The sum over the last axis is a matrix-vector product with ones (kept in
 * the op's saved scratch): y (rows) = s x (rows, n) 1 (n), s = 1 or 1/n.
 * The scratch also holds s dy for the backward broadcast. */
static size_t reduce_saved(const struct kurc_op *op, int64_t batch) {
    return (size_t)(op->attr.reduce.length + batch * op->attr.reduce.rows);
}

static float reduce_factor(const struct kurc_op *op) {
    return op->attr.reduce.mean ? 1.0f / (float)op->attr.reduce.length : 1.0f;
}

static void reduce_forward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t n = op->attr.reduce.length;
    float *ones = kurc_exec_saved(x, op);
    OPS(x)->fill(BE(x), ones, n, 1.0f);
    OPS(x)->gemm(BE(x), false, false, kurc_op_rows(x, op->in[0]), 1, n, reduce_factor(op),
                 kurc_exec_value(x, op->in[0]), n, ones, 1, 0.0f, kurc_exec_value(x, op->out), 1);
}

static void reduce_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (!dx)
        return;
    int64_t n = op->attr.reduce.length, rows = kurc_op_rows(x, op->in[0]);
    float *scaled = kurc_exec_saved(x, op) + n;
    OPS(x)->axpby(BE(x), rows, reduce_factor(op), kurc_exec_grad(x, op->out), 0.0f, scaled);
    /* dx[r, j] += scaled[r]: a broadcast of one value along the axis */
    struct kurc_strided view = {
        .ndim = 2, .dims = {rows, n}, .src_strides = {1, 0}, .dst_strides = {n, 1}};
    OPS(x)->copy_strided(BE(x), &view, scaled, dx, true);
}

static const struct kurc_op_def reduce_def = {
    .name = "reduce", .forward = reduce_forward, .backward = reduce_backward,
    .saved_floats = reduce_saved, .backward_unread = kurc_op_unread_all};

int kurc_emit_reduce(struct kurc_graph *g, int x, bool mean, const char *name) {
    struct kurc_shape out = *kurc_graph_shape(g, x);
    int64_t n = out.ndim ? out.dim[out.ndim - 1] : 1;
    if (out.ndim == 0)
        out.ndim = 1;
    out.dim[out.ndim - 1] = 1;
    union kurc_op_attr attr = {.reduce = {n, kurc_shape_numel(&out), mean}};
    return kurc_graph_add_op(g, &reduce_def, &x, 1, &out, &attr, name);
}
