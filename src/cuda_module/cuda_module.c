/* cuda_module.c - the CUDA module's one entry (src/core/cuda_module.h):
 * the table of what it holds, found by the programs with dlsym. */
#include "core/cuda_module.h"

#include "kernels/cuda/cuda_backend.h"
#if KURC_MODULE_NCCL
#include "comm/comm_nccl.h"
#endif

extern const struct kurc_cuda_module kurc_cuda_module;

const struct kurc_cuda_module kurc_cuda_module = {
    .abi = KURC_CUDA_MODULE_ABI,
    .backend = &kurc_cuda_backend_type,
#if KURC_MODULE_NCCL
    .comm_nccl_create = kurc_comm_nccl_create,
#endif
};
