/* bench_util.h - what the CPU micro-benchmarks (bench_cpu_conv, bench_ops)
 * share: timing a call, seeded operands and the plain cblas_sgemm they are
 * measured against. */
#ifndef KURC_BENCH_UTIL_H
#define KURC_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* Time spent per measurement (default 0.5 s); the fastest call counts. */
extern double bench_seconds_per_run;

/* One operation to time: run(arg) once per call. */
struct bench_job {
    void (*run)(void *arg);
    void *arg;
};

/* Seconds of the fastest call: one warm-up call, then calls until
 * bench_seconds_per_run has passed.  The fastest call, not the mean,
 * because a shared machine preempts some calls. */
double bench_time_job(struct bench_job j);

/* n floats uniform in [-1, 1) from seed; exits on out of memory. */
float *bench_random_floats(int64_t n, uint64_t seed);

/* A row-major sgemm C (m x n) = op(A) op(B), tightly packed. */
struct bench_gemm {
    bool ta, tb;
    int64_t m, n, k;
    float *a, *b, *c;
};

/* Random operands for g's shape (free them with bench_gemm_free). */
void bench_gemm_alloc(struct bench_gemm *g);
void bench_gemm_free(struct bench_gemm *g);

/* cblas_sgemm of g: a struct bench_job's run. */
void bench_run_cblas(void *arg);

/* Seconds of one cblas_sgemm of this shape (fresh operands). */
double bench_time_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k);

#endif
