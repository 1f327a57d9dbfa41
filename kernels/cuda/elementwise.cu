/* elementwise.cu - the CUDA backend's element-wise kernels: fill,
 * activations, arithmetic, clip, dropout and the bias addition; plus the
 * scaling gemm.c does for products with k == 0.
 *
 * The formulas are those of kernels/cpu, written in the same order; this
 * file is compiled without FMA contraction (--fmad=false), so arithmetic
 * that uses only + - * / (axpby, dropout) gives the CPU's results bit for
 * bit; exp, log and tanh differ from glibc's by an ulp or two.  As on the
 * CPU, the forward kernels accept y == x (in place); backward kernels need
 * arrays that do not overlap.
 */
#include <math.h>

#include "base/rng.h"
#include "kernels/common/act_math.h"
#include "kernels/cuda/grid.cuh"

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

/* --- dropout, bias ---------------------------------------------------------- */

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

static __global__ void bias_add_kernel(int64_t total, int64_t cols, float *y,
                                       const float *__restrict__ bias) {
    GRID_STRIDE(i, total) y[i] += bias[i % cols];
}

void kc_bias_add(struct kurc_backend *be, int64_t rows, int64_t cols, float *y, const float *bias) {
    SKIP_IF_IDLE(be, rows * cols);
    LAUNCH(be, "bias_add", bias_add_kernel, rows * cols, rows * cols, cols, y, bias);
}

/* --- for gemm.c ------------------------------------------------------------- */

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
