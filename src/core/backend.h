/* backend.h - the op table every compute backend implements.
 *
 * This is kurc's analogue of the Keras backend API: a small, coarse set of
 * numeric kernels on float32 arrays that live wherever the backend keeps
 * its memory (host memory for the CPU backend, device memory for CUDA).
 * Graph ops (src/ops) call these kernels and never touch device code, so a
 * model written once runs on every backend.  The slots, each with its
 * contract, are listed once in core/backend_slots.def.
 *
 * Conventions, shared by every backend:
 *  - Arrays are dense, row-major, float32, channels last: a batch of 2-D
 *    images is (N, rows, cols, channels).
 *  - Functions named *_backward ACCUMULATE into their gradient outputs
 *    (dx += ...), so a value used twice gets the sum of both gradients.
 *    Forward functions OVERWRITE their outputs.
 *  - Sizes are int64_t element counts; no function allocates memory, and
 *    functions that need scratch space take a workspace whose size the
 *    matching *_workspace query returns (in bytes).
 *  - Kernels never fail on valid arguments; callers check shapes before
 *    calling.  Host-side results (sums) come back through out-parameters.
 */
#ifndef KURC_BACKEND_H
#define KURC_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element-wise activations (Keras names). softmax is separate. */
enum kurc_act {
    KURC_ACT_LINEAR,
    KURC_ACT_RELU,
    KURC_ACT_TANH,
    KURC_ACT_SIGMOID,
    KURC_ACT_HARD_SIGMOID, /* clip(0.2 x + 0.5, 0, 1) */
    KURC_ACT_SOFTPLUS,     /* log(1 + exp(x)) */
    KURC_ACT_SOFTSIGN,     /* x / (1 + |x|) */
    KURC_ACT_ELU,          /* x > 0 ? x : alpha (exp(x) - 1), alpha default 1 */
    KURC_ACT_SELU,         /* scale * elu(x, 1.6732632423543772) with scale 1.0507009873554805 */
    KURC_ACT_LEAKY_RELU,   /* x > 0 ? x : alpha x, alpha default 0.3 (Keras) */
    KURC_ACT_COUNT
};

/* Whether act'(x) follows exactly from y = act(x) alone (so a fused
 * epilogue keeps only y): relu, leaky_relu with alpha >= 0 (y > 0 exactly
 * when x > 0), tanh, sigmoid (their derivatives read y) and linear. */
static inline bool kurc_act_fusable(enum kurc_act act, float alpha) {
    return act == KURC_ACT_LINEAR || act == KURC_ACT_RELU || act == KURC_ACT_TANH ||
           act == KURC_ACT_SIGMOID || (act == KURC_ACT_LEAKY_RELU && alpha >= 0.0f);
}

/* Geometry of an N-D convolution (ndim spatial axes, 1 to 3), channels last:
 *   x (batch, in[0..ndim), cin)   w (kernel[0..ndim), cin, cout)
 *   y (batch, out[0..ndim), cout)
 * out[i] = (in[i] + pad_before[i] + pad_after[i] - kernel[i]) / stride[i] + 1.
 * "same" borders pad TensorFlow's way (the extra pixel goes after). */
struct kurc_conv_geom {
    int ndim;
    int64_t batch;
    int64_t in[3];
    int64_t out[3];
    int64_t kernel[3];
    int64_t stride[3];
    int64_t pad_before[3];
    int64_t cin;
    int64_t cout;
    bool same; /* the border rule that gave out from in (read by the shape
                * arithmetic of sequence lengths, src/ops/seqlen.h; the
                * kernels need only pad_before) */
};

enum kurc_pool_type {
    KURC_POOL_MAX,
    KURC_POOL_AVERAGE, /* averages only the input cells inside the window (padding excluded) */
};

/* Geometry of an N-D pooling window, channels last:
 *   x (batch, in[...], channels) -> y (batch, out[...], channels). */
struct kurc_pool_geom {
    int ndim;
    enum kurc_pool_type type;
    int64_t batch;
    int64_t in[3];
    int64_t out[3];
    int64_t size[3];
    int64_t stride[3];
    int64_t pad_before[3];
    int64_t channels;
    bool same; /* as in kurc_conv_geom */
};

/* A strided view for kurc_backend_ops.copy_strided: up to 8 axes. */
#define KURC_MAX_COPY_DIMS 8
struct kurc_strided {
    int ndim;
    int64_t dims[KURC_MAX_COPY_DIMS];
    int64_t src_strides[KURC_MAX_COPY_DIMS]; /* in elements; 0 repeats (broadcast) */
    int64_t dst_strides[KURC_MAX_COPY_DIMS];
};

/* Kur's categorical cross-entropy (Keras 2.0): predictions are renormalised
 * to sum 1 over the last axis, clipped to [KURC_CCE_EPSILON, 1 - eps], and
 * loss_row = -sum(truth * log(p)). */
#define KURC_CCE_EPSILON 1e-7f
/* The clip bounds, computed in float32 as Keras does, used in double. */
#define KURC_CCE_LO ((double)KURC_CCE_EPSILON)
#define KURC_CCE_HI ((double)(1.0f - KURC_CCE_EPSILON))

/* Recurrent cells, Keras 2.0 semantics as Kur used them (see
 * src/ops/op_rnn.c for how a layer is put together from these kernels).
 * A layer of H units has `blocks` gate blocks of H columns each; a row of
 * pre-activations a = x W + b + h_prev U holds them side by side, in
 * Keras' order:
 *   KURC_RNN_SIMPLE (1 block):     h = act(a)
 *   KURC_RNN_GRU    (3 blocks z, r, h; the reset gate multiplies h_prev
 *                   BEFORE its product with the h block of U, Keras 2.0's
 *                   GRU):
 *                   z = gate(a_z), r = gate(a_r),
 *                   a_h = x W_h + b_h + (r * h_prev) U_h,  hh = act(a_h),
 *                   h = z * h_prev + (1 - z) * hh
 *   KURC_RNN_LSTM   (4 blocks i, f, c, o):
 *                   i = gate(a_i), f = gate(a_f), g = act(a_c), o = gate(a_o),
 *                   c = f * c_prev + i * g,  h = o * act(c)
 * `act` is the cell activation (Kur's outer_activation, default relu) and
 * `gate` the recurrent activation (Keras 2.0: hard_sigmoid), each with its
 * parameter alpha as in act_forward. */
enum kurc_rnn_cell {
    KURC_RNN_SIMPLE,
    KURC_RNN_GRU,
    KURC_RNN_LSTM,
};

/* One time step of a recurrent layer over `rows` samples, for the four
 * rnn_* kernels.  Every matrix is row-major with the given row stride (ld,
 * in floats); dh, dc and drh are contiguous rows x units.  Row r is VALID
 * at this step when len is NULL or (float)t < len[r] (len holds integer-
 * valued floats, one per row); steps of invalid rows are masked: the state
 * passes through unchanged and the output is zero.
 *
 *   rnn_forward_gates (GRU only; called after a_z and a_r are complete,
 *     i.e. after pre[:, 0:2H] += h_prev U[:, 0:2H]):
 *       rh = gate(a_r) * h_prev for valid rows, 0 for invalid rows.
 *     The caller then adds rh U_h into the h block of pre.
 *   rnn_forward_step (pre complete: every block holds its full
 *     pre-activation):
 *       valid rows:   h (and c for LSTM) from the cell equations above;
 *                     y = h when y is not NULL;
 *       invalid rows: h = h_prev, c = c_prev, y = 0 (when y is not NULL).
 *     h may alias nothing else; y may be NULL (then ld_y is unused).
 *   rnn_backward_step (pre still holds the complete pre-activations of the
 *     step; dh holds the gradient of the objective w.r.t. this step's new
 *     state h coming from later steps, dc the same for c (LSTM);
 *     dy, when not NULL, the gradient w.r.t. this step's output y, row
 *     stride ld_y):
 *       valid rows:   with dh_t = dh + dy, OVERWRITES pre's blocks with the
 *                     gradients w.r.t. the pre-activations (SIMPLE, LSTM:
 *                     every block; GRU: the z and h blocks, leaving a_r for
 *                     rnn_backward_gates), and OVERWRITES dh with the part
 *                     of d(h_prev) that does not go through U (GRU:
 *                     dh_t * z; SIMPLE and LSTM: 0) and dc with d(c_prev)
 *                     (LSTM: dc_t * f, where dc_t = dc + dh_t o act'(c));
 *       invalid rows: pre's blocks = 0 (GRU: z and h blocks), dh and dc
 *                     unchanged (the state passed through; dy is ignored,
 *                     the masked output being a constant 0).
 *     The caller then adds pre_grad U^T to dh (GRU: after
 *     rnn_backward_gates, with the z and r blocks only).
 *   rnn_backward_gates (GRU only; drh = d(rh) = da_h U_h^T, computed by the
 *     caller from the h block rnn_backward_step wrote):
 *       valid rows:   da_r = drh * h_prev * gate'(a_r) OVERWRITES the r
 *                     block of pre; dh += drh * gate(a_r);
 *       invalid rows: the r block of pre = 0; dh unchanged.
 * Activation derivatives are taken at the pre-activation (at a kink, the
 * left piece's, as act_backward).  No two of the arrays a call writes
 * (pre, h, c, y, rh, dh, dc) overlap each other or the arrays it reads
 * (h_prev, c_prev, dy, drh, len).  How src/ops/op_rnn.c calls these, per
 * step t of the scan (the gemms are kurc_backend_ops.gemm calls):
 *   forward:  pre_t[:, 0:K] += h_prev U[:, 0:K]   (K = 2H for GRU, else G H;
 *                                                  skipped at the first step)
 *             GRU: rnn_forward_gates; pre_t[:, 2H:3H] += rh U[:, 2H:3H]
 *             rnn_forward_step
 *   backward (steps in reverse scan order):
 *             rnn_backward_step
 *             GRU: drh = pre_t[:, 2H:3H] U[:, 2H:3H]^T; rnn_backward_gates
 *             dh += pre_t[:, 0:K] U[:, 0:K]^T     (skipped at the first step) */
struct kurc_rnn_step {
    enum kurc_rnn_cell cell;
    enum kurc_act act;
    float act_alpha;
    enum kurc_act gate;
    float gate_alpha;
    int64_t rows;
    int64_t units;
    int64_t t;        /* this step's time index, compared with len */
    const float *len; /* rows lengths, or NULL: every row valid */
    float *pre;       /* rows x (blocks * units) pre-activations */
    int64_t ld_pre;
    const float *h_prev; /* rows x units: the state before the step */
    const float *c_prev; /* LSTM cell state before the step (else NULL) */
    int64_t ld_prev;     /* row stride of h_prev and c_prev */
    float *h;            /* forward: the new state */
    float *c;            /* forward, LSTM: the new cell state */
    int64_t ld_state;    /* row stride of h and c */
    float *y;            /* forward: the output row, or NULL */
    const float *dy;     /* backward: the output's gradient, or NULL */
    int64_t ld_y;        /* row stride of y and dy */
    float *rh;           /* GRU forward_gates: r * h_prev */
    int64_t ld_rh;
    float *dh;        /* backward: rows x units, contiguous */
    float *dc;        /* backward, LSTM: rows x units, contiguous */
    const float *drh; /* GRU backward_gates: rows x units, contiguous */
};

/* CTC (connectionist temporal classification) as Kur's Keras 2.0 backend
 * computed it with TensorFlow (K.ctc_batch_cost): the network gives
 * probabilities p (a softmax output), Keras passes log(p + 1e-8) to
 * tf.nn.ctc_loss, which applies a softmax to them again.  So the loss uses
 *   q[t, k] = (p[t, k] + KURC_CTC_EPSILON) / sum_j (p[t, j] + KURC_CTC_EPSILON)
 * and is the standard CTC negative log-likelihood of the label sequence:
 *   loss = -log sum over alignments pi of prod_t q[t, pi_t],
 * alignments being the length-n paths over the extended label sequence
 * (blank, l1, blank, l2, ..., lm, blank) that start at its first or second
 * entry, end at its last or second to last, and move 0, 1 or 2 entries
 * per step (2 only onto a label different from the one two back).
 *
 * Arrays, for `batch` samples b:
 *   prob       (batch, steps, classes)  probabilities
 *   labels     (batch, max_labels)      integer-valued floats; the label of
 *                                       class k is k - label_shift
 *   label_len  (batch)                  m_b = clamp(round(label_len[b]), 0, max_labels)
 *   input_len  (batch) or NULL          n_b = clamp(round(input_len[b]), 0, steps)
 *                                       (NULL: steps); only steps t < n_b
 *                                       count.
 * Sample b's sequence is the classes labels[b, j] + label_shift, j < m_b.
 * loss[b] = scale * the negative log-likelihood, computed in log space
 * (log-sum-exp) in at least double precision on the CPU.  A sample without
 * an alignment gets loss +INFINITY and a zero gradient: when n_b is less
 * than m_b plus the number of repeated neighbours (j with l_j = l_{j-1}),
 * or when a class lies outside [0, classes) or equals the blank.  n_b = 0
 * with m_b = 0 gives loss 0.
 * ctc_backward ADDS scale * d(loss[b] / scale) / d(prob[b, t, k]) to
 * dprob for t < n_b (steps beyond n_b are untouched):
 *   d/dp[t,k] = (q[t,k] - gamma[t,k]) / (p[t,k] + KURC_CTC_EPSILON),
 *   gamma[t,k] = sum over extended positions s holding class k of
 *                alpha_t(s) beta_t(s) / (q[t,k] P)
 * (alpha, beta: the forward and backward variables including step t's
 * emission; P the sequence probability).  Samples are independent.  Both
 * functions take a workspace of at least ctc_workspace(geometry) bytes;
 * the op asks with the executor's largest batch and may then call with
 * fewer samples (g->batch), as with conv_workspace.  The workspace is
 * scratch only: nothing is kept in it from ctc_forward to ctc_backward
 * (the backward pass recomputes the forward variables). */
#define KURC_CTC_EPSILON 1e-8f

struct kurc_ctc_geom {
    int64_t batch;
    int64_t steps;       /* T */
    int64_t classes;     /* C, the blank included */
    int64_t max_labels;  /* L */
    int64_t blank;       /* the blank's class: C - 1 (Keras), 0 (warp) */
    int64_t label_shift; /* added to every label: 0, or 1 (warp) */
};

/* Where a backend keeps the arrays its slots work on. */
enum kurc_memory {
    KURC_MEMORY_HOST,   /* host memory: the host may read and write it */
    KURC_MEMORY_DEVICE, /* a device's: the host reaches it through upload and download */
};

struct kurc_backend;

struct kurc_backend_ops {
    const char *name; /* its registry entry's name: "cpu", "cuda" */
    enum kurc_memory memory;
    /* One member per slot of core/backend_slots.def, which has the
     * contracts, in its order. */
#define KURC_SLOT(ret, slot, params) ret(*slot) params;
#include "core/backend_slots.def"
};

/* A backend instance: its op table and its private state. */
struct kurc_backend {
    const struct kurc_backend_ops *ops;
    void *ctx;
};

/* What a backend is created with (src/train/backend_select.c fills it from
 * settings.backend and the environment); each backend reads the fields
 * that concern it. */
struct kurc_backend_options {
    int threads;     /* host backends: BLAS threads; 0 leaves the library's own */
    int device;      /* device backends: the device's ordinal (CUDA: after
                      * CUDA_VISIBLE_DEVICES) */
    int rank;        /* the global rank, for messages; -1: a single process */
    bool allow_tf32; /* device backends: matrix products and convolutions may
                      * use TF32 tensor cores (~1e-3 relative error) */
    bool find;       /* device backends: choose convolution algorithms by
                      * timing them instead of by the library's heuristics */
};

/* A kind of backend, as the registry (kernels/backends.h) lists it: one
 * const struct in each backend's folder. */
struct kurc_backend_type {
    const char *name;        /* settings.backend's name for it, and its ops' */
    enum kurc_memory memory; /* as its ops' */
    /* How many devices it can run on here (host backends: 1); 0 when it
     * cannot run, and then `why` (may be NULL) says why, e.g. "no CUDA
     * device is visible (cudaGetDeviceCount: ...)".  Never fails otherwise. */
    int (*available)(char *why, size_t why_size);
    /* Creates an instance (free it with kurc_backend_release); on failure
     * KURC_E_BACKEND with the call that failed. */
    enum kurc_status (*create)(const struct kurc_backend_options *opt, struct kurc_backend **out,
                               struct kurc_err *err);
};

/* Destroys a backend made by its type's create (NULL: nothing to do). */
static inline void kurc_backend_release(struct kurc_backend *be) {
    if (be)
        be->ops->destroy(be);
}

/* The backend's recorded failure (see kurc_backend_ops.check), KURC_OK when
 * there is none or the backend cannot fail. */
static inline enum kurc_status kurc_backend_check(struct kurc_backend *be, struct kurc_err *err) {
    return be && be->ops->check ? be->ops->check(be, err) : KURC_OK;
}

#ifdef __cplusplus
}
#endif

#endif
