/* ctc_math.h - the scalar pieces of the CTC loss that the CPU and CUDA
 * kernels share (host and device): log-space addition and the reading of
 * a sample's length.
 */
#ifndef KURC_CTC_MATH_H
#define KURC_CTC_MATH_H

#include <math.h>
#include <stdint.h>

#include "base/rng.h" /* KURC_HOST_DEVICE */

/* log(e^a + e^b), exact where either is -inf. */
static inline KURC_HOST_DEVICE double kurc_lse2(double a, double b) {
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* Sample b's length from a float length source v, rounded to the nearest
 * integer and clamped to [0, max]; max when there is no source. */
static inline KURC_HOST_DEVICE int64_t kurc_ctc_length(const float *v, int64_t b, int64_t max) {
    if (!v)
        return max;
    float x = v[b] + 0.5f;
    if (!(x >= 1.0f))
        return 0;
    return x >= (float)max ? max : (int64_t)x;
}

#endif
