/* tolerance.c - comparing a CUDA result with the CPU's (see tolerance.h). */
#include "tolerance.h"

#include <math.h>

/* The error of one element that is NaN or infinite on either side: 0 when
 * both agree, infinite when not; -1 when both are finite. */
static double special(float want, float got) {
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got) ? 0 : INFINITY;
    if (isinf(want) || isinf(got))
        return want == got ? 0 : INFINITY;
    return -1;
}

struct ct_worst ct_compare(const float *want, const float *got, const float *mag, int64_t n,
                           double floor) {
    struct ct_worst w = {0, -1};
    for (int64_t i = 0; i < n; i++) {
        double e = special(want[i], got[i]);
        if (e < 0) {
            double scale = mag ? fabs((double)mag[i]) : fabs((double)want[i]);
            e = fabs((double)got[i] - want[i]) / fmax(scale, floor);
        }
        if (e > w.error || w.at < 0) {
            w.error = e;
            w.at = i;
        }
    }
    return w;
}

double ct_compare_norm(const float *want, const float *got, int64_t n, double floor) {
    double diff = 0, size = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = special(want[i], got[i]);
        if (e > 0)
            return INFINITY;
        if (e == 0)
            continue;
        double d = (double)got[i] - want[i];
        diff += d * d;
        size += (double)want[i] * want[i];
    }
    return sqrt(diff) / fmax(sqrt(size), floor);
}

void ct_increment_magnitude(const float *before, const float *want, float *mag, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        mag[i] = fabsf(before[i]) + fabsf(want[i] - before[i]);
}
