/* bench_allreduce.c - all-reduce bandwidth of kurc's gradient buckets
 * against one plain MPI_Allreduce of the same bytes (not a test; run by
 * tests/bench/bench_mpi.sh under mpirun).
 *
 *   mpirun -np N bench_allreduce [-s SECONDS] FLOATS...
 *
 * FLOATS are the bucket sizes (floats; kurc -v prints its plan).  Three
 * ways of summing the same gradient arena are timed, each for about
 * SECONDS (default 0.5) before the best of 5 timings is taken (rank 0
 * decides the repetitions and broadcasts them, so every rank makes the
 * same calls):
 *   buckets   kurc's path: kurc_comm_iallreduce_float on every bucket, in
 *             order, then kurc_comm_wait on each (what the trainer does
 *             after backward when nothing overlapped)
 *   blocking  one MPI_Allreduce per bucket
 *   plain     one MPI_Allreduce of the whole arena
 * Times are the maximum over ranks.  algbw = bytes / time and busbw =
 * algbw 2 (n - 1) / n, nccl-tests' convention.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "comm/comm_mpi.h"

enum { BUCKETS, BLOCKING, PLAIN, WAYS };
static const char *const names[WAYS] = {"buckets (kurc, nonblocking)", "blocking per bucket",
                                        "plain MPI_Allreduce"};

static void run(int way, struct kurc_comm *c, float *arena, const long *size, int n, long total,
                struct kurc_comm_req *req) {
    struct kurc_err err;
    long at = 0;
    switch (way) {
    case BUCKETS:
        for (int b = 0; b < n; b++, at += size[b - 1])
            kurc_comm_iallreduce_float(c, arena + at, size[b], "bucket", &req[b], &err);
        for (int b = 0; b < n; b++)
            kurc_comm_wait(c, &req[b], &err);
        break;
    case BLOCKING:
        for (int b = 0; b < n; b++, at += size[b - 1])
            MPI_Allreduce(MPI_IN_PLACE, arena + at, (int)size[b], MPI_FLOAT, MPI_SUM,
                          MPI_COMM_WORLD);
        break;
    default:
        MPI_Allreduce(MPI_IN_PLACE, arena, (int)total, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}

/* Seconds per call (max over ranks) of `reps` calls. */
static double timed(int way, struct kurc_comm *c, float *arena, const long *size, int n, long total,
                    struct kurc_comm_req *req, int reps) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < reps; i++)
        run(way, c, arena, size, n, total, req);
    double t = (MPI_Wtime() - t0) / reps, worst;
    MPI_Allreduce(&t, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return worst;
}

int main(int argc, char **argv) {
    struct kurc_comm *c;
    struct kurc_err err;
    if (kurc_comm_mpi_create(&c, &err) != KURC_OK) {
        fprintf(stderr, "bench_allreduce: %s\n", err.msg);
        return 1;
    }
    double seconds = 0.5;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-s") == 0) {
        seconds = atof(argv[2]);
        first = 3;
    }
    int n = argc - first;
    if (n < 1 || seconds <= 0) {
        if (c->rank == 0)
            fprintf(stderr, "usage: mpirun -np N bench_allreduce [-s SECONDS] FLOATS...\n");
        kurc_comm_free(c);
        return 2;
    }
    long *size = calloc((size_t)n, sizeof *size), total = 0;
    for (int b = 0; b < n; b++)
        total += size[b] = atol(argv[b + first]);
    float *arena = malloc((size_t)total * sizeof *arena);
    struct kurc_comm_req *req = calloc((size_t)n, sizeof *req);
    for (long i = 0; i < total; i++)
        arena[i] = 1e-3f * (float)(i % 1000);
    double bytes = (double)total * sizeof(float);
    if (c->rank == 0)
        printf("%d ranks, %d bucket%s, %.3f MiB in all\n", c->size, n, n == 1 ? "" : "s",
               bytes / 1048576.0);
    for (int way = 0; way < WAYS; way++) {
        int reps = 1;
        for (;;) { /* rank 0's clock decides, everyone follows */
            double t = timed(way, c, arena, size, n, total, req, reps);
            int more = c->rank == 0 && t * reps < seconds && reps < (1 << 20);
            MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD);
            if (!more)
                break;
            reps *= 2;
        }
        double best = 1e30;
        for (int k = 0; k < 5; k++) {
            double t = timed(way, c, arena, size, n, total, req, reps);
            best = t < best ? t : best;
        }
        double algbw = bytes / best / 1e9;
        if (c->rank == 0)
            printf("  %-28s %9.1f us  algbw %6.2f GB/s  busbw %6.2f GB/s\n", names[way], best * 1e6,
                   algbw, algbw * 2.0 * (c->size - 1) / c->size);
    }
    free(req);
    free(arena);
    free(size);
    kurc_comm_free(c);
    return 0;
}
