/* op_shape.c - ops that move elements without arithmetic: reshape,
 * transpose, concatenation, slicing and repetition, all as strided copies
 * (the backward of each is the same copy in reverse, accumulating). */
#include "ops/ops.h"

#include <stdio.h>

#include "ops/op_util.h"

/* Contiguous strides of (batch, shape...) into strides[0..ndim]. */
static void contiguous(const struct kurc_shape *s, int64_t *strides) {
    int64_t st = 1;
    for (int i = s->ndim; i >= 0; i--) {
        strides[i] = st;
        st *= i ? s->dim[i - 1] : 1;
    }
    strides[0] = kurc_shape_numel(s);
}

static const struct kurc_shape *shape_of(const struct kurc_exec *x, int t) {
    return &x->g->tensors[t].shape;
}

/* Turns a view around: it reads where it wrote and writes where it read. */
static void reverse(struct kurc_strided *v) {
    for (int i = 0; i < v->ndim; i++) {
        int64_t t = v->src_strides[i];
        v->src_strides[i] = v->dst_strides[i];
        v->dst_strides[i] = t;
    }
}

/* (n, in...): in with a leading axis of length n. */
/* Forward of a pure copy: the input's value through view v into the output. */
static void copy_forward(struct kurc_exec *x, const struct kurc_op *op,
                         const struct kurc_strided *v) {
    OPS(x)->copy_strided(BE(x), v, kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->out),
                         false);
}

static struct kurc_shape prepend_axis(const struct kurc_shape *in, int64_t n) {
    struct kurc_shape out = {.ndim = in->ndim + 1};
    out.dim[0] = n;
    for (int i = 0; i < in->ndim && i + 1 < KURC_MAX_DIMS; i++)
        out.dim[i + 1] = in->dim[i];
    return out;
}

/* --- reshape: the same elements, another shape ------------------------- */

static void reshape_forward(struct kurc_exec *x, const struct kurc_op *op) {
    OPS(x)->copy(BE(x), kurc_exec_value(x, op->out), kurc_exec_value(x, op->in[0]),
                 (size_t)kurc_exec_count(x, op->out) * sizeof(float));
}

static void reshape_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (dx)
        kurc_op_accumulate(x, kurc_exec_count(x, op->out), kurc_exec_grad(x, op->out), dx);
}

static const struct kurc_op_def reshape_def = {
    .name = "reshape",
    .forward = reshape_forward,
    .backward = reshape_backward,
    .backward_unread = kurc_op_unread_all,
    .view = true,
};

int kurc_emit_reshape(struct kurc_graph *g, int x, const struct kurc_shape *shape, const char *name,
                      struct kurc_err *err) {
    if (kurc_shape_numel(shape) != kurc_shape_numel(kurc_graph_shape(g, x))) {
        char want[96], have[96];
        kurc_shape_format(shape, want, sizeof want);
        kurc_shape_format(kurc_graph_shape(g, x), have, sizeof have);
        kurc_err_set(err, KURC_E_CONFIG, NULL, "cannot reshape '%s' of shape %s into %s",
                     g->tensors[x].name, have, want);
        return -1;
    }
    return kurc_graph_add_op(g, &reshape_def, &x, 1, shape, NULL, name);
}

/* --- transpose: a permutation of the per-sample axes -------------------- */

/* The view that reads x (permuted) into out (contiguous); backward swaps
 * the strides. */
static struct kurc_strided transpose_view(const struct kurc_exec *x, const struct kurc_op *op) {
    const struct kurc_shape *in = shape_of(x, op->in[0]), *out = shape_of(x, op->out);
    int64_t in_strides[KURC_MAX_DIMS + 1], out_strides[KURC_MAX_DIMS + 1];
    contiguous(in, in_strides);
    contiguous(out, out_strides);
    struct kurc_strided v = {.ndim = out->ndim + 1};
    v.dims[0] = kurc_exec_batch(x, op->out);
    v.src_strides[0] = in_strides[0];
    v.dst_strides[0] = out_strides[0];
    for (int i = 0; i < out->ndim; i++) {
        v.dims[i + 1] = out->dim[i];
        v.src_strides[i + 1] = in_strides[op->attr.transpose.perm[i] + 1];
        v.dst_strides[i + 1] = out_strides[i + 1];
    }
    return v;
}

static void transpose_forward(struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_strided v = transpose_view(x, op);
    copy_forward(x, op, &v);
}

static void transpose_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (!dx)
        return;
    struct kurc_strided v = transpose_view(x, op);
    reverse(&v);
    OPS(x)->copy_strided(BE(x), &v, kurc_exec_grad(x, op->out), dx, true);
}

static const struct kurc_op_def transpose_def = {
    .name = "transpose", .forward = transpose_forward, .backward = transpose_backward,
    .backward_unread = kurc_op_unread_all};

int kurc_emit_transpose(struct kurc_graph *g, int x, const int *perm, const char *name,
                        struct kurc_err *err) {
    const struct kurc_shape *in = kurc_graph_shape(g, x);
    union kurc_op_attr attr = {0};
    struct kurc_shape out = {.ndim = in->ndim};
    bool seen[KURC_MAX_DIMS] = {false};
    for (int i = 0; i < in->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= in->ndim || seen[perm[i]]) {
            char have[96];
            kurc_shape_format(in, have, sizeof have);
            kurc_err_set(err, KURC_E_CONFIG, NULL,
                         "transpose: the axes must be a permutation of 0..%d for '%s' of shape %s",
                         in->ndim - 1, g->tensors[x].name, have);
            return -1;
        }
        seen[perm[i]] = true;
        attr.transpose.perm[i] = perm[i];
        out.dim[i] = in->dim[perm[i]];
    }
    return kurc_graph_add_op(g, &transpose_def, &x, 1, &out, &attr, name);
}

/* --- concatenation and slicing along one axis --------------------------- */

/* The view of `part` (contiguous) inside `whole` at offset `start` along
 * axis; returns the element offset of the part's origin in whole. */
static int64_t part_view(int64_t batch, const struct kurc_shape *part,
                         const struct kurc_shape *whole, int axis, int64_t start,
                         struct kurc_strided *v) {
    int64_t ps[KURC_MAX_DIMS + 1], ws[KURC_MAX_DIMS + 1];
    contiguous(part, ps);
    contiguous(whole, ws);
    v->ndim = part->ndim + 1;
    v->dims[0] = batch;
    for (int i = 0; i <= part->ndim; i++) {
        if (i)
            v->dims[i] = part->dim[i - 1];
        v->src_strides[i] = ps[i];
        v->dst_strides[i] = ws[i];
    }
    return start * ws[axis + 1];
}

static void concat_forward(struct kurc_exec *x, const struct kurc_op *op) {
    int axis = op->attr.axis.axis;
    int64_t start = 0;
    for (int k = 0; k < op->n_in; k++) {
        struct kurc_strided v;
        const struct kurc_shape *part = shape_of(x, op->in[k]);
        int64_t at =
            part_view(kurc_exec_batch(x, op->out), part, shape_of(x, op->out), axis, start, &v);
        OPS(x)->copy_strided(BE(x), &v, kurc_exec_value(x, op->in[k]),
                             kurc_exec_value(x, op->out) + at, false);
        start += part->dim[axis];
    }
}

static void concat_backward(struct kurc_exec *x, const struct kurc_op *op) {
    int axis = op->attr.axis.axis;
    int64_t start = 0;
    for (int k = 0; k < op->n_in; k++) {
        struct kurc_strided v;
        const struct kurc_shape *part = shape_of(x, op->in[k]);
        int64_t at =
            part_view(kurc_exec_batch(x, op->out), part, shape_of(x, op->out), axis, start, &v);
        start += part->dim[axis];
        float *d = kurc_exec_grad(x, op->in[k]);
        if (!d)
            continue;
        reverse(&v);
        OPS(x)->copy_strided(BE(x), &v, kurc_exec_grad(x, op->out) + at, d, true);
    }
}

static const struct kurc_op_def concat_def = {
    .name = "concat", .forward = concat_forward, .backward = concat_backward,
    .backward_unread = kurc_op_unread_all};

/* Resolves a possibly negative axis of an ndim-axis shape; -1 if out of
 * range. */
static int resolve_axis(int axis, int ndim) {
    if (axis < 0)
        axis += ndim;
    return axis >= 0 && axis < ndim ? axis : -1;
}

int kurc_emit_concat(struct kurc_graph *g, const int *xs, int n, int axis, const char *name,
                     struct kurc_err *err) {
    const struct kurc_shape *first = kurc_graph_shape(g, xs[0]);
    int a = resolve_axis(axis, first->ndim);
    if (a < 0) {
        kurc_err_set(err, KURC_E_CONFIG, NULL, "concatenate: axis %d is out of range for '%s'",
                     axis, g->tensors[xs[0]].name);
        return -1;
    }
    if (n > KURC_OP_MAX_INPUTS) {
        kurc_err_set(err, KURC_E_CONFIG, NULL, "concatenate: at most %d inputs, found %d",
                     KURC_OP_MAX_INPUTS, n);
        return -1;
    }
    struct kurc_shape out = *first;
    out.dim[a] = 0;
    for (int k = 0; k < n; k++) {
        const struct kurc_shape *s = kurc_graph_shape(g, xs[k]);
        bool fits = s->ndim == first->ndim;
        for (int i = 0; fits && i < s->ndim; i++)
            fits = i == a || s->dim[i] == first->dim[i];
        if (!fits)
            return kurc_op_shape_error(g, err, "concatenate: shapes differ off the axis", xs[0],
                                       xs[k]);
        out.dim[a] += s->dim[a];
    }
    union kurc_op_attr attr = {.axis = {a, 0}};
    return kurc_graph_add_op(g, &concat_def, xs, n, &out, &attr, name);
}

/* The view of a slice's output (contiguous) inside its input; returns the
 * element offset of the slice's origin in the input. */
static int64_t slice_view(const struct kurc_exec *x, const struct kurc_op *op,
                          struct kurc_strided *v) {
    return part_view(kurc_exec_batch(x, op->out), shape_of(x, op->out), shape_of(x, op->in[0]),
                     op->attr.axis.axis, op->attr.axis.start, v);
}

static void slice_forward(struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_strided v;
    int64_t at = slice_view(x, op, &v);
    reverse(&v);
    OPS(x)->copy_strided(BE(x), &v, kurc_exec_value(x, op->in[0]) + at, kurc_exec_value(x, op->out),
                         false);
}

static void slice_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (!dx)
        return;
    struct kurc_strided v;
    int64_t at = slice_view(x, op, &v);
    OPS(x)->copy_strided(BE(x), &v, kurc_exec_grad(x, op->out), dx + at, true);
}

static const struct kurc_op_def slice_def = {
    .name = "slice", .forward = slice_forward, .backward = slice_backward,
    .backward_unread = kurc_op_unread_all};

int kurc_emit_slice(struct kurc_graph *g, int x, int axis, int64_t start, int64_t len,
                    const char *name, struct kurc_err *err) {
    const struct kurc_shape *in = kurc_graph_shape(g, x);
    int a = resolve_axis(axis, in->ndim);
    if (a < 0 || start < 0 || len < 1 || start + len > in->dim[a]) {
        char have[96];
        kurc_shape_format(in, have, sizeof have);
        kurc_err_set(err, KURC_E_CONFIG, NULL,
                     "slice [%lld, %lld) of axis %d is out of range for '%s' of shape %s",
                     (long long)start, (long long)(start + len), axis, g->tensors[x].name, have);
        return -1;
    }
    struct kurc_shape out = *in;
    out.dim[a] = len;
    union kurc_op_attr attr = {.axis = {a, start}};
    return kurc_graph_add_op(g, &slice_def, &x, 1, &out, &attr, name);
}

/* --- repeat: x (F...) -> (count, F...) ----------------------------------- */

static void repeat_forward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t n = kurc_shape_numel(shape_of(x, op->in[0])), count = op->attr.repeat.count;
    struct kurc_strided v = {.ndim = 3,
                             .dims = {kurc_exec_batch(x, op->out), count, n},
                             .src_strides = {n, 0, 1},
                             .dst_strides = {count * n, n, 1}};
    copy_forward(x, op, &v);
}

static void repeat_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (!dx)
        return;
    int64_t n = kurc_shape_numel(shape_of(x, op->in[0])), count = op->attr.repeat.count;
    struct kurc_strided v = {.ndim = 2,
                             .dims = {kurc_exec_batch(x, op->out), n},
                             .src_strides = {count * n, 1},
                             .dst_strides = {n, 1}};
    for (int64_t c = 0; c < count; c++)
        OPS(x)->copy_strided(BE(x), &v, kurc_exec_grad(x, op->out) + c * n, dx, true);
}

static const struct kurc_op_def repeat_def = {
    .name = "repeat", .forward = repeat_forward, .backward = repeat_backward,
    .backward_unread = kurc_op_unread_all};

int kurc_emit_repeat(struct kurc_graph *g, int x, int64_t count, const char *name) {
    struct kurc_shape out = prepend_axis(kurc_graph_shape(g, x), count);
    union kurc_op_attr attr = {.repeat = {count}};
    return kurc_graph_add_op(g, &repeat_def, &x, 1, &out, &attr, name);
}

/* --- fold: (T, rest...) -> rest... with T slices folded into the batch,
 * and unfold, its inverse (see graph.h).  The memory layout is the same, so
 * both are reshapes, kinds of their own so that the length trace
 * (seqlen.h) pairs them, one slice or many. ---------------------------------- */

static const struct kurc_op_def fold_def = {
    .name = "fold", .forward = reshape_forward, .backward = reshape_backward,
    .backward_unread = kurc_op_unread_all};
static const struct kurc_op_def unfold_def = {
    .name = "unfold", .forward = reshape_forward, .backward = reshape_backward,
    .backward_unread = kurc_op_unread_all};

int kurc_emit_fold(struct kurc_graph *g, int x, const char *name, struct kurc_err *err) {
    const struct kurc_shape *in = kurc_graph_shape(g, x);
    if (in->ndim < 2) {
        char have[96];
        kurc_shape_format(in, have, sizeof have);
        kurc_err_set(err, KURC_E_CONFIG, NULL,
                     "parallel: '%s' of shape %s has no leading axis to apply over plus a slice",
                     g->tensors[x].name, have);
        return -1;
    }
    struct kurc_shape out = {.ndim = in->ndim - 1};
    for (int i = 1; i < in->ndim; i++)
        out.dim[i - 1] = in->dim[i];
    int64_t saved = g->fold;
    g->fold = g->tensors[x].fold * in->dim[0];
    int y = kurc_graph_add_op(g, &fold_def, &x, 1, &out, NULL, name);
    g->fold = saved;
    return y;
}

int kurc_emit_unfold(struct kurc_graph *g, int x, int64_t slices, const char *name) {
    struct kurc_shape out = prepend_axis(kurc_graph_shape(g, x), slices);
    int64_t saved = g->fold;
    g->fold = g->tensors[x].fold / slices;
    int y = kurc_graph_add_op(g, &unfold_def, &x, 1, &out, NULL, name);
    g->fold = saved;
    return y;
}
