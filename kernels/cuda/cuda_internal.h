/* cuda_internal.h - the CUDA backend's private context, its error
 * recording, and its functions: kc_<slot> for every slot of struct
 * kurc_backend_ops (contracts in core/backend_slots.def), each in the file
 * named for what it computes - the .c files (library calls) and the .cu
 * files (kurc's own kernels).
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
#include "kernels/common/lru.h"

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
    /* convolution plans, one per geometry, least recently used replaced
     * (conv.c) */
    struct kc_conv_entry *conv;
    struct kurc_lru conv_lru;
    void *conv_spill; /* workspace of plans re-made in NCHW that outgrew the caller's */
    size_t conv_spill_bytes;
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

/* --- kc_<slot> for every slot (core/backend_slots.def) --- */

#define KURC_SLOT(ret, slot, params) ret kc_##slot params;
#define KURC_SLOT_FUSED(ret, slot, params) /* none: ops run unfused */
#include "core/backend_slots.def"

/* The op table of those functions (table.c). */
extern const struct kurc_backend_ops kurc_cuda_ops;

/* Convolution plans (conv.c): made at creation, freed with the
 * backend. */
enum kurc_status kc_conv_cache_init(struct kc_ctx *c);
void kc_conv_cache_free(struct kc_ctx *c);

/* --- helpers of gemm.c and conv.c, in elementwise.cu and copy.cu --- */

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
