/* test_nccl_core.c - the NCCL communicator's ordering of streams and its
 * watchdog (comm/nccl_core.h) through a fake of the CUDA and NCCL calls
 * that records them: each bucket's sum waits on the compute stream's
 * event and runs on the communication stream; the compute stream waits
 * for the sum only once the trainer has seen it complete; events are
 * reused; a sum that never completes or an asynchronous NCCL error
 * aborts the communicator once, naming rank, call and bucket; the sharded
 * optimizer's reduce-scatter and all-gather are ordered the same.  Needs no
 * GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "comm/nccl_core.h"

#define EVENTS 8

/* The fake's state: events are indices into done[], streams are names. */
struct fake {
    char log[4096];
    int n_events;
    int polls_until_done[EVENTS]; /* per event: queries before it completes; -1 never */
    double clock;
    int polls;
    int async_after; /* polls before the asynchronous error; -1 never */
    const char *fail_all_reduce;
    int aborts;
};

static struct fake F;
static int ids[EVENTS];
static char compute[] = "compute", comm[] = "comm";

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t len = strlen(F.log);
    vsnprintf(F.log + len, sizeof F.log - len, fmt, ap);
    va_end(ap);
}

static int id(void *event) {
    return *(int *)event;
}

static const char *f_create(void *ctx, void **event) {
    (void)ctx;
    assert_true(F.n_events < EVENTS);
    ids[F.n_events] = F.n_events;
    *event = &ids[F.n_events];
    say("create e%d; ", F.n_events++);
    return NULL;
}

static void f_destroy(void *ctx, void *event) {
    (void)ctx;
    say("destroy e%d; ", id(event));
}

static const char *f_record(void *ctx, void *event, void *stream) {
    (void)ctx;
    say("record e%d on %s; ", id(event), (char *)stream);
    return NULL;
}

static const char *f_stream_wait(void *ctx, void *stream, void *event) {
    (void)ctx;
    say("%s waits e%d; ", (char *)stream, id(event));
    return NULL;
}

static const char *f_query(void *ctx, void *event, bool *done) {
    (void)ctx;
    int *left = &F.polls_until_done[id(event)];
    *done = *left == 0;
    if (*left > 0)
        (*left)--;
    return NULL;
}

static const char *f_all_reduce(void *ctx, float *buf, int64_t n, void *stream) {
    (void)ctx;
    say("all-reduce %g x%lld on %s; ", buf[0], (long long)n, (char *)stream);
    return F.fail_all_reduce;
}

/* The sharded collectives, for 3 ranks: each rank's region. */
static const char *f_shard(const char *what, const float *buf, const int *counts,
                           const int *displs, void *stream) {
    say("%s %g [%d@%d %d@%d %d@%d] on %s; ", what, buf[0], counts[0], displs[0], counts[1],
        displs[1], counts[2], displs[2], (char *)stream);
    return NULL;
}

static const char *f_reduce_scatter(void *ctx, float *buf, const int *counts, const int *displs,
                                    void *stream) {
    (void)ctx;
    return f_shard("reduce-scatter", buf, counts, displs, stream);
}

static const char *f_all_gather(void *ctx, float *buf, const int *counts, const int *displs,
                                void *stream) {
    (void)ctx;
    return f_shard("all-gather", buf, counts, displs, stream);
}

static const char *f_async_error(void *ctx) {
    (void)ctx;
    return F.async_after >= 0 && F.polls >= F.async_after ? "remote process exited" : NULL;
}

static void f_abort(void *ctx) {
    (void)ctx;
    F.aborts++;
    say("abort; ");
}

static double f_now(void *ctx) {
    (void)ctx;
    return F.clock;
}

static void f_pause(void *ctx) {
    (void)ctx;
    F.polls++;
    F.clock += 1.0;
}

static const struct kurc_nccl_api api = {.event_create = f_create,
                                         .event_destroy = f_destroy,
                                         .record = f_record,
                                         .stream_wait = f_stream_wait,
                                         .query = f_query,
                                         .all_reduce = f_all_reduce,
                                         .reduce_scatter = f_reduce_scatter,
                                         .all_gather = f_all_gather,
                                         .async_error = f_async_error,
                                         .abort = f_abort,
                                         .now = f_now,
                                         .pause = f_pause};

static struct kurc_nccl_core core(int rank, double timeout) {
    memset(&F, 0, sizeof F);
    F.async_after = -1;
    return (struct kurc_nccl_core){
        .api = &api, .compute = compute, .comm = comm, .rank = rank, .timeout = timeout};
}

/* Starts the sum of buf as `what`. */
static void start(struct kurc_nccl_core *k, float *buf, int64_t n, const char *what,
                  struct kurc_comm_req *req) {
    struct kurc_err err;
    *req = (struct kurc_comm_req){.what = what, .count = n};
    assert_int_equal(kurc_nccl_start(k, buf, n, req, &err), KURC_OK);
    assert_true(req->active);
}

static void test_ordering(void **state) {
    (void)state;
    struct kurc_nccl_core k = core(0, 600);
    float b0[4] = {1}, b1[4] = {2}, b2[4] = {3};
    struct kurc_comm_req r0, r1, r2;
    struct kurc_err err;
    start(&k, b0, 4, "bucket 0", &r0);
    start(&k, b1, 3, "bucket 1", &r1);
    /* each sum after the compute stream's work so far, on the
     * communication stream, then an event after it */
    assert_string_equal(F.log, "create e0; create e1; record e0 on compute; comm waits e0; "
                               "all-reduce 1 x4 on comm; record e1 on comm; "
                               "create e2; create e3; record e2 on compute; comm waits e2; "
                               "all-reduce 2 x3 on comm; record e3 on comm; ");
    /* not complete yet: the compute stream is left alone */
    F.polls_until_done[1] = 1;
    F.polls_until_done[3] = 3;
    F.log[0] = '\0';
    bool done = true;
    assert_int_equal(kurc_nccl_test(&k, &r0, &done, &err), KURC_OK);
    assert_false(done);
    assert_true(r0.active);
    assert_string_equal(F.log, "");
    /* complete: the compute stream waits for the sum (the optimizer reads it) */
    assert_int_equal(kurc_nccl_test(&k, &r0, &done, &err), KURC_OK);
    assert_true(done);
    assert_false(r0.active);
    assert_string_equal(F.log, "compute waits e1; ");
    /* wait polls until the sum completes, then the same */
    F.log[0] = '\0';
    assert_int_equal(kurc_nccl_wait(&k, &r1, &err), KURC_OK);
    assert_int_equal(F.polls, 3);
    assert_string_equal(F.log, "compute waits e3; ");
    assert_int_equal(F.aborts, 0);
    /* the first pair of events is free again: reused */
    F.log[0] = '\0';
    start(&k, b2, 2, "bucket 2", &r2);
    assert_string_equal(F.log, "record e0 on compute; comm waits e0; all-reduce 3 x2 on comm; "
                               "record e1 on comm; ");
    F.log[0] = '\0';
    kurc_nccl_core_free(&k);
    assert_string_equal(F.log, "destroy e0; destroy e1; destroy e2; destroy e3; ");
}

static void test_watchdog_timeout(void **state) {
    (void)state;
    struct kurc_nccl_core k = core(2, 5);
    float b[8] = {0};
    struct kurc_comm_req r;
    struct kurc_err err;
    start(&k, b, 8, "bucket 7", &r);
    F.polls_until_done[1] = -1; /* a peer is dead: never completes */
    F.log[0] = '\0';
    assert_int_equal(kurc_nccl_wait(&k, &r, &err), KURC_E_COMM);
    print_message("%s\n", err.msg);
    assert_int_equal(F.aborts, 1);
    assert_int_equal(F.polls, 5);
    assert_string_equal(F.log, "abort; ");
    assert_non_null(strstr(err.msg, "rank 2: ncclAllReduce of bucket 7 (8 floats) failed: it "
                                     "has not completed after 5 s (settings.comm_timeout)"));
    /* a second request that hangs does not abort again */
    struct kurc_comm_req r2;
    start(&k, b, 8, "bucket 6", &r2);
    F.polls_until_done[3] = -1;
    assert_int_equal(kurc_nccl_wait(&k, &r2, &err), KURC_E_COMM);
    assert_int_equal(F.aborts, 1);
    kurc_nccl_core_free(&k);
}

static void test_watchdog_async_error(void **state) {
    (void)state;
    struct kurc_nccl_core k = core(1, 0); /* no timeout: the error still ends it */
    float b[2] = {0};
    struct kurc_comm_req r;
    struct kurc_err err;
    start(&k, b, 2, "bucket 3", &r);
    F.polls_until_done[1] = -1;
    F.async_after = 2;
    assert_int_equal(kurc_nccl_wait(&k, &r, &err), KURC_E_COMM);
    print_message("%s\n", err.msg);
    assert_int_equal(F.aborts, 1);
    assert_non_null(strstr(err.msg, "rank 1: ncclAllReduce of bucket 3 (2 floats) failed: "
                                     "remote process exited; the NCCL communicator was aborted"));
    kurc_nccl_core_free(&k);
}

static void test_start_failure(void **state) {
    (void)state;
    struct kurc_nccl_core k = core(0, 600);
    float b[2] = {0};
    struct kurc_comm_req r = {.what = "bucket 0", .count = 2};
    struct kurc_err err;
    F.fail_all_reduce = "invalid argument";
    assert_int_equal(kurc_nccl_start(&k, b, 2, &r, &err), KURC_E_COMM);
    assert_false(r.active);
    assert_string_equal(err.msg,
                        "rank 0: ncclAllReduce of bucket 0 (2 floats) failed: invalid argument");
    /* nothing to sum: nothing queued */
    F.log[0] = '\0';
    assert_int_equal(kurc_nccl_start(&k, b, 0, &r, &err), KURC_OK);
    assert_string_equal(F.log, "");
    kurc_nccl_core_free(&k);
}

/* The sharded optimizer's reduce-scatter and all-gather are ordered as a
 * sum is, and a hung one is named by its call. */
static void test_shard_collectives(void **state) {
    (void)state;
    struct kurc_nccl_core k = core(1, 4);
    float b[10] = {5};
    const int counts[3] = {4, 6, 0}, displs[3] = {0, 4, 0};
    struct kurc_comm_req rs = {.what = "bucket 1", .count = 6}, ag = {.what = "parameters 0"};
    struct kurc_err err;
    assert_int_equal(kurc_nccl_start_shard(&k, false, b, counts, displs, &rs, &err), KURC_OK);
    assert_true(rs.active);
    assert_string_equal(F.log, "create e0; create e1; record e0 on compute; comm waits e0; "
                               "reduce-scatter 5 [4@0 6@4 0@0] on comm; record e1 on comm; ");
    F.log[0] = '\0';
    assert_int_equal(kurc_nccl_wait(&k, &rs, &err), KURC_OK);
    assert_string_equal(F.log, "compute waits e1; ");
    /* the updated shard is gathered after the compute stream's update */
    F.log[0] = '\0';
    ag.count = 6;
    assert_int_equal(kurc_nccl_start_shard(&k, true, b, counts, displs, &ag, &err), KURC_OK);
    assert_string_equal(F.log, "record e0 on compute; comm waits e0; "
                               "all-gather 5 [4@0 6@4 0@0] on comm; record e1 on comm; ");
    F.polls_until_done[1] = -1;
    assert_int_equal(kurc_nccl_wait(&k, &ag, &err), KURC_E_COMM);
    assert_non_null(strstr(err.msg, "rank 1: ncclAllGather of parameters 0 (6 floats) failed: "
                                     "it has not completed after 4 s"));
    kurc_nccl_core_free(&k);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordering),
        cmocka_unit_test(test_watchdog_timeout),
        cmocka_unit_test(test_watchdog_async_error),
        cmocka_unit_test(test_start_failure),
        cmocka_unit_test(test_shard_collectives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
