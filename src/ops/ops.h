/* ops.h - emitting ops into a graph.
 *
 * Each function checks its inputs' shapes, appends one op (or a few) to the
 * graph and returns the output tensor, or -1 with err set when the shapes do
 * not fit (the message names the tensors and shapes; the caller adds the
 * container).  Shapes are per sample (no batch axis); parameters are whole.
 * Every op has a forward and a backward on the backend op table; see the
 * op files for the maths.
 */
#ifndef KURC_OPS_H
#define KURC_OPS_H

#include <stdbool.h>

#include "base/status.h"
#include "core/backend.h"
#include "core/graph.h"

/* y = x w (+ b) over the last axis: x (..., in), w (in, out), b (out) or -1. */
int kurc_emit_dense(struct kurc_graph *g, int x, int w, int b, const char *name,
                    struct kurc_err *err);

/* N-D convolution, channels last: x (in..., cin), w (kernel..., cin, cout),
 * b (cout) or -1; same borders pad TensorFlow's way.  Transposed
 * convolution is its adjoint: x (in..., cin) -> y with in[i] * stride[i]
 * (same) or (in[i] - 1) * stride[i] + kernel[i] (valid), w (kernel...,
 * cout, cin). */
int kurc_emit_conv(struct kurc_graph *g, int x, int w, int b, const int64_t *stride, bool same,
                   const char *name, struct kurc_err *err);
int kurc_emit_conv_transpose(struct kurc_graph *g, int x, int w, int b, const int64_t *stride,
                             bool same, const char *name, struct kurc_err *err);

/* Pooling over the leading len(size) axes of x (..., channels). */
int kurc_emit_pool(struct kurc_graph *g, int x, enum kurc_pool_type type, int ndim,
                   const int64_t *size, const int64_t *stride, bool same, const char *name,
                   struct kurc_err *err);

int kurc_emit_activation(struct kurc_graph *g, int x, enum kurc_act act, float alpha,
                         const char *name);
/* Softmax or log-softmax over the last axis. */
int kurc_emit_softmax(struct kurc_graph *g, int x, bool log, const char *name);

/* Element-wise a + b, a * b (equal shapes), and s * x. */
int kurc_emit_add(struct kurc_graph *g, int a, int b, const char *name, struct kurc_err *err);
int kurc_emit_mul(struct kurc_graph *g, int a, int b, const char *name, struct kurc_err *err);
int kurc_emit_scale(struct kurc_graph *g, int x, float s, const char *name);

/* Shape ops: same elements in a new shape; permutation of the axes;
 * concatenation along an axis (other axes equal); a slice [start,
 * start+len) of an axis; a new leading axis repeating x count times. */
int kurc_emit_reshape(struct kurc_graph *g, int x, const struct kurc_shape *shape,
                      const char *name, struct kurc_err *err);
int kurc_emit_transpose(struct kurc_graph *g, int x, const int *perm, const char *name,
                        struct kurc_err *err);
int kurc_emit_concat(struct kurc_graph *g, const int *xs, int n, int axis, const char *name,
                     struct kurc_err *err);
int kurc_emit_slice(struct kurc_graph *g, int x, int axis, int64_t start, int64_t len,
                    const char *name, struct kurc_err *err);
int kurc_emit_repeat(struct kurc_graph *g, int x, int64_t count, const char *name);

/* Folds the leading axis of x (T, rest...) into the batch (the result has
 * shape rest... and T times x's fold), and unfolds it back; `parallel`
 * builds its children between the two (see graph.h). */
int kurc_emit_fold(struct kurc_graph *g, int x, const char *name, struct kurc_err *err);
int kurc_emit_unfold(struct kurc_graph *g, int x, int64_t slices, const char *name);

/* Sum (or mean) over the last axis: (..., n) -> (..., 1). */
int kurc_emit_reduce(struct kurc_graph *g, int x, bool mean, const char *name);

/* Embedding lookup: index (T,) of integer-valued floats, table (V, D) ->
 * (T, D). */
int kurc_emit_gather(struct kurc_graph *g, int index, int table, const char *name,
                     struct kurc_err *err);
/* Whether op is an embedding lookup (its in[0] holds the indices and in[1]
 * the table): the binding checks indices fed from data (binding.c). */
bool kurc_op_is_gather(const struct kurc_op *op);

/* Inverted dropout of rate in [0, 1), active only while training; seed
 * identifies the layer's mask stream. */
int kurc_emit_dropout(struct kurc_graph *g, int x, float rate, uint64_t seed, const char *name);

/* Batch normalisation over every axis but `axis` (of the per-sample
 * shape), with the batch's statistics; gamma and beta have the axis's size. */
int kurc_emit_batchnorm(struct kurc_graph *g, int x, int gamma, int beta, int axis, float eps,
                        const char *name, struct kurc_err *err);

/* Per-sample losses (shape (1,)): the mean over the sample's rows of the
 * row losses (rows = all but the last axis).  Backward seeds itself with
 * weight * loss_scale / rows. */
int kurc_emit_cce(struct kurc_graph *g, int pred, int truth, float weight, const char *name,
                  struct kurc_err *err);
int kurc_emit_mse(struct kurc_graph *g, int pred, int truth, float weight, const char *name,
                  struct kurc_err *err);

/* A recurrent layer (see op_rnn.c and enum kurc_rnn_cell in backend.h):
 * x (T, in), w (in, G units), u (units, G units), b (G units) with G the
 * cell's gate blocks (SIMPLE 1, GRU 3, LSTM 4), and len (1,) the
 * sample's length in steps or -1 (every step counts).  The output is
 * (T, units) with sequence, else (units,). */
struct kurc_rnn_spec {
    enum kurc_rnn_cell cell;
    enum kurc_act act; /* the cell activation (Kur's outer_activation) */
    float act_alpha;
    enum kurc_act gate; /* the gates' (Keras 2.0: hard_sigmoid) */
    float gate_alpha;
    bool reverse;  /* scan from the last step to the first (output time-aligned) */
    bool sequence; /* every step's output, else the final state */
};
int kurc_emit_rnn(struct kurc_graph *g, int x, int w, int u, int b, int len,
                  const struct kurc_rnn_spec *spec, const char *name, struct kurc_err *err);

/* The CTC loss (see op_ctc.c): pred (T, C) probabilities, labels (L,),
 * label_len (1,) and in_len (1,) or -1 -> the per-sample loss (1,).  The
 * blank is class C - 1 (warp: class 0, and every label + 1 is its class). */
struct kurc_ctc_spec {
    float weight;
    bool warp;
    bool loss_scale;
};
int kurc_emit_ctc(struct kurc_graph *g, int pred, int labels, int label_len, int in_len,
                  const struct kurc_ctc_spec *spec, const char *name, struct kurc_err *err);

#endif
