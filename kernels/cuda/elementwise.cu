/* elementwise.cu - the CUDA backend's element-wise kernels: fill,
 * activations, arithmetic, clip, dropout, embedding gathers, bias
 * addition, the optimizer steps and mse's gradient; plus the helpers of
 * the library-call files (scaling for k == 0 products, transposes and
 * explicit padding for convolutions).
 *
 * Every kernel is a grid-stride loop over 64-bit indices, one thread per
 * element, so any n works with a grid sized to fill the device.  The
 * formulas are those of kernels/cpu, written in the same order; this file
 * is compiled without FMA contraction (--fmad=false), so arithmetic that
 * uses only + - * / and sqrt (the optimizers, axpby, dropout) gives the
 * CPU's results bit for bit; exp, log and tanh differ from glibc's by an
 * ulp or two.  As on the CPU, the forward kernels accept y == x (in
 * place); backward kernels need arrays that do not overlap.
 */
#include <math.h>

#include "base/rng.h"
#include "kernels/common/act_math.h"
#include "kernels/common/gather_row.h"
#include "kernels/cuda/cuda_internal.h"

#define THREADS 256

#define GRID_STRIDE(i, n)                                                                          \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                      \
         i += (int64_t)gridDim.x * blockDim.x)

/* Launches kernel over n items on the backend's stream; records a launch
 * failure against op. */
#define LAUNCH(be, op, kernel, n, ...)                                                             \
    do {                                                                                           \
        struct kc_ctx *c_ = kc_ctx_of(be);                                                         \
        kernel<<<kc_blocks(c_, (n), THREADS), THREADS, 0, c_->stream>>>(__VA_ARGS__);              \
        kc_launched(c_, op, #kernel);                                                              \
    } while (0)

/* The start of every slot: nothing to do after a failure or for n <= 0. */
#define SKIP_IF_IDLE(be, n)                                                                        \
    do {                                                                                           \
        if (kc_failed(be) || (n) <= 0)                                                             \
            return;                                                                                \
    } while (0)

/* --- fill, arithmetic, clip ------------------------------------------------ */

static __global__ void fill_kernel(float *x, int64_t n, float value) {
    GRID_STRIDE(i, n) x[i] = value;
}

void kc_fill(struct kurc_backend *be, float *x, int64_t n, float value) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "fill", fill_kernel, n, x, n, value);
}

static __global__ void add_kernel(int64_t n, const float *a, const float *b, float *y) {
    GRID_STRIDE(i, n) y[i] = a[i] + b[i];
}

static __global__ void mul_kernel(int64_t n, const float *a, const float *b, float *y) {
    GRID_STRIDE(i, n) y[i] = a[i] * b[i];
}

void kc_add(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "add", add_kernel, n, n, a, b, y);
}

void kc_mul(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "mul", mul_kernel, n, n, a, b, y);
}

/* beta == 0 never reads y (uninitialised memory, even NaN, is overwritten). */
static __global__ void axpby_kernel(int64_t n, float alpha, const float *x, float beta, float *y) {
    if (beta == 0.0f) {
        GRID_STRIDE(i, n) y[i] = alpha * x[i];
    } else if (beta == 1.0f) {
        GRID_STRIDE(i, n) y[i] += alpha * x[i];
    } else {
        GRID_STRIDE(i, n) y[i] = alpha * x[i] + beta * y[i];
    }
}

void kc_axpby(struct kurc_backend *be, int64_t n, float alpha, const float *x, float beta,
              float *y) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "axpby", axpby_kernel, n, n, alpha, x, beta, y);
}

static __global__ void mul_backward_kernel(int64_t n, const float *__restrict__ dy,
                                           const float *__restrict__ other,
                                           float *__restrict__ dx) {
    GRID_STRIDE(i, n) dx[i] += dy[i] * other[i];
}

void kc_mul_backward(struct kurc_backend *be, int64_t n, const float *dy, const float *other,
                     float *dx) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "mul_backward", mul_backward_kernel, n, n, dy, other, dx);
}

/* Comparisons, not fminf/fmaxf: NaN stays NaN. */
static __global__ void clip_kernel(int64_t n, float limit, float *x) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        x[i] = v < -limit ? -limit : (v > limit ? limit : v);
    }
}

void kc_clip(struct kurc_backend *be, int64_t n, float limit, float *x) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "clip", clip_kernel, n, n, limit, x);
}

/* --- activations ------------------------------------------------------------ */

/* One instantiation per activation: the switch folds away. */
template <int ACT>
static __global__ void act_forward_kernel(int64_t n, float alpha, const float *x, float *y) {
    GRID_STRIDE(i, n) y[i] = kurc_act_value(ACT, alpha, x[i]);
}

template <int ACT>
static __global__ void act_backward_kernel(int64_t n, float alpha, const float *__restrict__ x,
                                           const float *__restrict__ y,
                                           const float *__restrict__ dy, float *__restrict__ dx) {
    /* y is read only by tanh and sigmoid, x by the others but linear:
     * either may be NULL where it is not read */
    const bool uses_y = ACT == KURC_ACT_TANH || ACT == KURC_ACT_SIGMOID;
    const bool uses_x = !uses_y && ACT != KURC_ACT_LINEAR;
    GRID_STRIDE(i, n) {
        float xi = uses_x ? x[i] : 0.0f;
        float yi = uses_y ? y[i] : 0.0f;
        dx[i] += kurc_act_grad(ACT, alpha, xi, yi, dy[i]);
    }
}

void kc_act_forward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                    const float *x, float *y) {
    SKIP_IF_IDLE(be, n);
    if (act == KURC_ACT_LINEAR) {
        if (x != y)
            kc_cuda_ok(kc_ctx_of(be),
                       cudaMemcpyAsync(y, x, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice,
                                       kc_ctx_of(be)->stream),
                       "act_forward", "cudaMemcpyAsync");
        return;
    }
    switch (act) {
#define FORWARD_CASE(A)                                                                            \
    case A:                                                                                        \
        LAUNCH(be, "act_forward", act_forward_kernel<A>, n, n, alpha, x, y);                       \
        break;
        KURC_ACT_CASES(FORWARD_CASE)
#undef FORWARD_CASE
    default:
        break;
    }
}

void kc_act_backward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                     const float *x, const float *y, const float *dy, float *dx) {
    SKIP_IF_IDLE(be, n);
    switch (act) {
#define BACKWARD_CASE(A)                                                                           \
    case A:                                                                                        \
        LAUNCH(be, "act_backward", act_backward_kernel<A>, n, n, alpha, x, y, dy, dx);             \
        break;
        KURC_ACT_CASES(BACKWARD_CASE)
#undef BACKWARD_CASE
    default:
        break;
    }
}

/* --- dropout, gathers, bias --------------------------------------------------- */

/* The mask of cpu_dropout_forward, bit for bit: the same Philox draw
 * (rng.h) and the scale computed in float. */
static __global__ void dropout_kernel(int64_t n, float rate, float keep, uint64_t seed,
                                      uint64_t offset, const float *x, float *y, float *mask) {
    GRID_STRIDE(i, n) {
        float m = kurc_rng_uniform(seed, offset + (uint64_t)i) >= rate ? keep : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

void kc_dropout_forward(struct kurc_backend *be, int64_t n, float rate, uint64_t seed,
                        uint64_t offset, const float *x, float *y, float *mask) {
    SKIP_IF_IDLE(be, n);
    float keep = 1.0f / (1.0f - rate);
    LAUNCH(be, "dropout_forward", dropout_kernel, n, n, rate, keep, seed, offset, x, y, mask);
}

/* One thread per output element; indices are floats holding integers,
 * truncated as on the CPU; one outside the table (kurc_gather_row) reads
 * zeros. */
static __global__ void gather_kernel(int64_t total, int64_t width, int64_t rows,
                                     const float *__restrict__ index,
                                     const float *__restrict__ table, float *__restrict__ out) {
    GRID_STRIDE(i, total) {
        int64_t row = kurc_gather_row(index[i / width], rows);
        out[i] = row < 0 ? 0.0f : table[row * width + i % width];
    }
}

void kc_gather(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows, const float *index,
               const float *table, float *out) {
    SKIP_IF_IDLE(be, n * width);
    LAUNCH(be, "gather", gather_kernel, n * width, n * width, width, rows, index, table, out);
}

/* Several indices may name one row: atomicAdd (the order of the additions,
 * and so the last bits of a repeated row's sum, may vary).  An index
 * outside the table scatters nothing. */
static __global__ void gather_backward_kernel(int64_t total, int64_t width, int64_t rows,
                                              const float *__restrict__ index,
                                              const float *__restrict__ dout, float *dtable) {
    GRID_STRIDE(i, total) {
        int64_t row = kurc_gather_row(index[i / width], rows);
        if (row >= 0)
            atomicAdd(&dtable[row * width + i % width], dout[i]);
    }
}

void kc_gather_backward(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows,
                        const float *index, const float *dout, float *dtable) {
    SKIP_IF_IDLE(be, n * width);
    LAUNCH(be, "gather_backward", gather_backward_kernel, n * width, n * width, width, rows, index,
           dout, dtable);
}

static __global__ void bias_add_kernel(int64_t total, int64_t cols, float *y,
                                       const float *__restrict__ bias) {
    GRID_STRIDE(i, total) y[i] += bias[i % cols];
}

void kc_bias_add(struct kurc_backend *be, int64_t rows, int64_t cols, float *y, const float *bias) {
    SKIP_IF_IDLE(be, rows * cols);
    LAUNCH(be, "bias_add", bias_add_kernel, rows * cols, rows * cols, cols, y, bias);
}

/* dpred += f (pred - truth), f = 2 scale / cols computed on the host in
 * double as the CPU does. */
static __global__ void mse_backward_kernel(int64_t n, float f, const float *__restrict__ pred,
                                           const float *__restrict__ truth,
                                           float *__restrict__ dpred) {
    GRID_STRIDE(i, n) dpred[i] += f * (pred[i] - truth[i]);
}

void kc_mse_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                     const float *truth, float scale, float *dpred) {
    SKIP_IF_IDLE(be, rows * cols);
    float f = (float)(2.0 * scale / (double)cols);
    LAUNCH(be, "mse_backward", mse_backward_kernel, rows * cols, rows * cols, f, pred, truth,
           dpred);
}

/* --- optimizers (Keras 2.0 rules, src/core/backend.h) ------------------------------ */

static __global__ void sgd_plain_kernel(int64_t n, float lr, float *__restrict__ p,
                                        const float *__restrict__ g) {
    GRID_STRIDE(i, n) p[i] -= lr * g[i];
}

static __global__ void sgd_momentum_kernel(int64_t n, float lr, float momentum, bool nesterov,
                                           float *__restrict__ p, const float *__restrict__ g,
                                           float *__restrict__ v) {
    GRID_STRIDE(i, n) {
        float vi = momentum * v[i] - lr * g[i];
        v[i] = vi;
        if (nesterov)
            p[i] = p[i] + momentum * vi - lr * g[i];
        else
            p[i] += vi;
    }
}

void kc_sgd_step(struct kurc_backend *be, int64_t n, float lr, float momentum, bool nesterov,
                 float *p, const float *g, float *v) {
    SKIP_IF_IDLE(be, n);
    if (momentum == 0.0f)
        LAUNCH(be, "sgd_step", sgd_plain_kernel, n, n, lr, p, g);
    else
        LAUNCH(be, "sgd_step", sgd_momentum_kernel, n, n, lr, momentum, nesterov, p, g, v);
}

static __global__ void adam_kernel(int64_t n, float lr_t, float beta1, float beta2, float eps,
                                   float *__restrict__ p, const float *__restrict__ g,
                                   float *__restrict__ m, float *__restrict__ v) {
    float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float mi = beta1 * m[i] + c1 * gi;
        float vi = beta2 * v[i] + c2 * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr_t * mi / (sqrtf(vi) + eps);
    }
}

void kc_adam_step(struct kurc_backend *be, int64_t n, float lr_t, float beta1, float beta2,
                  float eps, float *p, const float *g, float *m, float *v) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "adam_step", adam_kernel, n, n, lr_t, beta1, beta2, eps, p, g, m, v);
}

static __global__ void rmsprop_kernel(int64_t n, float lr, float rho, float eps,
                                      float *__restrict__ p, const float *__restrict__ g,
                                      float *__restrict__ a) {
    float c = 1.0f - rho;
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float ai = rho * a[i] + c * (gi * gi);
        a[i] = ai;
        p[i] -= lr * gi / (sqrtf(ai) + eps);
    }
}

void kc_rmsprop_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps, float *p,
                     const float *g, float *a) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "rmsprop_step", rmsprop_kernel, n, n, lr, rho, eps, p, g, a);
}

static __global__ void adadelta_kernel(int64_t n, float lr, float rho, float eps,
                                       float *__restrict__ p, const float *__restrict__ g,
                                       float *__restrict__ a, float *__restrict__ d) {
    float c = 1.0f - rho;
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float ai = rho * a[i] + c * (gi * gi);
        float u = gi * sqrtf(d[i] + eps) / sqrtf(ai + eps);
        a[i] = ai;
        p[i] -= lr * u;
        d[i] = rho * d[i] + c * (u * u);
    }
}

void kc_adadelta_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps, float *p,
                      const float *g, float *a, float *d) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "adadelta_step", adadelta_kernel, n, n, lr, rho, eps, p, g, a, d);
}

/* --- helpers for gemm.c and conv.c ------------------------------------------- */

static __global__ void scale_matrix_kernel(int64_t total, int64_t n, float beta, float *c,
                                           int64_t ldc) {
    GRID_STRIDE(i, total) {
        float *at = c + (i / n) * ldc + i % n;
        *at = beta == 0.0f ? 0.0f : beta * *at;
    }
}

void kc_scale_matrix(struct kurc_backend *be, int64_t m, int64_t n, float beta, float *c,
                     int64_t ldc) {
    SKIP_IF_IDLE(be, m * n);
    LAUNCH(be, "gemm", scale_matrix_kernel, m * n, m * n, n, beta, c, ldc);
}

/* 32 x 32 tiles through shared memory (padded against bank conflicts):
 * reads and writes both coalesced.  Block (32, 8); grid over tiles with
 * y-tiles folded into x when there are more than 65535. */
#define TILE 32
static __global__ void transpose_kernel(int64_t rows, int64_t cols, int64_t tiles_c, int64_t tiles,
                                        const float *__restrict__ src, float *__restrict__ dst,
                                        bool accumulate) {
    __shared__ float tile[TILE][TILE + 1];
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        int64_t r0 = t / tiles_c * TILE, c0 = t % tiles_c * TILE;
        for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
            int64_t r = r0 + j, c = c0 + threadIdx.x;
            if (r < rows && c < cols)
                tile[j][threadIdx.x] = src[r * cols + c];
        }
        __syncthreads();
        /* dst row = source column c0 + j, dst column = source row r0 + x */
        for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
            int64_t c = c0 + j, r = r0 + threadIdx.x;
            if (r < rows && c < cols) {
                float v = tile[threadIdx.x][j];
                float *at = &dst[c * rows + r];
                *at = accumulate ? *at + v : v;
            }
        }
        __syncthreads();
    }
}

void kc_transpose(struct kurc_backend *be, const char *op, int64_t rows, int64_t cols,
                  const float *src, float *dst, bool accumulate) {
    SKIP_IF_IDLE(be, rows * cols);
    struct kc_ctx *c = kc_ctx_of(be);
    int64_t tiles_c = (cols + TILE - 1) / TILE;
    int64_t tiles = (rows + TILE - 1) / TILE * tiles_c;
    unsigned grid = tiles < c->max_blocks ? (unsigned)tiles : (unsigned)c->max_blocks;
    transpose_kernel<<<grid, dim3(TILE, 8), 0, c->stream>>>(rows, cols, tiles_c, tiles, src, dst,
                                                            accumulate);
    kc_launched(c, op, "transpose_kernel");
}

/* A box's cell (n, d0, d1, d2, ch) as an offset. */
static __device__ __forceinline__ int64_t box_at(const struct kc_box &b, int64_t n,
                                                 const int64_t d[3], int64_t ch) {
    return (((n * b.dims[0] + d[0]) * b.dims[1] + d[1]) * b.dims[2] + d[2]) * b.channels + ch;
}

/* One thread per padded cell: its source in x, or 0. */
static __global__ void pad_kernel(int64_t total, struct kc_box x, struct kc_box p, int64_t b0,
                                  int64_t b1, int64_t b2, const float *__restrict__ src,
                                  float *__restrict__ dst) {
    GRID_STRIDE(i, total) {
        int64_t ch = i % p.channels, rest = i / p.channels;
        int64_t d[3];
        d[2] = rest % p.dims[2] - b2;
        rest /= p.dims[2];
        d[1] = rest % p.dims[1] - b1;
        rest /= p.dims[1];
        d[0] = rest % p.dims[0] - b0;
        int64_t n = rest / p.dims[0];
        bool inside = d[0] >= 0 && d[0] < x.dims[0] && d[1] >= 0 && d[1] < x.dims[1] && d[2] >= 0 &&
                      d[2] < x.dims[2];
        dst[i] = inside ? src[box_at(x, n, d, ch)] : 0.0f;
    }
}

void kc_pad(struct kurc_backend *be, const struct kc_box *x, const struct kc_box *padded,
            const int64_t before[3], const float *src, float *dst) {
    int64_t total =
        padded->batch * padded->dims[0] * padded->dims[1] * padded->dims[2] * padded->channels;
    SKIP_IF_IDLE(be, total);
    LAUNCH(be, "convolution padding", pad_kernel, total, total, *x, *padded, before[0], before[1],
           before[2], src, dst);
}

/* One thread per cell of x: dx += its cell in the padded gradient. */
static __global__ void unpad_add_kernel(int64_t total, struct kc_box x, struct kc_box p, int64_t b0,
                                        int64_t b1, int64_t b2, const float *__restrict__ dpadded,
                                        float *__restrict__ dx) {
    GRID_STRIDE(i, total) {
        int64_t ch = i % x.channels, rest = i / x.channels;
        int64_t d[3];
        d[2] = rest % x.dims[2] + b2;
        rest /= x.dims[2];
        d[1] = rest % x.dims[1] + b1;
        rest /= x.dims[1];
        d[0] = rest % x.dims[0] + b0;
        int64_t n = rest / x.dims[0];
        if (d[0] < p.dims[0] && d[1] < p.dims[1] && d[2] < p.dims[2])
            dx[i] += dpadded[box_at(p, n, d, ch)];
    }
}

void kc_unpad_add(struct kurc_backend *be, const struct kc_box *x, const struct kc_box *padded,
                  const int64_t before[3], const float *dpadded, float *dx) {
    int64_t total = x->batch * x->dims[0] * x->dims[1] * x->dims[2] * x->channels;
    SKIP_IF_IDLE(be, total);
    LAUNCH(be, "convolution padding", unpad_add_kernel, total, total, *x, *padded, before[0],
           before[1], before[2], dpadded, dx);
}
