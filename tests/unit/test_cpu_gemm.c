/* test_cpu_gemm.c - the CPU backend's dense kernels (cpu_gemm, cpu_bias_add,
 * cpu_bias_backward) against naive loops in double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_kernels.h"
#include "kerneltest.h"

/* Matrix products of these sizes sum at most 64 float products: compared
 * as |got - want| / max(|got|, |want|, 1) <= 1e-5 (float32 rounding of
 * values in [-1, 1] is about 64 * 6e-8 in the worst case). */
#define GEMM_TOL 1e-5

/* C = alpha op(A) op(B) + beta C, the definition, in double. */
static void naive_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                       const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                       float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t p = 0; p < k; p++) {
                double av = ta ? a[p * lda + i] : a[i * lda + p];
                double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
            }
            double old = beta == 0.0f ? 0.0 : (double)beta * c[i * ldc + j];
            c[i * ldc + j] = (float)(alpha * s + old);
        }
}

/* All four transpose combinations, leading dimensions wider than the
 * matrices, alpha and beta not 0 or 1; the padding columns of C must stay
 * untouched. */
static void test_gemm_transposes(void **state) {
    (void)state;
    const int64_t m = 37, n = 29, k = 23;
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        int64_t lda = (ta ? m : k) + 5, ldb = (tb ? k : n) + 3, ldc = n + 7;
        int64_t a_rows = ta ? k : m, b_rows = tb ? n : k;
        float *a = kt_alloc_floats(a_rows * lda), *b = kt_alloc_floats(b_rows * ldb);
        float *c = kt_alloc_floats(m * ldc), *want = kt_alloc_floats(m * ldc);
        tu_fill_uniform(a, a_rows * lda, 11 + (uint64_t)t, -1, 1);
        tu_fill_uniform(b, b_rows * ldb, 21 + (uint64_t)t, -1, 1);
        tu_fill_uniform(c, m * ldc, 31 + (uint64_t)t, -1, 1);
        for (int64_t i = 0; i < m * ldc; i++)
            want[i] = c[i];
        cpu_gemm(NULL, ta, tb, m, n, k, 0.75f, a, lda, b, ldb, -0.5f, c, ldc);
        naive_gemm(ta, tb, m, n, k, 0.75f, a, lda, b, ldb, -0.5f, want, ldc);
        assert_true(tu_max_rel_err(c, want, m * ldc, 1.0) <= GEMM_TOL);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = n; j < ldc; j++)
                assert_true(c[i * ldc + j] == want[i * ldc + j]);
        free(a);
        free(b);
        free(c);
        free(want);
    }
}

/* beta == 0 overwrites C whatever it held, NaN included (the forward
 * kernels rely on it). */
static void test_gemm_beta_zero_overwrites(void **state) {
    (void)state;
    const int64_t m = 5, n = 6, k = 7;
    float a[5 * 7], b[7 * 6], c[5 * 6], want[5 * 6];
    tu_fill_uniform(a, m * k, 1, -1, 1);
    tu_fill_uniform(b, k * n, 2, -1, 1);
    for (int64_t i = 0; i < m * n; i++)
        c[i] = want[i] = NAN;
    cpu_gemm(NULL, false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    naive_gemm(false, false, m, n, k, 1.0f, a, k, b, n, 0.0f, want, n);
    assert_true(tu_max_rel_err(c, want, m * n, 1.0) <= GEMM_TOL);
}

/* m or n of 0 touch nothing; k of 0 leaves C = beta C (zeros for beta 0,
 * even over NaN). */
static void test_gemm_empty(void **state) {
    (void)state;
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    float c[4] = {1, -2, 3, -4};
    cpu_gemm(NULL, false, false, 0, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    cpu_gemm(NULL, false, false, 2, 0, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    assert_true(c[0] == 1 && c[1] == -2 && c[2] == 3 && c[3] == -4);
    cpu_gemm(NULL, false, false, 2, 2, 0, 1.0f, a, 1, b, 2, 0.5f, c, 2);
    assert_true(c[0] == 0.5f && c[1] == -1 && c[2] == 1.5f && c[3] == -2);
    c[0] = NAN;
    cpu_gemm(NULL, true, true, 2, 2, 0, 1.0f, a, 2, b, 1, 0.0f, c, 2);
    assert_true(c[0] == 0 && c[1] == 0 && c[2] == 0 && c[3] == 0);
}

/* 2x2 by 2x2, by hand: [[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]];
 * with A transposed, [[1,3],[2,4]] @ B = [[26,30],[38,44]]. */
static void test_gemm_known(void **state) {
    (void)state;
    float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4];
    cpu_gemm(NULL, false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    assert_true(c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50);
    cpu_gemm(NULL, true, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    assert_true(c[0] == 26 && c[1] == 30 && c[2] == 38 && c[3] == 44);
}

/* bias_add adds to what y holds; bias_backward adds column sums to what db
 * holds.  300 columns cross the kernel's block of 256. */
static void test_bias(void **state) {
    (void)state;
    const int64_t rows = 53, cols = 300;
    float *y = kt_alloc_floats(rows * cols), *want = kt_alloc_floats(rows * cols);
    float *bias = kt_alloc_floats(cols), *db = kt_alloc_floats(cols),
          *db_want = kt_alloc_floats(cols);
    tu_fill_uniform(y, rows * cols, 5, -1, 1);
    tu_fill_uniform(bias, cols, 6, -1, 1);
    tu_fill_uniform(db, cols, 7, -1, 1);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            want[r * cols + c] = y[r * cols + c] + bias[c];
    cpu_bias_add(NULL, rows, cols, y, bias);
    assert_true(tu_max_rel_err(y, want, rows * cols, 1.0) == 0);

    for (int64_t c = 0; c < cols; c++) {
        double s = db[c];
        for (int64_t r = 0; r < rows; r++)
            s += y[r * cols + c];
        db_want[c] = (float)s;
    }
    cpu_bias_backward(NULL, rows, cols, y, db);
    /* Summed in double by both: only the final rounding differs. */
    assert_true(tu_max_rel_err(db, db_want, cols, 1.0) <= 1e-6);
    free(y);
    free(want);
    free(bias);
    free(db);
    free(db_want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_transposes),
        cmocka_unit_test(test_gemm_beta_zero_overwrites),
        cmocka_unit_test(test_gemm_empty),
        cmocka_unit_test(test_gemm_known),
        cmocka_unit_test(test_bias),
    };
    return cmocka_run_group_tests(tests, kt_open_openblas, NULL);
}
