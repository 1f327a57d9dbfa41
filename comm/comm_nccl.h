/* comm_nccl.h - the communicator for ranks that compute on GPUs.
 *
 * Order of creation in a process (src/cli/cli_run.c):
 *   1. kurc_comm_create: MPI when an MPI launcher started the process (its
 *      rank, size, local_rank), else a world of one;
 *   2. kurc_backend_select: the backend, on GPU number local_rank of the
 *      devices the Kurfile allows;
 *   3. kurc_comm_attach_backend: when the backend keeps its memory on a
 *      device and there are several ranks, the communicator is replaced by
 *      one whose allreduce_float works on that memory - NCCL (bootstrapped
 *      over the MPI communicator, which it keeps for host collectives),
 *      or, without NCCL, MPI through host staging buffers.
 * Freeing the upgraded communicator frees the one it wraps.
 */
#ifndef KURC_COMM_NCCL_H
#define KURC_COMM_NCCL_H

#include "base/status.h"
#include "comm/comm.h"
#include "core/backend.h"

/* Upgrades *comm for backend be (see above); a no-op for host backends and
 * for a world of one.  Every rank must call it (it is collective when it
 * acts).  Environment KURC_NCCL=0 chooses the staging path even where NCCL
 * is built.  On failure *comm is unchanged. */
enum kurc_status kurc_comm_attach_backend(struct kurc_comm **comm, struct kurc_backend *be,
                                          struct kurc_err *err);

/* The NCCL communicator over `inner` (an MPI communicator, whose host
 * collectives bootstrap and serve it) for be, a backend whose memory is a
 * CUDA device's (its native stream a cudaStream_t); collective.
 * On success *out owns inner.  Only in builds with NCCL (comm_nccl.c). */
enum kurc_status kurc_comm_nccl_create(struct kurc_comm *inner, struct kurc_backend *be,
                                       struct kurc_comm **out, struct kurc_err *err);

#endif
