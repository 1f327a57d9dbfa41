/* gemm.c - matrix products through cuBLAS.
 *
 * kurc's matrices are row-major; cuBLAS's are column-major.  A row-major
 * matrix read as column-major is its transpose, so C = op(A) op(B)
 * (row-major) is computed as C^T = op(B)^T op(A)^T (column-major): the
 * operands swap places, m and n swap, and each keeps its own transpose
 * flag and leading dimension.  The 64-bit interface takes sizes beyond
 * 2^31.  No TF32 unless the backend was created with allow_tf32 (the math
 * mode is set on the handle).
 */
#include "kernels/cuda/cuda_internal.h"

void kc_gemm(struct kurc_backend *be, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
             float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
             float *c, int64_t ldc) {
    struct kc_ctx *ctx = kc_ctx_of(be);
    if (ctx->failed || m <= 0 || n <= 0)
        return;
    if (k <= 0) {
        /* cuBLAS rejects the leading dimension 0 such a product may have */
        kc_scale_matrix(be, m, n, beta, c, ldc);
        return;
    }
    kc_cublas_ok(ctx,
                 cublasSgemm_64(ctx->cublas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb, a,
                                lda, &beta, c, ldc),
                 "gemm", "cublasSgemm_64");
}
