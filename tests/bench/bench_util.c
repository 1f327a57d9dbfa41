/* bench_util.c - timing, operands and the sgemm peer of the CPU
 * micro-benchmarks (see bench_util.h). */
#include "bench_util.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "testutil.h"

double bench_seconds_per_run = 0.5;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_time_job(struct bench_job j) {
    j.run(j.arg);
    double start = now(), best = 1e30, t = start;
    do {
        double t0 = t;
        j.run(j.arg);
        t = now();
        best = t - t0 < best ? t - t0 : best;
    } while (t - start < bench_seconds_per_run);
    return best;
}

float *bench_random_floats(int64_t n, uint64_t seed) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "benchmark: out of memory\n");
        exit(1);
    }
    tu_fill_uniform(p, n, seed, -1, 1);
    return p;
}

void bench_gemm_alloc(struct bench_gemm *g) {
    g->a = bench_random_floats(g->m * g->k, 1);
    g->b = bench_random_floats(g->k * g->n, 2);
    g->c = bench_random_floats(g->m * g->n, 3);
}

void bench_gemm_free(struct bench_gemm *g) {
    free(g->a);
    free(g->b);
    free(g->c);
}

void bench_run_cblas(void *arg) {
    struct bench_gemm *g = arg;
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                (blasint)g->m, (blasint)g->n, (blasint)g->k, 1.0f, g->a,
                (blasint)(g->ta ? g->m : g->k), g->b, (blasint)(g->tb ? g->k : g->n), 0.0f, g->c,
                (blasint)g->n);
}

double bench_time_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k) {
    struct bench_gemm g = {.ta = ta, .tb = tb, .m = m, .n = n, .k = k};
    bench_gemm_alloc(&g);
    double t = bench_time_job((struct bench_job){bench_run_cblas, &g});
    bench_gemm_free(&g);
    return t;
}
