/* cuda_backend.h - the CUDA backend (cuBLAS, cuDNN and kurc's own
 * kernels): its registry entry (kernels/backends.h).
 *
 * One backend drives one device (kurc_backend_options.device) through one
 * stream: every op of the table (src/core/backend.h) is queued on that
 * stream, so ops run in the order they are called; download and the host
 * reductions (sum, sum_squares) wait for their results.  Only the runtime
 * API is used (cudart, cuBLAS, cuDNN), so a kurc built with CUDA starts
 * and runs on the CPU on machines without a driver: available() then
 * reports no device, e.g. "no CUDA device is visible (cudaGetDeviceCount:
 * CUDA driver version is insufficient for CUDA runtime version)".
 *
 * Numerics: float32 throughout; by default neither cuBLAS nor cuDNN may use
 * TF32 tensor cores (results then agree with the CPU backend to float
 * rounding), unless allow_tf32 is set (environment KURC_CUDA_TF32=1 for the
 * CLI), which is several times faster on A100/H100 at ~1e-3 relative error
 * in matrix products.  find (KURC_CUDNN_FIND=1) chooses convolution
 * algorithms by timing them (cudnnFind*) instead of cuDNN's heuristics.
 */
#ifndef KURC_CUDA_BACKEND_H
#define KURC_CUDA_BACKEND_H

#include "core/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "cuda": device memory; available() counts the visible devices. */
extern const struct kurc_backend_type kurc_cuda_backend_type;

#ifdef __cplusplus
}
#endif

#endif
