/* comm.h - the communicator: how ranks of one training job talk.
 *
 * One interface, several implementations: `self` (one process, no MPI
 * launcher needed), MPI (host buffers) and NCCL (device buffers, bootstrapped
 * over MPI).  The trainer never branches on which one it has.  Collective
 * calls must be made by every rank in the same order; a failure returns an
 * error naming the rank and the call, and abort() ends every rank.
 */
#ifndef KURC_COMM_H
#define KURC_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct kurc_comm;

struct kurc_comm_ops {
    const char *name;
    /* Sums n floats (or doubles) over all ranks, in place, in the memory
     * the comm works on (host for self/MPI, the backend's for NCCL). */
    enum kurc_status (*allreduce_float)(struct kurc_comm *c, float *buf, int64_t n,
                                        struct kurc_err *err);
    /* Sums n doubles in host memory (metrics, flags). */
    enum kurc_status (*allreduce_double)(struct kurc_comm *c, double *buf, int64_t n,
                                         struct kurc_err *err);
    /* Copies bytes from root's buffer to every rank's (host memory). */
    enum kurc_status (*broadcast)(struct kurc_comm *c, void *buf, size_t bytes, int root,
                                  struct kurc_err *err);
    enum kurc_status (*barrier)(struct kurc_comm *c, struct kurc_err *err);
    /* Ends every rank with this exit code (never returns for MPI). */
    void (*abort)(struct kurc_comm *c, int code);
    void (*free)(struct kurc_comm *c);
};

struct kurc_comm {
    const struct kurc_comm_ops *ops;
    int rank;
    int size;
    int local_rank; /* rank among the ranks of this node */
    int local_size;
    void *ctx;
};

/* The communicator for this process: MPI when an MPI launcher started it
 * and kurc was built with MPI, else a world of one. */
enum kurc_status kurc_comm_create(struct kurc_comm **out, struct kurc_err *err);

/* A world of one: every collective is a no-op. */
struct kurc_comm *kurc_comm_self_create(void);

static inline void kurc_comm_free(struct kurc_comm *c) {
    if (c)
        c->ops->free(c);
}

#endif
