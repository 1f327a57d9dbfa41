/* loss.c - the CPU backend's losses: Kur's categorical cross-entropy and
 * mean squared error, per row. */
#include <math.h>

#include "kernels/cpu/cpu_kernels.h"

/* The sum of p[0..cols) in double, in index order. */
static double row_sum(const float *p, int64_t cols) {
    double s = 0;
    for (int64_t c = 0; c < cols; c++)
        s += p[c];
    return s;
}

/* Keras 2.0: p = pred / sum(pred), clipped to [eps, 1 - eps], and
 * loss = -sum t log p.  Computed in double. */
void cpu_cce_forward(struct kurc_backend *be, int64_t rows, int64_t cols,
                     const float *restrict pred, const float *restrict truth,
                     float *restrict loss) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        double s = row_sum(p, cols);
        double l = 0;
        for (int64_t c = 0; c < cols; c++) {
            double q = p[c] / s;
            q = q < KURC_CCE_LO ? KURC_CCE_LO : (q > KURC_CCE_HI ? KURC_CCE_HI : q);
            l -= t[c] * log(q);
        }
        loss[r] = (float)l;
    }
}

/* The exact derivative of cpu_cce_forward.  With s = sum_j pred_j,
 * p_j = pred_j / s and I the set of j where the clip is inactive
 * (eps <= p_j <= 1 - eps; Keras's clip passes the gradient at the bounds):
 *   dloss/dpred_k = (-t_k / p_k [k in I] + sum_{j in I} t_j) / s,
 * the second term coming through the renormalisation. */
void cpu_cce_backward(struct kurc_backend *be, int64_t rows, int64_t cols,
                      const float *restrict pred, const float *restrict truth, float scale,
                      float *restrict dpred) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        float *d = dpred + r * cols;
        double s = row_sum(p, cols);
        double tin = 0;
        for (int64_t c = 0; c < cols; c++) {
            double q = p[c] / s;
            if (q >= KURC_CCE_LO && q <= KURC_CCE_HI)
                tin += t[c];
        }
        for (int64_t c = 0; c < cols; c++) {
            double q = p[c] / s;
            double g = q >= KURC_CCE_LO && q <= KURC_CCE_HI ? -t[c] / q : 0.0;
            d[c] += (float)(scale * (g + tin) / s);
        }
    }
}

void cpu_mse_forward(struct kurc_backend *be, int64_t rows, int64_t cols,
                     const float *restrict pred, const float *restrict truth,
                     float *restrict loss) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        double l = 0;
        for (int64_t c = 0; c < cols; c++) {
            double e = (double)p[c] - t[c];
            l += e * e;
        }
        loss[r] = (float)(l / (double)cols);
    }
}

/* dpred += scale 2 (pred - truth) / cols. */
void cpu_mse_backward(struct kurc_backend *be, int64_t rows, int64_t cols,
                      const float *restrict pred, const float *restrict truth, float scale,
                      float *restrict dpred) {
    (void)be;
    float f = (float)(2.0 * scale / (double)cols);
    int64_t n = rows * cols;
    for (int64_t i = 0; i < n; i++)
        dpred[i] += f * (pred[i] - truth[i]);
}
