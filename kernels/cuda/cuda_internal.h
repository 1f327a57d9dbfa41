/* cuda_internal.h - the CUDA backend's private context, its error
 * recording, and its kernels: one function per slot of struct
 * kurc_backend_ops (contracts in src/core/backend.h), defined in the .c files
 * (library calls) and the .cu files (kurc's own kernels).
 *
 * Errors: an op cannot return one, so the first failure is recorded in the
 * context (kc_fail*: op, call, library message, device and rank) and every
 * op after it returns at once (kc_failed); check() reports it.
 */
#ifndef KURC_CUDA_INTERNAL_H
#define KURC_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device scratch for reductions (partial sums in double): 4 MiB. */
#define KC_SCRATCH_DOUBLES ((size_t)1 << 19)
/* cuBLAS's workspace, given to it once (Hopper wants 32 MiB). */
#define KC_CUBLAS_WORKSPACE ((size_t)32 << 20)

struct kc_conv_entry;

struct kc_ctx {
    int device;
    int rank; /* -1: single process */
    bool allow_tf32;
    bool find;
    bool conv_nchw; /* KURC_CUDNN_NCHW=1: convolutions in NCHW (comparisons) */
    int sm_count;
    int max_blocks; /* a grid large enough to fill the device */
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    void *cublas_workspace;
    double *scratch; /* device, KC_SCRATCH_DOUBLES */
    double *host;    /* pinned host, 8 doubles: results of reductions */
    /* convolution plans, one per geometry (conv.c) */
    struct kc_conv_entry *conv;
    int n_conv;
    int next_victim;
    /* the first failure */
    bool failed;
    enum kurc_status status;
    char message[1400];
};

static inline struct kc_ctx *kc_ctx_of(struct kurc_backend *be) {
    return (struct kc_ctx *)be->ctx;
}

/* True once a failure is recorded: ops then do nothing. */
static inline bool kc_failed(struct kurc_backend *be) {
    return kc_ctx_of(be)->failed;
}

/* Records a failure (only the first one is kept): "<op>: <call> failed:
 * <what>".  status is KURC_E_BACKEND, KURC_E_UNSUPPORTED for a request the
 * backend cannot serve. */
void kc_fail(struct kc_ctx *c, enum kurc_status status, const char *op, const char *call,
             const char *what);
/* Each returns true on success and records the failure otherwise. */
bool kc_cuda_ok(struct kc_ctx *c, cudaError_t e, const char *op, const char *call);
bool kc_cublas_ok(struct kc_ctx *c, cublasStatus_t s, const char *op, const char *call);
bool kc_cudnn_ok(struct kc_ctx *c, cudnnStatus_t s, const char *op, const char *call);
/* After a kernel launch: cudaGetLastError. */
bool kc_launched(struct kc_ctx *c, const char *op, const char *kernel);

/* Blocks for a grid-stride loop over n items with `threads` per block. */
unsigned kc_blocks(const struct kc_ctx *c, int64_t n, int threads);

/* --- slots (backend.c, gemm.c, conv.c, *.cu) --- */

void kc_fill(struct kurc_backend *be, float *x, int64_t n, float value);
void kc_gemm(struct kurc_backend *be, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
             float alpha, const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
             float *c, int64_t ldc);
void kc_bias_add(struct kurc_backend *be, int64_t rows, int64_t cols, float *y, const float *bias);
void kc_bias_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *dy,
                      float *dbias);
size_t kc_conv_workspace(struct kurc_backend *be, const struct kurc_conv_geom *g);
void kc_conv_forward(struct kurc_backend *be, const struct kurc_conv_geom *g, const float *x,
                     const float *w, float *y, void *workspace);
void kc_conv_backward_data(struct kurc_backend *be, const struct kurc_conv_geom *g, const float *dy,
                           const float *w, float *dx, void *workspace);
void kc_conv_backward_filter(struct kurc_backend *be, const struct kurc_conv_geom *g,
                             const float *x, const float *dy, float *dw, void *workspace);
void kc_pool_forward(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                     float *y);
void kc_pool_backward(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                      const float *y, const float *dy, float *dx);
void kc_act_forward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                    const float *x, float *y);
void kc_act_backward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                     const float *x, const float *y, const float *dy, float *dx);
void kc_softmax_forward(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                        const float *x, float *y);
void kc_softmax_backward(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                         const float *y, const float *dy, float *dx);
void kc_add(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y);
void kc_mul(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y);
void kc_axpby(struct kurc_backend *be, int64_t n, float alpha, const float *x, float beta,
              float *y);
void kc_mul_backward(struct kurc_backend *be, int64_t n, const float *dy, const float *other,
                     float *dx);
void kc_copy_strided(struct kurc_backend *be, const struct kurc_strided *view, const float *src,
                     float *dst, bool accumulate);
void kc_gather(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows, const float *index,
               const float *table, float *out);
void kc_gather_backward(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows,
                        const float *index, const float *dout, float *dtable);
void kc_dropout_forward(struct kurc_backend *be, int64_t n, float rate, uint64_t seed,
                        uint64_t offset, const float *x, float *y, float *mask);
void kc_batchnorm_forward(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                          float eps, const float *x, const float *gamma, const float *beta,
                          float *y, float *mean, float *invstd);
void kc_batchnorm_backward(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                           const float *x, const float *dy, const float *gamma, const float *mean,
                           const float *invstd, float *dx, float *dgamma, float *dbeta);
void kc_cce_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                    const float *truth, float *loss);
void kc_cce_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                     const float *truth, float scale, float *dpred);
void kc_mse_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                    const float *truth, float *loss);
void kc_mse_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                     const float *truth, float scale, float *dpred);
void kc_sum(struct kurc_backend *be, int64_t n, const float *x, double *out);
void kc_sum_squares(struct kurc_backend *be, int64_t n, const float *x, double *out);
void kc_clip(struct kurc_backend *be, int64_t n, float limit, float *x);
void kc_sgd_step(struct kurc_backend *be, int64_t n, float lr, float momentum, bool nesterov,
                 float *p, const float *g, float *v);
void kc_adam_step(struct kurc_backend *be, int64_t n, float lr_t, float beta1, float beta2,
                  float eps, float *p, const float *g, float *m, float *v);
void kc_rmsprop_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps, float *p,
                     const float *g, float *a);
void kc_adadelta_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps, float *p,
                      const float *g, float *a, float *d);

/* Convolution plans (conv.c): made at creation, freed with the
 * backend. */
enum kurc_status kc_conv_cache_init(struct kc_ctx *c);
void kc_conv_cache_free(struct kc_ctx *c);

/* Recurrent steps (rnn.cu), CTC (ctc.cu), batch norm in pieces
 * (norm.cu). */
void kc_rnn_forward_gates(struct kurc_backend *be, const struct kurc_rnn_step *s);
void kc_rnn_forward_step(struct kurc_backend *be, const struct kurc_rnn_step *s);
void kc_rnn_backward_step(struct kurc_backend *be, const struct kurc_rnn_step *s);
void kc_rnn_backward_gates(struct kurc_backend *be, const struct kurc_rnn_step *s);
size_t kc_ctc_workspace(struct kurc_backend *be, const struct kurc_ctc_geom *g);
void kc_ctc_forward(struct kurc_backend *be, const struct kurc_ctc_geom *g, const float *prob,
                    const float *labels, const float *label_len, const float *input_len,
                    float scale, float *loss, void *workspace);
void kc_ctc_backward(struct kurc_backend *be, const struct kurc_ctc_geom *g, const float *prob,
                     const float *labels, const float *label_len, const float *input_len,
                     float scale, float *dprob, void *workspace);
void kc_batchnorm_sums(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                       const float *x, const float *dy, const double *center, double *s1,
                       double *s2);
void kc_batchnorm_affine(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                         const float *x, const float *hi, const float *lo, const float *k,
                         const float *dy, const float *a, const float *b, float *out,
                         bool accumulate);

/* --- helpers of the library-call files, in the .cu files --- */

/* c[i, j] = beta == 0 ? 0 : beta c[i, j] over m x n with row stride ldc
 * (a product with k == 0). */
void kc_scale_matrix(struct kurc_backend *be, int64_t m, int64_t n, float beta, float *c,
                     int64_t ldc);
/* dst (cols x rows) = src (rows x cols)^T, or dst += when accumulate. */
void kc_transpose(struct kurc_backend *be, const char *op, int64_t rows, int64_t cols,
                  const float *src, float *dst, bool accumulate);

/* A channels-last box of up to 3 spatial axes (missing leading axes 1). */
struct kc_box {
    int64_t batch, channels;
    int64_t dims[3];
};
/* Explicit zero padding for convolutions cuDNN cannot pad itself
 * (asymmetric "same" borders): padded (batch, pdims, ch) is x (batch, dims,
 * ch) placed at offset `before` (cells outside x are 0; x cells outside the
 * padded box are dropped). */
void kc_pad(struct kurc_backend *be, const struct kc_box *x, const struct kc_box *padded,
            const int64_t before[3], const float *src, float *dst);
/* The adjoint: dx += the cells of dpadded that came from x. */
void kc_unpad_add(struct kurc_backend *be, const struct kc_box *x, const struct kc_box *padded,
                  const int64_t before[3], const float *dpadded, float *dx);

#ifdef __cplusplus
}
#endif

#endif
