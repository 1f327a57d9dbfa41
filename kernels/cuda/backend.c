/* backend.c - the CUDA backend's context, lifecycle, memory, error
 * recording and registry entry (see cuda_backend.h; the op table is
 * table.c, the kernels are in the other files of this directory).
 *
 * Ownership: the backend owns its stream, its cuBLAS and cuDNN handles,
 * cuBLAS's workspace, a device scratch for reductions, a few pinned host
 * doubles and the convolution plans; destroy (kc_destroy) releases them.
 * Memory handed out by alloc belongs to the caller until free.
 */
#include "kernels/cuda/cuda_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_internal.h"

/* --- errors ------------------------------------------------------------- */

void kc_fail(struct kc_ctx *c, enum kurc_status status, const char *op, const char *call,
             const char *what) {
    if (c->failed)
        return;
    c->failed = true;
    c->status = status;
    char who[64];
    if (c->rank >= 0)
        snprintf(who, sizeof who, "device %d, rank %d", c->device, c->rank);
    else
        snprintf(who, sizeof who, "device %d", c->device);
    snprintf(c->message, sizeof c->message, "CUDA backend (%s): %s: %s failed: %s", who, op, call,
             what);
}

bool kc_cuda_ok(struct kc_ctx *c, cudaError_t e, const char *op, const char *call) {
    if (e == cudaSuccess)
        return true;
    char what[256];
    snprintf(what, sizeof what, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    kc_fail(c, KURC_E_BACKEND, op, call, what);
    return false;
}

bool kc_cublas_ok(struct kc_ctx *c, cublasStatus_t s, const char *op, const char *call) {
    if (s == CUBLAS_STATUS_SUCCESS)
        return true;
    kc_fail(c, KURC_E_BACKEND, op, call, cublasGetStatusString(s));
    return false;
}

bool kc_cudnn_ok(struct kc_ctx *c, cudnnStatus_t s, const char *op, const char *call) {
    if (s == CUDNN_STATUS_SUCCESS)
        return true;
    char detail[512] = "", what[768];
    cudnnGetLastErrorString(detail, sizeof detail);
    snprintf(what, sizeof what, "%s%s%s", cudnnGetErrorString(s), detail[0] ? ": " : "", detail);
    kc_fail(c, s == CUDNN_STATUS_NOT_SUPPORTED ? KURC_E_UNSUPPORTED : KURC_E_BACKEND, op, call,
            what);
    return false;
}

bool kc_launched(struct kc_ctx *c, const char *op, const char *kernel) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess)
        return true;
    char call[128];
    snprintf(call, sizeof call, "launching kernel %s", kernel);
    return kc_cuda_ok(c, e, op, call);
}

unsigned kc_blocks(const struct kc_ctx *c, int64_t n, int threads) {
    int64_t b = (n + threads - 1) / threads;
    if (b > c->max_blocks)
        b = c->max_blocks;
    return b < 1 ? 1u : (unsigned)b;
}

/* Non-blocking: a recorded failure, or an error a finished kernel left. */
enum kurc_status kc_check(struct kurc_backend *be, struct kurc_err *err) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (!c->failed) {
        cudaError_t e = cudaStreamQuery(c->stream);
        if (e != cudaSuccess && e != cudaErrorNotReady)
            kc_cuda_ok(c, e, "a kernel queued earlier", "cudaStreamQuery");
    }
    if (!c->failed)
        return KURC_OK;
    return kurc_err_set(err, c->status, NULL, "%s", c->message);
}

/* --- memory ------------------------------------------------------------- */

static const double MiB = 1024.0 * 1024.0;

void *kc_alloc(struct kurc_backend *be, size_t bytes) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed)
        return NULL;
    size_t n = bytes ? bytes : 1;
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, n);
    if (e != cudaSuccess) {
        cudaGetLastError(); /* out of memory is not sticky: clear it */
        size_t free_bytes = 0, total = 0;
        cudaMemGetInfo(&free_bytes, &total);
        char what[320];
        snprintf(what, sizeof what,
                 "%s: asked for %zu bytes (%.1f MiB) while the device has %.1f MiB free of "
                 "%.1f MiB (a smaller batch_size needs less)",
                 cudaGetErrorString(e), bytes, (double)bytes / MiB, (double)free_bytes / MiB,
                 (double)total / MiB);
        kc_fail(c, KURC_E_BACKEND, "alloc", "cudaMalloc", what);
        return NULL;
    }
    if (!kc_cuda_ok(c, cudaMemsetAsync(p, 0, n, c->stream), "alloc", "cudaMemsetAsync")) {
        cudaFree(p);
        return NULL;
    }
    return p;
}

void kc_free(struct kurc_backend *be, void *ptr) {
    if (ptr)
        kc_cuda_ok(kc_ctx_of(be), cudaFree(ptr), "free", "cudaFree");
}

/* Pageable host memory: cudaMemcpyAsync returns once src is staged, so the
 * caller may reuse it at once. */
void kc_upload(struct kurc_backend *be, void *dst, const void *src, size_t bytes) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed || bytes == 0)
        return;
    kc_cuda_ok(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream), "upload",
               "cudaMemcpyAsync (host to device)");
}

/* Waits for the data; after a failure dst is zeroed (callers check). */
void kc_download(struct kurc_backend *be, void *dst, const void *src, size_t bytes) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (bytes == 0)
        return;
    if (!c->failed &&
        kc_cuda_ok(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream),
                   "download", "cudaMemcpyAsync (device to host)") &&
        kc_cuda_ok(c, cudaStreamSynchronize(c->stream), "download", "cudaStreamSynchronize"))
        return;
    memset(dst, 0, bytes);
}

/* The regions must not overlap. */
void kc_copy(struct kurc_backend *be, void *dst, const void *src, size_t bytes) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed || bytes == 0 || dst == src)
        return;
    kc_cuda_ok(c, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, c->stream), "copy",
               "cudaMemcpyAsync (device to device)");
}

void kc_zero(struct kurc_backend *be, void *dst, size_t bytes) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed || bytes == 0)
        return;
    kc_cuda_ok(c, cudaMemsetAsync(dst, 0, bytes, c->stream), "zero", "cudaMemsetAsync");
}

void kc_synchronize(struct kurc_backend *be) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (!c->failed)
        kc_cuda_ok(c, cudaStreamSynchronize(c->stream), "synchronize", "cudaStreamSynchronize");
}

/* --- the table ---------------------------------------------------------- */

/* --- lifecycle ---------------------------------------------------------- */

int kc_device(struct kurc_backend *be) {
    return kc_ctx_of(be)->device;
}

bool kc_device_uuid(struct kurc_backend *be, unsigned char uuid[16]) {
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, kc_ctx_of(be)->device) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    memcpy(uuid, prop.uuid.bytes, 16);
    return true;
}

void *kc_stream(struct kurc_backend *be) {
    return (void *)kc_ctx_of(be)->stream;
}

void kc_describe(struct kurc_backend *be, char *buf, size_t size) {
    const struct kc_ctx *c = kc_ctx_of(be);
    struct cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, c->device) != cudaSuccess) {
        cudaGetLastError();
        snprintf(buf, size, "cuda on device %d", c->device);
        return;
    }
    snprintf(buf, size, "cuda on %s (device %d, sm_%d%d, %d SMs, %.1f GiB%s)", prop.name, c->device,
             prop.major, prop.minor, prop.multiProcessorCount,
             (double)prop.totalGlobalMem / (1024.0 * MiB), c->allow_tf32 ? ", TF32 allowed" : "");
}

void kc_destroy(struct kurc_backend *be) {
    if (!be)
        return;
    struct kc_ctx *c = be->ctx;
    if (c) {
        if (c->stream)
            cudaStreamSynchronize(c->stream);
        kc_conv_cache_free(c);
        if (c->cudnn)
            cudnnDestroy(c->cudnn);
        if (c->cublas)
            cublasDestroy(c->cublas);
        cudaFree(c->cublas_workspace);
        cudaFree(c->scratch);
        if (c->host)
            cudaFreeHost(c->host);
        if (c->stream)
            cudaStreamDestroy(c->stream);
        cudaGetLastError();
        free(c);
    }
    free(be);
}

/* --- the registry entry ------------------------------------------------- */

static int cuda_available(char *why, size_t why_size) {
    int count = 0; /* left untouched when the call fails */
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();
        if (why && why_size)
            snprintf(why, why_size, "no CUDA device is visible (cudaGetDeviceCount: %s)",
                     cudaGetErrorString(e));
        return 0;
    }
    if (count <= 0) {
        if (why && why_size)
            snprintf(why, why_size,
                     "no CUDA device is visible (cudaGetDeviceCount found no device)");
        return 0;
    }
    if (why && why_size)
        why[0] = '\0';
    return count;
}

/* The recorded failure as the function's error, after freeing be. */
static enum kurc_status creation_failed(struct kurc_backend *be, struct kurc_err *err) {
    struct kc_ctx *c = be->ctx;
    enum kurc_status st = kurc_err_set(err, c->status, NULL, "%s", c->message);
    kc_destroy(be);
    return st;
}

/* Sets the device for this thread, creates the stream, cuBLAS and cuDNN
 * handles and scratch memory; on failure KURC_E_BACKEND with the call. */
static enum kurc_status cuda_create(const struct kurc_backend_options *opt,
                                    struct kurc_backend **out, struct kurc_err *err) {
    *out = NULL;
    char why[256];
    int count = cuda_available(why, sizeof why);
    if (count == 0)
        return kurc_err_set(err, KURC_E_BACKEND, NULL, "%s", why);
    if (opt->device < 0 || opt->device >= count)
        return kurc_err_set(err, KURC_E_BACKEND, NULL,
                            "CUDA device %d does not exist: %d device%s visible", opt->device,
                            count, count == 1 ? " is" : "s are");
    struct kurc_backend *be = calloc(1, sizeof *be);
    struct kc_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be);
        free(c);
        return kurc_err_set(err, KURC_E_BACKEND, NULL, "out of host memory");
    }
    be->ops = &kurc_cuda_ops;
    be->ctx = c;
    c->device = opt->device;
    c->rank = opt->rank;
    c->allow_tf32 = opt->allow_tf32;
    c->find = opt->find;
    const char *op = "create";
    if (!kc_cuda_ok(c, cudaSetDevice(c->device), op, "cudaSetDevice") ||
        !kc_cuda_ok(c,
                    cudaDeviceGetAttribute(&c->sm_count, cudaDevAttrMultiProcessorCount, c->device),
                    op, "cudaDeviceGetAttribute") ||
        !kc_cuda_ok(c, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), op,
                    "cudaStreamCreateWithFlags"))
        return creation_failed(be, err);
    c->max_blocks = (c->sm_count > 0 ? c->sm_count : 1) * 16;

    if (!kc_cublas_ok(c, cublasCreate(&c->cublas), op, "cublasCreate") ||
        !kc_cublas_ok(c, cublasSetStream(c->cublas, c->stream), op, "cublasSetStream") ||
        !kc_cublas_ok(c,
                      cublasSetMathMode(c->cublas, c->allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                 : CUBLAS_DEFAULT_MATH),
                      op, "cublasSetMathMode") ||
        !kc_cublas_ok(c, cublasSetPointerMode(c->cublas, CUBLAS_POINTER_MODE_HOST), op,
                      "cublasSetPointerMode") ||
        !kc_cublas_ok(c, cublasSetAtomicsMode(c->cublas, CUBLAS_ATOMICS_NOT_ALLOWED), op,
                      "cublasSetAtomicsMode") ||
        !kc_cuda_ok(c, cudaMalloc(&c->cublas_workspace, KC_CUBLAS_WORKSPACE), op,
                    "cudaMalloc (cuBLAS workspace)") ||
        !kc_cublas_ok(c, cublasSetWorkspace(c->cublas, c->cublas_workspace, KC_CUBLAS_WORKSPACE),
                      op, "cublasSetWorkspace"))
        return creation_failed(be, err);

    if (!kc_cudnn_ok(c, cudnnCreate(&c->cudnn), op, "cudnnCreate") ||
        !kc_cudnn_ok(c, cudnnSetStream(c->cudnn, c->stream), op, "cudnnSetStream"))
        return creation_failed(be, err);

    if (!kc_cuda_ok(c, cudaMalloc((void **)&c->scratch, KC_SCRATCH_DOUBLES * sizeof(double)), op,
                    "cudaMalloc (reduction scratch)") ||
        !kc_cuda_ok(c, cudaMallocHost((void **)&c->host, 8 * sizeof(double)), op, "cudaMallocHost"))
        return creation_failed(be, err);
    if (kc_conv_cache_init(c) != KURC_OK) {
        kc_fail(c, KURC_E_BACKEND, op, "calloc", "out of host memory");
        return creation_failed(be, err);
    }
    *out = be;
    return KURC_OK;
}

const struct kurc_backend_type kurc_cuda_backend_type = {
    .name = "cuda",
    .memory = KURC_MEMORY_DEVICE,
    .available = cuda_available,
    .create = cuda_create,
};
