/* grid.cuh - what kurc's CUDA kernel files share: the threads of a block,
 * grid-stride loops (one thread per element over 64-bit indices, so any n
 * works with a grid sized to fill the device) and launching on the
 * backend's stream with a launch failure recorded (cuda_internal.h).
 */
#ifndef KURC_CUDA_GRID_CUH
#define KURC_CUDA_GRID_CUH

#include "kernels/cuda/cuda_internal.h"

#define THREADS 256

#define GRID_STRIDE(i, n)                                                                          \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                      \
         i += (int64_t)gridDim.x * blockDim.x)

/* Launches kernel over n items on the backend's stream; records a launch
 * failure against op. */
#define LAUNCH(be, op, kernel, n, ...)                                                             \
    do {                                                                                           \
        struct kc_ctx *c_ = kc_ctx_of(be);                                                         \
        kernel<<<kc_blocks(c_, (n), THREADS), THREADS, 0, c_->stream>>>(__VA_ARGS__);              \
        kc_launched(c_, op, #kernel);                                                              \
    } while (0)

/* The start of every slot: nothing to do after a failure or for n <= 0. */
#define SKIP_IF_IDLE(be, n)                                                                        \
    do {                                                                                           \
        if (kc_failed(be) || (n) <= 0)                                                             \
            return;                                                                                \
    } while (0)

#endif
