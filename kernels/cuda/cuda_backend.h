/* cuda_backend.h - creating the CUDA backend (cuBLAS, cuDNN and kurc's own
 * kernels) and asking whether a GPU is there.
 *
 * One backend drives one device through one stream: every op of the table
 * (src/core/backend.h) is queued on that stream, so ops run in the order they
 * are called; download and the host reductions (sum, sum_squares) wait for
 * their results.  Only the runtime API is used (cudart, cuBLAS, cuDNN), so
 * a kurc built with CUDA starts and runs on the CPU on machines without a
 * driver.
 *
 * Numerics: float32 throughout; by default neither cuBLAS nor cuDNN may use
 * TF32 tensor cores (results then agree with the CPU backend to float
 * rounding), unless allow_tf32 is set (environment KURC_CUDA_TF32=1 for the
 * CLI), which is several times faster on A100/H100 at ~1e-3 relative error
 * in matrix products.
 */
#ifndef KURC_CUDA_BACKEND_H
#define KURC_CUDA_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "core/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kurc_cuda_options {
    int device;      /* CUDA device ordinal (after CUDA_VISIBLE_DEVICES) */
    int rank;        /* global rank for messages; -1: single process */
    bool allow_tf32; /* let cuBLAS and cuDNN use TF32 tensor cores */
    bool find;       /* choose convolution algorithms by timing them
                      * (cudnnFind*) instead of cuDNN's heuristics */
};

/* The number of visible CUDA devices; 0 when there is none or no usable
 * driver, and then `why` (may be NULL) says which, e.g.
 * "cudaGetDeviceCount: CUDA driver version is insufficient for CUDA runtime
 * version".  Never fails otherwise. */
int kurc_cuda_device_count(char *why, size_t why_size);

/* Creates a backend on opt->device: sets the device for this thread,
 * creates its stream, cuBLAS and cuDNN handles and scratch memory.  On
 * failure returns KURC_E_BACKEND with the call that failed. */
enum kurc_status kurc_cuda_backend_create(const struct kurc_cuda_options *opt,
                                          struct kurc_backend **out, struct kurc_err *err);
void kurc_cuda_backend_free(struct kurc_backend *be);

/* True when be was made by kurc_cuda_backend_create. */
bool kurc_backend_is_cuda(const struct kurc_backend *be);

/* The backend's device ordinal and its stream (a cudaStream_t). */
int kurc_cuda_backend_device(const struct kurc_backend *be);
void *kurc_cuda_backend_stream(const struct kurc_backend *be);

/* Records a failure that happened outside the backend but on its stream
 * (the NCCL communicator's), so that check() reports it. */
void kurc_cuda_backend_fail(struct kurc_backend *be, const char *op, const char *call,
                            const char *message);

/* A one-line description: "NVIDIA H100 80GB HBM3 (device 0, sm_90, 132 SMs,
 * 79.1 GiB)". */
void kurc_cuda_backend_describe(const struct kurc_backend *be, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
