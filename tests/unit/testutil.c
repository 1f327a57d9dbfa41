/* testutil.c - seeded arrays, error measures, finite differences. */
#include "testutil.h"

#include <math.h>

#include "base/rng.h"

void tu_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * kurc_rng_uniform(seed, (uint64_t)i);
}

double tu_max_rel_err(const float *a, const float *b, int64_t n, double floor) {
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double scale = fmax(fmax(fabs(a[i]), fabs(b[i])), floor);
        double e = fabs((double)a[i] - (double)b[i]) / scale;
        if (e > worst || isnan(e))
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

double tu_finite_difference(float *x, int64_t i, double h, tu_scalar_fn f, void *ctx) {
    float saved = x[i];
    x[i] = (float)(saved + h);
    double hi = (double)x[i] - saved;
    double up = f(x, ctx);
    x[i] = (float)(saved - h);
    double lo = saved - (double)x[i];
    double down = f(x, ctx);
    x[i] = saved;
    return (up - down) / (hi + lo);
}
