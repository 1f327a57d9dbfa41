/* bench_ops.c - throughput of the graph-level dense and convolution ops
 * through the executor, next to plain cblas_sgemm on the same matrix
 * shapes.  Not a test: it prints a table and always succeeds.
 *
 *   bench_ops [threads [seconds]]
 *
 * threads: OpenBLAS threads (default 1); seconds: time spent per
 * measurement (default 0.5), of which the fastest call counts.
 *
 * Each case is a graph of the op under test followed by a sum over the
 * last axis (reduce) and an mse loss against zero truth, which seeds the
 * gradient.  Rows:
 *   fwd exec   kurc_exec_forward of the whole graph (op + reduce + loss)
 *   fwd op     the op's forward function alone (what the executor calls)
 *   bwd exec   kurc_exec_backward: zeroing the activation gradients, the
 *              loss and reduce backward, then the op's backward
 *   bwd op     the op's backward function alone
 * Backward computes the weight gradient, the bias gradient and, in "bwd"
 * rows, the input gradient (a hidden layer); "bwd w" rows are a first
 * layer, whose input needs no gradient.  GFLOP/s counts 2 flops per
 * multiply-add of the op's matrix products (for a convolution the im2col
 * product, padding cells included); the sgemm column times cblas_sgemm on
 * the same products (forward: one; backward: data and filter products, or
 * the filter product alone), and ratio = sgemm time / op time. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "core/exec.h"
#include "core/graph.h"
#include "core/params.h"
#include "kernels/cpu/cpu_backend.h"
#include "ops/ops.h"
#include "testutil.h"

/* --- plain sgemm ---------------------------------------------------------- */

/* --- one-op graphs -------------------------------------------------------- */

struct bench {
    struct kurc_graph *g;
    struct kurc_params p;
    struct kurc_backend *be;
    struct kurc_exec *x;
    const struct kurc_op *op; /* the op under test */
};

static void die(const char *what, const struct kurc_err *err) {
    fprintf(stderr, "bench_ops: %s: %s\n", what, err->msg);
    exit(1);
}

static int add_param(struct bench *b, const char *name, struct kurc_shape s) {
    int q = kurc_params_add(&b->p, name, "w", &s, true, KURC_INIT_UNIFORM, 0.05f, 0, 0);
    return kurc_graph_add_tensor(b->g, KURC_TENSOR_PARAM, &s, q, true, name);
}

/* Appends reduce + mse to the op's output y, allocates and fills. */
static void finish(struct bench *b, int y, int64_t batch, struct kurc_backend *be) {
    struct kurc_err err;
    int r = kurc_emit_reduce(b->g, y, false, "reduce");
    int truth = kurc_graph_add_tensor(b->g, KURC_TENSOR_INPUT, kurc_graph_shape(b->g, r), -1, false,
                                      "truth");
    if (kurc_emit_mse(b->g, r, truth, 1.0f, "loss", &err) < 0)
        die("loss", &err);
    b->op = &b->g->ops[0];
    b->be = be;
    if (kurc_params_allocate(&b->p, be, &err) || kurc_params_initialize(&b->p, 7, &err) ||
        kurc_exec_create(be, b->g, &b->p, batch, &b->x, &err))
        die("executor", &err);
    b->x->batch = batch;
    b->x->training = true;
    b->x->loss_scale = 1.0f / (float)batch;
    for (size_t t = 0; t < b->g->n_tensors; t++)
        if (b->g->tensors[t].kind == KURC_TENSOR_INPUT)
            tu_fill_uniform(kurc_exec_value(b->x, (int)t), kurc_exec_count(b->x, (int)t), 11 + t,
                            -1, 1);
}

static void bench_free(struct bench *b) {
    kurc_exec_free(b->x);
    kurc_params_release(&b->p);
    kurc_graph_free(b->g);
}

static void run_exec_forward(void *arg) {
    kurc_exec_forward(((struct bench *)arg)->x);
}
static void run_exec_backward(void *arg) {
    kurc_exec_backward(((struct bench *)arg)->x);
}
static void run_op_forward(void *arg) {
    struct bench *b = arg;
    b->op->def->forward(b->x, b->op);
}
static void run_op_backward(void *arg) {
    struct bench *b = arg;
    b->op->def->backward(b->x, b->op);
}

static void print_row(const char *name, const char *pass, double flops, double t, double t_ref) {
    printf("%-30s %-9s %9.3f ms %8.1f GFLOP/s   sgemm %8.1f GFLOP/s   ratio %.2f\n", name, pass,
           1e3 * t, flops / t * 1e-9, flops / t_ref * 1e-9, t_ref / t);
}

/* The four rows of a case.  fwd_ref: sgemm seconds of the forward
 * product; bwd_ref: of the backward products (filter, plus data when the
 * input needs a gradient). */
static void measure(struct bench *b, const char *name, bool input_grad, double flops,
                    double fwd_ref, double bwd_ref) {
    double bwd_flops = flops * (input_grad ? 2 : 1);
    const char *bexec = input_grad ? "bwd exec" : "bwd w exec";
    const char *bop = input_grad ? "bwd op" : "bwd w op";
    print_row(name, "fwd exec", flops, bench_time_job((struct bench_job){run_exec_forward, b}),
              fwd_ref);
    print_row("", "fwd op", flops, bench_time_job((struct bench_job){run_op_forward, b}), fwd_ref);
    kurc_exec_forward(b->x);
    print_row("", bexec, bwd_flops, bench_time_job((struct bench_job){run_exec_backward, b}),
              bwd_ref);
    print_row("", bop, bwd_flops, bench_time_job((struct bench_job){run_op_backward, b}), bwd_ref);
}

/* A dense layer in -> out on a batch. */
static void bench_dense(struct kurc_backend *be, const char *name, int64_t batch, int64_t in,
                        int64_t out, bool input_grad) {
    struct bench b = {.g = kurc_graph_create()};
    kurc_params_init(&b.p);
    struct kurc_err err;
    struct kurc_shape xs = {.ndim = 1, .dim = {in}};
    int x = kurc_graph_add_tensor(b.g, KURC_TENSOR_INPUT, &xs, -1, input_grad, "x");
    int w = add_param(&b, "w", (struct kurc_shape){.ndim = 2, .dim = {in, out}});
    int bias = add_param(&b, "b", (struct kurc_shape){.ndim = 1, .dim = {out}});
    int y = kurc_emit_dense(b.g, x, w, bias, "dense", &err);
    if (y < 0)
        die(name, &err);
    finish(&b, y, batch, be);
    double flops = 2.0 * (double)(batch * in * out);
    double fwd = bench_time_sgemm(false, false, batch, out, in);
    double bwd = bench_time_sgemm(true, false, in, out, batch);
    if (input_grad)
        bwd += bench_time_sgemm(false, true, batch, in, out);
    measure(&b, name, input_grad, flops, fwd, bwd);
    bench_free(&b);
}

/* A 2-D 'same' convolution, stride 1, hw x hw x cin -> cout, k x k. */
static void bench_conv(struct kurc_backend *be, const char *name, int64_t batch, int64_t hw,
                       int64_t cin, int64_t cout, int64_t k, bool input_grad) {
    struct bench b = {.g = kurc_graph_create()};
    kurc_params_init(&b.p);
    struct kurc_err err;
    struct kurc_shape xs = {.ndim = 3, .dim = {hw, hw, cin}};
    int x = kurc_graph_add_tensor(b.g, KURC_TENSOR_INPUT, &xs, -1, input_grad, "x");
    int w = add_param(&b, "w", (struct kurc_shape){.ndim = 4, .dim = {k, k, cin, cout}});
    int bias = add_param(&b, "b", (struct kurc_shape){.ndim = 1, .dim = {cout}});
    int y = kurc_emit_conv(b.g, x, w, bias, (int64_t[]){1, 1}, true, "conv", &err);
    if (y < 0)
        die(name, &err);
    finish(&b, y, batch, be);
    int64_t rows = batch * hw * hw, kc = k * k * cin;
    double flops = 2.0 * (double)(rows * kc * cout);
    double fwd = bench_time_sgemm(false, false, rows, cout, kc);
    double bwd = bench_time_sgemm(true, false, kc, cout, rows);
    if (input_grad)
        bwd += bench_time_sgemm(false, true, rows, kc, cout);
    measure(&b, name, input_grad, flops, fwd, bwd);
    bench_free(&b);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (argc > 2)
        bench_seconds_per_run = atof(argv[2]);
    if (threads < 1 || bench_seconds_per_run <= 0) {
        fprintf(stderr, "usage: bench_ops [threads [seconds]]\n");
        return 2;
    }
    struct kurc_backend *be = kurc_cpu_backend_create(threads);
    char what[128];
    be->ops->describe(be, what, sizeof what);
    printf("OpenBLAS %s, %s\n", openblas_get_config(), what);

    printf("\nMNIST MLP dense layers (batch 128):\n");
    bench_dense(be, "dense 784->512 (first)", 128, 784, 512, false);
    bench_dense(be, "dense 784->512", 128, 784, 512, true);
    bench_dense(be, "dense 512->512", 128, 512, 512, true);
    bench_dense(be, "dense 512->10", 128, 512, 10, true);

    printf("\nConvolutions (batch 32, 3x3, 'same', stride 1):\n");
    bench_conv(be, "mnist 28x28x1->64 (first)", 32, 28, 1, 64, 3, false);
    bench_conv(be, "mnist 28x28x1->64", 32, 28, 1, 64, 3, true);
    bench_conv(be, "cifar 32x32x3->64 (first)", 32, 32, 3, 64, 3, false);
    bench_conv(be, "cifar 32x32x3->64", 32, 32, 3, 64, 3, true);
    kurc_backend_release(be);
    return 0;
}
