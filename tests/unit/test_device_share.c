/* test_device_share.c - the ranks' device UUIDs gathered over a
 * communicator and the ranks that share a device (comm/device_share.h),
 * and the communicator fitted to device backends (comm/comm_nccl.h:
 * ranks sharing a GPU are staged through host memory, which passes point
 * to point and gathers on), on a fake world of threads: each thread is a
 * rank, and the fake all-reduce sums their buffers between two barriers.
 * Needs no GPU. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "comm/comm_nccl.h"
#include "comm/device_share.h"
#include "core/backend.h"

#define RANKS 4
#define MAX_DOUBLES (RANKS * KURC_UUID_BYTES)

/* The world the fake ranks share. */
struct world {
    pthread_barrier_t barrier;
    pthread_mutex_t lock;
    double sum[MAX_DOUBLES];
};

/* Sums n doubles over the world's threads. */
static enum kurc_status fake_allreduce_double(struct kurc_comm *c, double *buf, int64_t n,
                                              struct kurc_err *err) {
    (void)err;
    struct world *w = c->ctx;
    assert_true(n <= MAX_DOUBLES);
    pthread_mutex_lock(&w->lock);
    for (int64_t i = 0; i < n; i++)
        w->sum[i] += buf[i];
    pthread_mutex_unlock(&w->lock);
    pthread_barrier_wait(&w->barrier);
    memcpy(buf, w->sum, (size_t)n * sizeof *buf);
    pthread_barrier_wait(&w->barrier);
    return KURC_OK;
}

/* Point to point and gathers are only counted (the staged communicator
 * must pass them on). */
static int p2p_calls;

static enum kurc_status fake_send(struct kurc_comm *c, const void *buf, size_t bytes, int dest,
                                  struct kurc_err *err) {
    (void)c, (void)buf, (void)bytes, (void)dest, (void)err;
    __atomic_add_fetch(&p2p_calls, 1, __ATOMIC_SEQ_CST);
    return KURC_OK;
}

static enum kurc_status fake_allgatherv(struct kurc_comm *c, const void *send, size_t bytes,
                                        void *recv, const size_t *counts, struct kurc_err *err) {
    (void)c, (void)send, (void)bytes, (void)recv, (void)counts, (void)err;
    __atomic_add_fetch(&p2p_calls, 1, __ATOMIC_SEQ_CST);
    return KURC_OK;
}

static void fake_free(struct kurc_comm *c) {
    (void)c;
}

static const struct kurc_comm_ops fake_ops = {.name = "fake",
                                              .allreduce_double = fake_allreduce_double,
                                              .free = fake_free,
                                              .send = fake_send,
                                              .allgatherv = fake_allgatherv};

struct rank_run {
    struct kurc_comm comm;
    struct kurc_rank_device mine;
    struct kurc_rank_device all[RANKS];
    enum kurc_status st;
};

static void *rank_main(void *arg) {
    struct rank_run *r = arg;
    struct kurc_err err;
    r->st = kurc_comm_gather_devices(&r->comm, &r->mine, r->all, &err);
    return NULL;
}

/* Runs the gather on RANKS threads with the given devices, checks that
 * every rank got all of them, and returns whether two share (*a, *b). */
static bool gather(const struct kurc_rank_device devices[RANKS], int *a, int *b) {
    struct world w = {0};
    pthread_barrier_init(&w.barrier, NULL, RANKS);
    pthread_mutex_init(&w.lock, NULL);
    struct rank_run runs[RANKS];
    pthread_t threads[RANKS];
    for (int r = 0; r < RANKS; r++) {
        runs[r] = (struct rank_run){.comm = {.ops = &fake_ops, .rank = r, .size = RANKS, .ctx = &w},
                                    .mine = devices[r]};
        pthread_create(&threads[r], NULL, rank_main, &runs[r]);
    }
    for (int r = 0; r < RANKS; r++)
        pthread_join(threads[r], NULL);
    pthread_barrier_destroy(&w.barrier);
    pthread_mutex_destroy(&w.lock);
    for (int r = 0; r < RANKS; r++) {
        assert_int_equal(runs[r].st, KURC_OK);
        for (int q = 0; q < RANKS; q++) {
            assert_int_equal(runs[r].all[q].has, devices[q].has);
            if (devices[q].has)
                assert_memory_equal(runs[r].all[q].uuid, devices[q].uuid, KURC_UUID_BYTES);
        }
    }
    return kurc_devices_shared(runs[0].all, RANKS, a, b);
}

/* A fake UUID: every byte `fill`, the last `last`. */
static struct kurc_rank_device gpu(unsigned char fill, unsigned char last) {
    struct kurc_rank_device d = {.has = true};
    memset(d.uuid, fill, sizeof d.uuid);
    d.uuid[KURC_UUID_BYTES - 1] = last;
    return d;
}

static void test_own_devices(void **state) {
    (void)state;
    /* bytes 0x00 and 0xff survive the trip through doubles */
    const struct kurc_rank_device devices[RANKS] = {gpu(0x00, 0), gpu(0xff, 0xff), gpu(0x12, 1),
                                                    gpu(0x12, 2)};
    int a = -1, b = -1;
    assert_false(gather(devices, &a, &b));
}

static void test_shared_device(void **state) {
    (void)state;
    const struct kurc_rank_device devices[RANKS] = {gpu(0xa0, 0), gpu(0xa0, 1), gpu(0xa0, 2),
                                                    gpu(0xa0, 1)};
    int a = -1, b = -1;
    assert_true(gather(devices, &a, &b));
    assert_int_equal(a, 1);
    assert_int_equal(b, 3);
}

static void test_host_ranks(void **state) {
    (void)state;
    /* ranks on the CPU have no device, and two of them share none */
    const struct kurc_rank_device devices[RANKS] = {{.has = false}, gpu(0x00, 0), {.has = false},
                                                    gpu(0x00, 1)};
    int a = -1, b = -1;
    assert_false(gather(devices, &a, &b));
}

/* A backend on a device whose UUID is its ctx's 16 bytes. */
static bool fake_uuid(struct kurc_backend *be, unsigned char uuid[16]) {
    memcpy(uuid, be->ctx, KURC_UUID_BYTES);
    return true;
}

static const struct kurc_backend_ops fake_device_ops = {
    .name = "fake-device", .memory = KURC_MEMORY_DEVICE, .device_uuid = fake_uuid};

struct attach_run {
    struct kurc_comm comm, *fitted;
    struct kurc_backend be;
    enum kurc_status st;
};

static void *attach_main(void *arg) {
    struct attach_run *r = arg;
    struct kurc_err err;
    r->fitted = &r->comm;
    r->st = kurc_comm_attach_backend(&r->fitted, &r->be, &err);
    return NULL;
}

static void test_attach_shared(void **state) {
    (void)state;
    /* ranks 1 and 3 on one GPU (NCCL not even tried in builds without it,
     * and here told not to) */
    setenv("KURC_NCCL", "0", 1);
    struct kurc_rank_device devices[RANKS] = {gpu(1, 0), gpu(1, 1), gpu(1, 2), gpu(1, 1)};
    struct world w = {0};
    pthread_barrier_init(&w.barrier, NULL, RANKS);
    pthread_mutex_init(&w.lock, NULL);
    struct attach_run runs[RANKS];
    pthread_t threads[RANKS];
    for (int r = 0; r < RANKS; r++) {
        runs[r] = (struct attach_run){
            .comm = {.ops = &fake_ops, .rank = r, .size = RANKS, .ctx = &w},
            .be = {.ops = &fake_device_ops, .ctx = devices[r].uuid}};
        pthread_create(&threads[r], NULL, attach_main, &runs[r]);
    }
    for (int r = 0; r < RANKS; r++)
        pthread_join(threads[r], NULL);
    p2p_calls = 0;
    for (int r = 0; r < RANKS; r++) {
        struct kurc_comm *c = runs[r].fitted;
        struct kurc_err err;
        assert_int_equal(runs[r].st, KURC_OK);
        assert_string_equal(c->ops->name, "mpi-staged");
        /* deterministic training and batch norm need these on GPU ranks */
        assert_true(kurc_comm_has_p2p(c));
        assert_int_equal(kurc_comm_send(c, "x", 1, 0, &err), KURC_OK);
        assert_int_equal(kurc_comm_allgatherv(c, "x", 1, NULL, NULL, &err), KURC_OK);
        char byte;
        assert_int_equal(kurc_comm_recv(c, &byte, 1, 0, &err), KURC_E_UNSUPPORTED);
        kurc_comm_free(c);
    }
    assert_int_equal(p2p_calls, 2 * RANKS);
    pthread_barrier_destroy(&w.barrier);
    pthread_mutex_destroy(&w.lock);
}

static void test_format(void **state) {
    (void)state;
    struct kurc_rank_device d = gpu(0xab, 0x01);
    char text[48];
    kurc_uuid_format(d.uuid, text, sizeof text);
    assert_string_equal(text, "GPU-abababab-abab-abab-abab-ababababab01");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_devices),
        cmocka_unit_test(test_shared_device),
        cmocka_unit_test(test_host_ranks),
        cmocka_unit_test(test_attach_shared),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
