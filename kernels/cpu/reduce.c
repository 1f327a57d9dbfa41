/* reduce.c - the CPU backend's sums: to the host (sum, sum_squares) and
 * the bias gradient's column sums, in double. */
#include "kernels/cpu/cpu_kernels.h"

/* Partial sums in SUM_LANES independent double accumulators: the compiler
 * may vectorise them (it may not reorder one accumulator), and the error
 * grows more slowly than with one running sum. */
#define SUM_LANES 8

void cpu_sum(struct kurc_backend *be, int64_t n, const float *restrict x, double *restrict out) {
    (void)be;
    double acc[SUM_LANES] = {0};
    int64_t i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int l = 0; l < SUM_LANES; l++)
            acc[l] += x[i + l];
    for (; i < n; i++)
        acc[0] += x[i];
    double total = 0;
    for (int l = 0; l < SUM_LANES; l++)
        total += acc[l];
    *out = total;
}

void cpu_sum_squares(struct kurc_backend *be, int64_t n, const float *restrict x,
                     double *restrict out) {
    (void)be;
    double acc[SUM_LANES] = {0};
    int64_t i = 0;
    for (; i + SUM_LANES <= n; i += SUM_LANES)
        for (int l = 0; l < SUM_LANES; l++)
            acc[l] += (double)x[i + l] * x[i + l];
    for (; i < n; i++)
        acc[0] += (double)x[i] * x[i];
    double total = 0;
    for (int l = 0; l < SUM_LANES; l++)
        total += acc[l];
    *out = total;
}

/* Columns the bias gradient sums at a time (a stack block of doubles). */
#define BIAS_BLOCK 256

/* db[c] += sum_r dy[r, c], summed in double over blocks of columns so that
 * the rows are read in memory order. */
void cpu_bias_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *dy,
                       float *dbias) {
    (void)be;
    for (int64_t c0 = 0; c0 < cols; c0 += BIAS_BLOCK) {
        int64_t width = cols - c0 < BIAS_BLOCK ? cols - c0 : BIAS_BLOCK;
        double acc[BIAS_BLOCK] = {0};
        for (int64_t r = 0; r < rows; r++) {
            const float *restrict row = dy + r * cols + c0;
            for (int64_t c = 0; c < width; c++)
                acc[c] += row[c];
        }
        for (int64_t c = 0; c < width; c++)
            dbias[c0 + c] += (float)acc[c];
    }
}
