/* kerneltest.c - shared checks of the CPU kernel tests (see kerneltest.h). */
#include "kerneltest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/rng.h"
#include "kernels/cpu/openblas_lib.h"

int kt_open_openblas(void **state) {
    (void)state;
    struct kurc_err err;
    if (kurc_openblas_load(&err) == KURC_OK)
        return 0;
    fprintf(stderr, "%s\n", err.msg);
    return -1;
}

float *kt_alloc_floats(int64_t n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    assert_non_null(p);
    return p;
}

int64_t kt_prod(const int64_t *v, int n) {
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= v[i];
    return p;
}

int64_t kt_roll(struct kt_dice *d, int64_t lo, int64_t hi) {
    return lo + (int64_t)(kurc_rng_u64(d->seed, d->counter++) % (uint64_t)(hi - lo + 1));
}

void kt_expect_close(const char *what, const float *got, const double *want, int64_t n,
                     double rel_tol, double abs_tol) {
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= abs_tol + rel_tol * fabs(want[i])))
            fail_msg("%s[%lld]: got %.9g, want %.17g", what, (long long)i, got[i], want[i]);
    }
}

void kt_expect_gradient(const char *what, float *x, int64_t n, const float *grad, double h,
                        tu_scalar_fn f, void *ctx, double bound, double floor) {
    float *numeric = kt_alloc_floats(n);
    for (int64_t i = 0; i < n; i++)
        numeric[i] = (float)tu_finite_difference(x, i, h, f, ctx);
    double err = tu_max_rel_err(grad, numeric, n, floor);
    if (!(err <= bound))
        fail_msg("%s: finite-difference relative error %.3g > %.3g", what, err, bound);
    free(numeric);
}
