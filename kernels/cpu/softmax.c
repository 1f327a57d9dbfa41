/* softmax.c - the CPU backend's softmax and log-softmax over the last axis
 * (contracts in src/core/backend.h). */
#include <math.h>

#include "kernels/cpu/cpu_kernels.h"

/* Row by row: subtract the row's maximum before exponentiating, so inputs
 * of any size give finite results; the sum is taken in double.  y may be x. */
void cpu_softmax_forward(struct kurc_backend *be, bool log_out, int64_t rows, int64_t cols,
                         const float *x, float *y) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float max = -INFINITY;
        for (int64_t c = 0; c < cols; c++)
            max = xr[c] > max ? xr[c] : max;
        double sum = 0;
        if (log_out) {
            for (int64_t c = 0; c < cols; c++)
                sum += expf(xr[c] - max);
            /* (x - max) is exact near the maximum; subtracting log(sum)
             * second keeps the small results accurate. */
            float lse = (float)log(sum);
            for (int64_t c = 0; c < cols; c++)
                yr[c] = (xr[c] - max) - lse;
        } else {
            for (int64_t c = 0; c < cols; c++) {
                yr[c] = expf(xr[c] - max);
                sum += yr[c];
            }
            float inv = (float)(1.0 / sum);
            for (int64_t c = 0; c < cols; c++)
                yr[c] *= inv;
        }
    }
}

/* From the forward output y:
 *   softmax:     dx_i += y_i (dy_i - sum_j dy_j y_j)
 *   log-softmax: dx_i += dy_i - e^{y_i} sum_j dy_j */
void cpu_softmax_backward(struct kurc_backend *be, bool log_out, int64_t rows, int64_t cols,
                          const float *restrict y, const float *restrict dy, float *restrict dx) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        double dot = 0;
        if (log_out) {
            for (int64_t c = 0; c < cols; c++)
                dot += dyr[c];
            float s = (float)dot;
            for (int64_t c = 0; c < cols; c++)
                dxr[c] += dyr[c] - expf(yr[c]) * s;
        } else {
            for (int64_t c = 0; c < cols; c++)
                dot += (double)dyr[c] * yr[c];
            float s = (float)dot;
            for (int64_t c = 0; c < cols; c++)
                dxr[c] += yr[c] * (dyr[c] - s);
        }
    }
}
