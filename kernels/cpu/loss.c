/* loss.c - the CPU backend's losses: Kur's categorical cross-entropy and
 * mean squared error, per row. */
#include <math.h>

#include "kernels/cpu/cpu_kernels.h"

/* The clip bounds of cce, as Keras computes them in float32. */
#define CCE_LO ((double)KURC_CCE_EPSILON)
#define CCE_HI ((double)(1.0f - KURC_CCE_EPSILON))

/* Keras 2.0: p = pred / sum(pred), clipped to [eps, 1 - eps], and
 * loss = -sum t log p.  Computed in double. */
void cpu_cce_forward(struct kurc_backend *be, int64_t rows, int64_t cols,
                     const float *restrict pred, const float *restrict truth,
                     float *restrict loss) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        double s = 0;
        for (int64_t c = 0; c < cols; c++)
            s += p[c];
        double l = 0;
        for (int64_t c = 0; c < cols; c++) {
            double q = p[c] / s;
            q = q < CCE_LO ? CCE_LO : (q > CCE_HI ? CCE_HI : q);
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
        double s = 0;
        for (int64_t c = 0; c < cols; c++)
            s += p[c];
        double tin = 0;
        for (int64_t c = 0; c < cols; c++) {
            double q = p[c] / s;
            if (q >= CCE_LO && q <= CCE_HI)
                tin += t[c];
        }
        for (int64_t c = 0; c < cols; c++) {
            double q = p[c] / s;
            double g = q >= CCE_LO && q <= CCE_HI ? -t[c] / q : 0.0;
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
