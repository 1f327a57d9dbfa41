/* test_nccl_allreduce.c - the device communicator under mpirun: every rank
 * makes the MPI communicator, a CUDA backend on GPU local_rank and then
 * the communicator fitted to it (kurc_comm_attach_backend, as the CLI
 * does), and checks its collectives on known data:
 *   - allreduce_float on device buffers of 1, 1000, 2^20 + 3 and 2^24
 *     floats: rank r holds r + 1 + (i % 7) * 0.5 at i, so the sum is exact;
 *   - allreduce_double, broadcast and barrier (host, through MPI).
 * argv[1] names the communicator expected: "nccl", or "mpi-staged" when
 * run with KURC_NCCL=0 (host staging).  With one rank the communicator
 * stays the MPI/self one and the test checks that instead.
 * Skips (77) without a GPU (fails where nvidia-smi lists GPUs that CUDA
 * cannot see), or with fewer GPUs than ranks on a node (NCCL needs one GPU
 * per rank).  A failed check must not stop one rank while
 * the others wait in a collective: each rank notes its failures and one
 * cmocka assertion at the end checks the verdict of every rank.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "comm/comm.h"
#include "comm/comm_nccl.h"
#include "gpu_absent.h"
#include "kernels/cuda/cuda_backend.h"

/* What main hands the test: the communicator fitted to the backend. */
struct run {
    const char *expected; /* the communicator's kind (argv[1]) */
    struct kurc_comm *comm;
    struct kurc_backend *be;
};

static int failed;

/* Notes a failed check of this rank. */
static void expect(bool ok, int rank, const char *what) {
    if (!ok) {
        print_error("FAIL rank %d: %s\n", rank, what);
        failed = 1;
    }
}

/* The checks, on the communicator main makes (after main, which keeps
 * the order of the steps). */
static void test_collectives(void **state);

int main(int argc, char **argv) {
    const char *expected = argc > 1 ? argv[1] : "nccl";
    struct kurc_comm *comm;
    struct kurc_err err;
    if (kurc_comm_create(&comm, &err)) {
        fprintf(stderr, "kurc_comm_create: %s\n", err.msg);
        return 1;
    }
    char why[256];
    int count = kurc_cuda_backend_type.available(why, sizeof why);
    /* every rank of a node sees the same: all skip together */
    if (count == 0) {
        int status = ct_no_gpu_status(why, comm->rank == 0);
        kurc_comm_free(comm);
        return status;
    }
    if (count < comm->local_size) {
        if (comm->rank == 0)
            printf("skipped: %d ranks on a node need %d GPUs, %d visible\n", comm->local_size,
                   comm->local_size, count);
        kurc_comm_free(comm);
        return 77;
    }
    struct kurc_backend_options opt = {.device = comm->local_rank, .rank = comm->rank};
    struct kurc_backend *be;
    if (kurc_cuda_backend_type.create(&opt, &be, &err) ||
        kurc_comm_attach_backend(&comm, be, &err)) {
        fprintf(stderr, "rank %d: %s\n", comm->rank, err.msg);
        comm->ops->abort(comm, 1);
        return 1;
    }
    struct run r = {expected, comm, be};
    const struct CMUnitTest tests[] = {cmocka_unit_test_prestate(test_collectives, &r)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    kurc_comm_free(comm);
    kurc_backend_release(be);
    return rc;
}

static void test_collectives(void **state) {
    const struct run *r = *state;
    const char *expected = r->expected;
    struct kurc_comm *comm = r->comm;
    struct kurc_backend *be = r->be;
    struct kurc_err err;
    int rank = comm->rank, size = comm->size;
    if (size > 1)
        expect(strcmp(comm->ops->name, expected) == 0, rank, "the communicator's kind");
    if (rank == 0)
        printf("%d rank%s, communicator %s (expected %s)\n", size, size == 1 ? "" : "s",
               comm->ops->name, size > 1 ? expected : "mpi or self");

    int64_t sizes[] = {1, 1000, (1 << 20) + 3, 1 << 24};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int64_t n = sizes[s];
        float *h = malloc((size_t)n * sizeof *h);
        for (int64_t i = 0; i < n; i++)
            h[i] = (float)(rank + 1) + (float)(i % 7) * 0.5f;
        float *d = be->ops->alloc(be, (size_t)n * sizeof *d);
        be->ops->upload(be, d, h, (size_t)n * sizeof *h);
        if (comm->ops->allreduce_float(comm, d, n, &err)) {
            printf("FAIL rank %d: allreduce_float of %lld: %s\n", rank, (long long)n, err.msg);
            comm->ops->abort(comm, 1);
        }
        be->ops->download(be, h, d, (size_t)n * sizeof *h);
        int64_t bad = -1;
        for (int64_t i = 0; i < n && bad < 0; i++) {
            float want = (float)(size * (size + 1) / 2) + (float)size * (float)(i % 7) * 0.5f;
            if (h[i] != want)
                bad = i;
        }
        char what[128];
        snprintf(what, sizeof what, "allreduce_float of %lld floats (first wrong at %lld)",
                 (long long)n, (long long)bad);
        expect(bad < 0 && kurc_backend_check(be, &err) == KURC_OK, rank, what);
        if (rank == 0 && bad < 0)
            printf("ok   allreduce_float of %lld floats\n", (long long)n);
        be->ops->free(be, d);
        free(h);
    }

    double v[3] = {rank, 1.0, 0.25 * rank};
    expect(comm->ops->allreduce_double(comm, v, 3, &err) == KURC_OK &&
               v[0] == size * (size - 1) / 2.0 && v[1] == size,
           rank, "allreduce_double");
    char text[32] = "";
    if (rank == 0)
        snprintf(text, sizeof text, "from rank 0");
    expect(comm->ops->broadcast(comm, text, sizeof text, 0, &err) == KURC_OK &&
               strcmp(text, "from rank 0") == 0,
           rank, "broadcast");
    expect(comm->ops->barrier(comm, &err) == KURC_OK, rank, "barrier");

    /* every rank's verdict, so that rank 0's exit code is the job's */
    double bad = failed;
    comm->ops->allreduce_double(comm, &bad, 1, &err);
    assert_true(bad == 0);
}
