/* cpu_backend.h - the CPU backend (OpenBLAS and plain C): its registry
 * entry (kernels/backends.h) and, for tests and tools, a shorter way to
 * create it. */
#ifndef KURC_CPU_BACKEND_H
#define KURC_CPU_BACKEND_H

#include "core/backend.h"

/* "cpu": host memory, always available; opt->threads OpenBLAS threads. */
extern const struct kurc_backend_type kurc_cpu_backend_type;

/* A CPU backend whose matrix work uses `threads` OpenBLAS threads (0:
 * leave OpenBLAS's own setting); NULL when out of memory.  Free with
 * kurc_backend_release. */
struct kurc_backend *kurc_cpu_backend_create(int threads);

#endif
