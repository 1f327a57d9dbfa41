/* kerneltest.h - cmocka checks and small helpers that the CPU kernel tests
 * (test_cpu_*) share: buffers, products of extents, seeded dice for random
 * geometries, and comparisons against known answers and central finite
 * differences that fail the running test. */
#ifndef KURC_KERNELTEST_H
#define KURC_KERNELTEST_H

#include <stdint.h>

#include "testutil.h"

/* cmocka group set-up of the tests that call the kernels without a
 * backend: opens OpenBLAS, as creating a CPU backend does
 * (kernels/cpu/openblas_lib.h); prints the reason and fails if it cannot. */
int kt_open_openblas(void **state);

/* A new buffer of n floats (at least one); fails the test when out of
 * memory. */
float *kt_alloc_floats(int64_t n);

/* v[0] * ... * v[n - 1]. */
int64_t kt_prod(const int64_t *v, int n);

/* Seeded dice: the same rolls on every run. */
struct kt_dice {
    uint64_t seed, counter;
};

/* A roll in [lo, hi]. */
int64_t kt_roll(struct kt_dice *d, int64_t lo, int64_t hi);

/* Fails unless |got[i] - want[i]| <= abs_tol + rel_tol |want[i]| for all i. */
void kt_expect_close(const char *what, const float *got, const double *want, int64_t n,
                     double rel_tol, double abs_tol);

/* Compares an analytic gradient with central differences (step h) of f
 * along every element of x, as the largest relative error (relative to
 * max(|a|, |b|, floor), see tu_max_rel_err); fails above bound. */
void kt_expect_gradient(const char *what, float *x, int64_t n, const float *grad, double h,
                        tu_scalar_fn f, void *ctx, double bound, double floor);

#endif
