/* comm_nccl.c - the NCCL communicator (see comm_nccl.h).
 *
 * iallreduce_float sums a device buffer with ncclAllReduce (ncclSum) on a
 * communication stream of its own, ordered by events after the kernels
 * the backend's stream (kurc_backend_ops.stream, a cudaStream_t) had
 * queued, and the backend's stream after the sum once the trainer has
 * waited for it: gradient buckets are summed while backward goes on, as
 * on the MPI path.  wait() polls under a watchdog (the timeout of
 * set_timeout, NCCL's asynchronous errors) that aborts the NCCL
 * communicator and names the rank, the call and the bucket.  The ordering
 * and the watchdog are nccl_core.c, over the table of CUDA and NCCL calls
 * below; allreduce_float is a start and a wait.  The sharded optimizer's
 * reduce-scatter and all-gather (settings.shard_optimizer) go the same way:
 * ncclReduceScatter and ncclAllGather when every rank's region is as
 * large, else one ncclReduce or ncclBroadcast per rank in a group.  Host
 * collectives (allreduce_double, broadcast, barrier) and abort go to the
 * communicator NCCL was bootstrapped over (MPI), which this one owns, and
 * so do point to point, gathers and the watchdog's timeout (host memory:
 * deterministic training and cross-rank batch normalisation).
 * Bootstrap: rank 0 makes the unique id (ncclGetUniqueId), the wrapped
 * communicator broadcasts it, every rank joins with ncclCommInitRank on its
 * backend's device (kurc_backend_ops.device).
 *
 * Errors name the rank and the call; an error a peer's failure leaves in
 * the communicator (ncclCommGetAsyncError) is found by the watchdog while
 * the trainer waits.  abort() aborts the NCCL communicator (so no kernel
 * waits for a dead peer) and then the wrapped one (MPI_Abort).
 */
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdlib.h>
#include <time.h>

#include "comm/comm_nccl.h"
#include "comm/nccl_core.h"
#include "comm/stall.h"

struct nccl {
    struct kurc_comm *inner;
    struct kurc_backend *be;
    ncclComm_t comm;
    cudaStream_t stream; /* the communication stream */
    struct kurc_nccl_api api; /* nccl_calls with this as ctx */
    struct kurc_nccl_core core;
};

/* --- the calls nccl_core.c makes ------------------------------------------------ */

static const char *cuda_text(cudaError_t e) {
    if (e == cudaSuccess)
        return NULL;
    cudaGetLastError();
    return cudaGetErrorString(e);
}

static const char *api_event_create(void *ctx, void **event) {
    (void)ctx;
    return cuda_text(cudaEventCreateWithFlags((cudaEvent_t *)event, cudaEventDisableTiming));
}

static void api_event_destroy(void *ctx, void *event) {
    (void)ctx;
    cudaEventDestroy((cudaEvent_t)event);
}

static const char *api_record(void *ctx, void *event, void *stream) {
    (void)ctx;
    return cuda_text(cudaEventRecord((cudaEvent_t)event, (cudaStream_t)stream));
}

static const char *api_stream_wait(void *ctx, void *stream, void *event) {
    (void)ctx;
    return cuda_text(cudaStreamWaitEvent((cudaStream_t)stream, (cudaEvent_t)event, 0));
}

static const char *api_query(void *ctx, void *event, bool *done) {
    (void)ctx;
    cudaError_t e = cudaEventQuery((cudaEvent_t)event);
    *done = e == cudaSuccess;
    return e == cudaErrorNotReady ? NULL : cuda_text(e);
}

static const char *api_all_reduce(void *ctx, float *buf, int64_t n, void *stream) {
    struct nccl *s = ctx;
    ncclResult_t r =
        ncclAllReduce(buf, buf, (size_t)n, ncclFloat, ncclSum, s->comm, (cudaStream_t)stream);
    return r == ncclSuccess || r == ncclInProgress ? NULL : ncclGetErrorString(r);
}

/* Rank r's region is [displs[r], + counts[r]); NCCL's own collectives
 * when the regions are equal and in rank order, else one reduce (or
 * broadcast) per rank that has a region, rooted there, as one group. */
static bool regular(const struct nccl *s, const int *counts, const int *displs) {
    for (int r = 0; r < s->inner->size; r++)
        if (counts[r] != counts[0] || displs[r] != r * counts[0])
            return false;
    return true;
}

static const char *api_reduce_scatter(void *ctx, float *buf, const int *counts,
                                      const int *displs, void *stream) {
    struct nccl *s = ctx;
    cudaStream_t st = (cudaStream_t)stream;
    int me = s->inner->rank;
    ncclResult_t r = ncclSuccess;
    if (regular(s, counts, displs)) {
        r = ncclReduceScatter(buf, buf + displs[me], (size_t)counts[me], ncclFloat, ncclSum,
                              s->comm, st);
    } else {
        r = ncclGroupStart();
        for (int q = 0; q < s->inner->size && (r == ncclSuccess || r == ncclInProgress); q++)
            if (counts[q] > 0)
                r = ncclReduce(buf + displs[q], buf + displs[q], (size_t)counts[q], ncclFloat,
                               ncclSum, q, s->comm, st);
        ncclResult_t end = ncclGroupEnd();
        if (r == ncclSuccess || r == ncclInProgress)
            r = end;
    }
    return r == ncclSuccess || r == ncclInProgress ? NULL : ncclGetErrorString(r);
}

static const char *api_all_gather(void *ctx, float *buf, const int *counts, const int *displs,
                                  void *stream) {
    struct nccl *s = ctx;
    cudaStream_t st = (cudaStream_t)stream;
    int me = s->inner->rank;
    ncclResult_t r = ncclSuccess;
    if (regular(s, counts, displs)) {
        r = ncclAllGather(buf + displs[me], buf, (size_t)counts[me], ncclFloat, s->comm, st);
    } else {
        r = ncclGroupStart();
        for (int q = 0; q < s->inner->size && (r == ncclSuccess || r == ncclInProgress); q++)
            if (counts[q] > 0)
                r = ncclBroadcast(buf + displs[q], buf + displs[q], (size_t)counts[q], ncclFloat,
                                  q, s->comm, st);
        ncclResult_t end = ncclGroupEnd();
        if (r == ncclSuccess || r == ncclInProgress)
            r = end;
    }
    return r == ncclSuccess || r == ncclInProgress ? NULL : ncclGetErrorString(r);
}

static const char *api_async_error(void *ctx) {
    struct nccl *s = ctx;
    ncclResult_t async = ncclSuccess;
    ncclResult_t r = ncclCommGetAsyncError(s->comm, &async);
    if (r != ncclSuccess)
        return ncclGetErrorString(r);
    return async == ncclSuccess || async == ncclInProgress ? NULL : ncclGetErrorString(async);
}

static void api_abort(void *ctx) {
    struct nccl *s = ctx;
    ncclCommAbort(s->comm);
    s->comm = NULL;
}

static double api_now(void *ctx) {
    (void)ctx;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void api_pause(void *ctx) {
    (void)ctx;
    struct timespec t = {0, 20000};
    nanosleep(&t, NULL);
}

/* The calls; each instance copies them with itself as ctx. */
static const struct kurc_nccl_api nccl_calls = {
    .event_create = api_event_create,
    .event_destroy = api_event_destroy,
    .record = api_record,
    .stream_wait = api_stream_wait,
    .query = api_query,
    .all_reduce = api_all_reduce,
    .reduce_scatter = api_reduce_scatter,
    .all_gather = api_all_gather,
    .async_error = api_async_error,
    .abort = api_abort,
    .now = api_now,
    .pause = api_pause,
};

static struct nccl *nccl_of(struct kurc_comm *c) {
    return c->ctx;
}

static enum kurc_status nccl_error(int rank, const char *call, ncclResult_t r,
                                   struct kurc_err *err) {
    return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: %s failed: %s", rank, call,
                        ncclGetErrorString(r));
}

/* OK when a collective may start: the backend has no pending error and the
 * NCCL communicator was not aborted. */
static enum kurc_status nccl_ready(struct kurc_comm *c, struct kurc_err *err) {
    struct nccl *s = nccl_of(c);
    enum kurc_status st = kurc_backend_check(s->be, err);
    if (st)
        return st;
    if (!s->comm)
        return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: the NCCL communicator was aborted",
                            c->rank);
    return KURC_OK;
}

static enum kurc_status nccl_iallreduce_float(struct kurc_comm *c, float *buf, int64_t n,
                                              struct kurc_comm_req *req, struct kurc_err *err) {
    enum kurc_status st = nccl_ready(c, err);
    return st ? st : kurc_nccl_start(&nccl_of(c)->core, buf, n, req, err);
}

/* The sharded optimizer's collectives (comm.h), device memory. */
static enum kurc_status nccl_ishard(struct kurc_comm *c, bool gather, float *buf,
                                   const int *counts, const int *displs,
                                   struct kurc_comm_req *req, struct kurc_err *err) {
    enum kurc_status st = nccl_ready(c, err);
    return st ? st
              : kurc_nccl_start_shard(&nccl_of(c)->core, gather, buf, counts, displs, req, err);
}

static enum kurc_status nccl_ireduce_scatter_float(struct kurc_comm *c, float *buf,
                                                   const int *counts, const int *displs,
                                                   struct kurc_comm_req *req,
                                                   struct kurc_err *err) {
    return nccl_ishard(c, false, buf, counts, displs, req, err);
}

static enum kurc_status nccl_iallgatherv_float(struct kurc_comm *c, float *buf,
                                               const int *counts, const int *displs,
                                               struct kurc_comm_req *req, struct kurc_err *err) {
    return nccl_ishard(c, true, buf, counts, displs, req, err);
}

static enum kurc_status nccl_test(struct kurc_comm *c, struct kurc_comm_req *req, bool *done,
                                  struct kurc_err *err) {
    return kurc_nccl_test(&nccl_of(c)->core, req, done, err);
}

static enum kurc_status nccl_wait(struct kurc_comm *c, struct kurc_comm_req *req,
                                  struct kurc_err *err) {
    return kurc_nccl_wait(&nccl_of(c)->core, req, err);
}

static enum kurc_status nccl_allreduce_float(struct kurc_comm *c, float *buf, int64_t n,
                                             struct kurc_err *err) {
    struct kurc_comm_req req = {.what = "a buffer", .count = n};
    enum kurc_status st = nccl_iallreduce_float(c, buf, n, &req, err);
    return st == KURC_OK && req.active ? nccl_wait(c, &req, err) : st;
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

/* The MPI watchdog's automatic limit (seconds < 0) is at least
 * KURC_STALL_FLOOR; NCCL's own watchdog takes that bound. */
static void nccl_set_timeout(struct kurc_comm *c, double seconds) {
    nccl_of(c)->core.timeout = seconds < 0 ? KURC_STALL_FLOOR : seconds;
    kurc_comm_set_timeout(nccl_of(c)->inner, seconds);
}

static void nccl_progress(struct kurc_comm *c, int64_t step, bool alone) {
    kurc_comm_progress(nccl_of(c)->inner, step, alone);
}

static void nccl_abort(struct kurc_comm *c, int code) {
    struct nccl *s = nccl_of(c);
    if (s->comm)
        api_abort(s);
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
    kurc_nccl_core_free(&s->core);
    if (s->stream)
        cudaStreamDestroy(s->stream);
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
    .iallreduce_float = nccl_iallreduce_float,
    .test = nccl_test,
    .wait = nccl_wait,
    .ireduce_scatter_float = nccl_ireduce_scatter_float,
    .iallgatherv_float = nccl_iallgatherv_float,
    .send = nccl_send,
    .recv = nccl_recv,
    .allgatherv = nccl_allgatherv,
    .set_timeout = nccl_set_timeout,
    .progress = nccl_progress,
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
                   ? nccl_error(0, "ncclGetUniqueId", r, err)
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
        st = nccl_error(inner->rank, "ncclCommInitRank", r, err);
        free(s);
        free(c);
        return st;
    }
    /* the communication stream, at the highest priority, so that sums are
     * not queued behind backward kernels */
    int low, high;
    cudaDeviceGetStreamPriorityRange(&low, &high);
    ce = cudaStreamCreateWithPriority(&s->stream, cudaStreamNonBlocking, high);
    if (ce != cudaSuccess) {
        ncclCommDestroy(s->comm);
        free(s);
        free(c);
        return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: cudaStreamCreateWithPriority: %s",
                            inner->rank, cudaGetErrorString(ce));
    }
    s->inner = inner;
    s->be = be;
    s->api = nccl_calls;
    s->api.ctx = s;
    s->core = (struct kurc_nccl_core){.api = &s->api,
                                      .compute = be->ops->stream(be),
                                      .comm = s->stream,
                                      .rank = inner->rank};
    *c = *inner;
    c->ops = &nccl_ops;
    c->ctx = s;
    *out = c;
    return KURC_OK;
}
