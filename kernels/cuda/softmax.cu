/* softmax.cu - the CUDA backend's softmax and log-softmax over the last
 * axis, a warp per row (reduce.cuh). */
#include <math.h>

#include "kernels/cuda/reduce.cuh"

/* y may be x.  Each lane rewrites only the elements it read. */
static __global__ void softmax_forward_kernel(bool log_out, int64_t rows, int64_t cols,
                                              const float *x, float *y) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float max = -INFINITY;
        for (int64_t c = lane; c < cols; c += 32)
            max = xr[c] > max ? xr[c] : max;
        max = warp_max(max);
        double sum = 0;
        if (log_out) {
            for (int64_t c = lane; c < cols; c += 32)
                sum += expf(xr[c] - max);
            float lse = (float)log(warp_sum(sum));
            for (int64_t c = lane; c < cols; c += 32)
                yr[c] = (xr[c] - max) - lse;
        } else {
            for (int64_t c = lane; c < cols; c += 32) {
                float e = expf(xr[c] - max);
                yr[c] = e;
                sum += e;
            }
            float inv = (float)(1.0 / warp_sum(sum));
            for (int64_t c = lane; c < cols; c += 32)
                yr[c] *= inv;
        }
    }
}

void kc_softmax_forward(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                        const float *x, float *y) {
    LAUNCH_ROWS(be, "softmax_forward", softmax_forward_kernel, rows, cols, log, rows, cols, x, y);
}

static __global__ void softmax_backward_kernel(bool log_out, int64_t rows, int64_t cols,
                                               const float *__restrict__ y,
                                               const float *__restrict__ dy,
                                               float *__restrict__ dx) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        double dot = 0;
        for (int64_t c = lane; c < cols; c += 32)
            dot += log_out ? (double)dyr[c] : (double)dyr[c] * yr[c];
        float s = (float)warp_sum(dot);
        for (int64_t c = lane; c < cols; c += 32)
            dxr[c] += log_out ? dyr[c] - expf(yr[c]) * s : yr[c] * (dyr[c] - s);
    }
}

void kc_softmax_backward(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                         const float *y, const float *dy, float *dx) {
    LAUNCH_ROWS(be, "softmax_backward", softmax_backward_kernel, rows, cols, log, rows, cols, y, dy,
                dx);
}
