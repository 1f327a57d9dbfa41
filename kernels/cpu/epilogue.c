/* epilogue.c - the CPU backend's fused epilogues: bias and activation
 * applied to a layer's output in one pass, and the activation's derivative
 * with the bias gradient in one pass (contracts in
 * core/backend_slots.def).  Each computes the same floats, in the same
 * order, as bias_add, act_forward, act_backward and bias_backward one after
 * another, so fused and unfused runs agree bitwise. */
#include "kernels/common/act_math.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/cpu_kernels.h"

/* Columns of the bias gradient summed at once (as in reduce.c). */
#define EPILOGUE_BLOCK 256

/* The activations a fused epilogue takes (kurc_act_fusable). */
#define FUSABLE_CASES(F)                                                                           \
    F(KURC_ACT_LINEAR)                                                                             \
    F(KURC_ACT_RELU)                                                                               \
    F(KURC_ACT_TANH)                                                                               \
    F(KURC_ACT_SIGMOID)                                                                            \
    F(KURC_ACT_LEAKY_RELU)

/* y = act(y + bias) over rows x cols, always inlined with a constant act
 * so that each loop is its own formula for the vectoriser. */
static inline __attribute__((always_inline)) void forward_rows(int act, float alpha, int64_t rows,
                                                               int64_t cols,
                                                               const float *restrict bias,
                                                               float *restrict y) {
    for (int64_t r = 0; r < rows; r++) {
        float *restrict row = y + r * cols;
        if (bias)
            for (int64_t c = 0; c < cols; c++)
                row[c] = kurc_act_value(act, alpha, row[c] + bias[c]);
        else
            for (int64_t c = 0; c < cols; c++)
                row[c] = kurc_act_value(act, alpha, row[c]);
    }
}

static inline __attribute__((always_inline)) void bias_act_forward_body(int64_t rows, int64_t cols,
                                                                        const float *bias,
                                                                        enum kurc_act act,
                                                                        float alpha, float *y) {
    switch (act) {
#define FORWARD_CASE(A)                                                                            \
    case A:                                                                                        \
        forward_rows(A, alpha, rows, cols, bias, y);                                               \
        break;
        FUSABLE_CASES(FORWARD_CASE)
#undef FORWARD_CASE
    default: /* not fusable: the executor runs it unfused */
        break;
    }
}

KURC_CPU_VARIANTS(bias_act_forward,
                  (int64_t rows, int64_t cols, const float *bias, enum kurc_act act, float alpha,
                   float *y),
                  (rows, cols, bias, act, alpha, y))

void cpu_bias_act_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *bias,
                          enum kurc_act act, float alpha, float *y) {
    (void)be;
    bias_act_forward_pick()(rows, cols, bias, act, alpha, y);
}

/* dz = act'(x) dy with x read as y (exact for the fusable activations:
 * relu's and leaky_relu's x > 0 is y > 0) over n elements.  0.0f + g is
 * what act_backward's dx += g gives on a zeroed dx (-0.0f becomes +0.0f).
 * The loads are unconditional and the file is built with
 * -fno-trapping-math (kernels/cpu/CMakeLists.txt), so the vectoriser may
 * compute both sides of relu's select. */
static inline __attribute__((always_inline)) void grad_run(int act, float alpha, int64_t n,
                                                           const float *restrict y,
                                                           const float *restrict dy,
                                                           float *restrict dz) {
    for (int64_t i = 0; i < n; i++) {
        float v = y[i], d = dy[i];
        dz[i] = 0.0f + kurc_act_grad(act, alpha, v, v, d);
    }
}

/* dz over rows x cols; with acc, columns [c0, c0 + width) only, each
 * row's dz made, then added to acc (width doubles) while in L1 (two simple
 * loops the vectoriser takes, where one loop doing both was not
 * vectorised).  Summing the rows of a tensor in pieces, in order, into the
 * same acc adds the same numbers in the same order as in one call. */
static inline __attribute__((always_inline)) void
backward_rows(int act, float alpha, int64_t rows, int64_t cols, int64_t c0, int64_t width,
              const float *restrict y, const float *restrict dy, float *restrict dz,
              double *restrict acc) {
    if (!acc) {
        grad_run(act, alpha, rows * cols, y, dy, dz);
        return;
    }
    for (int64_t r = 0; r < rows; r++) {
        int64_t at = r * cols + c0;
        grad_run(act, alpha, width, y + at, dy + at, dz + at);
        const float *restrict row = dz + at;
        for (int64_t c = 0; c < width; c++)
            acc[c] += row[c];
    }
}

static inline __attribute__((always_inline)) void
act_backward_sum_body(int64_t rows, int64_t cols, int64_t c0, int64_t width, enum kurc_act act,
                      float alpha, const float *y, const float *dy, float *dz, double *acc) {
    switch (act) {
#define BACKWARD_CASE(A)                                                                           \
    case A:                                                                                        \
        backward_rows(A, alpha, rows, cols, c0, width, y, dy, dz, acc);                            \
        break;
        FUSABLE_CASES(BACKWARD_CASE)
#undef BACKWARD_CASE
    default: /* not fusable: the executor runs it unfused */
        break;
    }
}

KURC_CPU_VARIANTS(act_backward_sum,
                  (int64_t rows, int64_t cols, int64_t c0, int64_t width, enum kurc_act act,
                   float alpha, const float *y, const float *dy, float *dz, double *acc),
                  (rows, cols, c0, width, act, alpha, y, dy, dz, acc))

void cpu_act_backward_sum(int64_t rows, int64_t cols, int64_t c0, int64_t width, enum kurc_act act,
                          float alpha, const float *y, const float *dy, float *dz, double *acc) {
    act_backward_sum_pick()(rows, cols, c0, width, act, alpha, y, dy, dz, acc);
}

void cpu_bias_act_backward(struct kurc_backend *be, int64_t rows, int64_t cols, enum kurc_act act,
                           float alpha, const float *restrict y, const float *restrict dy,
                           float *restrict dz, float *restrict dbias) {
    (void)be;
    if (!dbias) {
        cpu_act_backward_sum(rows, cols, 0, cols, act, alpha, y, dy, dz, NULL);
        return;
    }
    for (int64_t c0 = 0; c0 < cols; c0 += EPILOGUE_BLOCK) {
        int64_t width = cols - c0 < EPILOGUE_BLOCK ? cols - c0 : EPILOGUE_BLOCK;
        double acc[EPILOGUE_BLOCK] = {0};
        cpu_act_backward_sum(rows, cols, c0, width, act, alpha, y, dy, dz, acc);
        for (int64_t c = 0; c < width; c++)
            dbias[c0 + c] += (float)acc[c];
    }
}
