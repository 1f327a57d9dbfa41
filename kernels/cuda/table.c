/* table.c - the CUDA backend's op table: every slot of
 * core/backend_slots.def filled by its kc_<slot> function
 * (cuda_internal.h), generated from the slot list. */
#include "kernels/cuda/cuda_internal.h"

const struct kurc_backend_ops kurc_cuda_ops = {
    .name = "cuda",
    .memory = KURC_MEMORY_DEVICE,
#define KURC_SLOT(ret, slot, params) .slot = kc_##slot,
#define KURC_SLOT_FUSED(ret, slot, params) /* none: ops run unfused */
#include "core/backend_slots.def"
};
