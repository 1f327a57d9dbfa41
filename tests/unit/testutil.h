/* testutil.h - helpers shared by the numeric tests: seeded random arrays,
 * error measures and central finite differences. */
#ifndef KURC_TESTUTIL_H
#define KURC_TESTUTIL_H

#include <stdint.h>

/* x[i] = uniform in [lo, hi) from (seed, i): the same values on every run. */
void tu_fill_uniform(float *x, int64_t n, uint64_t seed, float lo, float hi);

/* max_i |a[i] - b[i]| / max(|a[i]|, |b[i]|, floor): a relative error that
 * does not explode near zero. */
double tu_max_rel_err(const float *a, const float *b, int64_t n, double floor);

/* Central finite difference of a scalar function of x along element i:
 * (f(x + h e_i) - f(x - h e_i)) / 2h, computed in double around the float
 * input.  f receives x (restored afterwards) and ctx. */
typedef double (*tu_scalar_fn)(const float *x, void *ctx);
double tu_finite_difference(float *x, int64_t i, double h, tu_scalar_fn f, void *ctx);

#endif
