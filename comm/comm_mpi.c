/* comm_mpi.c - the communicator over MPI (host buffers).
 *
 * Collectives run on MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a failure
 * comes back as an error naming the rank and the call instead of a silent
 * abort.  Counts above INT_MAX are sent in pieces.  The ranks of one node
 * are found with MPI_Comm_split_type(MPI_COMM_TYPE_SHARED).
 */
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "comm_mpi.h"

#define PIECE (INT_MAX / 8)

static enum kurc_status mpi_error(struct kurc_comm *c, const char *call, int code,
                                  struct kurc_err *err) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, text, &len);
    return kurc_err_set(err, KURC_E_COMM, NULL, "rank %d: %s failed: %s", c->rank, call, text);
}

static enum kurc_status allreduce(struct kurc_comm *c, void *buf, int64_t n, MPI_Datatype type,
                                  size_t size, const char *call, struct kurc_err *err) {
    for (int64_t done = 0; done < n;) {
        int count = (int)(n - done < PIECE ? n - done : PIECE);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + done * (int64_t)size, count, type,
                               MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_error(c, call, rc, err);
        done += count;
    }
    return KURC_OK;
}

static enum kurc_status mpi_allreduce_float(struct kurc_comm *c, float *buf, int64_t n,
                                            struct kurc_err *err) {
    return allreduce(c, buf, n, MPI_FLOAT, sizeof(float), "MPI_Allreduce (float)", err);
}

static enum kurc_status mpi_allreduce_double(struct kurc_comm *c, double *buf, int64_t n,
                                             struct kurc_err *err) {
    return allreduce(c, buf, n, MPI_DOUBLE, sizeof(double), "MPI_Allreduce (double)", err);
}

static enum kurc_status mpi_broadcast(struct kurc_comm *c, void *buf, size_t bytes, int root,
                                      struct kurc_err *err) {
    for (size_t done = 0; done < bytes;) {
        int count = (int)(bytes - done < (size_t)PIECE ? bytes - done : (size_t)PIECE);
        int rc = MPI_Bcast((char *)buf + done, count, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_error(c, "MPI_Bcast", rc, err);
        done += (size_t)count;
    }
    return KURC_OK;
}

static enum kurc_status mpi_barrier(struct kurc_comm *c, struct kurc_err *err) {
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? KURC_OK : mpi_error(c, "MPI_Barrier", rc, err);
}

static void mpi_abort(struct kurc_comm *c, int code) {
    (void)c;
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static void mpi_free(struct kurc_comm *c) {
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
};

bool kurc_comm_mpi_launched(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE", NULL};
    for (const char *const *v = vars; *v; v++)
        if (getenv(*v))
            return true;
    return false;
}

enum kurc_status kurc_comm_mpi_create(struct kurc_comm **out, struct kurc_err *err) {
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
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &c->local_rank);
    MPI_Comm_size(node, &c->local_size);
    MPI_Comm_free(&node);
    *out = c;
    return KURC_OK;
}
