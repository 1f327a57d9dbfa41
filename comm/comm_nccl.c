/* comm_nccl.c - the NCCL communicator (see comm_nccl.h).
 *
 * allreduce_float sums device buffers with ncclAllReduce (ncclSum) on the
 * backend's native stream (kurc_backend_ops.stream, a cudaStream_t), so it
 * is ordered after the backward pass that filled the gradients and before
 * the optimizer step that reads them, without waiting on the host.  Host
 * collectives (allreduce_double, broadcast, barrier) and abort go to the
 * communicator NCCL was bootstrapped over (MPI), which this one owns, and
 * so do point to point, gathers and the watchdog's timeout (host memory:
 * deterministic training and cross-rank batch normalisation).
 * Bootstrap: rank 0 makes the unique id (ncclGetUniqueId), the wrapped
 * communicator broadcasts it, every rank joins with ncclCommInitRank on its
 * backend's device (kurc_backend_ops.device).
 *
 * Errors name the rank and the call; an error a peer's failure leaves in
 * the communicator (ncclCommGetAsyncError) is reported by the next
 * all-reduce.  abort() aborts the NCCL communicator (so no kernel waits
 * for a dead peer) and then the wrapped one (MPI_Abort).
 */
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdlib.h>

#include "comm/comm_nccl.h"

struct nccl {
    struct kurc_comm *inner;
    struct kurc_backend *be;
    ncclComm_t comm;
    cudaStream_t stream;
};

static struct nccl *nccl_of(struct kurc_comm *c) {
    return c->ctx;
}

static enum kurc_status nccl_error(int rank, ncclComm_t comm, const char *call, ncclResult_t r,
                                   struct kurc_err *err) {
    const char *last = comm ? ncclGetLastError(comm) : NULL;
    return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: %s failed: %s%s%s", rank, call,
                        ncclGetErrorString(r), last && *last ? ": " : "", last ? last : "");
}

static enum kurc_status nccl_allreduce_float(struct kurc_comm *c, float *buf, int64_t n,
                                             struct kurc_err *err) {
    struct nccl *s = nccl_of(c);
    if (n <= 0)
        return KURC_OK;
    enum kurc_status st = kurc_backend_check(s->be, err);
    if (st)
        return st;
    ncclResult_t r = ncclAllReduce(buf, buf, (size_t)n, ncclFloat, ncclSum, s->comm, s->stream);
    if (r != ncclSuccess)
        return nccl_error(c->rank, s->comm, "ncclAllReduce", r, err);
    ncclResult_t async = ncclSuccess;
    r = ncclCommGetAsyncError(s->comm, &async);
    if (r != ncclSuccess)
        return nccl_error(c->rank, s->comm, "ncclCommGetAsyncError", r, err);
    if (async != ncclSuccess && async != ncclInProgress)
        return nccl_error(c->rank, s->comm, "ncclAllReduce (asynchronous)", async, err);
    return KURC_OK;
}

static enum kurc_status nccl_allreduce_double(struct kurc_comm *c, double *buf, int64_t n,
                                              struct kurc_err *err) {
    struct kurc_comm *in = nccl_of(c)->inner;
    return in->ops->allreduce_double(in, buf, n, err);
}

static enum kurc_status nccl_broadcast(struct kurc_comm *c, void *buf, size_t bytes, int root,
                                       struct kurc_err *err) {
    struct kurc_comm *in = nccl_of(c)->inner;
    return in->ops->broadcast(in, buf, bytes, root, err);
}

static enum kurc_status nccl_barrier(struct kurc_comm *c, struct kurc_err *err) {
    struct kurc_comm *in = nccl_of(c)->inner;
    return in->ops->barrier(in, err);
}

static enum kurc_status nccl_send(struct kurc_comm *c, const void *buf, size_t bytes, int dest,
                                  struct kurc_err *err) {
    return kurc_comm_send(nccl_of(c)->inner, buf, bytes, dest, err);
}

static enum kurc_status nccl_recv(struct kurc_comm *c, void *buf, size_t bytes, int source,
                                  struct kurc_err *err) {
    return kurc_comm_recv(nccl_of(c)->inner, buf, bytes, source, err);
}

static enum kurc_status nccl_allgatherv(struct kurc_comm *c, const void *send, size_t bytes,
                                        void *recv, const size_t *counts, struct kurc_err *err) {
    return kurc_comm_allgatherv(nccl_of(c)->inner, send, bytes, recv, counts, err);
}

static void nccl_set_timeout(struct kurc_comm *c, double seconds) {
    kurc_comm_set_timeout(nccl_of(c)->inner, seconds);
}

static void nccl_abort(struct kurc_comm *c, int code) {
    struct nccl *s = nccl_of(c);
    ncclCommAbort(s->comm);
    s->comm = NULL;
    s->inner->ops->abort(s->inner, code);
}

static void nccl_free(struct kurc_comm *c) {
    struct nccl *s = nccl_of(c);
    if (s->comm) {
        /* finalize waits for this communicator's queued work without
         * touching the backend's stream, which may be gone already */
        ncclCommFinalize(s->comm);
        ncclCommDestroy(s->comm);
    }
    kurc_comm_free(s->inner);
    free(s);
    free(c);
}

static const struct kurc_comm_ops nccl_ops = {
    .name = "nccl",
    .allreduce_float = nccl_allreduce_float,
    .allreduce_double = nccl_allreduce_double,
    .broadcast = nccl_broadcast,
    .barrier = nccl_barrier,
    .abort = nccl_abort,
    .free = nccl_free,
    .send = nccl_send,
    .recv = nccl_recv,
    .allgatherv = nccl_allgatherv,
    .set_timeout = nccl_set_timeout,
};

/* Collective over inner.  On success *out wraps inner (and owns it). */
enum kurc_status kurc_comm_nccl_create(struct kurc_comm *inner, struct kurc_backend *be,
                                       struct kurc_comm **out, struct kurc_err *err) {
    /* rank 0's id, with whether it could make one, so no rank waits in
     * ncclCommInitRank for an id that never comes */
    struct {
        int ok;
        ncclUniqueId id;
    } boot = {0};
    ncclResult_t r = ncclSuccess;
    if (inner->rank == 0) {
        r = ncclGetUniqueId(&boot.id);
        boot.ok = r == ncclSuccess;
    }
    enum kurc_status st = inner->ops->broadcast(inner, &boot, sizeof boot, 0, err);
    if (st)
        return st;
    if (!boot.ok)
        return inner->rank == 0
                   ? nccl_error(0, NULL, "ncclGetUniqueId", r, err)
                   : kurc_err_set(err, KURC_E_COMM, NULL,
                                  "rank %d: rank 0 could not make NCCL's unique id", inner->rank);
    int device = be->ops->device(be);
    cudaError_t ce = cudaSetDevice(device);
    if (ce != cudaSuccess)
        return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: cudaSetDevice(%d) failed: %s",
                            inner->rank, device, cudaGetErrorString(ce));
    struct nccl *s = calloc(1, sizeof *s);
    struct kurc_comm *c = calloc(1, sizeof *c);
    if (!s || !c) {
        free(s);
        free(c);
        return kurc_err_set(err, KURC_E_COMM, NULL, "out of memory");
    }
    r = ncclCommInitRank(&s->comm, inner->size, boot.id, inner->rank);
    if (r != ncclSuccess) {
        st = nccl_error(inner->rank, NULL, "ncclCommInitRank", r, err);
        free(s);
        free(c);
        return st;
    }
    s->inner = inner;
    s->be = be;
    s->stream = (cudaStream_t)be->ops->stream(be);
    *c = *inner;
    c->ops = &nccl_ops;
    c->ctx = s;
    *out = c;
    return KURC_OK;
}
