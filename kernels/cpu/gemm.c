/* gemm.c - the CPU backend's matrix products, through OpenBLAS (row-major
 * cblas_sgemm). */
#include <assert.h>
#include <limits.h>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/openblas_lib.h"

/* C = alpha op(A) op(B) + beta C.  BLAS takes 32-bit sizes, so m is split
 * into pieces that fit; n, k and the leading dimensions must fit already
 * (a single row of more than 2^31 floats is not a realistic layer).  k == 0
 * is done here because BLAS rejects a leading dimension of 0. */
void cpu_gemm(struct kurc_backend *be, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
              float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
              float *c, int64_t ldc) {
    (void)be;
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {
        for (int64_t i = 0; i < m; i++) {
            float *row = c + i * ldc;
            for (int64_t j = 0; j < n; j++)
                row[j] = beta == 0.0f ? 0.0f : beta * row[j];
        }
        return;
    }
    assert(n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX);
    const int64_t max_rows = INT_MAX;
    for (int64_t i = 0; i < m; i += max_rows) {
        int64_t rows = m - i < max_rows ? m - i : max_rows;
        /* Row i of op(A) starts at row i of A, or at column i when A is
         * stored transposed (k x m). */
        const float *a_i = trans_a ? a + i : a + i * lda;
        OPENBLAS(cblas_sgemm)
        (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
         (blasint)rows, (blasint)n, (blasint)k, alpha, a_i, (blasint)lda, b, (blasint)ldb, beta,
         c + i * ldc, (blasint)ldc);
    }
}
