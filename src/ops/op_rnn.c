/* op_rnn.c - recurrent layers (SimpleRNN, GRU, LSTM; Keras 2.0 cells as
 * Kur used them, see enum kurc_rnn_cell in backend.h), forward over time
 * and backward through time, on the backend's gemm and rnn_* step kernels.
 *
 *   x (T, in)  w (in, G H)  u (H, G H)  b (G H)  len (1,) optional
 *   y (T, H) with sequence, else (H,): the state after the scan's last step
 *
 * G = 1, 3 or 4 gate blocks.  Rows are samples (x the batch's folded
 * slices); every step works on all rows at once:
 *   P = x w + b                    one gemm over all B x T rows
 *   for each step t (T-1 down to 0 when reverse):
 *       P_t += h_prev u            (GRU: the z and r blocks only, then
 *                                   rnn_forward_gates, then the h block
 *                                   += (r * h_prev) u_h)
 *       rnn_forward_step           h, c, y_t
 * The initial state is zero; h_prev of the first step is not multiplied.
 * With `len`, row r's steps t >= len[r] are masked (its state passes
 * through, its output is zero), so a reverse scan starts at the row's own
 * last step and a non-sequence output is the state after the last valid
 * step.  The output of a reverse scan is written at the step it belongs
 * to (time-aligned with the input; Kur's Keras bidirectional layer left
 * it reversed).
 *
 * Saved scratch (B rows of the batch):
 *   P  (B, T, G H) complete pre-activations; the backward pass overwrites
 *                  them with their gradients (so backward runs once per
 *                  forward)
 *   S  (B, T, H)   the state before each step (zero before the first)
 *   C  (B, T, H)   LSTM: the cell state before each step
 *   RH (B, T, H)   GRU: r * h_prev of each step
 *   the final h and c (B, H each) when the output is a sequence.
 * Backward, steps in reverse scan order with carries dh, dc (workspace):
 *   rnn_backward_step              dA_t into P_t, direct part of dh
 *   (GRU: drh = dA_h u_h^T; rnn_backward_gates)
 *   dh += dA_t u^T                 (GRU: z and r blocks)
 * then, over all B x T rows at once:
 *   du += S^T dA (GRU: z, r blocks; and RH^T dA_h for the h block),
 *   dw += x^T dA,  db += sum dA,  dx += dA w^T. */
#include <stdio.h>

#include "ops/ops.h"

#include "ops/op_util.h"

static int64_t blocks(enum kurc_rnn_cell cell) {
    return cell == KURC_RNN_LSTM ? 4 : cell == KURC_RNN_GRU ? 3 : 1;
}

/* The saved regions for a batch of B rows (see above). */
struct layout {
    int64_t B, T, H, G, in;
    float *P, *S, *C, *RH, *hT, *cT; /* C, RH, cT: NULL when the cell has none */
};

/* Floats of each region, in order P, S, C, RH, hT, cT. */
static void sizes(const struct kurc_op *op, int64_t B, int64_t *n) {
    int64_t T = op->attr.rnn.steps, H = op->attr.rnn.units, G = blocks(op->attr.rnn.cell);
    bool lstm = op->attr.rnn.cell == KURC_RNN_LSTM, gru = op->attr.rnn.cell == KURC_RNN_GRU;
    n[0] = B * T * G * H;
    n[1] = B * T * H;
    n[2] = lstm ? B * T * H : 0;
    n[3] = gru ? B * T * H : 0;
    n[4] = B * H;
    n[5] = lstm ? B * H : 0;
}

static struct layout layout_of(const struct kurc_op *op, int64_t B, float *base) {
    struct layout l = {B,
                       op->attr.rnn.steps,
                       op->attr.rnn.units,
                       blocks(op->attr.rnn.cell),
                       op->attr.rnn.inputs,
                       NULL,
                       NULL,
                       NULL,
                       NULL,
                       NULL,
                       NULL};
    int64_t n[6];
    sizes(op, B, n);
    float **region[6] = {&l.P, &l.S, &l.C, &l.RH, &l.hT, &l.cT};
    for (int i = 0; i < 6; i++) {
        *region[i] = n[i] ? base : NULL;
        base += n[i];
    }
    return l;
}

static size_t rnn_saved(const struct kurc_op *op, int64_t batch) {
    int64_t n[6], total = 0;
    sizes(op, batch, n);
    for (int i = 0; i < 6; i++)
        total += n[i];
    return (size_t)total;
}

static size_t rnn_workspace(struct kurc_backend *be, const struct kurc_op *op, int64_t batch) {
    (void)be;
    return (size_t)(3 * batch * op->attr.rnn.units) * sizeof(float);
}

/* The step descriptor of scan position k (time t) with everything the
 * forward and backward kernels read. */
static struct kurc_rnn_step step_at(const struct kurc_op *op, const struct layout *l, int64_t k,
                                    const float *len, float *y) {
    int64_t T = l->T, H = l->H, GH = l->G * l->H;
    bool rev = op->attr.rnn.reverse;
    int64_t t = rev ? T - 1 - k : k;
    struct kurc_rnn_step s = {
        .cell = op->attr.rnn.cell,
        .act = op->attr.rnn.act,
        .act_alpha = op->attr.rnn.act_alpha,
        .gate = op->attr.rnn.gate,
        .gate_alpha = op->attr.rnn.gate_alpha,
        .rows = l->B,
        .units = H,
        .t = t,
        .len = len,
        .pre = l->P + t * GH,
        .ld_pre = T * GH,
        .h_prev = l->S + t * H,
        .c_prev = l->C ? l->C + t * H : NULL,
        .ld_prev = T * H,
        .rh = l->RH ? l->RH + t * H : NULL,
        .ld_rh = T * H,
    };
    if (k + 1 < T) {
        int64_t next = rev ? t - 1 : t + 1;
        s.h = l->S + next * H;
        s.c = l->C ? l->C + next * H : NULL;
        s.ld_state = T * H;
    } else {
        /* the final state: the output itself without sequence */
        s.h = op->attr.rnn.sequence ? l->hT : y;
        s.c = l->cT;
        s.ld_state = H;
    }
    if (op->attr.rnn.sequence && y) {
        s.y = y + t * H;
        s.ld_y = T * H;
    }
    return s;
}

static const float *lengths(const struct kurc_exec *x, const struct kurc_op *op) {
    return op->n_in > 4 ? kurc_exec_value(x, op->in[4]) : NULL;
}

static void rnn_forward(struct kurc_exec *x, const struct kurc_op *op) {
    struct layout l = layout_of(op, kurc_exec_batch(x, op->out), kurc_exec_saved(x, op));
    int64_t T = l.T, H = l.H, GH = l.G * l.H, BT = l.B * T;
    const float *w = kurc_exec_value(x, op->in[1]), *u = kurc_exec_value(x, op->in[2]);
    float *y = kurc_exec_value(x, op->out);
    bool gru = op->attr.rnn.cell == KURC_RNN_GRU;
    OPS(x)->gemm(BE(x), false, false, BT, GH, l.in, 1.0f, kurc_exec_value(x, op->in[0]), l.in, w,
                 GH, 0.0f, l.P, GH);
    OPS(x)->bias_add(BE(x), BT, GH, l.P, kurc_exec_value(x, op->in[3]));
    OPS(x)->zero(BE(x), l.S, (size_t)(BT * H) * sizeof(float));
    if (l.C)
        OPS(x)->zero(BE(x), l.C, (size_t)(BT * H) * sizeof(float));
    const float *len = lengths(x, op);
    int64_t zr = gru ? 2 * H : GH; /* the blocks multiplied by h_prev itself */
    for (int64_t k = 0; k < T; k++) {
        struct kurc_rnn_step s = step_at(op, &l, k, len, y);
        if (k > 0)
            OPS(x)->gemm(BE(x), false, false, l.B, zr, H, 1.0f, s.h_prev, s.ld_prev, u, GH, 1.0f,
                         s.pre, s.ld_pre);
        if (gru) {
            OPS(x)->rnn_forward_gates(BE(x), &s);
            if (k > 0)
                OPS(x)->gemm(BE(x), false, false, l.B, H, H, 1.0f, s.rh, s.ld_rh, u + 2 * H, GH,
                             1.0f, s.pre + 2 * H, s.ld_pre);
        }
        OPS(x)->rnn_forward_step(BE(x), &s);
    }
}

static void rnn_backward(struct kurc_exec *x, const struct kurc_op *op) {
    struct layout l = layout_of(op, kurc_exec_batch(x, op->out), kurc_exec_saved(x, op));
    int64_t T = l.T, H = l.H, GH = l.G * l.H, BT = l.B * T;
    const float *w = kurc_exec_value(x, op->in[1]), *u = kurc_exec_value(x, op->in[2]);
    const float *dy = kurc_exec_grad(x, op->out);
    bool gru = op->attr.rnn.cell == KURC_RNN_GRU;
    float *dh = x->workspace, *dc = dh + l.B * H, *drh = dc + l.B * H;
    if (op->attr.rnn.sequence)
        OPS(x)->zero(BE(x), dh, (size_t)(l.B * H) * sizeof(float));
    else
        OPS(x)->copy(BE(x), dh, dy, (size_t)(l.B * H) * sizeof(float));
    OPS(x)->zero(BE(x), dc, (size_t)(l.B * H) * sizeof(float));
    const float *len = lengths(x, op);
    int64_t zr = gru ? 2 * H : GH;
    for (int64_t k = T; k-- > 0;) {
        struct kurc_rnn_step s = step_at(op, &l, k, len, NULL);
        s.y = NULL;
        if (op->attr.rnn.sequence) {
            s.dy = dy + s.t * H;
            s.ld_y = T * H;
        }
        s.dh = dh;
        s.dc = dc;
        s.drh = drh;
        OPS(x)->rnn_backward_step(BE(x), &s);
        if (gru) {
            OPS(x)->gemm(BE(x), false, true, l.B, H, H, 1.0f, s.pre + 2 * H, s.ld_pre, u + 2 * H,
                         GH, 0.0f, drh, H);
            OPS(x)->rnn_backward_gates(BE(x), &s);
        }
        if (k > 0)
            OPS(x)->gemm(BE(x), false, true, l.B, H, zr, 1.0f, s.pre, s.ld_pre, u, GH, 1.0f, dh, H);
    }
    /* P now holds dA for every row */
    float *du = kurc_exec_grad(x, op->in[2]);
    if (du) {
        OPS(x)->gemm(BE(x), true, false, H, zr, BT, 1.0f, l.S, H, l.P, GH, 1.0f, du, GH);
        if (gru)
            OPS(x)->gemm(BE(x), true, false, H, H, BT, 1.0f, l.RH, H, l.P + 2 * H, GH, 1.0f,
                         du + 2 * H, GH);
    }
    float *dw = kurc_exec_grad(x, op->in[1]);
    if (dw)
        OPS(x)->gemm(BE(x), true, false, l.in, GH, BT, 1.0f, kurc_exec_value(x, op->in[0]), l.in,
                     l.P, GH, 1.0f, dw, GH);
    float *db = kurc_exec_grad(x, op->in[3]);
    if (db)
        OPS(x)->bias_backward(BE(x), BT, GH, l.P, db);
    float *dx = kurc_exec_grad(x, op->in[0]);
    if (dx)
        OPS(x)->gemm(BE(x), false, true, BT, l.in, GH, 1.0f, l.P, GH, w, GH, 1.0f, dx, l.in);
}

static const struct kurc_op_def rnn_def = {"rnn", rnn_forward, rnn_backward, rnn_saved,
                                           rnn_workspace};

int kurc_emit_rnn(struct kurc_graph *g, int x, int w, int u, int b, int len,
                  const struct kurc_rnn_spec *spec, const char *name, struct kurc_err *err) {
    const struct kurc_shape *xs = kurc_graph_shape(g, x), *ws = kurc_graph_shape(g, w);
    const struct kurc_shape *us = kurc_graph_shape(g, u), *bs = kurc_graph_shape(g, b);
    int64_t G = blocks(spec->cell);
    if (xs->ndim != 2) {
        char have[96];
        kurc_shape_format(xs, have, sizeof have);
        kurc_err_set(err, KURC_E_CONFIG, NULL,
                     "recurrent: the input must be a sequence (time, features), but '%s' has "
                     "shape %s",
                     g->tensors[x].name, have);
        return -1;
    }
    if (us->ndim != 2 || us->dim[1] != G * us->dim[0])
        return kurc_op_shape_error(g, err,
                                   "recurrent: the recurrent kernel must be (units, "
                                   "gates x units)",
                                   u, u);
    int64_t H = us->dim[0];
    if (ws->ndim != 2 || ws->dim[0] != xs->dim[1] || ws->dim[1] != G * H)
        return kurc_op_shape_error(g, err,
                                   "recurrent: the kernel must be (input features, "
                                   "gates x units)",
                                   x, w);
    if (bs->ndim != 1 || bs->dim[0] != G * H)
        return kurc_op_shape_error(g, err, "recurrent: the bias must be (gates x units)", b, u);
    if (len >= 0) {
        const struct kurc_shape *ls = kurc_graph_shape(g, len);
        if (kurc_shape_numel(ls) != 1 || g->tensors[len].fold != g->tensors[x].fold)
            return kurc_op_shape_error(g, err,
                                       "recurrent: the lengths must be one number per "
                                       "sample",
                                       len, x);
    }
    if (xs->dim[0] < 1)
        return kurc_op_shape_error(g, err, "recurrent: the sequence has no steps", x, x);
    union kurc_op_attr attr = {.rnn = {spec->cell, spec->act, spec->gate, spec->act_alpha,
                                       spec->gate_alpha, spec->reverse, spec->sequence, xs->dim[0],
                                       xs->dim[1], H}};
    struct kurc_shape out = {.ndim = 1, .dim = {H}};
    if (spec->sequence)
        out = (struct kurc_shape){.ndim = 2, .dim = {xs->dim[0], H}};
    int in[5] = {x, w, u, b, len};
    return kurc_graph_add_op(g, &rnn_def, in, len >= 0 ? 5 : 4, &out, &attr, name);
}
