/* op_pool.c - max and average pooling over 1 to 3 leading axes. */
#include "ops/ops.h"

#include "ops/op_util.h"

static struct kurc_pool_geom batch_geom(const struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_pool_geom g = op->attr.pool;
    g.batch = kurc_exec_batch(x, op->out);
    return g;
}

static void pool_forward(struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_pool_geom g = batch_geom(x, op);
    OPS(x)->pool_forward(BE(x), &g, kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->out));
}

static void pool_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (!dx)
        return;
    struct kurc_pool_geom g = batch_geom(x, op);
    OPS(x)->pool_backward(BE(x), &g, kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->out),
                          kurc_exec_grad(x, op->out), dx);
}

static const struct kurc_op_def pool_def = {
    .name = "pool",
    .forward = pool_forward,
    .backward = pool_backward,
};

int kurc_emit_pool(struct kurc_graph *g, int x, enum kurc_pool_type type, int ndim,
                   const int64_t *size, const int64_t *stride, bool same, const char *name,
                   struct kurc_err *err) {
    const struct kurc_shape *xs = kurc_graph_shape(g, x);
    if (ndim < 1 || ndim > 3 || xs->ndim != ndim + 1)
        return kurc_op_shape_error(g, err, "pool: the input needs one axis more than the pool "
                                           "size has (the channels)",
                                   x, x);
    union kurc_op_attr attr = {0};
    struct kurc_pool_geom *p = &attr.pool;
    struct kurc_shape out = {.ndim = ndim + 1};
    p->ndim = ndim;
    p->type = type;
    p->same = same;
    p->channels = xs->dim[ndim];
    for (int i = 0; i < ndim; i++) {
        int64_t s = stride[i] > 0 ? stride[i] : 1;
        if (!same && xs->dim[i] < size[i])
            return kurc_op_shape_error(g, err, "pool: the input is smaller than the pool size "
                                               "(valid border)",
                                       x, x);
        int64_t o = same ? (xs->dim[i] + s - 1) / s : (xs->dim[i] - size[i]) / s + 1;
        int64_t pad = (o - 1) * s + size[i] - xs->dim[i];
        p->in[i] = xs->dim[i];
        p->out[i] = o;
        p->size[i] = size[i];
        p->stride[i] = s;
        p->pad_before[i] = same && pad > 0 ? pad / 2 : 0;
        out.dim[i] = o;
    }
    out.dim[ndim] = p->channels;
    return kurc_graph_add_op(g, &pool_def, &x, 1, &out, &attr, name);
}
