/* test_cuda_parity.c - every slot of the CUDA backend against the CPU
 * backend (the oracle) on random inputs.
 *
 * Each op runs on the same inputs on both backends; outputs (and the
 * accumulated gradients, which start from the same random values) are
 * compared element by element as |cuda - cpu| / max(|cpu|, floor), except
 * where sums taken in another order make that fail correct kernels near
 * zero (tolerance.h): matrix products, convolutions, summing strided
 * copies and gathers' gradients are held to the magnitude of what was
 * summed (the CPU op on absolute values), accumulated activation
 * gradients to |before| + |increment|, the recurrent steps per tensor in
 * norm.  test_wrong_transposition_fails shows a wrong kernel still fails.
 * Tolerances:
 *   - exact (bit for bit): memory ops, fill, dropout's mask and output,
 *     pooling forward and non-overlapping max-pool gradients, gathers;
 *   - 1e-6: + - * / sqrt arithmetic (axpby, optimizers, clip, mse's
 *     gradient: the .cu files have no FMA contraction, so these usually
 *     match bit for bit, which the output says);
 *   - 1e-5: activations, softmax, losses, batch norm, bias gradient,
 *     strided accumulation, overlapping pooling gradients (exp/log/tanh
 *     differ by ulps; sums run in another order);
 *   - 1e-4 (floor 1e-2 of values of order 1): gemm and convolution, with
 *     TF32 off (cuBLAS default math, cuDNN FMA math), sums of up to
 *     thousands of products in another order;
 *   - 1e-10: sum and sum_squares (double accumulation).
 * The recurrent steps, CTC and batch norm in pieces are tested too.
 * Each test_ function is a cmocka test.  Without a GPU the program prints
 * "skipped: no CUDA device is visible (...)" and exits 77.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/rng.h"
#include "cudatest.h"
#include "kernels/cpu/cpu_backend.h"
#include "tolerance.h"

static struct kurc_backend *cpu, *gpu;

#define TOL_EXACT 0.0
#define TOL_ARITH 1e-6
#define TOL_ELEM 1e-5
#define TOL_SUM 1e-4

/* --- memory -------------------------------------------------------------- */

static void test_memory(void **state) {
    (void)state;
    const int64_t n = 100003;
    /* alloc returns zeroed memory */
    struct ct_arr z = ct_zeros(gpu, n);
    ct_check(gpu, "alloc is zeroed", &z, TOL_EXACT, 1);
    struct ct_arr a = ct_rand(gpu, n, 1, -1, 1);
    ct_check(gpu, "upload/download", &a, TOL_EXACT, 1);
    /* copy part of a into z */
    gpu->ops->copy(gpu, z.d + 7, a.d + 3, 5000 * sizeof(float));
    memcpy(z.h + 7, a.h + 3, 5000 * sizeof(float));
    ct_check(gpu, "copy", &z, TOL_EXACT, 1);
    gpu->ops->zero(gpu, a.d + 11, 777 * sizeof(float));
    memset(a.h + 11, 0, 777 * sizeof(float));
    ct_check(gpu, "zero", &a, TOL_EXACT, 1);
    gpu->ops->fill(gpu, a.d + 5, 999, 2.5f);
    cpu->ops->fill(cpu, a.h + 5, 999, 2.5f);
    ct_check(gpu, "fill", &a, TOL_EXACT, 1);
    gpu->ops->synchronize(gpu);
    ct_backend_ok(gpu, "synchronize");
    ct_free(gpu, &z);
    ct_free(gpu, &a);
}

/* --- gemm ------------------------------------------------------------------- */

/* The magnitude of what gemm sums into each element of c (before the
 * call): |alpha| op(|A|) op(|B|) + |beta| |C|, on the CPU; free it. */
static float *gemm_magnitude(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                             const struct ct_arr *a, int64_t lda, const struct ct_arr *b,
                             int64_t ldb, float beta, const struct ct_arr *c, int64_t ldc) {
    float *aa = ct_absolute(a->h, a->n), *ab = ct_absolute(b->h, b->n);
    float *mag = ct_absolute(c->h, c->n);
    cpu->ops->gemm(cpu, ta, tb, m, n, k, fabsf(alpha), aa, lda, ab, ldb, fabsf(beta), mag, ldc);
    free(aa);
    free(ab);
    return mag;
}

/* C (m x n, row stride ldc) = alpha op(A) op(B) + beta C with padded
 * leading dimensions. */
static void gemm_case(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, float beta,
                      int pad) {
    int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    int64_t arows = ta ? k : m, brows = tb ? n : k;
    struct ct_arr a = ct_rand(gpu, arows * lda + 1, 11, -1, 1);
    struct ct_arr b = ct_rand(gpu, brows * ldb + 1, 12, -1, 1);
    struct ct_arr c = ct_rand(gpu, m * ldc + 1, 13, -1, 1);
    if (beta == 0.0f) { /* beta 0 must not read C: NaN is overwritten */
        for (int64_t i = 0; i < c.n; i++)
            c.h[i] = NAN;
        gpu->ops->upload(gpu, c.d, c.h, (size_t)c.n * sizeof(float));
    }
    float *mag = gemm_magnitude(ta, tb, m, n, k, alpha, &a, lda, &b, ldb, beta, &c, ldc);
    cpu->ops->gemm(cpu, ta, tb, m, n, k, alpha, a.h, lda, b.h, ldb, beta, c.h, ldc);
    gpu->ops->gemm(gpu, ta, tb, m, n, k, alpha, a.d, lda, b.d, ldb, beta, c.d, ldc);
    char what[128];
    snprintf(what, sizeof what, "gemm %c%c %lldx%lldx%lld a=%g b=%g pad=%d", ta ? 'T' : 'N',
             tb ? 'T' : 'N', (long long)m, (long long)n, (long long)k, alpha, beta, pad);
    ct_check_mag(gpu, what, &c, mag, TOL_SUM);
    free(mag);
    ct_free(gpu, &a);
    ct_free(gpu, &b);
    ct_free(gpu, &c);
}

static void test_gemm(void **state) {
    (void)state;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gemm_case(ta, tb, 67, 45, 129, 1.0f, 0.0f, 0);
            gemm_case(ta, tb, 33, 70, 17, 0.5f, 1.0f, 3);
            gemm_case(ta, tb, 5, 1, 300, -2.0f, 0.25f, 1);
        }
    gemm_case(false, false, 512, 512, 512, 1.0f, 0.0f, 0);
    gemm_case(false, false, 1000, 1, 784, 1.0f, 0.0f, 0); /* the reduce op's shape */
    gemm_case(false, false, 9, 4, 0, 1.0f, 0.5f, 0);      /* k = 0: C = beta C */
    gemm_case(false, false, 9, 4, 0, 1.0f, 0.0f, 0);
}

/* The comparison still catches a wrong kernel: the CUDA product of B
 * transposed against the CPU's of B fails it. */
static void test_wrong_transposition_fails(void **state) {
    (void)state;
    const int64_t n = 256;
    struct ct_arr a = ct_rand(gpu, n * n, 14, -1, 1), b = ct_rand(gpu, n * n, 15, -1, 1);
    struct ct_arr c = ct_zeros(gpu, n * n);
    float *mag = gemm_magnitude(false, false, n, n, n, 1.0f, &a, n, &b, n, 0.0f, &c, n);
    cpu->ops->gemm(cpu, false, false, n, n, n, 1.0f, a.h, n, b.h, n, 0.0f, c.h, n);
    gpu->ops->gemm(gpu, false, true, n, n, n, 1.0f, a.d, n, b.d, n, 0.0f, c.d, n);
    float *got = malloc((size_t)c.n * sizeof *got);
    gpu->ops->download(gpu, got, c.d, (size_t)c.n * sizeof *got);
    ct_backend_ok(gpu, "gemm NT");
    struct ct_worst w = ct_compare(c.h, got, mag, c.n, 1e-30);
    double norm = ct_compare_norm(c.h, got, c.n, 1e-30);
    print_message("ok   a wrong transposition fails: worst %.2e, norm %.2e (tol %.0e)\n", w.error,
                  norm, TOL_SUM);
    assert_true(w.error > 100 * TOL_SUM && norm > 100 * TOL_SUM);
    free(got);
    free(mag);
    ct_free(gpu, &a);
    ct_free(gpu, &b);
    ct_free(gpu, &c);
}

/* --- bias ----------------------------------------------------------------------- */

static void test_bias(void **state) {
    (void)state;
    int64_t shapes[][2] = {{1000, 37}, {3, 4096}, {70000, 3}, {1, 1}, {17, 50000}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int64_t rows = shapes[s][0], cols = shapes[s][1];
        struct ct_arr y = ct_rand(gpu, rows * cols, 21, -1, 1);
        struct ct_arr b = ct_rand(gpu, cols, 22, -1, 1);
        struct ct_arr db = ct_rand(gpu, cols, 23, -1, 1);
        cpu->ops->bias_add(cpu, rows, cols, y.h, b.h);
        gpu->ops->bias_add(gpu, rows, cols, y.d, b.d);
        char what[96];
        snprintf(what, sizeof what, "bias_add %lldx%lld", (long long)rows, (long long)cols);
        ct_check(gpu, what, &y, TOL_EXACT, 1);
        cpu->ops->bias_backward(cpu, rows, cols, y.h, db.h);
        gpu->ops->bias_backward(gpu, rows, cols, y.d, db.d);
        snprintf(what, sizeof what, "bias_backward %lldx%lld", (long long)rows, (long long)cols);
        ct_check(gpu, what, &db, TOL_ELEM, 1e-3);
        ct_free(gpu, &y);
        ct_free(gpu, &b);
        ct_free(gpu, &db);
    }
}

/* --- convolution ------------------------------------------------------------------ */

struct conv_case {
    const char *name;
    int ndim;
    int64_t batch, in[3], kernel[3], stride[3], cin, cout;
    bool same;         /* TensorFlow "same" (extra padding after), else valid */
    int64_t run_batch; /* 0: batch; else a smaller batch run in the workspace of `batch` */
};

static void conv_geometry(const struct conv_case *cc, int64_t batch, struct kurc_conv_geom *g) {
    memset(g, 0, sizeof *g);
    g->ndim = cc->ndim;
    g->batch = batch;
    g->cin = cc->cin;
    g->cout = cc->cout;
    for (int d = 0; d < cc->ndim; d++) {
        g->in[d] = cc->in[d];
        g->kernel[d] = cc->kernel[d];
        g->stride[d] = cc->stride[d];
        if (cc->same) {
            g->out[d] = (cc->in[d] + cc->stride[d] - 1) / cc->stride[d];
            int64_t total = (g->out[d] - 1) * cc->stride[d] + cc->kernel[d] - cc->in[d];
            g->pad_before[d] = total > 0 ? total / 2 : 0;
        } else {
            g->out[d] = (cc->in[d] - cc->kernel[d]) / cc->stride[d] + 1;
        }
    }
}

static int64_t numel(int ndim, const int64_t *dims, int64_t batch, int64_t channels) {
    int64_t n = batch * channels;
    for (int d = 0; d < ndim; d++)
        n *= dims[d];
    return n;
}

static void conv_case_run(const struct conv_case *cc) {
    struct kurc_conv_geom big, g;
    conv_geometry(cc, cc->batch, &big);
    conv_geometry(cc, cc->run_batch ? cc->run_batch : cc->batch, &g);
    int64_t nx = numel(g.ndim, g.in, g.batch, g.cin), ny = numel(g.ndim, g.out, g.batch, g.cout);
    int64_t nw = numel(g.ndim, g.kernel, g.cin, g.cout);
    size_t cws = cpu->ops->conv_workspace(cpu, &g);
    size_t gws = gpu->ops->conv_workspace(gpu, &big); /* the caller sizes for the largest */
    void *cw = malloc(cws ? cws : 1);
    void *gw = gpu->ops->alloc(gpu, gws ? gws : 1);
    struct ct_arr x = ct_rand(gpu, nx, 31, -1, 1), w = ct_rand(gpu, nw, 32, -1, 1);
    struct ct_arr y = ct_zeros(gpu, ny), dy = ct_rand(gpu, ny, 33, -1, 1);
    struct ct_arr dx = ct_rand(gpu, nx, 34, -1, 1), dw = ct_rand(gpu, nw, 35, -1, 1);
    /* the magnitudes of what is summed: the passes on absolute values (the
     * gradients accumulate onto absolute starting values) */
    float *ax = ct_absolute(x.h, nx), *aw = ct_absolute(w.h, nw), *ady = ct_absolute(dy.h, ny);
    float *my = ct_absolute(y.h, ny), *mdx = ct_absolute(dx.h, nx), *mdw = ct_absolute(dw.h, nw);
    cpu->ops->conv_forward(cpu, &g, ax, aw, my, cw);
    cpu->ops->conv_backward_data(cpu, &g, ady, aw, mdx, cw);
    cpu->ops->conv_backward_filter(cpu, &g, ax, ady, mdw, cw);
    cpu->ops->conv_forward(cpu, &g, x.h, w.h, y.h, cw);
    gpu->ops->conv_forward(gpu, &g, x.d, w.d, y.d, gw);
    cpu->ops->conv_backward_data(cpu, &g, dy.h, w.h, dx.h, cw);
    gpu->ops->conv_backward_data(gpu, &g, dy.d, w.d, dx.d, gw);
    cpu->ops->conv_backward_filter(cpu, &g, x.h, dy.h, dw.h, cw);
    gpu->ops->conv_backward_filter(gpu, &g, x.d, dy.d, dw.d, gw);
    char what[128];
    snprintf(what, sizeof what, "conv_forward %s", cc->name);
    ct_check_mag(gpu, what, &y, my, TOL_SUM);
    snprintf(what, sizeof what, "conv_backward_data %s", cc->name);
    ct_check_mag(gpu, what, &dx, mdx, TOL_SUM);
    snprintf(what, sizeof what, "conv_backward_filter %s", cc->name);
    ct_check_mag(gpu, what, &dw, mdw, TOL_SUM);
    float *magnitudes[] = {ax, aw, ady, my, mdx, mdw};
    for (size_t i = 0; i < sizeof magnitudes / sizeof *magnitudes; i++)
        free(magnitudes[i]);
    ct_free(gpu, &x);
    ct_free(gpu, &w);
    ct_free(gpu, &y);
    ct_free(gpu, &dy);
    ct_free(gpu, &dx);
    ct_free(gpu, &dw);
    free(cw);
    gpu->ops->free(gpu, gw);
}

static void test_conv(void **state) {
    (void)state;
    static const struct conv_case cases[] = {
        {"2-D mnist 28x28x1 -> 64, 3x3 valid", 2, 16, {28, 28}, {3, 3}, {1, 1}, 1, 64, false, 0},
        {"2-D 3x3 same stride 1 (symmetric)", 2, 4, {13, 11}, {3, 3}, {1, 1}, 5, 7, true, 0},
        {"2-D 3x3 same stride 2 (asymmetric)", 2, 3, {16, 15}, {3, 3}, {2, 2}, 6, 4, true, 0},
        {"2-D 2x2 same stride 1 (pad after)", 2, 2, {9, 10}, {2, 2}, {1, 1}, 3, 8, true, 0},
        {"2-D 5x4 valid stride 2x3", 2, 2, {17, 19}, {5, 4}, {2, 3}, 4, 6, false, 0},
        {"2-D 1x1 (a matrix product)", 2, 5, {7, 6}, {1, 1}, {1, 1}, 12, 9, false, 0},
        {"2-D 32x32x64 -> 64 3x3 same", 2, 8, {32, 32}, {3, 3}, {1, 1}, 64, 64, true, 0},
        {"1-D width 50, 5 valid", 1, 4, {50}, {5}, {1}, 3, 6, false, 0},
        {"1-D width 50, 4 same stride 2", 1, 3, {50}, {4}, {2}, 8, 5, true, 0},
        {"3-D 6x7x8, 3x3x3 same", 3, 2, {6, 7, 8}, {3, 3, 3}, {1, 1, 1}, 3, 4, true, 0},
        {"3-D 9x8x7, 2x3x2 valid stride 2", 3, 2, {9, 8, 7}, {2, 3, 2}, {2, 1, 2}, 2, 3, false, 0},
        {"2-D ragged batch 3 in batch 8's workspace",
         2,
         8,
         {12, 12},
         {3, 3},
         {1, 1},
         4,
         5,
         true,
         3},
        {"2-D ragged batch 5 of 32, stride 2 same", 2, 32, {15, 15}, {3, 3}, {2, 2}, 3, 3, true, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        conv_case_run(&cases[i]);
}

/* --- pooling ---------------------------------------------------------------------- */

struct pool_case {
    const char *name;
    int ndim;
    enum kurc_pool_type type;
    int64_t batch, in[3], size[3], stride[3], channels;
    bool same;
    int levels; /* > 0: integer inputs with ties */
};

static void pool_case_run(const struct pool_case *pc) {
    struct kurc_pool_geom g;
    memset(&g, 0, sizeof g);
    g.ndim = pc->ndim;
    g.type = pc->type;
    g.batch = pc->batch;
    g.channels = pc->channels;
    bool overlap = false;
    for (int d = 0; d < pc->ndim; d++) {
        g.in[d] = pc->in[d];
        g.size[d] = pc->size[d];
        g.stride[d] = pc->stride[d];
        overlap = overlap || pc->stride[d] < pc->size[d];
        if (pc->same) {
            g.out[d] = (pc->in[d] + pc->stride[d] - 1) / pc->stride[d];
            int64_t total = (g.out[d] - 1) * pc->stride[d] + pc->size[d] - pc->in[d];
            g.pad_before[d] = total > 0 ? total / 2 : 0;
        } else {
            g.out[d] = (pc->in[d] - pc->size[d]) / pc->stride[d] + 1;
        }
    }
    int64_t nx = numel(g.ndim, g.in, g.batch, g.channels);
    int64_t ny = numel(g.ndim, g.out, g.batch, g.channels);
    struct ct_arr x = pc->levels ? ct_levels(gpu, nx, 41, pc->levels) : ct_rand(gpu, nx, 41, -1, 1);
    struct ct_arr y = ct_zeros(gpu, ny), dy = ct_rand(gpu, ny, 42, -1, 1);
    struct ct_arr dx = ct_rand(gpu, nx, 43, -1, 1);
    cpu->ops->pool_forward(cpu, &g, x.h, y.h);
    gpu->ops->pool_forward(gpu, &g, x.d, y.d);
    cpu->ops->pool_backward(cpu, &g, x.h, y.h, dy.h, dx.h);
    gpu->ops->pool_backward(gpu, &g, x.d, y.d, dy.d, dx.d);
    char what[128];
    snprintf(what, sizeof what, "pool_forward %s", pc->name);
    ct_check(gpu, what, &y, TOL_EXACT, 1);
    snprintf(what, sizeof what, "pool_backward %s", pc->name);
    ct_check(gpu, what, &dx, overlap ? TOL_ELEM : TOL_EXACT, 1e-3);
    ct_free(gpu, &x);
    ct_free(gpu, &y);
    ct_free(gpu, &dy);
    ct_free(gpu, &dx);
}

static void test_pool(void **state) {
    (void)state;
    static const struct pool_case cases[] = {
        {"max 2x2/2 valid", 2, KURC_POOL_MAX, 8, {28, 28}, {2, 2}, {2, 2}, 16, false, 0},
        {"max 2x2/2 with ties", 2, KURC_POOL_MAX, 4, {10, 10}, {2, 2}, {2, 2}, 5, false, 3},
        {"max 3x3/1 same with ties (overlap)",
         2,
         KURC_POOL_MAX,
         3,
         {9, 8},
         {3, 3},
         {1, 1},
         4,
         true,
         3},
        {"max 3x3/2 same (asymmetric)", 2, KURC_POOL_MAX, 2, {16, 15}, {3, 3}, {2, 2}, 6, true, 0},
        {"max 8x8/1 valid (atomic path)",
         2,
         KURC_POOL_MAX,
         2,
         {20, 20},
         {8, 8},
         {1, 1},
         3,
         false,
         0},
        {"max global 12x12", 2, KURC_POOL_MAX, 4, {12, 12}, {12, 12}, {12, 12}, 7, false, 0},
        {"average 2x2/2 same (odd input)",
         2,
         KURC_POOL_AVERAGE,
         3,
         {7, 9},
         {2, 2},
         {2, 2},
         5,
         true,
         0},
        {"average 3x3/1 same", 2, KURC_POOL_AVERAGE, 2, {8, 8}, {3, 3}, {1, 1}, 4, true, 0},
        {"max 1-D 3/2 same", 1, KURC_POOL_MAX, 4, {31}, {3}, {2}, 6, true, 0},
        {"average 1-D 4/4", 1, KURC_POOL_AVERAGE, 4, {32}, {4}, {4}, 6, false, 0},
        {"max 3-D 2x2x2/2", 3, KURC_POOL_MAX, 2, {6, 6, 5}, {2, 2, 2}, {2, 2, 2}, 3, true, 0},
        {"average 3-D 3x3x3/1 same",
         3,
         KURC_POOL_AVERAGE,
         1,
         {5, 6, 4},
         {3, 3, 3},
         {1, 1, 1},
         2,
         true,
         0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        pool_case_run(&cases[i]);
}

/* --- activations and softmax ----------------------------------------------------------- */

static void test_activations(void **state) {
    (void)state;
    static const char *names[KURC_ACT_COUNT] = {"linear",       "relu",      "tanh",     "sigmoid",
                                                "hard_sigmoid", "softplus",  "softsign", "elu",
                                                "selu",         "leaky_relu"};
    const int64_t n = 200001;
    for (int a = 0; a < KURC_ACT_COUNT; a++) {
        float alpha = a == KURC_ACT_LEAKY_RELU ? 0.3f : 1.0f;
        struct ct_arr x = ct_rand(gpu, n, 51 + (uint64_t)a, -6, 6), y = ct_zeros(gpu, n);
        struct ct_arr dy = ct_rand(gpu, n, 61, -1, 1), dx = ct_rand(gpu, n, 62, -1, 1);
        x.h[0] = 0.0f; /* the kinks */
        x.h[1] = -2.5f;
        x.h[2] = 2.5f;
        x.h[3] = -100.0f;
        x.h[4] = 100.0f;
        gpu->ops->upload(gpu, x.d, x.h, 5 * sizeof(float));
        cpu->ops->act_forward(cpu, (enum kurc_act)a, alpha, n, x.h, y.h);
        gpu->ops->act_forward(gpu, (enum kurc_act)a, alpha, n, x.d, y.d);
        char what[96];
        snprintf(what, sizeof what, "act_forward %s", names[a]);
        ct_check(gpu, what, &y, TOL_ELEM, 1e-6);
        /* backward from the CPU's y, so only the derivative is compared */
        gpu->ops->upload(gpu, y.d, y.h, (size_t)n * sizeof(float));
        float *before = malloc((size_t)n * sizeof(float)); /* dx accumulates */
        memcpy(before, dx.h, (size_t)n * sizeof(float));
        cpu->ops->act_backward(cpu, (enum kurc_act)a, alpha, n, x.h, y.h, dy.h, dx.h);
        gpu->ops->act_backward(gpu, (enum kurc_act)a, alpha, n, x.d, y.d, dy.d, dx.d);
        snprintf(what, sizeof what, "act_backward %s", names[a]);
        ct_check_increment(gpu, what, &dx, before, TOL_ELEM);
        free(before);
        /* in place */
        cpu->ops->act_forward(cpu, (enum kurc_act)a, alpha, n, x.h, x.h);
        gpu->ops->act_forward(gpu, (enum kurc_act)a, alpha, n, x.d, x.d);
        snprintf(what, sizeof what, "act_forward %s in place", names[a]);
        ct_check(gpu, what, &x, TOL_ELEM, 1e-6);
        ct_free(gpu, &x);
        ct_free(gpu, &y);
        ct_free(gpu, &dy);
        ct_free(gpu, &dx);
    }
}

static void test_softmax(void **state) {
    (void)state;
    int64_t shapes[][2] = {{257, 10}, {33, 1000}, {5, 1}, {2, 40000}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int log = 0; log < 2; log++) {
            int64_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
            struct ct_arr x = ct_rand(gpu, n, 71, -30, 30), y = ct_zeros(gpu, n);
            struct ct_arr dy = ct_rand(gpu, n, 72, -1, 1), dx = ct_rand(gpu, n, 73, -1, 1);
            cpu->ops->softmax_forward(cpu, log, rows, cols, x.h, y.h);
            gpu->ops->softmax_forward(gpu, log, rows, cols, x.d, y.d);
            char what[96];
            snprintf(what, sizeof what, "softmax_forward%s %lldx%lld", log ? " (log)" : "",
                     (long long)rows, (long long)cols);
            ct_check(gpu, what, &y, TOL_ELEM, log ? 1e-3 : 1e-12);
            gpu->ops->upload(gpu, y.d, y.h, (size_t)n * sizeof(float));
            cpu->ops->softmax_backward(cpu, log, rows, cols, y.h, dy.h, dx.h);
            gpu->ops->softmax_backward(gpu, log, rows, cols, y.d, dy.d, dx.d);
            snprintf(what, sizeof what, "softmax_backward%s %lldx%lld", log ? " (log)" : "",
                     (long long)rows, (long long)cols);
            ct_check(gpu, what, &dx, TOL_ELEM, 1e-4);
            /* in place */
            cpu->ops->softmax_forward(cpu, log, rows, cols, x.h, x.h);
            gpu->ops->softmax_forward(gpu, log, rows, cols, x.d, x.d);
            snprintf(what, sizeof what, "softmax_forward%s in place", log ? " (log)" : "");
            ct_check(gpu, what, &x, TOL_ELEM, log ? 1e-3 : 1e-12);
            ct_free(gpu, &x);
            ct_free(gpu, &y);
            ct_free(gpu, &dy);
            ct_free(gpu, &dx);
        }
}

/* --- element-wise arithmetic ----------------------------------------------------------- */

static void test_arith(void **state) {
    (void)state;
    const int64_t n = 1000003;
    struct ct_arr a = ct_rand(gpu, n, 81, -3, 3), b = ct_rand(gpu, n, 82, -3, 3);
    struct ct_arr y = ct_zeros(gpu, n);
    cpu->ops->add(cpu, n, a.h, b.h, y.h);
    gpu->ops->add(gpu, n, a.d, b.d, y.d);
    ct_check_bits(gpu, "add", &y, true, 0);
    cpu->ops->mul(cpu, n, a.h, b.h, y.h);
    gpu->ops->mul(gpu, n, a.d, b.d, y.d);
    ct_check_bits(gpu, "mul", &y, true, 0);
    cpu->ops->mul_backward(cpu, n, a.h, b.h, y.h);
    gpu->ops->mul_backward(gpu, n, a.d, b.d, y.d);
    ct_check_bits(gpu, "mul_backward", &y, false, TOL_ARITH);
    cpu->ops->axpby(cpu, n, 0.7f, a.h, 1.0f, y.h);
    gpu->ops->axpby(gpu, n, 0.7f, a.d, 1.0f, y.d);
    ct_check_bits(gpu, "axpby beta 1", &y, false, TOL_ARITH);
    cpu->ops->axpby(cpu, n, -1.5f, a.h, 0.3f, y.h);
    gpu->ops->axpby(gpu, n, -1.5f, a.d, 0.3f, y.d);
    ct_check_bits(gpu, "axpby beta 0.3", &y, false, TOL_ARITH);
    for (int64_t i = 0; i < n; i++)
        y.h[i] = NAN;
    gpu->ops->upload(gpu, y.d, y.h, (size_t)n * sizeof(float));
    cpu->ops->axpby(cpu, n, 2.0f, a.h, 0.0f, y.h);
    gpu->ops->axpby(gpu, n, 2.0f, a.d, 0.0f, y.d);
    ct_check_bits(gpu, "axpby beta 0 over NaN", &y, true, 0);
    cpu->ops->clip(cpu, n, 1.25f, a.h);
    gpu->ops->clip(gpu, n, 1.25f, a.d);
    ct_check_bits(gpu, "clip", &a, true, 0);
    ct_free(gpu, &a);
    ct_free(gpu, &b);
    ct_free(gpu, &y);
}

/* --- strided copies ---------------------------------------------------------------------- */

static void strided_case(const char *name, const struct kurc_strided *v, int64_t nsrc, int64_t ndst,
                         bool accumulate) {
    struct ct_arr src = ct_rand(gpu, nsrc, 91, -1, 1), dst = ct_rand(gpu, ndst, 92, -1, 1);
    /* sums into repeated destinations: against the sums of absolute values */
    float *asrc = ct_absolute(src.h, nsrc), *mag = ct_absolute(dst.h, ndst);
    cpu->ops->copy_strided(cpu, v, asrc, mag, accumulate);
    cpu->ops->copy_strided(cpu, v, src.h, dst.h, accumulate);
    gpu->ops->copy_strided(gpu, v, src.d, dst.d, accumulate);
    char what[128];
    snprintf(what, sizeof what, "copy_strided %s%s", name, accumulate ? " (+=)" : "");
    if (accumulate)
        ct_check_mag(gpu, what, &dst, mag, TOL_ELEM);
    else
        ct_check(gpu, what, &dst, TOL_EXACT, 1e-3);
    free(asrc);
    free(mag);
    ct_free(gpu, &src);
    ct_free(gpu, &dst);
}

static void test_copy_strided(void **state) {
    (void)state;
    for (int acc = 0; acc < 2; acc++) {
        /* transpose of a 300 x 200 matrix */
        struct kurc_strided t = {2, {200, 300}, {1, 200}, {300, 1}};
        strided_case("transpose 300x200", &t, 60000, 60000, acc);
        /* columns 10..60 of 50 rows of 100 into a 50 x 50 block */
        struct kurc_strided s = {2, {50, 50}, {100, 1}, {50, 1}};
        strided_case("slice", &s, 5000 + 10, 2500, acc);
        /* broadcast: each of 1000 rows repeats one value 64 times */
        struct kurc_strided b = {2, {1000, 64}, {1, 0}, {64, 1}};
        strided_case("broadcast (source stride 0)", &b, 1000, 64000, acc);
        /* 4-D permutation (0 2 3 1) */
        struct kurc_strided p = {4, {3, 5, 6, 7}, {210, 1, 35, 5}, {210, 42, 7, 1}};
        strided_case("4-D permutation", &p, 630, 630, acc);
        /* 8 axes */
        /* 8 axes, read in column-major order */
        struct kurc_strided e = {8,
                                 {2, 3, 2, 2, 3, 2, 2, 3},
                                 {1, 2, 6, 12, 24, 72, 144, 288},
                                 {432, 144, 72, 36, 12, 6, 3, 1}};
        strided_case("8 axes", &e, 864, 864, acc);
        struct kurc_strided one = {1, {1}, {1}, {1}};
        strided_case("one element", &one, 1, 1, acc);
        struct kurc_strided none = {2, {0, 5}, {5, 1}, {5, 1}};
        strided_case("empty", &none, 5, 5, acc);
    }
    /* sums into repeating destinations (the gradient of a broadcast) */
    struct kurc_strided r1 = {2, {1000, 64}, {64, 1}, {1, 0}};
    strided_case("row sums, 64 each (thread path)", &r1, 64000, 1000, true);
    struct kurc_strided r2 = {2, {7, 100000}, {100000, 1}, {1, 0}};
    strided_case("row sums, 100000 each (block path)", &r2, 700000, 7, true);
    struct kurc_strided r3 = {3, {30, 5, 40}, {200, 40, 1}, {0, 40, 1}};
    strided_case("sum over the outer axis", &r3, 6000, 200, true);
    struct kurc_strided r4 = {2, {300, 400}, {400, 1}, {0, 0}};
    strided_case("sum of everything", &r4, 120000, 1, true);
}

/* --- gathers and dropout ------------------------------------------------------------------- */

static void test_gather(void **state) {
    (void)state;
    const int64_t rows = 50, width = 33, n = 4000;
    struct ct_arr table = ct_rand(gpu, rows * width, 101, -1, 1);
    struct ct_arr index = ct_levels(gpu, n, 102, (int)rows);
    index.h[0] = 49.75f; /* truncated, as Keras casts */
    index.h[1] = 50.0f;  /* outside the table: zeros, no gradient */
    index.h[2] = -1.0f;
    index.h[3] = NAN;
    gpu->ops->upload(gpu, index.d, index.h, 4 * sizeof(float));
    struct ct_arr out = ct_zeros(gpu, n * width), dout = ct_rand(gpu, n * width, 103, -1, 1);
    struct ct_arr dtable = ct_rand(gpu, rows * width, 104, -1, 1);
    cpu->ops->gather(cpu, n, width, rows, index.h, table.h, out.h);
    gpu->ops->gather(gpu, n, width, rows, index.d, table.d, out.d);
    ct_check(gpu, "gather", &out, TOL_EXACT, 1);
    /* atomics add in any order: against the sums of absolute values */
    float *adout = ct_absolute(dout.h, dout.n), *mag = ct_absolute(dtable.h, dtable.n);
    cpu->ops->gather_backward(cpu, n, width, rows, index.h, adout, mag);
    cpu->ops->gather_backward(cpu, n, width, rows, index.h, dout.h, dtable.h);
    gpu->ops->gather_backward(gpu, n, width, rows, index.d, dout.d, dtable.d);
    ct_check_mag(gpu, "gather_backward (repeated rows)", &dtable, mag, TOL_ELEM);
    free(adout);
    free(mag);
    ct_free(gpu, &table);
    ct_free(gpu, &index);
    ct_free(gpu, &out);
    ct_free(gpu, &dout);
    ct_free(gpu, &dtable);
}

static void test_dropout(void **state) {
    (void)state;
    const int64_t n = 1 << 20;
    float rates[] = {0.5f, 0.3f, 0.9f, 0.0f};
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        struct ct_arr x = ct_rand(gpu, n, 111, -1, 1), y = ct_zeros(gpu, n), m = ct_zeros(gpu, n);
        uint64_t seed = 0x1234567890abcdefull, offset = ((uint64_t)1 << 33) + 17;
        cpu->ops->dropout_forward(cpu, n, rates[r], seed, offset, x.h, y.h, m.h);
        gpu->ops->dropout_forward(gpu, n, rates[r], seed, offset, x.d, y.d, m.d);
        char what[96];
        snprintf(what, sizeof what, "dropout_forward rate %.1f mask", rates[r]);
        ct_check_bits(gpu, what, &m, true, 0);
        snprintf(what, sizeof what, "dropout_forward rate %.1f output", rates[r]);
        ct_check_bits(gpu, what, &y, true, 0);
        /* in place */
        cpu->ops->dropout_forward(cpu, n, rates[r], seed, 5, x.h, x.h, m.h);
        gpu->ops->dropout_forward(gpu, n, rates[r], seed, 5, x.d, x.d, m.d);
        snprintf(what, sizeof what, "dropout_forward rate %.1f in place", rates[r]);
        ct_check_bits(gpu, what, &x, true, 0);
        ct_free(gpu, &x);
        ct_free(gpu, &y);
        ct_free(gpu, &m);
    }
}

/* --- batch normalisation ------------------------------------------------------------------- */

static void bn_case(int64_t outer, int64_t channels, int64_t inner, float shift, int nulls) {
    int64_t n = outer * channels * inner;
    struct ct_arr x = ct_rand(gpu, n, 121, shift - 1, shift + 2);
    struct ct_arr gamma = ct_rand(gpu, channels, 122, 0.5f, 1.5f);
    struct ct_arr beta = ct_rand(gpu, channels, 123, -1, 1);
    struct ct_arr y = ct_zeros(gpu, n), mean = ct_zeros(gpu, channels);
    struct ct_arr inv = ct_zeros(gpu, channels), dy = ct_rand(gpu, n, 124, -1, 1);
    struct ct_arr dx = ct_rand(gpu, n, 125, -1, 1), dg = ct_rand(gpu, channels, 126, -1, 1);
    struct ct_arr db = ct_rand(gpu, channels, 127, -1, 1);
    float eps = 1e-3f;
    cpu->ops->batchnorm_forward(cpu, outer, channels, inner, eps, x.h, gamma.h, beta.h, y.h, mean.h,
                                inv.h);
    gpu->ops->batchnorm_forward(gpu, outer, channels, inner, eps, x.d, gamma.d, beta.d, y.d, mean.d,
                                inv.d);
    char what[128], shape[64];
    snprintf(shape, sizeof shape, "(%lld, %lld, %lld)%s", (long long)outer, (long long)channels,
             (long long)inner, shift != 0 ? " mean 100" : "");
    snprintf(what, sizeof what, "batchnorm_forward y %s", shape);
    ct_check(gpu, what, &y, TOL_ELEM, 1e-3);
    snprintf(what, sizeof what, "batchnorm_forward mean %s", shape);
    ct_check(gpu, what, &mean, TOL_ELEM, 1e-6);
    snprintf(what, sizeof what, "batchnorm_forward invstd %s", shape);
    ct_check(gpu, what, &inv, TOL_ELEM, 1e-6);
    /* backward from the CPU's statistics */
    gpu->ops->upload(gpu, mean.d, mean.h, (size_t)channels * sizeof(float));
    gpu->ops->upload(gpu, inv.d, inv.h, (size_t)channels * sizeof(float));
    bool no_dx = nulls & 1, no_dg = nulls & 2, no_db = nulls & 4;
    cpu->ops->batchnorm_backward(cpu, outer, channels, inner, x.h, dy.h, gamma.h, mean.h, inv.h,
                                 no_dx ? NULL : dx.h, no_dg ? NULL : dg.h, no_db ? NULL : db.h);
    gpu->ops->batchnorm_backward(gpu, outer, channels, inner, x.d, dy.d, gamma.d, mean.d, inv.d,
                                 no_dx ? NULL : dx.d, no_dg ? NULL : dg.d, no_db ? NULL : db.d);
    snprintf(what, sizeof what, "batchnorm_backward dx %s", shape);
    ct_check(gpu, what, &dx, TOL_ELEM * 10, 1e-2);
    snprintf(what, sizeof what, "batchnorm_backward dgamma %s", shape);
    ct_check(gpu, what, &dg, TOL_ELEM, 1e-3);
    snprintf(what, sizeof what, "batchnorm_backward dbeta %s", shape);
    ct_check(gpu, what, &db, TOL_ELEM, 1e-3);
    struct ct_arr *all[] = {&x, &gamma, &beta, &y, &mean, &inv, &dy, &dx, &dg, &db};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ct_free(gpu, all[i]);
}

static void test_batchnorm(void **state) {
    (void)state;
    bn_case(64, 16, 1, 0, 0); /* dense features, channels last */
    bn_case(8 * 14 * 14, 32, 1, 0, 0);
    bn_case(100000, 3, 1, 0, 0); /* many rows, few channels */
    bn_case(8, 5, 49, 0, 0);     /* a middle axis: inner > 1 */
    bn_case(2, 300, 1000, 0, 0);
    bn_case(256, 7, 1, 100, 0); /* a mean far from 0 */
    bn_case(33, 9, 4, 0, 1);    /* no dx */
    bn_case(33, 9, 1, 0, 6);    /* no dgamma, no dbeta */
}

/* --- losses and reductions ---------------------------------------------------------------------
 */

static void test_losses(void **state) {
    (void)state;
    int64_t shapes[][2] = {{512, 10}, {7, 3000}, {9, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int64_t rows = shapes[s][0], cols = shapes[s][1], n = rows * cols;
        struct ct_arr pred = ct_rand(gpu, n, 131, 0.0f, 1.0f);
        struct ct_arr truth = ct_rand(gpu, n, 132, 0.0f, 1.0f);
        /* tiny and dominant predictions, so the clip acts on both ends */
        for (int64_t r = 0; r < rows && cols > 2; r += 3) {
            pred.h[r * cols] = 1e-12f;
            pred.h[r * cols + 1] = 1e9f;
        }
        gpu->ops->upload(gpu, pred.d, pred.h, (size_t)n * sizeof(float));
        struct ct_arr loss = ct_zeros(gpu, rows), d = ct_rand(gpu, n, 133, -1, 1);
        char what[96];
        cpu->ops->cce_forward(cpu, rows, cols, pred.h, truth.h, loss.h);
        gpu->ops->cce_forward(gpu, rows, cols, pred.d, truth.d, loss.d);
        snprintf(what, sizeof what, "cce_forward %lldx%lld", (long long)rows, (long long)cols);
        ct_check(gpu, what, &loss, TOL_ELEM, 1e-6);
        cpu->ops->cce_backward(cpu, rows, cols, pred.h, truth.h, 0.125f, d.h);
        gpu->ops->cce_backward(gpu, rows, cols, pred.d, truth.d, 0.125f, d.d);
        snprintf(what, sizeof what, "cce_backward %lldx%lld", (long long)rows, (long long)cols);
        ct_check(gpu, what, &d, TOL_ELEM, 1e-6);
        cpu->ops->mse_forward(cpu, rows, cols, pred.h, truth.h, loss.h);
        gpu->ops->mse_forward(gpu, rows, cols, pred.d, truth.d, loss.d);
        snprintf(what, sizeof what, "mse_forward %lldx%lld", (long long)rows, (long long)cols);
        ct_check(gpu, what, &loss, TOL_ELEM, 1e-6);
        cpu->ops->mse_backward(cpu, rows, cols, pred.h, truth.h, 0.125f, d.h);
        gpu->ops->mse_backward(gpu, rows, cols, pred.d, truth.d, 0.125f, d.d);
        snprintf(what, sizeof what, "mse_backward %lldx%lld", (long long)rows, (long long)cols);
        ct_check_bits(gpu, what, &d, false, TOL_ARITH);
        ct_free(gpu, &pred);
        ct_free(gpu, &truth);
        ct_free(gpu, &loss);
        ct_free(gpu, &d);
    }
}

static void test_sums(void **state) {
    (void)state;
    int64_t sizes[] = {1, 1000, 3000017, 0};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        struct ct_arr x = ct_rand(gpu, sizes[s], 141, -1, 2);
        double want, got, want2, got2;
        cpu->ops->sum(cpu, x.n, x.h, &want);
        gpu->ops->sum(gpu, x.n, x.d, &got);
        cpu->ops->sum_squares(cpu, x.n, x.h, &want2);
        gpu->ops->sum_squares(gpu, x.n, x.d, &got2);
        float w[2] = {(float)(want * 1e3), (float)(want2 * 1e3)};
        float g[2] = {(float)(got * 1e3), (float)(got2 * 1e3)};
        char what[64];
        snprintf(what, sizeof what, "sum, sum_squares n=%lld", (long long)sizes[s]);
        double e = fmax(fabs(got - want) / fmax(fabs(want), 1e-9),
                        fabs(got2 - want2) / fmax(fabs(want2), 1e-9));
        if (e > 1e-10) {
            print_message("     sum %.17g vs %.17g, sum_squares %.17g vs %.17g\n", want, got,
                          want2, got2);
            ct_close(what, w, g, 2, 0, 1);
        } else {
            print_message("ok   %-48s relative %.1e\n", what, e);
        }
        ct_backend_ok(gpu, what);
        ct_free(gpu, &x);
    }
}

/* --- optimizers ---------------------------------------------------------------------------- */

static void test_optimizers(void **state) {
    (void)state;
    const int64_t n = 500009;
    for (int kind = 0; kind < 6; kind++) {
        struct ct_arr p = ct_rand(gpu, n, 151, -1, 1), g = ct_rand(gpu, n, 152, -1, 1);
        struct ct_arr s1 = ct_rand(gpu, n, 153, 0, 1), s2 = ct_rand(gpu, n, 154, 0, 1);
        const char *name = "";
        for (int step = 0; step < 3; step++) {
            switch (kind) {
            case 0:
                name = "sgd";
                cpu->ops->sgd_step(cpu, n, 0.01f, 0.0f, false, p.h, g.h, NULL);
                gpu->ops->sgd_step(gpu, n, 0.01f, 0.0f, false, p.d, g.d, NULL);
                break;
            case 1:
                name = "sgd momentum";
                cpu->ops->sgd_step(cpu, n, 0.01f, 0.9f, false, p.h, g.h, s1.h);
                gpu->ops->sgd_step(gpu, n, 0.01f, 0.9f, false, p.d, g.d, s1.d);
                break;
            case 2:
                name = "sgd nesterov";
                cpu->ops->sgd_step(cpu, n, 0.01f, 0.9f, true, p.h, g.h, s1.h);
                gpu->ops->sgd_step(gpu, n, 0.01f, 0.9f, true, p.d, g.d, s1.d);
                break;
            case 3:
                name = "adam";
                cpu->ops->adam_step(cpu, n, 0.001f, 0.9f, 0.999f, 1e-8f, p.h, g.h, s1.h, s2.h);
                gpu->ops->adam_step(gpu, n, 0.001f, 0.9f, 0.999f, 1e-8f, p.d, g.d, s1.d, s2.d);
                break;
            case 4:
                name = "rmsprop";
                cpu->ops->rmsprop_step(cpu, n, 0.001f, 0.9f, 1e-8f, p.h, g.h, s1.h);
                gpu->ops->rmsprop_step(gpu, n, 0.001f, 0.9f, 1e-8f, p.d, g.d, s1.d);
                break;
            default:
                name = "adadelta";
                cpu->ops->adadelta_step(cpu, n, 1.0f, 0.95f, 1e-8f, p.h, g.h, s1.h, s2.h);
                gpu->ops->adadelta_step(gpu, n, 1.0f, 0.95f, 1e-8f, p.d, g.d, s1.d, s2.d);
                break;
            }
        }
        char what[96];
        snprintf(what, sizeof what, "%s_step x3: parameters", name);
        ct_check_bits(gpu, what, &p, false, TOL_ARITH);
        snprintf(what, sizeof what, "%s_step x3: state", name);
        ct_check_bits(gpu, what, &s1, false, TOL_ARITH);
        if (kind == 3 || kind == 5) {
            snprintf(what, sizeof what, "%s_step x3: second state", name);
            ct_check_bits(gpu, what, &s2, false, TOL_ARITH);
        }
        ct_free(gpu, &p);
        ct_free(gpu, &g);
        ct_free(gpu, &s1);
        ct_free(gpu, &s2);
    }
}

/* --- recurrent steps, CTC, batch norm in pieces -------------------------------------- */

/* One step of each cell, rows past their length included. */
static void test_rnn(void **state) {
    (void)state;
    const int64_t rows = 37, H = 19;
    const char *names[] = {"simple", "gru", "lstm"};
    for (int cell = 0; cell < 3; cell++) {
        int64_t blocks = cell == KURC_RNN_SIMPLE ? 1 : cell == KURC_RNN_GRU ? 3 : 4;
        int64_t ld_pre = blocks * H + 3, ld = H + 2;
        struct ct_arr pre = ct_rand(gpu, rows * ld_pre, 161, -3, 3);
        struct ct_arr hp = ct_rand(gpu, rows * ld, 162, -1, 1),
                      cp = ct_rand(gpu, rows * ld, 163, -1, 1);
        struct ct_arr h = ct_zeros(gpu, rows * ld), c = ct_zeros(gpu, rows * ld);
        struct ct_arr y = ct_rand(gpu, rows * ld, 164, -1, 1),
                      dy = ct_rand(gpu, rows * ld, 165, -1, 1);
        struct ct_arr rh = ct_zeros(gpu, rows * ld), dh = ct_rand(gpu, rows * H, 166, -1, 1);
        struct ct_arr dc = ct_rand(gpu, rows * H, 167, -1, 1),
                      drh = ct_rand(gpu, rows * H, 168, -1, 1);
        struct ct_arr len = ct_levels(gpu, rows, 169, 7); /* t = 3: rows with len <= 3 are past */
        struct kurc_rnn_step sc = {.cell = (enum kurc_rnn_cell)cell,
                                   .act = KURC_ACT_TANH,
                                   .act_alpha = 1.0f,
                                   .gate = KURC_ACT_HARD_SIGMOID,
                                   .gate_alpha = 1.0f,
                                   .rows = rows,
                                   .units = H,
                                   .t = 3,
                                   .ld_pre = ld_pre,
                                   .ld_prev = ld,
                                   .ld_state = ld,
                                   .ld_y = ld,
                                   .ld_rh = ld};
        struct kurc_rnn_step sg = sc;
        sc.len = len.h, sg.len = len.d;
        sc.pre = pre.h, sg.pre = pre.d;
        sc.h_prev = hp.h, sg.h_prev = hp.d;
        sc.c_prev = cell == KURC_RNN_LSTM ? cp.h : NULL,
        sg.c_prev = cell == KURC_RNN_LSTM ? cp.d : NULL;
        sc.h = h.h, sg.h = h.d;
        sc.c = cell == KURC_RNN_LSTM ? c.h : NULL, sg.c = cell == KURC_RNN_LSTM ? c.d : NULL;
        sc.y = y.h, sg.y = y.d;
        sc.dy = dy.h, sg.dy = dy.d;
        sc.rh = rh.h, sg.rh = rh.d;
        sc.dh = dh.h, sg.dh = dh.d;
        sc.dc = cell == KURC_RNN_LSTM ? dc.h : NULL, sg.dc = cell == KURC_RNN_LSTM ? dc.d : NULL;
        sc.drh = drh.h, sg.drh = drh.d;
        char what[96];
        if (cell == KURC_RNN_GRU) {
            cpu->ops->rnn_forward_gates(cpu, &sc);
            gpu->ops->rnn_forward_gates(gpu, &sg);
            snprintf(what, sizeof what, "rnn_forward_gates %s", names[cell]);
            ct_check_norm(gpu, what, &rh, TOL_ELEM);
        }
        cpu->ops->rnn_forward_step(cpu, &sc);
        gpu->ops->rnn_forward_step(gpu, &sg);
        snprintf(what, sizeof what, "rnn_forward_step %s: h", names[cell]);
        ct_check_norm(gpu, what, &h, TOL_ELEM);
        snprintf(what, sizeof what, "rnn_forward_step %s: y", names[cell]);
        ct_check_norm(gpu, what, &y, TOL_ELEM);
        if (cell == KURC_RNN_LSTM) {
            snprintf(what, sizeof what, "rnn_forward_step %s: c", names[cell]);
            ct_check_norm(gpu, what, &c, TOL_ELEM);
        }
        cpu->ops->rnn_backward_step(cpu, &sc);
        gpu->ops->rnn_backward_step(gpu, &sg);
        if (cell == KURC_RNN_GRU) {
            cpu->ops->rnn_backward_gates(cpu, &sc);
            gpu->ops->rnn_backward_gates(gpu, &sg);
        }
        snprintf(what, sizeof what, "rnn_backward_step %s: pre-activation gradients", names[cell]);
        ct_check_norm(gpu, what, &pre, TOL_ELEM);
        snprintf(what, sizeof what, "rnn_backward_step %s: dh", names[cell]);
        ct_check_norm(gpu, what, &dh, TOL_ELEM);
        if (cell == KURC_RNN_LSTM) {
            snprintf(what, sizeof what, "rnn_backward_step %s: dc", names[cell]);
            ct_check_norm(gpu, what, &dc, TOL_ELEM);
        }
        struct ct_arr *all[] = {&pre, &hp, &cp, &h, &c, &y, &dy, &rh, &dh, &dc, &drh, &len};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            ct_free(gpu, all[i]);
    }
}

/* Samples with labels of every length, repeats, too few steps (no
 * alignment: infinite loss, no gradient) and an invalid class. */
static void test_ctc(void **state) {
    (void)state;
    struct kurc_ctc_geom g = {
        .batch = 9, .steps = 30, .classes = 6, .max_labels = 8, .blank = 5, .label_shift = 0};
    int64_t n = g.batch * g.steps * g.classes;
    struct ct_arr prob = ct_rand(gpu, n, 171, 0.01f, 1.0f);
    for (int64_t r = 0; r < g.batch * g.steps; r++) { /* rows of probabilities */
        float sum = 0;
        for (int64_t k = 0; k < g.classes; k++)
            sum += prob.h[r * g.classes + k];
        for (int64_t k = 0; k < g.classes; k++)
            prob.h[r * g.classes + k] /= sum;
    }
    gpu->ops->upload(gpu, prob.d, prob.h, (size_t)n * sizeof(float));
    struct ct_arr labels = ct_levels(gpu, g.batch * g.max_labels, 172, 5);
    float llen[] = {0, 1, 3, 8, 8, 5, 2, 4, 6}, ilen[] = {30, 30, 29, 30, 7, 20, 1, 30, 30};
    labels.h[4 * g.max_labels + 2] = labels.h[4 * g.max_labels + 1]; /* a repeat */
    labels.h[7 * g.max_labels + 1] = 5.0f;                           /* the blank: invalid */
    gpu->ops->upload(gpu, labels.d, labels.h, (size_t)labels.n * sizeof(float));
    struct ct_arr label_len = ct_zeros(gpu, g.batch), input_len = ct_zeros(gpu, g.batch);
    memcpy(label_len.h, llen, sizeof llen);
    memcpy(input_len.h, ilen, sizeof ilen);
    gpu->ops->upload(gpu, label_len.d, llen, sizeof llen);
    gpu->ops->upload(gpu, input_len.d, ilen, sizeof ilen);
    struct ct_arr loss = ct_zeros(gpu, g.batch), dprob = ct_rand(gpu, n, 173, -1, 1);
    size_t cws = cpu->ops->ctc_workspace(cpu, &g), gws = gpu->ops->ctc_workspace(gpu, &g);
    void *cw = malloc(cws ? cws : 1), *gw = gpu->ops->alloc(gpu, gws ? gws : 1);
    for (int pass = 0; pass < 2; pass++) {
        const float *il = pass ? input_len.h : NULL, *gil = pass ? input_len.d : NULL;
        cpu->ops->ctc_forward(cpu, &g, prob.h, labels.h, label_len.h, il, 0.5f, loss.h, cw);
        gpu->ops->ctc_forward(gpu, &g, prob.d, labels.d, label_len.d, gil, 0.5f, loss.d, gw);
        ct_check(gpu, pass ? "ctc_forward (input lengths)" : "ctc_forward", &loss, TOL_ELEM, 1e-6);
        cpu->ops->ctc_backward(cpu, &g, prob.h, labels.h, label_len.h, il, 0.5f, dprob.h, cw);
        gpu->ops->ctc_backward(gpu, &g, prob.d, labels.d, label_len.d, gil, 0.5f, dprob.d, gw);
        ct_check(gpu, pass ? "ctc_backward (input lengths)" : "ctc_backward", &dprob, TOL_ELEM,
                 1e-4);
    }
    free(cw);
    gpu->ops->free(gpu, gw);
    struct ct_arr *all[] = {&prob, &labels, &label_len, &input_len, &loss, &dprob};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ct_free(gpu, all[i]);
}

static void bn_parts_case(int64_t outer, int64_t channels, int64_t inner) {
    int64_t n = outer * channels * inner;
    struct ct_arr x = ct_rand(gpu, n, 181, 99, 102), dy = ct_rand(gpu, n, 182, -1, 1);
    double *center = malloc((size_t)channels * sizeof *center);
    double *c1 = malloc((size_t)channels * sizeof *c1), *c2 = malloc((size_t)channels * sizeof *c2);
    double *g1 = malloc((size_t)channels * sizeof *g1), *g2 = malloc((size_t)channels * sizeof *g2);
    for (int64_t c = 0; c < channels; c++)
        center[c] = 100.0 + 0.01 * (double)c;
    char what[128];
    for (int variant = 0; variant < 3; variant++) {
        const float *dh = variant == 2 ? dy.h : NULL, *dd = variant == 2 ? dy.d : NULL;
        const double *ce = variant == 0 ? NULL : center;
        cpu->ops->batchnorm_sums(cpu, outer, channels, inner, x.h, dh, ce, c1, c2);
        gpu->ops->batchnorm_sums(gpu, outer, channels, inner, x.d, dd, ce, g1, g2);
        double worst = 0;
        for (int64_t c = 0; c < channels; c++) {
            worst = fmax(worst, fabs(g1[c] - c1[c]) / fmax(fabs(c1[c]), 1e-6));
            worst = fmax(worst, fabs(g2[c] - c2[c]) / fmax(fabs(c2[c]), 1e-6));
        }
        snprintf(what, sizeof what, "batchnorm_sums (%lld, %lld, %lld) %s", (long long)outer,
                 (long long)channels, (long long)inner,
                 variant == 0   ? "x"
                 : variant == 1 ? "x - center"
                                : "dy");
        ct_backend_ok(gpu, what);
        if (worst > 1e-9)
            fail_msg("%s: worst relative %.2e", what, worst);
        print_message("ok   %-48s worst %.2e\n", what, worst);
    }
    struct ct_arr hi = ct_rand(gpu, channels, 183, 99, 101),
                  lo = ct_rand(gpu, channels, 184, -1e-6f, 1e-6f);
    struct ct_arr k = ct_rand(gpu, channels, 185, -2, 2), a = ct_rand(gpu, channels, 186, -2, 2);
    struct ct_arr b = ct_rand(gpu, channels, 187, -2, 2), out = ct_rand(gpu, n, 188, -1, 1);
    for (int variant = 0; variant < 4; variant++) {
        bool with_dy = variant & 1, acc = variant & 2;
        cpu->ops->batchnorm_affine(cpu, outer, channels, inner, x.h, hi.h, lo.h, k.h,
                                   with_dy ? dy.h : NULL, a.h, b.h, out.h, acc);
        gpu->ops->batchnorm_affine(gpu, outer, channels, inner, x.d, hi.d, lo.d, k.d,
                                   with_dy ? dy.d : NULL, a.d, b.d, out.d, acc);
        snprintf(what, sizeof what, "batchnorm_affine (%lld, %lld, %lld)%s%s", (long long)outer,
                 (long long)channels, (long long)inner, with_dy ? " dy" : "", acc ? " +=" : "");
        ct_check_bits(gpu, what, &out, false, TOL_ARITH);
    }
    struct ct_arr *all[] = {&x, &dy, &hi, &lo, &k, &a, &b, &out};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ct_free(gpu, all[i]);
    free(center);
    free(c1);
    free(c2);
    free(g1);
    free(g2);
}

static void test_bn_parts(void **state) {
    (void)state;
    bn_parts_case(512, 16, 1);
    bn_parts_case(6, 7, 50);
}

/* --- errors ---------------------------------------------------------------------------------- */

/* An impossible allocation: NULL, and check() names cudaMalloc, the size
 * asked for and the free memory; the failure is sticky.  On a backend of
 * its own, since a failed backend does nothing more. */
static void test_out_of_memory(void **state) {
    (void)state;
    struct kurc_backend *be = ct_gpu_backend();
    void *p = be->ops->alloc(be, (size_t)1 << 50);
    struct kurc_err err;
    enum kurc_status st = kurc_backend_check(be, &err);
    bool ok = p == NULL && st == KURC_E_BACKEND && strstr(err.msg, "cudaMalloc") &&
              strstr(err.msg, "1125899906842624 bytes") && strstr(err.msg, "MiB free") &&
              strstr(err.msg, "alloc");
    if (!ok)
        fail_msg("out of memory is reported: %s", st ? err.msg : "no error recorded");
    print_message("ok   out of memory is reported: %s\n", err.msg);
    if (kurc_backend_check(be, &err) != KURC_E_BACKEND)
        fail_msg("out of memory: the failure is not sticky");
    kurc_backend_release(be);
}

/* again with cuDNN in NCHW, the fallback when it has no NHWC algorithm */
static void test_conv_nchw(void **state) {
    setenv("KURC_CUDNN_NCHW", "1", 1);
    struct kurc_backend *nhwc = gpu;
    gpu = ct_gpu_backend();
    print_message("-- convolutions in NCHW (KURC_CUDNN_NCHW=1)\n");
    test_conv(state);
    ct_backend_ok(gpu, "NCHW convolutions");
    kurc_backend_release(gpu);
    gpu = nhwc;
    unsetenv("KURC_CUDNN_NCHW");
}

static void test_no_failure_recorded(void **state) {
    (void)state;
    ct_backend_ok(gpu, "no failure recorded");
}

static int setup(void **state) {
    (void)state;
    cpu = kurc_cpu_backend_create(1);
    gpu = ct_gpu_backend();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    kurc_backend_release(gpu);
    kurc_backend_release(cpu);
    return 0;
}

int main(void) {
    ct_require_gpu();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory),      cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_wrong_transposition_fails),
        cmocka_unit_test(test_bias),        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_conv_nchw),   cmocka_unit_test(test_pool),
        cmocka_unit_test(test_activations), cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_arith),       cmocka_unit_test(test_copy_strided),
        cmocka_unit_test(test_gather),      cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_batchnorm),   cmocka_unit_test(test_losses),
        cmocka_unit_test(test_sums),        cmocka_unit_test(test_optimizers),
        cmocka_unit_test(test_rnn),         cmocka_unit_test(test_ctc),
        cmocka_unit_test(test_bn_parts),    cmocka_unit_test(test_no_failure_recorded),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    /* on a backend of its own, after the others: a failed backend does
     * nothing more */
    const struct CMUnitTest oom[] = {cmocka_unit_test(test_out_of_memory)};
    return cmocka_run_group_tests(oom, NULL, NULL) || failed;
}
