/* table.c - the CPU backend's op table: every slot of
 * core/backend_slots.def filled by its cpu_<slot> function (cpu_kernels.h),
 * generated from the slot list. */
#include "kernels/cpu/cpu_kernels.h"

const struct kurc_backend_ops kurc_cpu_ops = {
    .name = "cpu",
    .memory = KURC_MEMORY_HOST,
#define KURC_SLOT(ret, slot, params) .slot = cpu_##slot,
#include "core/backend_slots.def"
};
