/* backend.h - the op table every compute backend implements.
 *
 * This is kurc's analogue of the Keras backend API: a small, coarse set of
 * numeric kernels on float32 arrays that live wherever the backend keeps
 * its memory (host memory for the CPU backend, device memory for CUDA).
 * Graph ops (src/ops) call these kernels and never touch device code, so a
 * model written once runs on every backend.
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

#include "status.h"

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

struct kurc_backend;

struct kurc_backend_ops {
    const char *name;

    /* Memory.  alloc returns zeroed memory or NULL (the caller reports the
     * size); upload/download copy between host and backend memory. */
    void *(*alloc)(struct kurc_backend *be, size_t bytes);
    void (*free)(struct kurc_backend *be, void *ptr);
    void (*upload)(struct kurc_backend *be, void *dst, const void *src, size_t bytes);
    void (*download)(struct kurc_backend *be, void *dst, const void *src, size_t bytes);
    void (*copy)(struct kurc_backend *be, void *dst, const void *src, size_t bytes);
    void (*zero)(struct kurc_backend *be, void *dst, size_t bytes);
    void (*fill)(struct kurc_backend *be, float *x, int64_t n, float value);
    /* Waits until every queued kernel has finished. */
    void (*synchronize)(struct kurc_backend *be);

    /* C = alpha op(A) op(B) + beta C, row-major; op(A) is m x k, op(B) is
     * k x n; lda, ldb, ldc are row strides of the stored matrices. */
    void (*gemm)(struct kurc_backend *be, bool trans_a, bool trans_b, int64_t m, int64_t n,
                 int64_t k, float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                 float beta, float *c, int64_t ldc);

    /* y[r, c] += bias[c] for rows x cols; db[c] += sum_r dy[r, c]. */
    void (*bias_add)(struct kurc_backend *be, int64_t rows, int64_t cols, float *y,
                     const float *bias);
    void (*bias_backward)(struct kurc_backend *be, int64_t rows, int64_t cols, const float *dy,
                          float *dbias);

    /* Convolution without bias.  Workspace bytes from conv_workspace. */
    size_t (*conv_workspace)(struct kurc_backend *be, const struct kurc_conv_geom *g);
    void (*conv_forward)(struct kurc_backend *be, const struct kurc_conv_geom *g, const float *x,
                         const float *w, float *y, void *workspace);
    void (*conv_backward_data)(struct kurc_backend *be, const struct kurc_conv_geom *g,
                               const float *dy, const float *w, float *dx, void *workspace);
    void (*conv_backward_filter)(struct kurc_backend *be, const struct kurc_conv_geom *g,
                                 const float *x, const float *dy, float *dw, void *workspace);

    /* Pooling.  Backward gets the forward input and output; for max pooling
     * the gradient goes to the first maximum of each window. */
    void (*pool_forward)(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                         float *y);
    void (*pool_backward)(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                          const float *y, const float *dy, float *dx);

    /* y = act(x); dx += act'(x) dy (y is act(x), for activations whose
     * derivative is cheaper from it).  alpha is the activation's
     * parameter where it has one. */
    void (*act_forward)(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                        const float *x, float *y);
    void (*act_backward)(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                         const float *x, const float *y, const float *dy, float *dx);

    /* Softmax (or log-softmax) over the last axis of rows x cols, stable
     * against overflow; backward from the forward output y. */
    void (*softmax_forward)(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                            const float *x, float *y);
    void (*softmax_backward)(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                             const float *y, const float *dy, float *dx);

    /* Element-wise arithmetic on n elements. */
    void (*add)(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y);
    void (*mul)(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y);
    /* y = alpha x + beta y (beta 0 overwrites, whatever y held). */
    void (*axpby)(struct kurc_backend *be, int64_t n, float alpha, const float *x, float beta,
                  float *y);
    /* dx += dy * other (the gradient of a product). */
    void (*mul_backward)(struct kurc_backend *be, int64_t n, const float *dy, const float *other,
                         float *dx);

    /* dst[view] = src[view] (or += when accumulate): transposes, slices,
     * concatenation and repetition are all strided copies. */
    void (*copy_strided)(struct kurc_backend *be, const struct kurc_strided *view,
                         const float *src, float *dst, bool accumulate);

    /* Embedding lookup: out[i, :] = table[index[i], :] for n indices held as
     * floats (already checked to lie in [0, rows)); backward scatters
     * dtable[index[i], :] += dout[i, :]. */
    void (*gather)(struct kurc_backend *be, int64_t n, int64_t width, const float *index,
                   const float *table, float *out);
    void (*gather_backward)(struct kurc_backend *be, int64_t n, int64_t width, const float *index,
                            const float *dout, float *dtable);

    /* Inverted dropout: mask[i] = (u(seed, offset + i) >= rate) / (1 - rate)
     * with u the counter-based uniform of rng.h; y = x * mask. */
    void (*dropout_forward)(struct kurc_backend *be, int64_t n, float rate, uint64_t seed,
                            uint64_t offset, const float *x, float *y, float *mask);

    /* Batch normalisation with the batch's own statistics over (outer,
     * inner) for each of channels (x viewed as outer x channels x inner):
     * y = gamma (x - mean) / sqrt(var + eps) + beta, var biased.  Saves mean
     * and invstd (channels each) for the backward pass.  In the backward pass
 * dx, dgamma and dbeta may each be NULL when that gradient is not needed. */
    void (*batchnorm_forward)(struct kurc_backend *be, int64_t outer, int64_t channels,
                              int64_t inner, float eps, const float *x, const float *gamma,
                              const float *beta, float *y, float *mean, float *invstd);
    void (*batchnorm_backward)(struct kurc_backend *be, int64_t outer, int64_t channels,
                               int64_t inner, const float *x, const float *dy, const float *gamma,
                               const float *mean, const float *invstd, float *dx, float *dgamma,
                               float *dbeta);

    /* Losses over rows x cols: loss[r] per row (see KURC_CCE_EPSILON for
     * cce); backward adds scale * d(loss[r])/d(pred) for every row. */
    void (*cce_forward)(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                        const float *truth, float *loss);
    void (*cce_backward)(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                         const float *truth, float scale, float *dpred);
    /* loss[r] = mean over cols of (pred - truth)^2. */
    void (*mse_forward)(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                        const float *truth, float *loss);
    void (*mse_backward)(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                         const float *truth, float scale, float *dpred);

    /* Reductions to the host: *out = sum x[i] and sum x[i]^2, in double. */
    void (*sum)(struct kurc_backend *be, int64_t n, const float *x, double *out);
    void (*sum_squares)(struct kurc_backend *be, int64_t n, const float *x, double *out);
    /* x[i] = clamp(x[i], -limit, limit). */
    void (*clip)(struct kurc_backend *be, int64_t n, float limit, float *x);

    /* Optimizer updates over flat arrays, Keras 2.0 rules (lr already
     * includes decay; see src/optim for the schedules):
     *  sgd:      v = momentum v - lr g;  p += nesterov ? momentum v - lr g : v
     *            (momentum 0 and no state: p -= lr g)
     *  adam:     m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
     *            p -= lr_t m / (sqrt(v) + eps)   (lr_t bias-corrected by the caller)
     *  rmsprop:  a = rho a + (1-rho) g^2;  p -= lr g / (sqrt(a) + eps)
     *  adadelta: a = rho a + (1-rho) g^2;  u = g sqrt(d + eps) / sqrt(a + eps);
     *            p -= lr u;  d = rho d + (1-rho) u^2 */
    void (*sgd_step)(struct kurc_backend *be, int64_t n, float lr, float momentum, bool nesterov,
                     float *p, const float *g, float *v);
    void (*adam_step)(struct kurc_backend *be, int64_t n, float lr_t, float beta1, float beta2,
                      float eps, float *p, const float *g, float *m, float *v);
    void (*rmsprop_step)(struct kurc_backend *be, int64_t n, float lr, float rho, float eps,
                         float *p, const float *g, float *a);
    void (*adadelta_step)(struct kurc_backend *be, int64_t n, float lr, float rho, float eps,
                          float *p, const float *g, float *a, float *d);

    /* Batch normalisation in pieces, for statistics summed over several
     * ranks or chunks (src/ops/op_norm.c); optional (NULL: the backend only
     * normalises with one batch's statistics).  x and dy are viewed as
     * (outer, channels, inner) and per-channel sums come back to the host
     * in double:
     *   dy NULL: s1[c] = sum (x - center[c]),  s2[c] = sum (x - center[c])^2
     *   else:    s1[c] = sum dy,               s2[c] = sum dy (x - center[c])
     * (center is a host array, NULL for zeros).  batchnorm_affine writes
     * (or adds to, when accumulate) out the per-channel affine
     *   k[c] ((x - hi[c]) - lo[c]) + b[c]  (+ a[c] dy when dy is not NULL)
     * with hi, lo, k, a, b in backend memory (hi + lo is the mean split
     * into a float and its rounding error). */
    void (*batchnorm_sums)(struct kurc_backend *be, int64_t outer, int64_t channels,
                           int64_t inner, const float *x, const float *dy, const double *center,
                           double *s1, double *s2);
    void (*batchnorm_affine)(struct kurc_backend *be, int64_t outer, int64_t channels,
                             int64_t inner, const float *x, const float *hi, const float *lo,
                             const float *k, const float *dy, const float *a, const float *b,
                             float *out, bool accumulate);
};

/* A backend instance: its op table and its private state. */
struct kurc_backend {
    const struct kurc_backend_ops *ops;
    void *ctx;
};

#endif
