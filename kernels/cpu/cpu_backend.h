/* cpu_backend.h - creating the CPU backend (OpenBLAS and plain C). */
#ifndef KURC_CPU_BACKEND_H
#define KURC_CPU_BACKEND_H

#include "core/backend.h"

/* Creates a CPU backend whose matrix work uses `threads` OpenBLAS threads
 * (0: leave OpenBLAS's own setting).  Free with kurc_cpu_backend_free. */
struct kurc_backend *kurc_cpu_backend_create(int threads);
void kurc_cpu_backend_free(struct kurc_backend *be);

/* The OpenBLAS threads in use. */
int kurc_cpu_backend_threads(const struct kurc_backend *be);

#endif
