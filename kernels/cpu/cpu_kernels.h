/* cpu_kernels.h - the CPU backend's functions, cpu_<slot> for every slot
 * of struct kurc_backend_ops (contracts in core/backend_slots.def), each
 * in the file of kernels/cpu named for what it computes.  Matrix work goes
 * to OpenBLAS; the rest is plain C. */
#ifndef KURC_CPU_KERNELS_H
#define KURC_CPU_KERNELS_H

#include "core/backend.h"

/* cpu_<slot> for every slot (core/backend_slots.def). */
#define KURC_SLOT(ret, slot, params) ret cpu_##slot params;
#include "core/backend_slots.def"

/* The op table of those functions (table.c). */
extern const struct kurc_backend_ops kurc_cpu_ops;

#endif
