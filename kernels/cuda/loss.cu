/* loss.cu - the CUDA backend's losses: Kur's categorical cross-entropy and
 * mean squared error per row, a warp per row (reduce.cuh), and mse's
 * gradient, one thread per element.
 */
#include <math.h>

#include "kernels/cuda/reduce.cuh"

static __global__ void cce_forward_kernel(int64_t rows, int64_t cols,
                                          const float *__restrict__ pred,
                                          const float *__restrict__ truth,
                                          float *__restrict__ loss) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        double s = warp_row_sum(p, cols, lane);
        double l = 0;
        for (int64_t c = lane; c < cols; c += 32) {
            double q = p[c] / s;
            q = q < KURC_CCE_LO ? KURC_CCE_LO : (q > KURC_CCE_HI ? KURC_CCE_HI : q);
            l -= t[c] * log(q);
        }
        l = warp_sum(l);
        if (lane == 0)
            loss[r] = (float)l;
    }
}

void kc_cce_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                    const float *truth, float *loss) {
    LAUNCH_ROWS(be, "cce_forward", cce_forward_kernel, rows, cols, rows, cols, pred, truth, loss);
}

static __global__ void cce_backward_kernel(int64_t rows, int64_t cols,
                                           const float *__restrict__ pred,
                                           const float *__restrict__ truth, float scale,
                                           float *__restrict__ dpred) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        float *d = dpred + r * cols;
        double s = warp_row_sum(p, cols, lane);
        double tin = 0;
        for (int64_t c = lane; c < cols; c += 32) {
            double q = p[c] / s;
            if (q >= KURC_CCE_LO && q <= KURC_CCE_HI)
                tin += t[c];
        }
        tin = warp_sum(tin);
        for (int64_t c = lane; c < cols; c += 32) {
            double q = p[c] / s;
            double g = q >= KURC_CCE_LO && q <= KURC_CCE_HI ? -t[c] / q : 0.0;
            d[c] += (float)(scale * (g + tin) / s);
        }
    }
}

void kc_cce_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                     const float *truth, float scale, float *dpred) {
    LAUNCH_ROWS(be, "cce_backward", cce_backward_kernel, rows, cols, rows, cols, pred, truth, scale,
                dpred);
}

static __global__ void mse_forward_kernel(int64_t rows, int64_t cols,
                                          const float *__restrict__ pred,
                                          const float *__restrict__ truth,
                                          float *__restrict__ loss) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        double l = 0;
        for (int64_t c = lane; c < cols; c += 32) {
            double e = (double)p[c] - t[c];
            l += e * e;
        }
        l = warp_sum(l);
        if (lane == 0)
            loss[r] = (float)(l / (double)cols);
    }
}

void kc_mse_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                    const float *truth, float *loss) {
    LAUNCH_ROWS(be, "mse_forward", mse_forward_kernel, rows, cols, rows, cols, pred, truth, loss);
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
