/* test_cpu_variants.c - the CPU loops built once per instruction set
 * (kernels/cpu/cpu_isa.h): every variant this CPU runs gives the bits the
 * baseline gives.  The kernel files are included, for their static
 * variants, and built with the options kernels/cpu gives them.
 *   conv_narrow.c  the convolution's narrow products, also against sums
 *                  in double;
 *   epilogue.c     bias and activation forward, the activation's
 *                  derivative with the bias sums;
 *   optim.c        Adam's update. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/conv_narrow.c"
#include "kernels/cpu/epilogue.c"
#include "kernels/cpu/optim.c"
#include "testutil.h"

/* Sums of at most 132 products of values in [-1, 1]. */
#define NARROW_TOL 1e-4
#define MAX_VARIANTS 3

/* The variants of NAME this CPU runs, the baseline first, into fns;
 * their number into n. */
#if defined(__x86_64__)
#define VARIANTS(name, fns, n)                                                                     \
    do {                                                                                           \
        n = 0;                                                                                     \
        fns[n++] = name##_base;                                                                    \
        if (__builtin_cpu_supports("avx2"))                                                        \
            fns[n++] = name##_avx2;                                                                \
        if (__builtin_cpu_supports("avx512f"))                                                     \
            fns[n++] = name##_avx512;                                                              \
    } while (0)
#else
#define VARIANTS(name, fns, n) (n = 0, fns[n++] = name##_base)
#endif

static float *floats(int64_t n, uint64_t seed) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    assert_non_null(p);
    tu_fill_uniform(p, n, seed, -1, 1);
    return p;
}

static void check_narrow_shape(int64_t nr, int64_t kc, int64_t cout, uint64_t seed) {
    int64_t ld = nr + 3; /* cols is kc x nr inside wider rows */
    float *cols = floats(kc * ld, seed), *w = floats(kc * cout, seed + 1);
    float *dz = floats(nr * cout, seed + 2), *dw0 = floats(kc * cout, seed + 3);
    float *y[MAX_VARIANTS], *dw[MAX_VARIANTS];
    void (*fw[MAX_VARIANTS])(int64_t, int64_t, int64_t, const float *, int64_t, const float *,
                             float *);
    void (*fi[MAX_VARIANTS])(int64_t, int64_t, int64_t, const float *, int64_t, const float *,
                             float *);
    int n, n2;
    VARIANTS(narrow_forward, fw, n);
    VARIANTS(narrow_filter, fi, n2);
    assert_int_equal(n, n2);
    for (int v = 0; v < n; v++) {
        y[v] = floats(nr * cout, 0);
        dw[v] = floats(kc * cout, seed + 3); /* the filter adds to dw */
        fw[v](nr, kc, cout, cols, ld, w, y[v]);
        fi[v](nr, kc, cout, cols, ld, dz, dw[v]);
        assert_memory_equal(y[v], y[0], sizeof(float) * (size_t)(nr * cout));
        assert_memory_equal(dw[v], dw[0], sizeof(float) * (size_t)(kc * cout));
    }
    for (int64_t c = 0; c < cout; c++) {
        for (int64_t r = 0; r < nr; r++) {
            double s = 0;
            for (int64_t p = 0; p < kc; p++)
                s += (double)cols[p * ld + r] * w[p * cout + c];
            assert_true(tu_max_rel_err(&y[0][r * cout + c], &(float){(float)s}, 1, 1.0) <=
                        NARROW_TOL);
        }
        for (int64_t p = 0; p < kc; p++) {
            double s = dw0[p * cout + c];
            for (int64_t r = 0; r < nr; r++)
                s += (double)cols[p * ld + r] * dz[r * cout + c];
            assert_true(tu_max_rel_err(&dw[0][p * cout + c], &(float){(float)s}, 1, 1.0) <=
                        NARROW_TOL);
        }
    }
    for (int v = 0; v < n; v++) {
        free(y[v]);
        free(dw[v]);
    }
    free(cols);
    free(w);
    free(dz);
    free(dw0);
}

/* kc around the filter's passes of 12 columns and up to the widest taken,
 * cout of one to five blocks of 32, an odd number of rows and one row. */
static void test_conv_narrow(void **state) {
    (void)state;
    static const int64_t kcs[] = {1, 7, 9, 12, 13, 25, 32}, couts[] = {32, 64, 96, 160};
    uint64_t seed = 1;
    for (size_t i = 0; i < sizeof kcs / sizeof *kcs; i++)
        for (size_t j = 0; j < sizeof couts / sizeof *couts; j++) {
            check_narrow_shape(131, kcs[i], couts[j], seed += 10);
            check_narrow_shape(1, kcs[i], couts[j], seed += 10);
        }
    assert_true(cpu_conv_narrow_fits(9, 64));
    assert_true(cpu_conv_narrow_fits(32, 32));
    assert_false(cpu_conv_narrow_fits(33, 64));
    assert_false(cpu_conv_narrow_fits(9, 48));
}

/* Every fusable activation, with and without a bias and the bias sums,
 * over 37 rows of 300 columns (more than one block of the sums). */
static void test_epilogue(void **state) {
    (void)state;
    static const enum kurc_act acts[] = {KURC_ACT_LINEAR, KURC_ACT_RELU, KURC_ACT_TANH,
                                         KURC_ACT_SIGMOID, KURC_ACT_LEAKY_RELU};
    const int64_t rows = 37, cols = 300, n = rows * cols;
    float *x = floats(n, 5), *bias = floats(cols, 6), *dy = floats(n, 7);
    void (*fw[MAX_VARIANTS])(int64_t, int64_t, const float *, enum kurc_act, float, float *);
    void (*bw[MAX_VARIANTS])(int64_t, int64_t, int64_t, int64_t, enum kurc_act, float,
                             const float *, const float *, float *, double *);
    int nv, nv2;
    VARIANTS(bias_act_forward, fw, nv);
    VARIANTS(act_backward_sum, bw, nv2);
    assert_int_equal(nv, nv2);
    for (size_t a = 0; a < sizeof acts / sizeof *acts; a++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            float *y[MAX_VARIANTS], *dz[MAX_VARIANTS];
            double *acc[MAX_VARIANTS];
            for (int v = 0; v < nv; v++) {
                y[v] = floats(n, 0);
                memcpy(y[v], x, sizeof(float) * (size_t)n);
                fw[v](rows, cols, with_bias ? bias : NULL, acts[a], 0.3f, y[v]);
                assert_memory_equal(y[v], y[0], sizeof(float) * (size_t)n);
                dz[v] = floats(n, 0);
                acc[v] = calloc((size_t)cols, sizeof(double));
                bw[v](rows, cols, 0, cols, acts[a], 0.3f, y[v], dy, dz[v],
                      with_bias ? acc[v] : NULL);
                assert_memory_equal(dz[v], dz[0], sizeof(float) * (size_t)n);
                assert_memory_equal(acc[v], acc[0], sizeof(double) * (size_t)cols);
            }
            for (int v = 0; v < nv; v++) {
                free(y[v]);
                free(dz[v]);
                free(acc[v]);
            }
        }
    free(x);
    free(bias);
    free(dy);
}

/* Adam's update of 1001 parameters (not a multiple of any vector). */
static void test_adam(void **state) {
    (void)state;
    const int64_t n = 1001;
    float *g = floats(n, 8), *p0 = floats(n, 9), *m0 = floats(n, 10), *v0 = floats(n, 11);
    for (int64_t i = 0; i < n; i++)
        v0[i] = v0[i] * v0[i]; /* a second moment is not negative */
    void (*fns[MAX_VARIANTS])(int64_t, float, float, float, float, float *, const float *, float *,
                              float *);
    int nv;
    VARIANTS(adam_step, fns, nv);
    float *p[MAX_VARIANTS], *m[MAX_VARIANTS], *v[MAX_VARIANTS];
    for (int k = 0; k < nv; k++) {
        p[k] = floats(n, 9);
        m[k] = floats(n, 10);
        v[k] = floats(n, 0);
        memcpy(v[k], v0, sizeof(float) * (size_t)n);
        fns[k](n, 1e-3f, 0.9f, 0.999f, 1e-7f, p[k], g, m[k], v[k]);
        assert_memory_equal(p[k], p[0], sizeof(float) * (size_t)n);
        assert_memory_equal(m[k], m[0], sizeof(float) * (size_t)n);
        assert_memory_equal(v[k], v[0], sizeof(float) * (size_t)n);
    }
    for (int k = 0; k < nv; k++) {
        free(p[k]);
        free(m[k]);
        free(v[k]);
    }
    printf("%d variants of each loop run on this CPU\n", nv);
    free(g);
    free(p0);
    free(m0);
    free(v0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_narrow),
        cmocka_unit_test(test_epilogue),
        cmocka_unit_test(test_adam),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
