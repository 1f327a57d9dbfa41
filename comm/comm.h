/* comm.h - the communicator: how ranks of one training job talk.
 *
 * One interface, several implementations: `self` (one process, no MPI
 * launcher needed), MPI (host buffers) and NCCL (device buffers, bootstrapped
 * over MPI).  The trainer never branches on which one it has.  Collective
 * calls must be made by every rank in the same order; a failure returns an
 * error naming the rank and the call, and abort() ends every rank.
 *
 * Operations past the first six are optional (NULL in a communicator that
 * lacks them); callers go through the kurc_comm_* wrappers below, which
 * fall back (a blocking all-reduce for a nonblocking one) or say that the
 * communicator cannot do it.
 *
 * Watchdog: a communicator given a timeout (kurc_comm_set_timeout) ends the
 * job when one of its blocking calls has not completed within the limit,
 * with a message naming the rank, the call and the ranks that stopped
 * making progress ("rank 0 (host kc1): MPI_Allreduce of bucket 3 has not
 * completed after 15 s (...): rank 2 (host kc3) has made no progress for
 * 16 s (last step 41)"), and exit status KURC_STALL_EXIT (comm/stall.h):
 * a rank that stopped, a cut link, or ranks that called different
 * collectives never hang a job silently.  The automatic limit follows the
 * trainer's steps (kurc_comm_progress).
 */
#ifndef KURC_COMM_H
#define KURC_COMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

struct kurc_comm;

/* A nonblocking operation in flight.  The caller owns the storage; the
 * implementation keeps its request in `impl`.  `what` names it in messages
 * ("bucket 3") and must outlive it. */
struct kurc_comm_req {
    bool active;
    const char *what;
    int64_t count;
    unsigned char impl[32];
    const char *call; /* the implementation's name of the call, or NULL */
};

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

    /* --- optional ------------------------------------------------------ */
    /* Starts summing n floats over all ranks in place (the memory of
     * allreduce_float); the buffer must not be touched until the request
     * completes.  test() makes progress and sets *done when it completed
     * (the request is then inactive); wait() blocks until it completes. */
    enum kurc_status (*iallreduce_float)(struct kurc_comm *c, float *buf, int64_t n,
                                         struct kurc_comm_req *req, struct kurc_err *err);
    enum kurc_status (*test)(struct kurc_comm *c, struct kurc_comm_req *req, bool *done,
                             struct kurc_err *err);
    enum kurc_status (*wait)(struct kurc_comm *c, struct kurc_comm_req *req,
                             struct kurc_err *err);
    /* Sharded optimizer state (see the wrappers below): starts summing a
     * buffer of sum(counts) floats over the ranks so that rank r's region
     * [displs[r], displs[r] + counts[r]) holds the sums (the rest is left
     * undefined), or gathering every rank's region of buf into every
     * rank's buf, in place.  counts and displs must stay unchanged until
     * the request completes (test, wait).  MPI: one MPI_Ireduce per rank
     * with a region, and MPI_Iallgatherv; NCCL: comm_nccl.c. */
    enum kurc_status (*ireduce_scatter_float)(struct kurc_comm *c, float *buf, const int *counts,
                                              const int *displs, struct kurc_comm_req *req,
                                              struct kurc_err *err);
    enum kurc_status (*iallgatherv_float)(struct kurc_comm *c, float *buf, const int *counts,
                                          const int *displs, struct kurc_comm_req *req,
                                          struct kurc_err *err);
    /* Point to point, host memory, blocking. */
    enum kurc_status (*send)(struct kurc_comm *c, const void *buf, size_t bytes, int dest,
                             struct kurc_err *err);
    enum kurc_status (*recv)(struct kurc_comm *c, void *buf, size_t bytes, int source,
                             struct kurc_err *err);
    /* Every rank's `bytes` (counts[r] from rank r) concatenated in rank
     * order into recv on every rank (host memory). */
    enum kurc_status (*allgatherv)(struct kurc_comm *c, const void *send, size_t bytes,
                                   void *recv, const size_t *counts, struct kurc_err *err);
    /* The watchdog's limit in seconds (0: off; < 0: automatic, from the
     * steps that progress reports, see comm/stall.h). */
    void (*set_timeout)(struct kurc_comm *c, double seconds);
    /* The trainer finished step `step` (its count of batches); `alone`:
     * until the next step one rank may work while the others wait
     * (checkpoints, the end of an epoch). */
    void (*progress)(struct kurc_comm *c, int64_t step, bool alone);
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

/* Starts a nonblocking sum; a communicator without one sums now (and the
 * request is complete at once). */
static inline enum kurc_status kurc_comm_iallreduce_float(struct kurc_comm *c, float *buf,
                                                          int64_t n, const char *what,
                                                          struct kurc_comm_req *req,
                                                          struct kurc_err *err) {
    *req = (struct kurc_comm_req){.what = what, .count = n};
    if (c->ops->iallreduce_float)
        return c->ops->iallreduce_float(c, buf, n, req, err);
    return c->ops->allreduce_float(c, buf, n, err);
}

/* The sharding collectives (comm ops above); a communicator lacks both or
 * has both (kurc_comm_can_shard). */
static inline bool kurc_comm_can_shard(const struct kurc_comm *c) {
    return c->size == 1 || (c->ops->ireduce_scatter_float && c->ops->iallgatherv_float);
}

static inline enum kurc_status kurc_comm_ireduce_scatter_float(struct kurc_comm *c, float *buf,
                                                               const int *counts,
                                                               const int *displs,
                                                               const char *what,
                                                               struct kurc_comm_req *req,
                                                               struct kurc_err *err) {
    *req = (struct kurc_comm_req){.what = what, .count = counts[c->rank]};
    return c->size == 1 ? KURC_OK
                        : c->ops->ireduce_scatter_float(c, buf, counts, displs, req, err);
}

static inline enum kurc_status kurc_comm_iallgatherv_float(struct kurc_comm *c, float *buf,
                                                           const int *counts, const int *displs,
                                                           const char *what,
                                                           struct kurc_comm_req *req,
                                                           struct kurc_err *err) {
    *req = (struct kurc_comm_req){.what = what, .count = counts[c->rank]};
    return c->size == 1 ? KURC_OK : c->ops->iallgatherv_float(c, buf, counts, displs, req, err);
}

static inline enum kurc_status kurc_comm_test(struct kurc_comm *c, struct kurc_comm_req *req,
                                              bool *done, struct kurc_err *err) {
    *done = !req->active;
    return req->active ? c->ops->test(c, req, done, err) : KURC_OK;
}

static inline enum kurc_status kurc_comm_wait(struct kurc_comm *c, struct kurc_comm_req *req,
                                              struct kurc_err *err) {
    return req->active ? c->ops->wait(c, req, err) : KURC_OK;
}

static inline void kurc_comm_set_timeout(struct kurc_comm *c, double seconds) {
    if (c->ops->set_timeout)
        c->ops->set_timeout(c, seconds);
}

static inline void kurc_comm_progress(struct kurc_comm *c, int64_t step, bool alone) {
    if (c->ops->progress)
        c->ops->progress(c, step, alone);
}

/* The optional host-memory operations through a communicator that may
 * lack them (KURC_E_UNSUPPORTED then): for communicators that wrap
 * another and pass them on. */
static inline enum kurc_status kurc_comm_lacks(const struct kurc_comm *c, const char *what,
                                               struct kurc_err *err) {
    return kurc_err_set(err, KURC_E_UNSUPPORTED, NULL, "rank %d: the %s communicator has no %s",
                        c->rank, c->ops->name, what);
}

static inline enum kurc_status kurc_comm_send(struct kurc_comm *c, const void *buf, size_t bytes,
                                              int dest, struct kurc_err *err) {
    return c->ops->send ? c->ops->send(c, buf, bytes, dest, err) : kurc_comm_lacks(c, "send", err);
}

static inline enum kurc_status kurc_comm_recv(struct kurc_comm *c, void *buf, size_t bytes,
                                              int source, struct kurc_err *err) {
    return c->ops->recv ? c->ops->recv(c, buf, bytes, source, err)
                        : kurc_comm_lacks(c, "recv", err);
}

static inline enum kurc_status kurc_comm_allgatherv(struct kurc_comm *c, const void *send,
                                                    size_t bytes, void *recv,
                                                    const size_t *counts, struct kurc_err *err) {
    return c->ops->allgatherv ? c->ops->allgatherv(c, send, bytes, recv, counts, err)
                              : kurc_comm_lacks(c, "allgatherv", err);
}

/* True when the communicator has send, recv and allgatherv (deterministic
 * reductions need them on more than one rank). */
static inline bool kurc_comm_has_p2p(const struct kurc_comm *c) {
    return c->size == 1 || (c->ops->send && c->ops->recv && c->ops->allgatherv);
}

static inline void kurc_comm_free(struct kurc_comm *c) {
    if (c)
        c->ops->free(c);
}

#endif
