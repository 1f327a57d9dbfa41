/* elementwise.c - the CPU backend's element-wise kernels: fill,
 * activations, arithmetic, the bias addition, clip and dropout masks
 * (contracts in src/core/backend.h).
 *
 * Aliasing: the forward element-wise kernels (act_forward, add, mul,
 * axpby, dropout_forward's y and x) accept an output that is exactly one
 * of their inputs (in-place use), so they take no restrict pointers (the
 * vectoriser checks for overlap at run time).  Backward kernels require
 * arrays that do not overlap. */
#include <string.h>

#include "base/rng.h"
#include "kernels/common/act_math.h"
#include "kernels/cpu/cpu_kernels.h"

void cpu_fill(struct kurc_backend *be, float *x, int64_t n, float value) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        x[i] = value;
}

/* y = act(x) and dx += act'(x) dy over n elements, for one activation:
 * always inlined with a constant act, so each loop is its own formula,
 * free of the switch, for the vectoriser.  The backward loop reads y only
 * for tanh and sigmoid and x only for the others but linear. */
static inline __attribute__((always_inline)) void act_forward_loop(int act, float alpha, int64_t n,
                                                                   const float *x, float *y) {
    for (int64_t i = 0; i < n; i++)
        y[i] = kurc_act_value(act, alpha, x[i]);
}

static inline __attribute__((always_inline)) void
act_backward_loop(int act, float alpha, int64_t n, const float *restrict x, const float *restrict y,
                  const float *restrict dy, float *restrict dx) {
    const bool uses_y = act == KURC_ACT_TANH || act == KURC_ACT_SIGMOID;
    const bool uses_x = !uses_y && act != KURC_ACT_LINEAR;
    for (int64_t i = 0; i < n; i++)
        dx[i] += kurc_act_grad(act, alpha, uses_x ? x[i] : 0.0f, uses_y ? y[i] : 0.0f, dy[i]);
}

void cpu_act_forward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                     const float *x, float *y) {
    (void)be;
    if (act == KURC_ACT_LINEAR) {
        if (y != x && n > 0)
            memcpy(y, x, (size_t)n * sizeof *y);
        return;
    }
    switch (act) {
#define FORWARD_CASE(A)                                                                            \
    case A:                                                                                        \
        act_forward_loop(A, alpha, n, x, y);                                                       \
        break;
        KURC_ACT_CASES(FORWARD_CASE)
#undef FORWARD_CASE
    case KURC_ACT_COUNT: /* not an activation */
        break;
    }
}

/* dx += act'(x) dy (formulas and kinks: kernels/common/act_math.h). */
void cpu_act_backward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                      const float *restrict x, const float *restrict y, const float *restrict dy,
                      float *restrict dx) {
    (void)be;
    switch (act) {
#define BACKWARD_CASE(A)                                                                           \
    case A:                                                                                        \
        act_backward_loop(A, alpha, n, x, y, dy, dx);                                              \
        break;
        KURC_ACT_CASES(BACKWARD_CASE)
#undef BACKWARD_CASE
    case KURC_ACT_COUNT: /* not an activation */
        break;
    }
}

void cpu_add(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

/* Blocks of a few KiB, so that the running sums stay in L1 while each
 * array is added. */
void cpu_add_chain(struct kurc_backend *be, int64_t n, const float *const *a, int k, const float *b,
                   float *y) {
    (void)be;
    enum { BLOCK = 1024 };
    float sum[BLOCK];
    for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
        int64_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
        memcpy(sum, b + i0, (size_t)m * sizeof *sum);
        for (int j = 0; j < k; j++) {
            const float *aj = a[j] + i0;
            for (int64_t i = 0; i < m; i++)
                sum[i] = aj[i] + sum[i];
        }
        memcpy(y + i0, sum, (size_t)m * sizeof *sum);
    }
}

void cpu_mul(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

/* beta == 0 never reads y, so uninitialised memory (even NaN) is
 * overwritten rather than propagated. */
void cpu_axpby(struct kurc_backend *be, int64_t n, float alpha, const float *x, float beta,
               float *y) {
    (void)be;
    if (beta == 0.0f) {
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * x[i];
    } else if (beta == 1.0f) {
        for (int64_t i = 0; i < n; i++)
            y[i] += alpha * x[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * x[i] + beta * y[i];
    }
}

void cpu_mul_backward(struct kurc_backend *be, int64_t n, const float *restrict dy,
                      const float *restrict other, float *restrict dx) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        dx[i] += dy[i] * other[i];
}

/* The scale is computed in float, 1.0f / (1.0f - rate), as the CUDA kernel
 * does, so both backends draw identical masks. */
void cpu_dropout_forward(struct kurc_backend *be, int64_t n, float rate, uint64_t seed,
                         uint64_t offset, const float *x, float *y, float *mask) {
    (void)be;
    float keep = 1.0f / (1.0f - rate);
    for (int64_t i = 0; i < n; i++) {
        float m = kurc_rng_uniform(seed, offset + (uint64_t)i) >= rate ? keep : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

void cpu_bias_add(struct kurc_backend *be, int64_t rows, int64_t cols, float *y,
                  const float *bias) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        float *restrict row = y + r * cols;
        const float *restrict b = bias;
        for (int64_t c = 0; c < cols; c++)
            row[c] += b[c];
    }
}

/* Comparisons rather than fminf/fmaxf, so a NaN stays NaN (a diverged
 * gradient is not silently clamped into a valid one). */
void cpu_clip(struct kurc_backend *be, int64_t n, float limit, float *x) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] < -limit ? -limit : (x[i] > limit ? limit : x[i]);
}
