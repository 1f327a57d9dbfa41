/* norm.c - the CPU backend's batch normalisation with the batch's own
 * statistics (Kur's batch_normalization always normalises with them).
 *
 * x is viewed as (outer, channels, inner); each channel is normalised over
 * its outer x inner elements.  Channels are processed in blocks small
 * enough that the block's per-channel double accumulators live on the
 * stack (the kernels allocate nothing), and every pass walks x in memory
 * order: for each (o, i) the block's channels sit `inner` floats apart, so
 * with inner == 1 (the channels-last case) they are contiguous and the
 * channel loop vectorises, and otherwise the block's rows stay in L1
 * between consecutive i. */
#include <math.h>

#include "kernels/cpu/cpu_kernels.h"

#define BN_BLOCK 64

/* The element (o, c, i) of the view. */
static inline int64_t bn_at(int64_t channels, int64_t inner, int64_t o, int64_t c, int64_t i) {
    return (o * channels + c) * inner + i;
}

/* y = gamma (x - mean) / sqrt(var + eps) + beta with the biased variance;
 * mean and variance are computed in double in two passes (mean first,
 * then squared deviations from it, which does not cancel).  The mean is
 * applied as a float hi plus the float rounding lo of the remainder: for x
 * near the mean (x - hi) is exact, so (x - hi) - lo is x - mean to float
 * precision even when the mean is large against the spread (the saved
 * float mean alone would be off by up to half its ulp). */
void cpu_batchnorm_forward(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                           float eps, const float *restrict x, const float *restrict gamma,
                           const float *restrict beta, float *restrict y, float *restrict mean,
                           float *restrict invstd) {
    (void)be;
    double count = (double)outer * (double)inner;
    for (int64_t c0 = 0; c0 < channels; c0 += BN_BLOCK) {
        int64_t nc = channels - c0 < BN_BLOCK ? channels - c0 : BN_BLOCK;
        double sum[BN_BLOCK] = {0}, sq[BN_BLOCK] = {0}, dmu[BN_BLOCK];
        float hi[BN_BLOCK], lo[BN_BLOCK], scale[BN_BLOCK];

        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                const float *xp = x + bn_at(channels, inner, o, c0, i);
                for (int64_t c = 0; c < nc; c++)
                    sum[c] += xp[c * inner];
            }
        for (int64_t c = 0; c < nc; c++) {
            dmu[c] = sum[c] / count;
            hi[c] = (float)dmu[c];
            lo[c] = (float)(dmu[c] - hi[c]);
        }

        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                const float *xp = x + bn_at(channels, inner, o, c0, i);
                for (int64_t c = 0; c < nc; c++) {
                    double dev = (double)xp[c * inner] - dmu[c];
                    sq[c] += dev * dev;
                }
            }
        for (int64_t c = 0; c < nc; c++) {
            double inv = 1.0 / sqrt(sq[c] / count + (double)eps);
            mean[c0 + c] = hi[c];
            invstd[c0 + c] = (float)inv;
            scale[c] = (float)(gamma[c0 + c] * inv);
        }

        const float *b = beta + c0;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = bn_at(channels, inner, o, c0, i);
                const float *xp = x + at;
                float *yp = y + at;
                for (int64_t c = 0; c < nc; c++)
                    yp[c * inner] = ((xp[c * inner] - hi[c]) - lo[c]) * scale[c] + b[c];
            }
    }
}

/* With xhat = (x - mean) invstd and M = outer x inner:
 *   dbeta += sum dy,   dgamma += sum dy xhat,
 *   dx += gamma invstd (dy - sum(dy) / M - xhat sum(dy xhat) / M),
 * the last through the dependence of mean and variance on every x.  The
 * sums pass also sums x, recovering the double mean whose float rounding
 * was saved (lo = mean - saved mean, as in the forward pass). */
void cpu_batchnorm_backward(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                            const float *restrict x, const float *restrict dy,
                            const float *restrict gamma, const float *restrict mean,
                            const float *restrict invstd, float *restrict dx,
                            float *restrict dgamma, float *restrict dbeta) {
    (void)be;
    double count = (double)outer * (double)inner;
    for (int64_t c0 = 0; c0 < channels; c0 += BN_BLOCK) {
        int64_t nc = channels - c0 < BN_BLOCK ? channels - c0 : BN_BLOCK;
        double sx[BN_BLOCK] = {0}, sdy[BN_BLOCK] = {0}, sdyx[BN_BLOCK] = {0};
        const float *hi = mean + c0, *inv = invstd + c0;

        /* sdyx accumulates dy (x - hi); invstd is applied once below. */
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = bn_at(channels, inner, o, c0, i);
                const float *xp = x + at, *gp = dy + at;
                for (int64_t c = 0; c < nc; c++) {
                    double g = gp[c * inner], v = xp[c * inner];
                    sx[c] += v;
                    sdy[c] += g;
                    sdyx[c] += g * (v - hi[c]);
                }
            }

        /* dx += a dy + b + k ((x - hi) - lo), per channel. */
        float a[BN_BLOCK], b[BN_BLOCK], k[BN_BLOCK], lo[BN_BLOCK];
        for (int64_t c = 0; c < nc; c++) {
            double delta = sx[c] / count - hi[c];
            double s = (double)inv[c];
            double gs = (double)gamma[c0 + c] * s;
            double dyxhat = (sdyx[c] - delta * sdy[c]) * s;
            if (dbeta)
                dbeta[c0 + c] += (float)sdy[c];
            if (dgamma)
                dgamma[c0 + c] += (float)dyxhat;
            a[c] = (float)gs;
            b[c] = (float)(-gs * sdy[c] / count);
            k[c] = (float)(-gs * s * dyxhat / count);
            lo[c] = (float)delta;
        }
        for (int64_t o = 0; dx && o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = bn_at(channels, inner, o, c0, i);
                const float *xp = x + at, *gp = dy + at;
                float *dp = dx + at;
                for (int64_t c = 0; c < nc; c++)
                    dp[c * inner] +=
                        a[c] * gp[c * inner] + b[c] + k[c] * ((xp[c * inner] - hi[c]) - lo[c]);
            }
    }
}

/* The pieces of batch normalisation whose statistics are summed elsewhere
 * (over ranks or chunks; see kurc_backend_ops.batchnorm_sums).  Both walk x
 * in memory order with per-channel double accumulators, like the fused
 * kernels above, so a piece's sums depend only on its own elements. */
void cpu_batchnorm_sums(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                        const float *restrict x, const float *restrict dy,
                        const double *restrict center, double *restrict s1,
                        double *restrict s2) {
    (void)be;
    for (int64_t c0 = 0; c0 < channels; c0 += BN_BLOCK) {
        int64_t nc = channels - c0 < BN_BLOCK ? channels - c0 : BN_BLOCK;
        double a[BN_BLOCK] = {0}, q[BN_BLOCK] = {0}, mu[BN_BLOCK];
        for (int64_t c = 0; c < nc; c++)
            mu[c] = center ? center[c0 + c] : 0.0;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = bn_at(channels, inner, o, c0, i);
                const float *xp = x + at;
                if (dy) {
                    const float *gp = dy + at;
                    for (int64_t c = 0; c < nc; c++) {
                        double g = gp[c * inner];
                        a[c] += g;
                        q[c] += g * ((double)xp[c * inner] - mu[c]);
                    }
                } else {
                    for (int64_t c = 0; c < nc; c++) {
                        double d = (double)xp[c * inner] - mu[c];
                        a[c] += d;
                        q[c] += d * d;
                    }
                }
            }
        for (int64_t c = 0; c < nc; c++) {
            s1[c0 + c] = a[c];
            s2[c0 + c] = q[c];
        }
    }
}

void cpu_batchnorm_affine(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                          const float *restrict x, const float *restrict hi,
                          const float *restrict lo, const float *restrict k,
                          const float *restrict dy, const float *restrict a,
                          const float *restrict b, float *restrict out, bool accumulate) {
    (void)be;
    for (int64_t c0 = 0; c0 < channels; c0 += BN_BLOCK) {
        int64_t nc = channels - c0 < BN_BLOCK ? channels - c0 : BN_BLOCK;
        const float *h = hi + c0, *l = lo + c0, *kk = k + c0, *bb = b + c0;
        const float *aa = dy ? a + c0 : NULL;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = bn_at(channels, inner, o, c0, i);
                const float *xp = x + at;
                float *op = out + at;
                if (dy) {
                    const float *gp = dy + at;
                    for (int64_t c = 0; c < nc; c++) {
                        float v = aa[c] * gp[c * inner] + bb[c] +
                                  kk[c] * ((xp[c * inner] - h[c]) - l[c]);
                        op[c * inner] = accumulate ? op[c * inner] + v : v;
                    }
                } else {
                    for (int64_t c = 0; c < nc; c++) {
                        float v = ((xp[c * inner] - h[c]) - l[c]) * kk[c] + bb[c];
                        op[c * inner] = accumulate ? op[c * inner] + v : v;
                    }
                }
            }
    }
}
