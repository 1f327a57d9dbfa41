/* nccl_core.c - the NCCL communicator's ordering and watchdog (see
 * nccl_core.h).  A request keeps the index of its pair of events in its
 * impl bytes; pairs are made when more requests are in flight than ever
 * before and reused after. */
#include "comm/nccl_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(int) <= sizeof(((struct kurc_comm_req *)0)->impl),
               "a slot index must fit struct kurc_comm_req");

static int slot_of(const struct kurc_comm_req *req) {
    int i;
    memcpy(&i, req->impl, sizeof i);
    return i;
}

/* The failure of `call` for req: "rank R: CALL of WHAT (N floats) failed: WHY". */
static enum kurc_status failed(const struct kurc_nccl_core *k, const struct kurc_comm_req *req,
                               const char *call, const char *why, struct kurc_err *err) {
    return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: %s of %s (%lld floats) failed: %s",
                        k->rank, call, req->what ? req->what : "a buffer",
                        (long long)req->count, why);
}

/* A free pair of events, made when none is; -1 (err set) on failure. */
static int free_slot(struct kurc_nccl_core *k, const struct kurc_comm_req *req,
                     struct kurc_err *err) {
    for (int i = 0; i < k->n_slots; i++)
        if (!k->slots[i].busy)
            return i;
    struct kurc_nccl_slot *grown = realloc(k->slots, (size_t)(k->n_slots + 1) * sizeof *grown);
    if (!grown) {
        failed(k, req, req->call, "out of host memory", err);
        return -1;
    }
    k->slots = grown;
    struct kurc_nccl_slot *s = &k->slots[k->n_slots];
    *s = (struct kurc_nccl_slot){0};
    const char *why = k->api->event_create(k->api->ctx, &s->ready);
    if (!why && (why = k->api->event_create(k->api->ctx, &s->done)) != NULL)
        k->api->event_destroy(k->api->ctx, s->ready);
    if (why) {
        failed(k, req, "cudaEventCreate", why, err);
        return -1;
    }
    return k->n_slots++;
}

/* What a request queues: a sum of n floats, or a sharded collective. */
struct job {
    const char *call;
    bool gather; /* with counts: the all-gather, else the reduce-scatter */
    float *buf;
    int64_t n;
    const int *counts, *displs;
};

static const char *queue(struct kurc_nccl_core *k, const struct job *j) {
    const struct kurc_nccl_api *a = k->api;
    if (!j->counts)
        return a->all_reduce(a->ctx, j->buf, j->n, k->comm);
    if (!j->gather)
        return a->reduce_scatter(a->ctx, j->buf, j->counts, j->displs, k->comm);
    return a->all_gather(a->ctx, j->buf, j->counts, j->displs, k->comm);
}

static enum kurc_status start(struct kurc_nccl_core *k, const struct job *j,
                              struct kurc_comm_req *req, struct kurc_err *err) {
    const struct kurc_nccl_api *a = k->api;
    req->call = j->call;
    int i = free_slot(k, req, err);
    if (i < 0)
        return KURC_E_COMM;
    struct kurc_nccl_slot *s = &k->slots[i];
    const char *call = "cudaEventRecord", *why = a->record(a->ctx, s->ready, k->compute);
    if (!why) {
        call = "cudaStreamWaitEvent";
        why = a->stream_wait(a->ctx, k->comm, s->ready);
    }
    if (!why) {
        call = j->call;
        why = queue(k, j);
    }
    if (!why) {
        call = "cudaEventRecord";
        why = a->record(a->ctx, s->done, k->comm);
    }
    if (why)
        return failed(k, req, call, why, err);
    s->busy = true;
    memcpy(req->impl, &i, sizeof i);
    req->active = true;
    return KURC_OK;
}

enum kurc_status kurc_nccl_start(struct kurc_nccl_core *k, float *buf, int64_t n,
                                 struct kurc_comm_req *req, struct kurc_err *err) {
    if (n <= 0)
        return KURC_OK;
    return start(k, &(struct job){"ncclAllReduce", false, buf, n, NULL, NULL}, req, err);
}

enum kurc_status kurc_nccl_start_shard(struct kurc_nccl_core *k, bool gather, float *buf,
                                       const int *counts, const int *displs,
                                       struct kurc_comm_req *req, struct kurc_err *err) {
    const char *call = gather ? "ncclAllGather" : "ncclReduceScatter";
    return start(k, &(struct job){call, gather, buf, 0, counts, displs}, req, err);
}

/* The request has completed: the compute stream waits for its sum, and
 * its events are free again. */
static enum kurc_status complete(struct kurc_nccl_core *k, struct kurc_comm_req *req,
                                 struct kurc_err *err) {
    struct kurc_nccl_slot *s = &k->slots[slot_of(req)];
    const char *why = k->api->stream_wait(k->api->ctx, k->compute, s->done);
    s->busy = false;
    req->active = false;
    return why ? failed(k, req, "cudaStreamWaitEvent", why, err) : KURC_OK;
}

enum kurc_status kurc_nccl_test(struct kurc_nccl_core *k, struct kurc_comm_req *req, bool *done,
                                struct kurc_err *err) {
    const char *why = k->api->query(k->api->ctx, k->slots[slot_of(req)].done, done);
    if (why)
        return failed(k, req, "cudaEventQuery", why, err);
    return *done ? complete(k, req, err) : KURC_OK;
}

/* Aborts the NCCL communicator once: nothing may wait for a dead peer. */
static void abort_once(struct kurc_nccl_core *k) {
    if (!k->aborted)
        k->api->abort(k->api->ctx);
    k->aborted = true;
}

enum kurc_status kurc_nccl_wait(struct kurc_nccl_core *k, struct kurc_comm_req *req,
                                struct kurc_err *err) {
    const struct kurc_nccl_api *a = k->api;
    double began = a->now(a->ctx);
    for (;;) {
        bool done;
        const char *why = a->query(a->ctx, k->slots[slot_of(req)].done, &done);
        if (why)
            return failed(k, req, "cudaEventQuery", why, err);
        if (done)
            return complete(k, req, err);
        char reason[600];
        double late = a->now(a->ctx) - began;
        if ((why = a->async_error(a->ctx)) != NULL)
            snprintf(reason, sizeof reason, "%s; the NCCL communicator was aborted", why);
        else if (k->timeout > 0 && late >= k->timeout)
            snprintf(reason, sizeof reason,
                     "it has not completed after %.0f s (settings.comm_timeout); the NCCL "
                     "communicator was aborted",
                     late);
        else {
            a->pause(a->ctx);
            continue;
        }
        abort_once(k);
        return failed(k, req, req->call ? req->call : "ncclAllReduce", reason, err);
    }
}

void kurc_nccl_core_free(struct kurc_nccl_core *k) {
    for (int i = 0; i < k->n_slots; i++) {
        k->api->event_destroy(k->api->ctx, k->slots[i].ready);
        k->api->event_destroy(k->api->ctx, k->slots[i].done);
    }
    free(k->slots);
    k->slots = NULL;
    k->n_slots = 0;
}
