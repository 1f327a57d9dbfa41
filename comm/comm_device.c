/* comm_device.c - fitting the communicator to a backend whose memory is on
 * a device (see comm_nccl.h): the choice between NCCL and host staging,
 * and the staging communicator.
 *
 * Staging: allreduce_float downloads the buffer into a host copy, sums it
 * over the wrapped communicator (MPI) and uploads the result.  The host
 * copy is allocated by the first call and grows when a larger buffer
 * comes; the trainer reduces one arena of fixed size, so after the first
 * step nothing is allocated.  Host collectives, point to point and the
 * watchdog's timeout go straight to the wrapped communicator, so
 * deterministic training and cross-rank batch normalisation (which move
 * host memory) work on GPU ranks as on CPU ranks.
 *
 * The NCCL communicator (comm_nccl.c) is built into the CUDA module
 * (core/cuda_module.h), with the CUDA backend, and reached through it.
 *
 * NCCL needs every rank on a GPU of its own: ranks compare their devices'
 * UUIDs (device_share.h), and ranks that share a GPU are staged.
 */
#include <stdlib.h>
#include <string.h>

#include "base/kurc_config.h"
#include "base/log.h"
#include "comm/comm_nccl.h"
#include "comm/device_share.h"
#if KURC_HAVE_NCCL
#include "core/cuda_module.h"
#endif

struct staged {
    struct kurc_comm *inner;
    struct kurc_backend *be;
    float *host;
    int64_t capacity;
};

static struct staged *staged_of(struct kurc_comm *c) {
    return c->ctx;
}

static enum kurc_status staged_allreduce_float(struct kurc_comm *c, float *buf, int64_t n,
                                               struct kurc_err *err) {
    struct staged *s = staged_of(c);
    if (n <= 0)
        return KURC_OK;
    if (n > s->capacity) {
        float *grown = realloc(s->host, (size_t)n * sizeof *grown);
        if (!grown)
            return kurc_err_set(err, KURC_E_COMM, NULL,
                                "rank %d: cannot allocate %lld bytes of host memory to stage an "
                                "all-reduce",
                                c->rank, (long long)n * (long long)sizeof(float));
        s->host = grown;
        s->capacity = n;
    }
    struct kurc_backend *be = s->be;
    be->ops->download(be, s->host, buf, (size_t)n * sizeof(float));
    enum kurc_status st = kurc_backend_check(be, err);
    if (st == KURC_OK)
        st = s->inner->ops->allreduce_float(s->inner, s->host, n, err);
    if (st == KURC_OK)
        be->ops->upload(be, buf, s->host, (size_t)n * sizeof(float));
    return st;
}

static enum kurc_status staged_allreduce_double(struct kurc_comm *c, double *buf, int64_t n,
                                                struct kurc_err *err) {
    struct kurc_comm *in = staged_of(c)->inner;
    return in->ops->allreduce_double(in, buf, n, err);
}

static enum kurc_status staged_broadcast(struct kurc_comm *c, void *buf, size_t bytes, int root,
                                         struct kurc_err *err) {
    struct kurc_comm *in = staged_of(c)->inner;
    return in->ops->broadcast(in, buf, bytes, root, err);
}

static enum kurc_status staged_barrier(struct kurc_comm *c, struct kurc_err *err) {
    struct kurc_comm *in = staged_of(c)->inner;
    return in->ops->barrier(in, err);
}

static enum kurc_status staged_send(struct kurc_comm *c, const void *buf, size_t bytes, int dest,
                                    struct kurc_err *err) {
    struct kurc_comm *in = staged_of(c)->inner;
    return kurc_comm_send(in, buf, bytes, dest, err);
}

static enum kurc_status staged_recv(struct kurc_comm *c, void *buf, size_t bytes, int source,
                                    struct kurc_err *err) {
    struct kurc_comm *in = staged_of(c)->inner;
    return kurc_comm_recv(in, buf, bytes, source, err);
}

static enum kurc_status staged_allgatherv(struct kurc_comm *c, const void *send, size_t bytes,
                                          void *recv, const size_t *counts, struct kurc_err *err) {
    struct kurc_comm *in = staged_of(c)->inner;
    return kurc_comm_allgatherv(in, send, bytes, recv, counts, err);
}

static void staged_set_timeout(struct kurc_comm *c, double seconds) {
    kurc_comm_set_timeout(staged_of(c)->inner, seconds);
}

static void staged_progress(struct kurc_comm *c, int64_t step, bool alone) {
    kurc_comm_progress(staged_of(c)->inner, step, alone);
}

static void staged_abort(struct kurc_comm *c, int code) {
    struct kurc_comm *in = staged_of(c)->inner;
    in->ops->abort(in, code);
}

static void staged_free(struct kurc_comm *c) {
    struct staged *s = staged_of(c);
    kurc_comm_free(s->inner);
    free(s->host);
    free(s);
    free(c);
}

static const struct kurc_comm_ops staged_ops = {
    .name = "mpi-staged",
    .allreduce_float = staged_allreduce_float,
    .allreduce_double = staged_allreduce_double,
    .broadcast = staged_broadcast,
    .barrier = staged_barrier,
    .abort = staged_abort,
    .free = staged_free,
    .send = staged_send,
    .recv = staged_recv,
    .allgatherv = staged_allgatherv,
    .set_timeout = staged_set_timeout,
    .progress = staged_progress,
};

static enum kurc_status staged_create(struct kurc_comm *inner, struct kurc_backend *be,
                                      struct kurc_comm **out, struct kurc_err *err) {
    struct kurc_comm *c = calloc(1, sizeof *c);
    struct staged *s = calloc(1, sizeof *s);
    if (!c || !s) {
        free(c);
        free(s);
        return kurc_err_set(err, KURC_E_COMM, NULL, "out of memory");
    }
    s->inner = inner;
    s->be = be;
    *c = *inner;
    c->ops = &staged_ops;
    c->ctx = s;
    *out = c;
    return KURC_OK;
}

static bool nccl_allowed(void) {
    const char *v = getenv("KURC_NCCL");
    return !(v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 || strcmp(v, "OFF") == 0));
}

/* Whether two ranks compute on one device (collective): then a warning
 * on the first of them naming both and the device. */
static enum kurc_status device_shared(struct kurc_comm *c, struct kurc_backend *be, bool *shared,
                                      struct kurc_err *err) {
    struct kurc_rank_device mine = {0};
    struct kurc_rank_device *all = calloc((size_t)c->size, sizeof *all);
    if (!all)
        return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: out of memory", c->rank);
    mine.has = be->ops->device_uuid(be, mine.uuid);
    enum kurc_status st = kurc_comm_gather_devices(c, &mine, all, err);
    int a, b;
    *shared = st == KURC_OK && kurc_devices_shared(all, c->size, &a, &b);
    if (*shared && c->rank == a) {
        char uuid[48];
        kurc_uuid_format(all[a].uuid, uuid, sizeof uuid);
        kurc_log(KURC_LOG_WARNING,
                 "ranks %d and %d compute on the same GPU (%s): they share its time and memory, "
                 "and NCCL cannot serve them; start one rank per GPU (launch/kurc-run binds "
                 "them)",
                 a, b, uuid);
    }
    free(all);
    return st;
}

enum kurc_status kurc_comm_attach_backend(struct kurc_comm **comm, struct kurc_backend *be,
                                          struct kurc_err *err) {
    struct kurc_comm *c = *comm;
    if (c->size <= 1)
        return KURC_OK;
    /* every rank learns how many ranks compute on a device and can use
     * NCCL, and whether two share a device, so that all take the same path */
    bool device = be->ops->memory == KURC_MEMORY_DEVICE;
    bool nccl = device && KURC_HAVE_NCCL && nccl_allowed();
    double counts[2] = {device ? 1 : 0, nccl ? 1 : 0};
    bool shared = false;
    enum kurc_status st = c->ops->allreduce_double(c, counts, 2, err);
    if (st == KURC_OK && (int)counts[0] > 1)
        st = device_shared(c, be, &shared, err);
    if (st)
        return st;
#if KURC_HAVE_NCCL
    if ((int)counts[1] == c->size && !shared) {
        /* the NCCL communicator is the CUDA module's, which the backend's
         * creation has opened */
        const struct kurc_cuda_module *m;
        st = kurc_cuda_module_load(&m, err);
        if (st == KURC_OK)
            st = m->comm_nccl_create(c, be, comm, err);
        if (st == KURC_OK && c->rank == 0)
            kurc_log(KURC_LOG_INFO, "comm: NCCL on the GPUs' memory, bootstrapped over %s",
                     c->ops->name);
        return st;
    }
#endif
    if (!device)
        return KURC_OK;
    st = staged_create(c, be, comm, err);
    if (st == KURC_OK)
        kurc_log(KURC_LOG_INFO, "comm: gradients are summed by %s through host memory (%s)",
                 c->ops->name,
                 !KURC_HAVE_NCCL            ? "this build has no NCCL"
                 : (int)counts[0] < c->size ? "some ranks run on the CPU"
                 : shared                   ? "ranks share a GPU"
                                            : "KURC_NCCL=0 on some rank");
    return st;
}
