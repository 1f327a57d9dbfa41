/* nccl_core.h - the NCCL communicator's ordering of streams and its
 * watchdog, written over a table of the device and NCCL calls it makes
 * (comm_nccl.c gives the real ones, tests/unit/test_nccl_core.c a fake
 * that records them), so that both are tested without a GPU.
 *
 * Ordering.  start() (and start_shard(), for the sharded optimizer's
 * reduce-scatter and all-gather) records an event on the compute stream - after the
 * bucket's last backward kernel, which the trainer has queued when it
 * starts the bucket (src/train/dist.c) - makes the communication stream
 * wait for it, queues the all-reduce there and records a second event
 * after it.  So backward goes on while the bucket is summed, and no
 * stream waits for the host.  test() queries the second event; when it
 * has completed, or when wait() has seen it complete, the compute stream
 * is made to wait for it (the optimizer step queued next reads the sums).
 *
 * Watchdog.  While wait() polls, it asks for NCCL's asynchronous error
 * and compares the time with the timeout (0: none); on either it aborts
 * the NCCL communicator, so that no kernel waits for a dead peer, and
 * returns an error naming the rank, the call and the bucket.
 */
#ifndef KURC_NCCL_CORE_H
#define KURC_NCCL_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "comm/comm.h"

/* The calls.  Each returning a string returns NULL on success, else the
 * failure's text (the library's message).  ctx is the api's. */
struct kurc_nccl_api {
    void *ctx;
    const char *(*event_create)(void *ctx, void **event);
    void (*event_destroy)(void *ctx, void *event);
    const char *(*record)(void *ctx, void *event, void *stream);
    const char *(*stream_wait)(void *ctx, void *stream, void *event);
    /* *done: the work before the event has completed */
    const char *(*query)(void *ctx, void *event, bool *done);
    /* sums n floats of buf over the ranks, in place, queued on stream */
    const char *(*all_reduce)(void *ctx, float *buf, int64_t n, void *stream);
    /* the sharded optimizer's collectives (comm.h: ireduce_scatter_float,
     * iallgatherv_float) over rank r's regions [displs[r], + counts[r])
     * of buf, in place, queued on stream */
    const char *(*reduce_scatter)(void *ctx, float *buf, const int *counts, const int *displs,
                                  void *stream);
    const char *(*all_gather)(void *ctx, float *buf, const int *counts, const int *displs,
                              void *stream);
    /* the communicator's asynchronous error, NULL while there is none */
    const char *(*async_error)(void *ctx);
    void (*abort)(void *ctx);
    double (*now)(void *ctx); /* seconds, monotonic */
    void (*pause)(void *ctx); /* between two polls */
};

/* One all-reduce's pair of events. */
struct kurc_nccl_slot {
    void *ready, *done;
    bool busy;
};

struct kurc_nccl_core {
    const struct kurc_nccl_api *api;
    void *compute; /* the backend's stream */
    void *comm;    /* the communication stream */
    int rank;
    double timeout; /* seconds; 0: no watchdog */
    bool aborted;
    struct kurc_nccl_slot *slots;
    int n_slots;
};

/* Starts summing n floats of buf (see above); req as comm.h's. */
enum kurc_status kurc_nccl_start(struct kurc_nccl_core *k, float *buf, int64_t n,
                                 struct kurc_comm_req *req, struct kurc_err *err);
/* Starts the reduce-scatter (gather false) or the all-gather of buf's
 * regions (comm.h), ordered as a sum is. */
enum kurc_status kurc_nccl_start_shard(struct kurc_nccl_core *k, bool gather, float *buf,
                                       const int *counts, const int *displs,
                                       struct kurc_comm_req *req, struct kurc_err *err);
/* *done once the sum has completed (the request is then inactive). */
enum kurc_status kurc_nccl_test(struct kurc_nccl_core *k, struct kurc_comm_req *req, bool *done,
                                struct kurc_err *err);
/* Polls until the sum has completed, under the watchdog. */
enum kurc_status kurc_nccl_wait(struct kurc_nccl_core *k, struct kurc_comm_req *req,
                                struct kurc_err *err);
/* Destroys the events (the streams are the caller's). */
void kurc_nccl_core_free(struct kurc_nccl_core *k);

#endif
