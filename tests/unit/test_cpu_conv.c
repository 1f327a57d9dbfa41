/* test_cpu_conv.c - the CPU convolution kernels (cpu_conv_*) against a
 * direct-loop reference, finite differences and hand-computed answers.
 *
 * The reference enumerates every (sample, output pixel, kernel position)
 * whose input cell lies inside the input, straight from the definition
 *   y[n, o, co] = sum_{k, ci} x[n, o * stride - pad_before + k, ci] w[k, ci, co]
 * and sums in double.  Random geometries cover 1-D, 2-D and 3-D, strides 1
 * to 3, kernels 1 to 4 (even and odd), TensorFlow 'valid' and 'same'
 * borders and explicit padding of 0 to kernel + 1 cells on each side, cin
 * and cout 1 to 7, batch 1 to 5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu_kernels.h"
#include "kerneltest.h"

/* Kernel against reference, inputs in [-1, 1], sums of a few hundred terms
 * at most (4^3 * 7 = 448 per output): float32 rounding stays well below
 * |got - want| / max(|got|, |want|, 1) <= 1e-5 (observed: under 3e-6). */
#define REF_TOL 1e-5
#define CHUNK_TOL 1e-4
/* Finite differences: the loss sum(y * r) is linear in x and in w, so with
 * h = 1e-2 the only error is float32 rounding of y (about 1e-7 relative per
 * output) divided by 2h: |fd - grad| / max(|fd|, |grad|, 0.1) <= 2e-3. */
#define FD_H 1e-2
#define FD_TOL 2e-3
#define RANDOM_CASES 240
#define FD_CASES 30

static int64_t x_size(const struct kurc_conv_geom *g) {
    return g->batch * kt_prod(g->in, g->ndim) * g->cin;
}

static int64_t y_size(const struct kurc_conv_geom *g) {
    return g->batch * kt_prod(g->out, g->ndim) * g->cout;
}

static int64_t w_size(const struct kurc_conv_geom *g) {
    return kt_prod(g->kernel, g->ndim) * g->cin * g->cout;
}

/* Random draws for geometries: the counter advances with every draw. */
enum border { BORDER_VALID, BORDER_SAME, BORDER_EXPLICIT };

/* Geometry number `index`: ndim and border cycle so every combination
 * comes up; the rest is random. */
static struct kurc_conv_geom random_geom(uint64_t index, int64_t max_batch) {
    struct kt_dice d = {0xC0FFEE + index, 0};
    struct kurc_conv_geom g = {0};
    g.ndim = 1 + (int)(index % 3);
    enum border border = (enum border)(index / 3 % 3);
    g.batch = kt_roll(&d, 1, max_batch);
    g.cin = kt_roll(&d, 1, 7);
    g.cout = kt_roll(&d, 1, 7);
    int64_t max_in = g.ndim == 3 ? 6 : 9;
    for (int i = 0; i < g.ndim; i++) {
        int64_t k = kt_roll(&d, 1, 4), s = kt_roll(&d, 1, 3);
        g.kernel[i] = k;
        g.stride[i] = s;
        if (border == BORDER_VALID) {
            g.in[i] = kt_roll(&d, k, k + max_in - 4);
            g.out[i] = (g.in[i] - k) / s + 1;
        } else if (border == BORDER_SAME) {
            /* TensorFlow: out = ceil(in / stride), the extra pad after. */
            g.in[i] = kt_roll(&d, 1, max_in);
            g.out[i] = (g.in[i] + s - 1) / s;
            int64_t total = (g.out[i] - 1) * s + k - g.in[i];
            g.pad_before[i] = total > 0 ? total / 2 : 0;
        } else {
            /* Up to a kernel and one more cell of padding: some outputs
             * see no input at all. */
            int64_t before = kt_roll(&d, 0, k + 1), after = kt_roll(&d, 0, k + 1);
            int64_t least = k - before - after > 1 ? k - before - after : 1;
            g.in[i] = kt_roll(&d, least, least + max_in - 4);
            g.pad_before[i] = before;
            g.out[i] = (g.in[i] + before + after - k) / s + 1;
        }
    }
    return g;
}

/* One term group of the definition: x[n, i, :], w[k, :, :] and y[n, o, :]
 * meet (offsets in floats). */
struct tap {
    int64_t x, w, y;
};

/* Every (sample, output pixel, kernel position) whose input cell lies
 * inside the input.  The caller frees the array. */
static struct tap *make_taps(const struct kurc_conv_geom *g, int64_t *count) {
    int64_t in_px = kt_prod(g->in, g->ndim), out_px = kt_prod(g->out, g->ndim);
    int64_t taps_k = kt_prod(g->kernel, g->ndim);
    struct tap *t = malloc((size_t)(g->batch * out_px * taps_k + 1) * sizeof *t);
    assert_non_null(t);
    *count = 0;
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t po = 0; po < out_px; po++)
            for (int64_t pk = 0; pk < taps_k; pk++) {
                int64_t o[3], k[3], rem_o = po, rem_k = pk;
                for (int d = g->ndim - 1; d >= 0; d--) {
                    o[d] = rem_o % g->out[d];
                    rem_o /= g->out[d];
                    k[d] = rem_k % g->kernel[d];
                    rem_k /= g->kernel[d];
                }
                bool inside = true;
                int64_t flat = 0;
                for (int d = 0; d < g->ndim; d++) {
                    int64_t i = o[d] * g->stride[d] - g->pad_before[d] + k[d];
                    inside = inside && i >= 0 && i < g->in[d];
                    flat = flat * g->in[d] + i;
                }
                if (inside)
                    t[(*count)++] = (struct tap){(n * in_px + flat) * g->cin, pk * g->cin * g->cout,
                                                 (n * out_px + po) * g->cout};
            }
    return t;
}

/* The three reference results; backward ones add to dx / dw like the
 * kernels. */
static void ref_forward(const struct kurc_conv_geom *g, const float *x, const float *w, float *y) {
    int64_t nt, ny = y_size(g);
    struct tap *t = make_taps(g, &nt);
    double *acc = calloc((size_t)ny + 1, sizeof *acc);
    assert_non_null(acc);
    for (int64_t i = 0; i < nt; i++)
        for (int64_t ci = 0; ci < g->cin; ci++)
            for (int64_t co = 0; co < g->cout; co++)
                acc[t[i].y + co] += (double)x[t[i].x + ci] * w[t[i].w + ci * g->cout + co];
    for (int64_t i = 0; i < ny; i++)
        y[i] = (float)acc[i];
    free(acc);
    free(t);
}

static void ref_backward_data(const struct kurc_conv_geom *g, const float *dy, const float *w,
                              float *dx) {
    int64_t nt, nx = x_size(g);
    struct tap *t = make_taps(g, &nt);
    double *acc = calloc((size_t)nx + 1, sizeof *acc);
    assert_non_null(acc);
    for (int64_t i = 0; i < nx; i++)
        acc[i] = dx[i];
    for (int64_t i = 0; i < nt; i++)
        for (int64_t ci = 0; ci < g->cin; ci++)
            for (int64_t co = 0; co < g->cout; co++)
                acc[t[i].x + ci] += (double)dy[t[i].y + co] * w[t[i].w + ci * g->cout + co];
    for (int64_t i = 0; i < nx; i++)
        dx[i] = (float)acc[i];
    free(acc);
    free(t);
}

static void ref_backward_filter(const struct kurc_conv_geom *g, const float *x, const float *dy,
                                float *dw) {
    int64_t nt, nw = w_size(g);
    struct tap *t = make_taps(g, &nt);
    double *acc = calloc((size_t)nw + 1, sizeof *acc);
    assert_non_null(acc);
    for (int64_t i = 0; i < nw; i++)
        acc[i] = dw[i];
    for (int64_t i = 0; i < nt; i++)
        for (int64_t ci = 0; ci < g->cin; ci++)
            for (int64_t co = 0; co < g->cout; co++)
                acc[t[i].w + ci * g->cout + co] += (double)x[t[i].x + ci] * dy[t[i].y + co];
    for (int64_t i = 0; i < nw; i++)
        dw[i] = (float)acc[i];
    free(acc);
    free(t);
}

static void *alloc_workspace(const struct kurc_conv_geom *g) {
    size_t bytes = cpu_conv_workspace(NULL, g);
    void *ws = malloc(bytes ? bytes : 1);
    assert_non_null(ws);
    return ws;
}

/* Forward, backward data and backward filter of g against the reference,
 * within relative error tol.  y starts as NaN (forward overwrites); dx and
 * dw start random (backward accumulates). */
static void check_against_reference(const struct kurc_conv_geom *g, uint64_t seed, double tol) {
    int64_t nx = x_size(g), ny = y_size(g), nw = w_size(g);
    float *x = kt_alloc_floats(nx), *w = kt_alloc_floats(nw), *dy = kt_alloc_floats(ny);
    float *y = kt_alloc_floats(ny), *y_ref = kt_alloc_floats(ny);
    float *dx = kt_alloc_floats(nx), *dx_ref = kt_alloc_floats(nx);
    float *dw = kt_alloc_floats(nw), *dw_ref = kt_alloc_floats(nw);
    void *ws = alloc_workspace(g);
    tu_fill_uniform(x, nx, seed, -1, 1);
    tu_fill_uniform(w, nw, seed + 1, -1, 1);
    tu_fill_uniform(dy, ny, seed + 2, -1, 1);
    tu_fill_uniform(dx, nx, seed + 3, -1, 1);
    tu_fill_uniform(dw, nw, seed + 4, -1, 1);
    memcpy(dx_ref, dx, (size_t)nx * sizeof(float));
    memcpy(dw_ref, dw, (size_t)nw * sizeof(float));
    for (int64_t i = 0; i < ny; i++)
        y[i] = NAN;

    cpu_conv_forward(NULL, g, x, w, y, ws);
    ref_forward(g, x, w, y_ref);
    assert_true(tu_max_rel_err(y, y_ref, ny, 1.0) <= tol);

    cpu_conv_backward_data(NULL, g, dy, w, dx, ws);
    ref_backward_data(g, dy, w, dx_ref);
    assert_true(tu_max_rel_err(dx, dx_ref, nx, 1.0) <= tol);

    cpu_conv_backward_filter(NULL, g, x, dy, dw, ws);
    ref_backward_filter(g, x, dy, dw_ref);
    assert_true(tu_max_rel_err(dw, dw_ref, nw, 1.0) <= tol);

    free(x);
    free(w);
    free(dy);
    free(y);
    free(y_ref);
    free(dx);
    free(dx_ref);
    free(dw);
    free(dw_ref);
    free(ws);
}

static void test_random_geometries(void **state) {
    (void)state;
    for (uint64_t c = 0; c < RANDOM_CASES; c++) {
        struct kurc_conv_geom g = random_geom(c, 5);
        check_against_reference(&g, 1000 * c, REF_TOL);
    }
}

/* 1x1 kernels: stride 1 without padding (no lowering, no workspace) in
 * 1-D, 2-D and 3-D, and with stride 2 or padding (lowered). */
static void test_pointwise(void **state) {
    (void)state;
    for (int ndim = 1; ndim <= 3; ndim++) {
        struct kurc_conv_geom g = {.ndim = ndim, .batch = 3, .cin = 5, .cout = 4};
        for (int d = 0; d < ndim; d++) {
            g.in[d] = g.out[d] = 3 + d;
            g.kernel[d] = g.stride[d] = 1;
        }
        assert_int_equal(cpu_conv_workspace(NULL, &g), 0);
        check_against_reference(&g, 77 + (uint64_t)ndim, REF_TOL);

        g.stride[ndim - 1] = 2;
        g.out[ndim - 1] = (g.in[ndim - 1] + 1) / 2;
        assert_true(cpu_conv_workspace(NULL, &g) > 0);
        check_against_reference(&g, 88 + (uint64_t)ndim, REF_TOL);

        g.stride[ndim - 1] = 1;
        g.pad_before[ndim - 1] = 1;
        g.out[ndim - 1] = g.in[ndim - 1] + 2;
        check_against_reference(&g, 99 + (uint64_t)ndim, REF_TOL);
    }
}

/* A batch whose lowered matrix is larger than the workspace: the chunks
 * split samples, and the result must not notice.  Sums are longer here
 * (576 terms per output, 6075 per filter gradient): float32 rounding grows
 * with them, so the bound is CHUNK_TOL. */
static struct kurc_conv_geom chunked_geom(void) {
    struct kurc_conv_geom g = {.ndim = 2, .batch = 3, .cin = 64, .cout = 5};
    for (int d = 0; d < 2; d++) {
        g.in[d] = g.out[d] = 45;
        g.kernel[d] = 3;
        g.stride[d] = 1;
        g.pad_before[d] = 1;
    }
    return g;
}

static void test_chunked(void **state) {
    (void)state;
    struct kurc_conv_geom g = chunked_geom();
    size_t full = (size_t)(g.batch * 45 * 45 * 9 * 64) * sizeof(float);
    size_t ws = cpu_conv_workspace(NULL, &g);
    assert_true(ws < full);
    /* at least one lowered row with its output row, and the bias sums */
    assert_true(ws >= (9 * 64 + 5) * sizeof(float) + 5 * sizeof(double));
    check_against_reference(&g, 4242, CHUNK_TOL);
}

/* The fused backward (conv_backward_bias_act) against bias_act_backward,
 * conv_backward_data and conv_backward_filter in turn: bitwise, for a
 * geometry lowered in several chunks (the bias sums carried across them)
 * and for a direct (1x1) one, with and without dx and the bias gradient. */
static void check_fused_backward(const struct kurc_conv_geom *g, enum kurc_act act, bool with_dx,
                                 bool with_db, uint64_t seed) {
    int64_t nx = x_size(g), ny = y_size(g), nw = w_size(g), nb = g->cout;
    float *x = kt_alloc_floats(nx), *w = kt_alloc_floats(nw), *y = kt_alloc_floats(ny);
    float *dy = kt_alloc_floats(ny), *dz = kt_alloc_floats(ny), *dz2 = kt_alloc_floats(ny);
    float *dx[2] = {kt_alloc_floats(nx), kt_alloc_floats(nx)};
    float *dw[2] = {kt_alloc_floats(nw), kt_alloc_floats(nw)};
    float *db[2] = {kt_alloc_floats(nb), kt_alloc_floats(nb)};
    void *ws = alloc_workspace(g);
    tu_fill_uniform(x, nx, seed, -1, 1);
    tu_fill_uniform(w, nw, seed + 1, -1, 1);
    tu_fill_uniform(y, ny, seed + 2, -1, 1);
    tu_fill_uniform(dy, ny, seed + 3, -1, 1);
    for (int64_t i = 0; i < ny; i++) /* an activation's possible outputs */
        y[i] = act == KURC_ACT_RELU ? (y[i] > 0 ? y[i] : 0.0f) : tanhf(y[i]);
    for (int k = 0; k < 2; k++) {
        tu_fill_uniform(dx[k], nx, seed + 4, -1, 1);
        tu_fill_uniform(dw[k], nw, seed + 5, -1, 1);
        tu_fill_uniform(db[k], nb, seed + 6, -1, 1);
    }
    cpu_bias_act_backward(NULL, y_size(g) / nb, nb, act, 0.0f, y, dy, dz, with_db ? db[0] : NULL);
    if (with_dx)
        cpu_conv_backward_data(NULL, g, dz, w, dx[0], ws);
    cpu_conv_backward_filter(NULL, g, x, dz, dw[0], ws);
    cpu_conv_backward_bias_act(NULL, g, x, w, act, 0.0f, y, dy, dz2, with_dx ? dx[1] : NULL,
                               dw[1], with_db ? db[1] : NULL, ws);
    assert_memory_equal(dx[0], dx[1], (size_t)nx * sizeof(float));
    assert_memory_equal(dw[0], dw[1], (size_t)nw * sizeof(float));
    assert_memory_equal(db[0], db[1], (size_t)nb * sizeof(float));
    float *all[] = {x, w, y, dy, dz, dz2, dx[0], dx[1], dw[0], dw[1], db[0], db[1]};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        free(all[i]);
    free(ws);
}

static void test_fused_backward(void **state) {
    (void)state;
    struct kurc_conv_geom g = chunked_geom();
    /* several chunks: a lowered row and its output row are 581 floats */
    assert_true((int64_t)cpu_conv_workspace(NULL, &g) < 3 * 45 * 45 * 581 * 4);
    check_fused_backward(&g, KURC_ACT_RELU, true, true, 71);
    check_fused_backward(&g, KURC_ACT_TANH, false, true, 72);
    check_fused_backward(&g, KURC_ACT_RELU, true, false, 73);
    struct kurc_conv_geom direct = {
        .ndim = 1, .batch = 4, .in = {6}, .out = {6}, .kernel = {1}, .stride = {1}, .cin = 3,
        .cout = 4};
    assert_int_equal(cpu_conv_workspace(NULL, &direct), 0);
    check_fused_backward(&direct, KURC_ACT_TANH, true, true, 74);
}

/* Geometries that conv_narrow.c's products take (a transposed lowered
 * chunk: a kernel row's run k[2] cin shorter than 8 and than an output
 * row; kc at most 32; cout a multiple of 32): 2-D, valid borders, random
 * otherwise. */
static struct kurc_conv_geom narrow_geom(uint64_t index) {
    static const int64_t couts[] = {32, 64, 96, 160};
    struct kt_dice d = {0x5EED + index, 0};
    struct kurc_conv_geom g = {.ndim = 2};
    g.batch = kt_roll(&d, 1, 3);
    g.cin = kt_roll(&d, 1, 2);
    g.cout = couts[kt_roll(&d, 0, 3)];
    g.kernel[1] = kt_roll(&d, 1, 3);
    int64_t most = 32 / (g.kernel[1] * g.cin); /* kc at most 32 */
    g.kernel[0] = kt_roll(&d, 1, most < 5 ? most : 5);
    for (int i = 0; i < 2; i++) {
        g.stride[i] = i == 0 ? kt_roll(&d, 1, 2) : 1; /* a long output row */
        g.in[i] = kt_roll(&d, 12, 16);
        g.out[i] = (g.in[i] - g.kernel[i]) / g.stride[i] + 1;
    }
    int64_t run = g.kernel[1] * g.cin;
    assert_true(run < 8 && run < g.out[1]);
    assert_true(cpu_conv_narrow_fits(g.kernel[0] * g.kernel[1] * g.cin, g.cout));
    return g;
}

/* conv_narrow.c's products, through the public kernels, against the
 * reference; the sums over the filter's rows are up to 3 * 16 * 16 long,
 * so the bound is CHUNK_TOL. */
static void test_narrow(void **state) {
    (void)state;
    for (uint64_t c = 0; c < 40; c++) {
        struct kurc_conv_geom g = narrow_geom(c);
        check_against_reference(&g, 3000 + c, CHUNK_TOL);
    }
}

/* The MNIST example's convolution (3x3 over one channel, 64 outputs) on a
 * batch of 12, whose 8112 lowered rows take two chunks: the filter's sums
 * carried from one chunk to the next, and the fused backward bitwise. */
static void test_narrow_chunked(void **state) {
    (void)state;
    struct kurc_conv_geom g = {.ndim = 2, .batch = 12, .cin = 1, .cout = 64};
    for (int d = 0; d < 2; d++) {
        g.in[d] = 28;
        g.out[d] = 26;
        g.kernel[d] = 3;
        g.stride[d] = 1;
    }
    assert_true(cpu_conv_narrow_fits(9, 64));
    /* less than all rows: each lowered row with its output is 73 floats */
    assert_true((int64_t)cpu_conv_workspace(NULL, &g) < 12 * 26 * 26 * 73 * 4);
    check_against_reference(&g, 5151, CHUNK_TOL);
    check_fused_backward(&g, KURC_ACT_RELU, false, true, 75);
    check_fused_backward(&g, KURC_ACT_TANH, true, true, 76);
}

/* Degenerate sizes: an empty batch does nothing; no input channels give
 * y = 0. */
static void test_empty(void **state) {
    (void)state;
    struct kurc_conv_geom g = {.ndim = 1,
                               .batch = 0,
                               .in = {4},
                               .out = {2},
                               .kernel = {3},
                               .stride = {1},
                               .cin = 2,
                               .cout = 2};
    float w[12] = {0}, dw[12] = {0};
    cpu_conv_forward(NULL, &g, NULL, w, NULL, NULL);
    cpu_conv_backward_data(NULL, &g, NULL, w, NULL, NULL);
    cpu_conv_backward_filter(NULL, &g, NULL, NULL, dw, NULL);
    for (int i = 0; i < 12; i++)
        assert_true(dw[i] == 0);

    g.batch = 2;
    g.cin = 0;
    float x[1] = {0}, y[8];
    for (int i = 0; i < 8; i++)
        y[i] = NAN;
    assert_int_equal(cpu_conv_workspace(NULL, &g), 0);
    cpu_conv_forward(NULL, &g, x, w, y, NULL);
    for (int i = 0; i < 8; i++)
        assert_true(y[i] == 0);
}

/* Loss sum(y * r) in double, as a function of x or of w. */
struct fd_ctx {
    const struct kurc_conv_geom *g;
    const float *x, *w, *r;
    float *y;
    void *ws;
    bool of_w;
};

static double conv_loss(const float *v, void *arg) {
    struct fd_ctx *c = arg;
    cpu_conv_forward(NULL, c->g, c->of_w ? c->x : v, c->of_w ? v : c->w, c->y, c->ws);
    double s = 0;
    for (int64_t i = 0; i < y_size(c->g); i++)
        s += (double)c->y[i] * c->r[i];
    return s;
}

/* Largest finite-difference disagreement over every element of v. */
static double fd_error(struct fd_ctx *c, float *v, int64_t n, const float *grad) {
    float *fd = kt_alloc_floats(n);
    for (int64_t i = 0; i < n; i++)
        fd[i] = (float)tu_finite_difference(v, i, FD_H, conv_loss, c);
    double err = tu_max_rel_err(fd, grad, n, 0.1);
    free(fd);
    return err;
}

static void test_finite_differences(void **state) {
    (void)state;
    for (uint64_t k = 0; k < FD_CASES; k++) {
        struct kurc_conv_geom g = random_geom(5000 + k, 2);
        int64_t nx = x_size(&g), ny = y_size(&g), nw = w_size(&g);
        float *x = kt_alloc_floats(nx), *w = kt_alloc_floats(nw), *r = kt_alloc_floats(ny);
        float *y = kt_alloc_floats(ny), *dx = kt_alloc_floats(nx), *dw = kt_alloc_floats(nw);
        void *ws = alloc_workspace(&g);
        tu_fill_uniform(x, nx, 10 * k, -1, 1);
        tu_fill_uniform(w, nw, 10 * k + 1, -1, 1);
        tu_fill_uniform(r, ny, 10 * k + 2, -1, 1);
        memset(dx, 0, (size_t)nx * sizeof(float));
        memset(dw, 0, (size_t)nw * sizeof(float));
        cpu_conv_backward_data(NULL, &g, r, w, dx, ws);
        cpu_conv_backward_filter(NULL, &g, x, r, dw, ws);

        struct fd_ctx c = {&g, x, w, r, y, ws, false};
        assert_true(fd_error(&c, x, nx, dx) <= FD_TOL);
        c.of_w = true;
        assert_true(fd_error(&c, w, nw, dw) <= FD_TOL);
        free(x);
        free(w);
        free(r);
        free(y);
        free(dx);
        free(dw);
        free(ws);
    }
}

/* 3x3 input, 2x2 kernel, cin 1, cout 2, by hand.
 *   x = 1 2 3    w[.., 0] = 1 2    w[.., 1] = 0 0
 *       4 5 6               3 4               0 1
 *       7 8 9
 * 'valid' (out 2x2):  y0 = 1+4+12+20 = 37, 2+6+15+24 = 47, 4+10+21+32 = 67,
 *                     5+12+24+36 = 77;  y1 = x shifted by (1, 1): 5 6 8 9.
 * 'same' (out 3x3, pad 0 before, 1 after): the 2x2 block above plus
 *   y0[0,2] = 3+2*0+6*3+0 = 21, y0[1,2] = 6+27 = 33, y0[2,0] = 7+16 = 23,
 *   y0[2,1] = 8+18 = 26, y0[2,2] = 9; y1 there reads the padding: 0.
 * Gradients for 'valid' with dy = 1 in channel 0 and 0 in channel 1:
 *   dx = 1 3 2   (each cell sums the weights that touch it)
 *        4 10 6
 *        3 7 4
 *   dw[.., 0] = sums of x over each kernel tap's 2x2 window:
 *        12 16 / 24 28,   dw[.., 1] = 0. */
static void test_known_answer(void **state) {
    (void)state;
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float w[8] = {1, 0, 2, 0, 3, 0, 4, 1}; /* (2, 2, 1, 2) */
    float y[18], ws[64];
    struct kurc_conv_geom g = {.ndim = 2,
                               .batch = 1,
                               .in = {3, 3},
                               .out = {2, 2},
                               .kernel = {2, 2},
                               .stride = {1, 1},
                               .cin = 1,
                               .cout = 2};
    assert_true(cpu_conv_workspace(NULL, &g) <= sizeof ws);
    cpu_conv_forward(NULL, &g, x, w, y, ws);
    const float valid[8] = {37, 5, 47, 6, 67, 8, 77, 9};
    assert_memory_equal(y, valid, sizeof valid);

    const float dy[8] = {1, 0, 1, 0, 1, 0, 1, 0};
    float dx[9] = {0}, dw[8] = {0};
    cpu_conv_backward_data(NULL, &g, dy, w, dx, ws);
    cpu_conv_backward_filter(NULL, &g, x, dy, dw, ws);
    const float dx_want[9] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    const float dw_want[8] = {12, 0, 16, 0, 24, 0, 28, 0};
    assert_memory_equal(dx, dx_want, sizeof dx_want);
    assert_memory_equal(dw, dw_want, sizeof dw_want);

    g.out[0] = g.out[1] = 3;
    assert_true(cpu_conv_workspace(NULL, &g) <= sizeof ws);
    cpu_conv_forward(NULL, &g, x, w, y, ws);
    const float same[18] = {37, 5, 47, 6, 21, 0, 67, 8, 77, 9, 33, 0, 23, 0, 26, 0, 9, 0};
    assert_memory_equal(y, same, sizeof same);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),       cmocka_unit_test(test_random_geometries),
        cmocka_unit_test(test_pointwise),          cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_fused_backward),     cmocka_unit_test(test_narrow),
        cmocka_unit_test(test_narrow_chunked),     cmocka_unit_test(test_empty),
        cmocka_unit_test(test_finite_differences),
    };
    return cmocka_run_group_tests(tests, kt_open_openblas, NULL);
}
