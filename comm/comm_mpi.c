/* comm_mpi.c - the communicator over MPI (host buffers).
 *
 * Collectives run on MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a failure
 * comes back as an error naming the rank and the call instead of a silent
 * abort.  Counts above INT_MAX are sent in pieces.  The ranks of one node
 * are found with MPI_Comm_split_type(MPI_COMM_TYPE_SHARED).
 *
 * The watchdog (comm_mpi_watch.c) times every blocking call.
 */
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "comm/comm_mpi.h"
#include "comm/comm_mpi_watch.h"

#define PIECE (INT_MAX / 8)

/* A request: one MPI request, or (a sharded reduce-scatter) one per rank
 * that owns part of the buffer. */
struct mpi_req {
    MPI_Request one;   /* when n == 0 */
    MPI_Request *many; /* n of them */
    int n;
};

_Static_assert(sizeof(struct mpi_req) <= sizeof(((struct kurc_comm_req *)0)->impl),
               "struct mpi_req must fit struct kurc_comm_req");

static struct kurc_mpi_watch *watch_of(struct kurc_comm *c) {
    return c->ctx;
}

static void mpi_set_timeout(struct kurc_comm *c, double seconds) {
    kurc_mpi_watch_set_timeout(watch_of(c), seconds);
}

static void mpi_progress(struct kurc_comm *c, int64_t step, bool alone) {
    kurc_mpi_watch_progress(watch_of(c), step, alone);
}

/* --- collectives ---------------------------------------------------------- */

static enum kurc_status mpi_error(struct kurc_comm *c, const char *call, int code,
                                  struct kurc_err *err) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: %s failed: %s", c->rank, call, text);
}

static enum kurc_status allreduce(struct kurc_comm *c, void *buf, int64_t n, MPI_Datatype type,
                                  size_t size, const char *call, const char *what,
                                  struct kurc_err *err) {
    kurc_mpi_watch_begin(watch_of(c), "MPI_Allreduce", what, (long long)n);
    for (int64_t done = 0; done < n;) {
        int count = (int)(n - done < PIECE ? n - done : PIECE);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + done * (int64_t)size, count, type,
                               MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            kurc_mpi_watch_end(watch_of(c));
            return mpi_error(c, call, rc, err);
        }
        done += count;
    }
    kurc_mpi_watch_end(watch_of(c));
    return KURC_OK;
}

static enum kurc_status mpi_allreduce_float(struct kurc_comm *c, float *buf, int64_t n,
                                            struct kurc_err *err) {
    return allreduce(c, buf, n, MPI_FLOAT, sizeof(float), "MPI_Allreduce (float)", "%lld floats",
                     err);
}

static enum kurc_status mpi_allreduce_double(struct kurc_comm *c, double *buf, int64_t n,
                                             struct kurc_err *err) {
    return allreduce(c, buf, n, MPI_DOUBLE, sizeof(double), "MPI_Allreduce (double)",
                     "%lld doubles", err);
}

static enum kurc_status mpi_broadcast(struct kurc_comm *c, void *buf, size_t bytes, int root,
                                      struct kurc_err *err) {
    kurc_mpi_watch_begin(watch_of(c), "MPI_Bcast", "%lld bytes", (long long)bytes);
    for (size_t done = 0; done < bytes;) {
        int count = (int)(bytes - done < (size_t)PIECE ? bytes - done : (size_t)PIECE);
        int rc = MPI_Bcast((char *)buf + done, count, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            kurc_mpi_watch_end(watch_of(c));
            return mpi_error(c, "MPI_Bcast", rc, err);
        }
        done += (size_t)count;
    }
    kurc_mpi_watch_end(watch_of(c));
    return KURC_OK;
}

static enum kurc_status mpi_barrier(struct kurc_comm *c, struct kurc_err *err) {
    kurc_mpi_watch_begin(watch_of(c), "MPI_Barrier", "%lld ranks", (long long)c->size);
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    kurc_mpi_watch_end(watch_of(c));
    return rc == MPI_SUCCESS ? KURC_OK : mpi_error(c, "MPI_Barrier", rc, err);
}

/* --- nonblocking all-reduce ------------------------------------------------ */

static struct mpi_req *request_of(struct kurc_comm_req *req) {
    return (struct mpi_req *)(void *)req->impl;
}

static enum kurc_status mpi_iallreduce_float(struct kurc_comm *c, float *buf, int64_t n,
                                             struct kurc_comm_req *req, struct kurc_err *err) {
    if (n > PIECE)
        return kurc_err_set(err, KURC_E_COMM, NULL,
                            "rank %d: %s holds %lld floats, more than one MPI_Iallreduce can "
                            "take; make the buckets smaller",
                            c->rank, req->what, (long long)n);
    struct mpi_req r = {0};
    int rc =
        MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r.one);
    if (rc != MPI_SUCCESS)
        return mpi_error(c, "MPI_Iallreduce", rc, err);
    memcpy(request_of(req), &r, sizeof r);
    req->active = true;
    return KURC_OK;
}

/* The reduce-scatter as one MPI_Ireduce per rank that owns part of the
 * buffer, in place at that rank: every rank sends (W-1)/W of the buffer
 * in all, half an all-reduce's bytes, and no rank receives more than its
 * share's tree.  (Open MPI's MPI_Ireduce_scatter reduces the whole buffer
 * to rank 0 and then scatters it, which makes rank 0 the bottleneck.) */
static enum kurc_status mpi_ireduce_scatter_float(struct kurc_comm *c, float *buf,
                                                  const int *counts, const int *displs,
                                                  struct kurc_comm_req *req,
                                                  struct kurc_err *err) {
    struct mpi_req r = {.many = malloc((size_t)c->size * sizeof(MPI_Request))};
    if (!r.many)
        return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: out of memory", c->rank);
    for (int q = 0; q < c->size; q++) {
        if (counts[q] == 0)
            continue;
        float *at = buf + displs[q];
        int rc = MPI_Ireduce(q == c->rank ? MPI_IN_PLACE : at, at, counts[q], MPI_FLOAT, MPI_SUM,
                             q, MPI_COMM_WORLD, &r.many[r.n]);
        if (rc != MPI_SUCCESS) {
            MPI_Waitall(r.n, r.many, MPI_STATUSES_IGNORE);
            free(r.many);
            return mpi_error(c, "MPI_Ireduce", rc, err);
        }
        r.n++;
    }
    memcpy(request_of(req), &r, sizeof r);
    req->call = "MPI_Ireduce";
    req->active = true;
    return KURC_OK;
}

static enum kurc_status mpi_iallgatherv_float(struct kurc_comm *c, float *buf, const int *counts,
                                              const int *displs, struct kurc_comm_req *req,
                                              struct kurc_err *err) {
    struct mpi_req r = {0};
    int rc = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, MPI_FLOAT,
                             MPI_COMM_WORLD, &r.one);
    if (rc != MPI_SUCCESS)
        return mpi_error(c, "MPI_Iallgatherv", rc, err);
    memcpy(request_of(req), &r, sizeof r);
    req->call = "MPI_Iallgatherv";
    req->active = true;
    return KURC_OK;
}

/* A request that completed: inactive, its requests' array freed. */
static void completed(struct kurc_comm_req *req) {
    struct mpi_req *r = request_of(req);
    free(r->many);
    r->many = NULL;
    r->n = 0;
    req->active = false;
}

static enum kurc_status mpi_test(struct kurc_comm *c, struct kurc_comm_req *req, bool *done,
                                 struct kurc_err *err) {
    int flag = 0;
    struct mpi_req *r = request_of(req);
    int rc = r->n ? MPI_Testall(r->n, r->many, &flag, MPI_STATUSES_IGNORE)
                  : MPI_Test(&r->one, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
        return mpi_error(c, "MPI_Test", rc, err);
    *done = flag != 0;
    if (flag)
        completed(req);
    return KURC_OK;
}

static enum kurc_status mpi_wait(struct kurc_comm *c, struct kurc_comm_req *req,
                                 struct kurc_err *err) {
    kurc_mpi_watch_begin(watch_of(c), req->call ? req->call : "MPI_Allreduce", "%s (%lld floats)",
                         req->what ? req->what : "a bucket", (long long)req->count);
    struct mpi_req *r = request_of(req);
    int rc = r->n ? MPI_Waitall(r->n, r->many, MPI_STATUSES_IGNORE)
                  : MPI_Wait(&r->one, MPI_STATUS_IGNORE);
    kurc_mpi_watch_end(watch_of(c));
    completed(req);
    return rc == MPI_SUCCESS ? KURC_OK : mpi_error(c, "MPI_Wait", rc, err);
}

/* --- point to point and gathers --------------------------------------------- */

enum { TAG = 7301 };

static enum kurc_status mpi_send(struct kurc_comm *c, const void *buf, size_t bytes, int dest,
                                 struct kurc_err *err) {
    kurc_mpi_watch_begin(watch_of(c), "MPI_Send", "%lld bytes", (long long)bytes);
    for (size_t done = 0; done < bytes || (bytes == 0 && done == 0);) {
        int count = (int)(bytes - done < (size_t)PIECE ? bytes - done : (size_t)PIECE);
        int rc = MPI_Send((const char *)buf + done, count, MPI_BYTE, dest, TAG, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            kurc_mpi_watch_end(watch_of(c));
            return mpi_error(c, "MPI_Send", rc, err);
        }
        done += (size_t)count;
        if (bytes == 0)
            break;
    }
    kurc_mpi_watch_end(watch_of(c));
    return KURC_OK;
}

static enum kurc_status mpi_recv(struct kurc_comm *c, void *buf, size_t bytes, int source,
                                 struct kurc_err *err) {
    kurc_mpi_watch_begin(watch_of(c), "MPI_Recv", "%lld bytes", (long long)bytes);
    for (size_t done = 0; done < bytes || (bytes == 0 && done == 0);) {
        int count = (int)(bytes - done < (size_t)PIECE ? bytes - done : (size_t)PIECE);
        int rc = MPI_Recv((char *)buf + done, count, MPI_BYTE, source, TAG, MPI_COMM_WORLD,
                          MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            kurc_mpi_watch_end(watch_of(c));
            return mpi_error(c, "MPI_Recv", rc, err);
        }
        done += (size_t)count;
        if (bytes == 0)
            break;
    }
    kurc_mpi_watch_end(watch_of(c));
    return KURC_OK;
}

static enum kurc_status mpi_allgatherv(struct kurc_comm *c, const void *send, size_t bytes,
                                       void *recv, const size_t *counts, struct kurc_err *err) {
    int *n = malloc(2 * (size_t)c->size * sizeof *n);
    if (!n)
        return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: out of memory", c->rank);
    int *displs = n + c->size;
    size_t at = 0;
    for (int r = 0; r < c->size; r++) {
        if (counts[r] > (size_t)INT_MAX || at > (size_t)INT_MAX) {
            free(n);
            return kurc_err_set(err, KURC_E_COMM, NULL,
                                "rank %d: MPI_Allgatherv of more than 2 GiB", c->rank);
        }
        n[r] = (int)counts[r];
        displs[r] = (int)at;
        at += counts[r];
    }
    kurc_mpi_watch_begin(watch_of(c), "MPI_Allgatherv", "%lld bytes", (long long)at);
    int rc = MPI_Allgatherv(send, (int)bytes, MPI_BYTE, recv, n, displs, MPI_BYTE, MPI_COMM_WORLD);
    kurc_mpi_watch_end(watch_of(c));
    free(n);
    return rc == MPI_SUCCESS ? KURC_OK : mpi_error(c, "MPI_Allgatherv", rc, err);
}

/* --- life cycle -------------------------------------------------------------- */

static void mpi_abort(struct kurc_comm *c, int code) {
    (void)c;
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static void mpi_free(struct kurc_comm *c) {
    kurc_mpi_watch_free(watch_of(c));
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Finalize();
    free(c);
}

static const struct kurc_comm_ops mpi_ops = {
    .name = "mpi",
    .allreduce_float = mpi_allreduce_float,
    .allreduce_double = mpi_allreduce_double,
    .broadcast = mpi_broadcast,
    .barrier = mpi_barrier,
    .abort = mpi_abort,
    .free = mpi_free,
    .iallreduce_float = mpi_iallreduce_float,
    .test = mpi_test,
    .wait = mpi_wait,
    .ireduce_scatter_float = mpi_ireduce_scatter_float,
    .iallgatherv_float = mpi_iallgatherv_float,
    .send = mpi_send,
    .recv = mpi_recv,
    .allgatherv = mpi_allgatherv,
    .set_timeout = mpi_set_timeout,
    .progress = mpi_progress,
};

bool kurc_comm_mpi_launched(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                       NULL};
    for (const char *const *v = vars; *v; v++)
        if (getenv(*v))
            return true;
    return false;
}

enum kurc_status kurc_comm_mpi_create(struct kurc_comm **out, struct kurc_err *err) {
    /* Open MPI's nonblocking all-reduce (libnbc) sums an in-place buffer
     * with a binomial tree (reduce, then broadcast: twice the bytes) unless
     * told otherwise; the ring is bandwidth-optimal for gradient buckets
     * and measured twice as fast for 1-2 MiB on 2 ranks.  A value the user
     * set wins. */
    setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
    /* Its nonblocking reduce (the sharded optimizer's reduce-scatter) picks
     * a chain of small segments for large buffers on up to 4 ranks, one
     * segment per round of progress: measured 20 times slower than the
     * binomial tree for 25 MiB buckets on 2 ranks. */
    setenv("OMPI_MCA_coll_libnbc_ireduce_algorithm", "2", 0);
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
        return kurc_err_set(err, KURC_E_COMM, NULL, "MPI_Init_thread failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    struct kurc_comm *c = calloc(1, sizeof *c);
    if (!c)
        return kurc_err_set(err, KURC_E_COMM, NULL, "out of memory");
    c->ops = &mpi_ops;
    MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &c->size);
    c->ctx = kurc_mpi_watch_create(c->rank, c->size, provided >= MPI_THREAD_MULTIPLE);
    if (!c->ctx) {
        free(c);
        return kurc_err_set(err, KURC_E_COMM, NULL, "out of memory");
    }
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &c->local_rank);
    MPI_Comm_size(node, &c->local_size);
    MPI_Comm_free(&node);
    *out = c;
    return KURC_OK;
}
