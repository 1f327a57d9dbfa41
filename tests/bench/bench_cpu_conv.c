/* bench_cpu_conv.c - throughput of the CPU backend's matrix kernels, next
 * to plain cblas_sgemm on the same matrix shapes.  Not a test: it prints a
 * table and always succeeds.
 *
 *   bench_cpu_conv [threads [seconds]]
 *
 * threads: OpenBLAS threads (default 1); seconds: time spent per
 * measurement (default 0.5), of which the fastest call counts.  GFLOP/s
 * counts 2 flops per multiply-add of
 * the lowered product (a convolution's padding cells included), so a
 * convolution's ratio to sgemm is what lowering costs. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "testutil.h"

static void run_cpu_gemm(void *arg) {
    struct bench_gemm *g = arg;
    cpu_gemm(NULL, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, g->ta ? g->m : g->k, g->b,
             g->tb ? g->k : g->n, 0.0f, g->c, g->n);
}

static void print_row(const char *name, const char *op, double flops, double t, double t_ref) {
    printf("%-34s %-8s %9.3f ms %8.1f GFLOP/s   sgemm %8.1f GFLOP/s   ratio %.2f\n", name, op,
           1e3 * t, flops / t * 1e-9, flops / t_ref * 1e-9, t_ref / t);
}

static void bench_gemm(const char *name, bool ta, bool tb, int64_t m, int64_t n, int64_t k) {
    struct bench_gemm g = {.ta = ta, .tb = tb, .m = m, .n = n, .k = k};
    bench_gemm_alloc(&g);
    double t = bench_time_job((struct bench_job){run_cpu_gemm, &g});
    double t_ref = bench_time_job((struct bench_job){bench_run_cblas, &g});
    print_row(name, "gemm", 2.0 * (double)(m * n * k), t, t_ref);
    bench_gemm_free(&g);
}

struct conv_args {
    struct kurc_conv_geom g;
    float *x, *w, *y, *dx, *dw;
    void *ws;
};

static void run_forward(void *arg) {
    struct conv_args *c = arg;
    cpu_conv_forward(NULL, &c->g, c->x, c->w, c->y, c->ws);
}

static void run_backward_data(void *arg) {
    struct conv_args *c = arg;
    cpu_conv_backward_data(NULL, &c->g, c->y, c->w, c->dx, c->ws);
}

static void run_backward_filter(void *arg) {
    struct conv_args *c = arg;
    cpu_conv_backward_filter(NULL, &c->g, c->x, c->y, c->dw, c->ws);
}

/* A 2-D 'same' convolution, stride 1, of batch x hw x hw x cin to cout
 * channels with a k x k kernel. */
static void bench_conv(const char *name, int64_t batch, int64_t hw, int64_t cin, int64_t cout,
                       int64_t k) {
    struct conv_args c = {.g = {.ndim = 2, .batch = batch, .cin = cin, .cout = cout}};
    for (int d = 0; d < 2; d++) {
        c.g.in[d] = c.g.out[d] = hw;
        c.g.kernel[d] = k;
        c.g.stride[d] = 1;
        c.g.pad_before[d] = (k - 1) / 2;
    }
    int64_t rows = batch * hw * hw, kc = k * k * cin;
    c.x = bench_random_floats(rows * cin, 4);
    c.w = bench_random_floats(kc * cout, 5);
    c.y = bench_random_floats(rows * cout, 6);
    c.dx = bench_random_floats(rows * cin, 7);
    c.dw = bench_random_floats(kc * cout, 8);
    size_t ws = cpu_conv_workspace(NULL, &c.g);
    c.ws = malloc(ws ? ws : 1);
    double flops = 2.0 * (double)(rows * kc * cout);
    printf("%s: workspace %.2f MiB\n", name, (double)ws / (1 << 20));
    print_row(name, "fwd", flops, bench_time_job((struct bench_job){run_forward, &c}),
              bench_time_sgemm(false, false, rows, cout, kc));
    print_row(name, "bwd-data", flops, bench_time_job((struct bench_job){run_backward_data, &c}),
              bench_time_sgemm(false, true, rows, kc, cout));
    print_row(name, "bwd-filt", flops, bench_time_job((struct bench_job){run_backward_filter, &c}),
              bench_time_sgemm(true, false, kc, cout, rows));
    free(c.x);
    free(c.w);
    free(c.y);
    free(c.dx);
    free(c.dw);
    free(c.ws);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (argc > 2)
        bench_seconds_per_run = atof(argv[2]);
    if (threads < 1 || bench_seconds_per_run <= 0) {
        fprintf(stderr, "usage: bench_cpu_conv [threads [seconds]]\n");
        return 2;
    }
    struct kurc_backend *be = kurc_cpu_backend_create(threads); /* opens OpenBLAS for cpu_gemm */
    if (!be) {
        fprintf(stderr, "bench_cpu_conv: cannot create the CPU backend\n");
        return 1;
    }
    printf("OpenBLAS %s, %d thread(s)\n", openblas_get_config(), openblas_get_num_threads());

    printf("\nMNIST MLP (batch 128, 784-512-512-10):\n");
    bench_gemm("fwd Y=XW 128x784 @ 784x512", false, false, 128, 512, 784);
    bench_gemm("bwd dW=X^T dY 784x128 @ 128x512", true, false, 784, 512, 128);
    bench_gemm("bwd dX=dY W^T 128x512 @ 512x784", false, true, 128, 784, 512);
    bench_gemm("hidden 128x512 @ 512x512", false, false, 128, 512, 512);
    bench_gemm("out 128x512 @ 512x10", false, false, 128, 10, 512);

    printf("\nConvolutions (batch 32, 'same', stride 1):\n");
    bench_conv("mnist 28x28x1 -> 64, 3x3", 32, 28, 1, 64, 3);
    bench_conv("28x28x1 -> 64, 5x5", 32, 28, 1, 64, 5);
    bench_conv("28x28x1 -> 32, 7x7", 32, 28, 1, 32, 7);
    bench_conv("28x28x2 -> 128, 3x3", 32, 28, 2, 128, 3);
    bench_conv("cifar 32x32x3 -> 64, 3x3", 32, 32, 3, 64, 3);
    bench_conv("cifar 32x32x64 -> 32, 3x3", 32, 32, 64, 32, 3);
    bench_conv("1x1 32x32x64 -> 64", 32, 32, 64, 64, 1);
    cpu_destroy(be);
    return 0;
}
