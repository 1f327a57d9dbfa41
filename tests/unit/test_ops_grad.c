/* test_ops_grad.c - every op emitter of src/ops/ops.h through the graph
 * executor: finite-difference gradients, known-answer forwards, and the
 * executor's handling of shared tensors, frozen parameters and folding.
 *
 * How: each case builds a tiny graph with opgraph.h (inputs that need
 * gradients, parameters, the op under test), appends the objective
 *     J = loss_scale * sum_i r_i y_i        (r fixed, U(-1, 1))
 * through a test-only "dot" op that seeds y's gradient with loss_scale * r
 * in its backward (so kurc_exec_backward runs unchanged: it zeroes the
 * activation gradients, then every op's backward runs in reverse order),
 * and compares the gradient of every input and parameter with central
 * finite differences of J.  The losses (cce, mse) seed themselves and are
 * checked with J = loss_scale * weight * sum_s loss_s instead.  J is summed
 * on the host in double from the float32 forward values.
 *
 * Tolerance: central differences with step h = 1e-2 max(1, |v|) and
 *     |g - fd| / max(|g|, |fd|, FLOOR) < TOL = 1e-2,   FLOOR = 1e-2,
 * i.e. 1% relative, and gradients smaller than 1e-2 are held to 1e-4
 * absolute.  The error budget: float32 rounding of the outputs a
 * perturbation touches (about 6e-8 |y| each) divided by 2h = 2e-2, about
 * 1e-6 to 1e-5 absolute; plus the truncation error h^2 f'''/6, largest for
 * cce (f''' ~ 2 t / p^3 with predictions p >= 0.2: a few 1e-3 relative).
 * With h = 1e-3 the rounding term is ten times larger, and where a small
 * gradient comes from cancelling terms (a strided conv's kernel gradient of
 * 3e-3 from outputs of size 2) it reached 2e-2 relative; hence h = 1e-2.
 * Max pooling is piecewise linear, with inputs 0.01 apart, and is checked
 * with h = 1e-3 so that no perturbation reorders a window (its error:
 * 1e-13).  The worst error over all checks is printed at the end (3e-3).
 *
 * Forward results are compared with double-precision references with
 * |got - want| / max(|got|, |want|, 1) <= 1e-5 (values are O(1)), or
 * exactly where the op only moves or scales values.
 *
 * Kinks are avoided: activation inputs stay 0.05 away from 0 (relu, leaky
 * relu, elu, selu) and from +-2.5 (hard sigmoid), more than h max(1, |v|)
 * <= 0.032; max-pooling inputs are distinct; cce predictions are in [0.2,
 * 1], so the renormalised probabilities stay well inside the clip at 1e-7.
 *
 * Shapes are drawn from seeded Philox streams (og_rand_int), so every run
 * checks the same cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* after the headers it needs */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "opgraph.h"
#include "testutil.h"

#define H 1e-2
#define H_MAX_POOL 1e-3
#define TOL 1e-2
#define FLOOR 1e-2
#define SAMPLES 120
/* Forward against a double reference: float32 sums of a few hundred
 * terms. */
#define FWD_TOL 1e-5

static double worst_seen;

static void check_grad_h(struct og *t, int tensor, double h, const char *what) {
    double e = og_gradcheck(t, tensor, SAMPLES, h, FLOOR, TOL, what);
    if (e > worst_seen)
        worst_seen = e;
    if (!(e < TOL)) {
        print_error("%s: worst relative gradient error %.3g\n", what, e);
        fail();
    }
}

static void check_grad(struct og *t, int tensor, const char *what) {
    check_grad_h(t, tensor, H, what);
}

static void check_close(const float *got, const float *want, int64_t n, double tol,
                        const char *what) {
    double e = tu_max_rel_err(got, want, n, 1.0);
    if (!(e <= tol)) {
        print_error("%s: forward differs from the reference by %.3g (relative)\n", what, e);
        fail();
    }
}

static void check_exact(const float *got, const float *want, int64_t n, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            print_error("%s[%lld]: got %.9g, want %.9g\n", what, (long long)i, got[i], want[i]);
            fail();
        }
}

static float *floats(int64_t n) {
    float *p = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    assert_non_null(p);
    return p;
}

/* ------------------------------------------------------------------------
 * dense
 * ------------------------------------------------------------------------ */

static void dense_case(uint64_t seed, bool bias, bool three_d) {
    int64_t in = og_rand_int(seed, 0, 2, 7), out = og_rand_int(seed, 1, 2, 6);
    int64_t batch = og_rand_int(seed, 2, 2, 4);
    struct og t;
    og_init(&t);
    struct kurc_shape xs = three_d ? SHAPE(3, 2, in) : SHAPE(in);
    int x = og_input(&t, "x", xs, true);
    int w = og_param(&t, "w", SHAPE(in, out), true);
    int b = bias ? og_param(&t, "b", SHAPE(out), true) : -1;
    struct kurc_err err;
    int y = kurc_emit_dense(t.g, x, w, b, "dense", &err);
    assert_true(y >= 0);
    og_objective(&t, y);
    og_ready(&t, batch);
    og_fill(&t, x, seed + 1, -1, 1);
    og_fill(&t, w, seed + 2, -1, 1);
    if (bias)
        og_fill(&t, b, seed + 3, -1, 1);

    /* forward: y[r] = x[r] w + b */
    kurc_exec_forward(t.x);
    int64_t rows = og_count(&t, x) / in;
    float *want = floats(rows * out);
    const float *xv = og_value(&t, x), *wv = og_value(&t, w);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < out; o++) {
            double s = bias ? og_value(&t, b)[o] : 0;
            for (int64_t i = 0; i < in; i++)
                s += (double)xv[r * in + i] * wv[i * out + o];
            want[r * out + o] = (float)s;
        }
    check_close(og_value(&t, y), want, rows * out, FWD_TOL, "dense forward");
    free(want);

    check_grad(&t, x, "dense x");
    check_grad(&t, w, "dense w");
    if (bias)
        check_grad(&t, b, "dense b");
    og_free(&t);
}

static void test_dense(void **state) {
    (void)state;
    for (uint64_t s = 0; s < 3; s++) {
        dense_case(100 + s, true, false);
        dense_case(110 + s, false, false);
        dense_case(120 + s, true, true);
    }
}

/* ------------------------------------------------------------------------
 * convolution and its transpose
 * ------------------------------------------------------------------------ */

/* One spatial axis as TensorFlow defines it: output size and the padding
 * before (the odd padding cell goes after). */
static void tf_axis(int64_t in, int64_t k, int64_t s, bool same, int64_t *out, int64_t *before) {
    *out = same ? (in + s - 1) / s : (in - k) / s + 1;
    int64_t pad = (*out - 1) * s + k - in;
    *before = same && pad > 0 ? pad / 2 : 0;
}

/* A convolution geometry padded to three spatial axes (leading axes of
 * size 1), for the references. */
struct geo3 {
    int64_t in[3], out[3], k[3], s[3], p[3];
    int64_t batch, cin, cout;
};

static struct geo3 geo3_make(int nd, int64_t batch, const int64_t *in, const int64_t *k,
                             const int64_t *s, bool same, int64_t cin, int64_t cout) {
    struct geo3 g = {.batch = batch, .cin = cin, .cout = cout};
    for (int d = 0; d < 3; d++) {
        int src = d - (3 - nd);
        g.in[d] = src >= 0 ? in[src] : 1;
        g.k[d] = src >= 0 ? k[src] : 1;
        g.s[d] = src >= 0 ? s[src] : 1;
        tf_axis(g.in[d], g.k[d], g.s[d], src >= 0 && same, &g.out[d], &g.p[d]);
    }
    return g;
}

/* y[n, o, co] = b[co] + sum_{k, ci} x[n, o s - p + k, ci] w[k, ci, co]
 * over the cells inside the input, in double. */
static void ref_conv(const struct geo3 *g, const float *x, const float *w, const float *b,
                     float *y) {
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t o0 = 0; o0 < g->out[0]; o0++)
            for (int64_t o1 = 0; o1 < g->out[1]; o1++)
                for (int64_t o2 = 0; o2 < g->out[2]; o2++)
                    for (int64_t co = 0; co < g->cout; co++) {
                        double s = b ? b[co] : 0;
                        for (int64_t k0 = 0; k0 < g->k[0]; k0++)
                            for (int64_t k1 = 0; k1 < g->k[1]; k1++)
                                for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
                                    int64_t i0 = o0 * g->s[0] - g->p[0] + k0;
                                    int64_t i1 = o1 * g->s[1] - g->p[1] + k1;
                                    int64_t i2 = o2 * g->s[2] - g->p[2] + k2;
                                    if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] ||
                                        i2 < 0 || i2 >= g->in[2])
                                        continue;
                                    const float *xp =
                                        x +
                                        (((n * g->in[0] + i0) * g->in[1] + i1) * g->in[2] + i2) *
                                            g->cin;
                                    const float *wp =
                                        w + ((k0 * g->k[1] + k1) * g->k[2] + k2) * g->cin * g->cout;
                                    for (int64_t ci = 0; ci < g->cin; ci++)
                                        s += (double)xp[ci] * wp[ci * g->cout + co];
                                }
                        y[(((n * g->out[0] + o0) * g->out[1] + o1) * g->out[2] + o2) * g->cout +
                          co] = (float)s;
                    }
}

static void conv_case(uint64_t seed, int nd, bool same, bool strided) {
    int64_t in[3], k[3], s[3];
    int64_t xdims[4], wdims[5];
    for (int d = 0; d < nd; d++) {
        k[d] = og_rand_int(seed, (uint64_t)(10 + d), 1, 3);
        s[d] = strided ? og_rand_int(seed, (uint64_t)(20 + d), 2, 3) : 1;
        in[d] = k[d] + og_rand_int(seed, (uint64_t)(30 + d), 0, nd == 3 ? 2 : 4);
        xdims[d] = in[d];
        wdims[d] = k[d];
    }
    int64_t cin = og_rand_int(seed, 1, 1, 3), cout = og_rand_int(seed, 2, 1, 3);
    int64_t batch = og_rand_int(seed, 3, 1, 3);
    xdims[nd] = cin;
    wdims[nd] = cin;
    wdims[nd + 1] = cout;

    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", kurc_shape_make(nd + 1, xdims), true);
    int w = og_param(&t, "w", kurc_shape_make(nd + 2, wdims), true);
    int b = og_param(&t, "b", SHAPE(cout), true);
    struct kurc_err err;
    int y = kurc_emit_conv(t.g, x, w, b, s, same, "conv", &err);
    if (y < 0)
        print_error("%s\n", err.msg);
    assert_true(y >= 0);
    og_objective(&t, y);
    og_ready(&t, batch);
    og_fill(&t, x, seed + 1, -1, 1);
    og_fill(&t, w, seed + 2, -1, 1);
    og_fill(&t, b, seed + 3, -1, 1);

    struct geo3 g = geo3_make(nd, batch, in, k, s, same, cin, cout);
    const struct kurc_shape *ys = kurc_graph_shape(t.g, y);
    for (int d = 0; d < nd; d++)
        assert_int_equal(ys->dim[d], g.out[3 - nd + d]);
    kurc_exec_forward(t.x);
    int64_t n = og_count(&t, y);
    float *want = floats(n);
    ref_conv(&g, og_value(&t, x), og_value(&t, w), og_value(&t, b), want);
    check_close(og_value(&t, y), want, n, FWD_TOL, "conv forward");
    free(want);

    char what[64];
    snprintf(what, sizeof what, "conv%dd %s%s x", nd, same ? "same" : "valid",
             strided ? " strided" : "");
    check_grad(&t, x, what);
    what[strlen(what) - 1] = 'w';
    check_grad(&t, w, what);
    what[strlen(what) - 1] = 'b';
    check_grad(&t, b, what);
    og_free(&t);
}

static void test_conv(void **state) {
    (void)state;
    uint64_t seed = 200;
    for (int nd = 1; nd <= 3; nd++)
        for (int same = 0; same < 2; same++)
            for (int strided = 0; strided < 2; strided++)
                for (int rep = 0; rep < 2; rep++)
                    conv_case(seed++ * 97, nd, same, strided);
}

/* The transposed convolution of x (small, channels c2) with w (k..., c1,
 * c2): output channels c1 and size in s (same) or (in - 1) s + k (valid). */
static void conv_transpose_case(uint64_t seed, int nd, bool same, bool strided) {
    int64_t in[3], k[3], s[3], xdims[4], wdims[5];
    for (int d = 0; d < nd; d++) {
        k[d] = og_rand_int(seed, (uint64_t)(10 + d), 1, 3);
        s[d] = strided ? og_rand_int(seed, (uint64_t)(20 + d), 2, 3) : 1;
        in[d] = og_rand_int(seed, (uint64_t)(30 + d), 1, 4);
        xdims[d] = in[d];
        wdims[d] = k[d];
    }
    int64_t c1 = og_rand_int(seed, 1, 1, 3), c2 = og_rand_int(seed, 2, 1, 3);
    int64_t batch = og_rand_int(seed, 3, 1, 3);
    xdims[nd] = c2;
    wdims[nd] = c1;
    wdims[nd + 1] = c2;

    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", kurc_shape_make(nd + 1, xdims), true);
    int w = og_param(&t, "w", kurc_shape_make(nd + 2, wdims), true);
    int b = og_param(&t, "b", SHAPE(c1), true);
    struct kurc_err err;
    int y = kurc_emit_conv_transpose(t.g, x, w, b, s, same, "deconv", &err);
    if (y < 0)
        print_error("%s\n", err.msg);
    assert_true(y >= 0);
    const struct kurc_shape *ys = kurc_graph_shape(t.g, y);
    assert_int_equal(ys->ndim, nd + 1);
    for (int d = 0; d < nd; d++)
        assert_int_equal(ys->dim[d], same ? in[d] * s[d] : (in[d] - 1) * s[d] + k[d]);
    assert_int_equal(ys->dim[nd], c1);
    og_objective(&t, y);
    og_ready(&t, batch);
    og_fill(&t, x, seed + 1, -1, 1);
    og_fill(&t, w, seed + 2, -1, 1);
    og_fill(&t, b, seed + 3, -1, 1);

    char what[64];
    snprintf(what, sizeof what, "conv_transpose%dd %s%s x", nd, same ? "same" : "valid",
             strided ? " strided" : "");
    check_grad(&t, x, what);
    what[strlen(what) - 1] = 'w';
    check_grad(&t, w, what);
    what[strlen(what) - 1] = 'b';
    check_grad(&t, b, what);
    og_free(&t);
}

/* <conv(x), u> == <x, conv_transpose(u)> with one shared kernel w (k...,
 * c1, c2): conv maps c1 to c2 channels, the transpose c2 back to c1, and
 * the sizes are chosen so that each is the other's shape. */
static void adjoint_case(uint64_t seed, int nd, bool same, bool strided) {
    int64_t small[3], big[3], k[3], s[3], xdims[4], udims[4], wdims[5];
    for (int d = 0; d < nd; d++) {
        k[d] = og_rand_int(seed, (uint64_t)(10 + d), 1, 4);
        s[d] = strided ? og_rand_int(seed, (uint64_t)(20 + d), 2, 3) : 1;
        small[d] = og_rand_int(seed, (uint64_t)(30 + d), 1, 5);
        big[d] = same ? small[d] * s[d] : (small[d] - 1) * s[d] + k[d];
        xdims[d] = big[d];
        udims[d] = small[d];
        wdims[d] = k[d];
    }
    int64_t c1 = og_rand_int(seed, 1, 1, 4), c2 = og_rand_int(seed, 2, 1, 4);
    int64_t batch = og_rand_int(seed, 3, 1, 3);
    xdims[nd] = wdims[nd] = c1;
    udims[nd] = wdims[nd + 1] = c2;

    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", kurc_shape_make(nd + 1, xdims), false);
    int u = og_input(&t, "u", kurc_shape_make(nd + 1, udims), false);
    int w = og_param(&t, "w", kurc_shape_make(nd + 2, wdims), true);
    struct kurc_err err;
    int cx = kurc_emit_conv(t.g, x, w, -1, s, same, "conv", &err);
    int tu = kurc_emit_conv_transpose(t.g, u, w, -1, s, same, "deconv", &err);
    assert_true(cx >= 0 && tu >= 0);
    assert_true(kurc_shape_equal(kurc_graph_shape(t.g, cx), kurc_graph_shape(t.g, u)));
    assert_true(kurc_shape_equal(kurc_graph_shape(t.g, tu), kurc_graph_shape(t.g, x)));
    og_ready(&t, batch);
    og_fill(&t, x, seed + 1, -1, 1);
    og_fill(&t, u, seed + 2, -1, 1);
    og_fill(&t, w, seed + 3, -1, 1);
    kurc_exec_forward(t.x);
    double lhs = 0, rhs = 0, scale = 0;
    for (int64_t i = 0; i < og_count(&t, u); i++) {
        lhs += (double)og_value(&t, cx)[i] * og_value(&t, u)[i];
        scale += fabs((double)og_value(&t, cx)[i] * og_value(&t, u)[i]);
    }
    for (int64_t i = 0; i < og_count(&t, x); i++)
        rhs += (double)og_value(&t, x)[i] * og_value(&t, tu)[i];
    if (!(fabs(lhs - rhs) <= 1e-5 * fmax(scale, 1.0))) {
        print_error("adjoint %dd %s stride %lld: <conv x, u> = %.9g, <x, conv^T u> = %.9g\n", nd,
                    same ? "same" : "valid", (long long)s[0], lhs, rhs);
        fail();
    }
    og_free(&t);
}

static void test_conv_transpose(void **state) {
    (void)state;
    uint64_t seed = 300;
    for (int nd = 1; nd <= 2; nd++)
        for (int same = 0; same < 2; same++)
            for (int strided = 0; strided < 2; strided++)
                for (int rep = 0; rep < 2; rep++)
                    conv_transpose_case(seed++ * 89, nd, same, strided);
}

static void test_conv_adjoint(void **state) {
    (void)state;
    uint64_t seed = 400;
    for (int nd = 1; nd <= 3; nd++)
        for (int same = 0; same < 2; same++)
            for (int strided = 0; strided < 2; strided++)
                for (int rep = 0; rep < 3; rep++)
                    adjoint_case(seed++ * 83, nd, same, strided);
}

/* ------------------------------------------------------------------------
 * pooling
 * ------------------------------------------------------------------------ */

/* Max or average over the window's cells inside the input (TensorFlow's
 * SAME pooling excludes the padding). */
static void ref_pool(const struct geo3 *g, bool max, const float *x, float *y) {
    int64_t c = g->cin;
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t o0 = 0; o0 < g->out[0]; o0++)
            for (int64_t o1 = 0; o1 < g->out[1]; o1++)
                for (int64_t o2 = 0; o2 < g->out[2]; o2++)
                    for (int64_t ch = 0; ch < c; ch++) {
                        double acc = max ? -INFINITY : 0;
                        int64_t count = 0;
                        for (int64_t k0 = 0; k0 < g->k[0]; k0++)
                            for (int64_t k1 = 0; k1 < g->k[1]; k1++)
                                for (int64_t k2 = 0; k2 < g->k[2]; k2++) {
                                    int64_t i0 = o0 * g->s[0] - g->p[0] + k0;
                                    int64_t i1 = o1 * g->s[1] - g->p[1] + k1;
                                    int64_t i2 = o2 * g->s[2] - g->p[2] + k2;
                                    if (i0 < 0 || i0 >= g->in[0] || i1 < 0 || i1 >= g->in[1] ||
                                        i2 < 0 || i2 >= g->in[2])
                                        continue;
                                    double v =
                                        x[(((n * g->in[0] + i0) * g->in[1] + i1) * g->in[2] + i2) *
                                              c +
                                          ch];
                                    acc = max ? fmax(acc, v) : acc + v;
                                    count++;
                                }
                        y[(((n * g->out[0] + o0) * g->out[1] + o1) * g->out[2] + o2) * c + ch] =
                            (float)(count == 0 ? 0
                                    : max      ? acc
                                               : acc / (double)count);
                    }
}

static void pool_case(uint64_t seed, int nd, bool max, bool same, bool strided) {
    int64_t in[3], size[3], s[3], xdims[4];
    for (int d = 0; d < nd; d++) {
        size[d] = og_rand_int(seed, (uint64_t)(10 + d), 1, 3);
        s[d] = strided ? size[d] : og_rand_int(seed, (uint64_t)(20 + d), 1, 2);
        in[d] = size[d] + og_rand_int(seed, (uint64_t)(30 + d), 0, nd == 3 ? 2 : 4);
        xdims[d] = in[d];
    }
    if (size[nd - 1] == 1) /* at least one real window per case */
        size[nd - 1] = 2, in[nd - 1] += 1, xdims[nd - 1] += 1;
    int64_t c = og_rand_int(seed, 1, 1, 3), batch = og_rand_int(seed, 2, 1, 3);
    xdims[nd] = c;

    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", kurc_shape_make(nd + 1, xdims), true);
    struct kurc_err err;
    int y = kurc_emit_pool(t.g, x, max ? KURC_POOL_MAX : KURC_POOL_AVERAGE, nd, size, s, same,
                           "pool", &err);
    assert_true(y >= 0);
    og_objective(&t, y);
    og_ready(&t, batch);
    og_fill_distinct(&t, x, seed + 1, 0.01f);

    struct geo3 g = geo3_make(nd, batch, in, size, s, same, c, c);
    kurc_exec_forward(t.x);
    int64_t n = og_count(&t, y);
    assert_int_equal(n, batch * g.out[0] * g.out[1] * g.out[2] * c);
    float *want = floats(n);
    ref_pool(&g, max, og_value(&t, x), want);
    check_close(og_value(&t, y), want, n, FWD_TOL, "pool forward");
    free(want);

    char what[64];
    snprintf(what, sizeof what, "%s pool%dd %s%s x", max ? "max" : "average", nd,
             same ? "same" : "valid", strided ? " strided" : "");
    check_grad_h(&t, x, max ? H_MAX_POOL : H, what);
    og_free(&t);
}

static void test_pool(void **state) {
    (void)state;
    uint64_t seed = 500;
    for (int nd = 1; nd <= 3; nd++)
        for (int max = 0; max < 2; max++)
            for (int same = 0; same < 2; same++)
                for (int strided = 0; strided < 2; strided++)
                    pool_case(seed++ * 79, nd, max, same, strided);
}

/* ------------------------------------------------------------------------
 * activations and softmax
 * ------------------------------------------------------------------------ */

static double ref_act(enum kurc_act act, double alpha, double x) {
    const double selu_alpha = 1.6732632423543772, selu_scale = 1.0507009873554805;
    switch (act) {
    case KURC_ACT_LINEAR:
        return x;
    case KURC_ACT_RELU:
        return x > 0 ? x : 0;
    case KURC_ACT_TANH:
        return tanh(x);
    case KURC_ACT_SIGMOID:
        return 1 / (1 + exp(-x));
    case KURC_ACT_HARD_SIGMOID:
        return fmin(1, fmax(0, 0.2 * x + 0.5));
    case KURC_ACT_SOFTPLUS:
        return log1p(exp(x));
    case KURC_ACT_SOFTSIGN:
        return x / (1 + fabs(x));
    case KURC_ACT_ELU:
        return x > 0 ? x : alpha * expm1(x);
    case KURC_ACT_SELU:
        return selu_scale * (x > 0 ? x : selu_alpha * expm1(x));
    case KURC_ACT_LEAKY_RELU:
        return x > 0 ? x : alpha * x;
    case KURC_ACT_COUNT:
        break;
    }
    return NAN;
}

static void test_activations(void **state) {
    (void)state;
    static const char *names[KURC_ACT_COUNT] = {"linear",       "relu",      "tanh",     "sigmoid",
                                                "hard_sigmoid", "softplus",  "softsign", "elu",
                                                "selu",         "leaky_relu"};
    for (int a = 0; a < KURC_ACT_COUNT; a++) {
        enum kurc_act act = (enum kurc_act)a;
        float alpha = act == KURC_ACT_ELU ? 0.7f : act == KURC_ACT_LEAKY_RELU ? 0.3f : 0.0f;
        struct og t;
        og_init(&t);
        int x = og_input(&t, "x", SHAPE(4, 5), true);
        int y = kurc_emit_activation(t.g, x, act, alpha, names[a]);
        og_objective(&t, y);
        og_ready(&t, 3);
        og_fill_away(&t, x, 600 + (uint64_t)a, -3.2f, 3.2f, 0.05f);
        float *xv = og_value(&t, x);
        for (int64_t i = 0; i < og_count(&t, x); i++) /* hard sigmoid's kinks at +-2.5 */
            if (fabsf(fabsf(xv[i]) - 2.5f) < 0.05f)
                xv[i] *= 0.9f;
        kurc_exec_forward(t.x);
        int64_t n = og_count(&t, y);
        float *want = floats(n);
        for (int64_t i = 0; i < n; i++)
            want[i] = (float)ref_act(act, alpha, xv[i]);
        check_close(og_value(&t, y), want, n, FWD_TOL, names[a]);
        free(want);
        check_grad(&t, x, names[a]);
        og_free(&t);
    }
}

static void test_softmax(void **state) {
    (void)state;
    for (int is_log = 0; is_log < 2; is_log++) {
        struct og t;
        og_init(&t);
        int x = og_input(&t, "x", SHAPE(3, 6), true);
        int y = kurc_emit_softmax(t.g, x, is_log, "softmax");
        og_objective(&t, y);
        og_ready(&t, 2);
        og_fill(&t, x, 700 + (uint64_t)is_log, -3, 3);
        kurc_exec_forward(t.x);
        int64_t rows = og_count(&t, x) / 6;
        float *want = floats(rows * 6);
        const float *xv = og_value(&t, x);
        for (int64_t r = 0; r < rows; r++) {
            double sum = 0;
            for (int c = 0; c < 6; c++)
                sum += exp(xv[r * 6 + c]);
            for (int c = 0; c < 6; c++)
                want[r * 6 + c] =
                    (float)(is_log ? xv[r * 6 + c] - log(sum) : exp(xv[r * 6 + c]) / sum);
        }
        check_close(og_value(&t, y), want, rows * 6, FWD_TOL, is_log ? "log_softmax" : "softmax");
        free(want);
        check_grad(&t, x, is_log ? "log_softmax x" : "softmax x");
        og_free(&t);
    }
}

/* ------------------------------------------------------------------------
 * element-wise arithmetic
 * ------------------------------------------------------------------------ */

enum arith { ARITH_ADD, ARITH_MUL, ARITH_MUL_SELF, ARITH_ADD_SELF, ARITH_SCALE, ARITH_MUL_CONST };

static void test_arith(void **state) {
    (void)state;
    static const char *names[] = {"add", "mul", "mul a*a", "add a+a", "scale", "mul by input"};
    for (int k = ARITH_ADD; k <= ARITH_MUL_CONST; k++) {
        struct og t;
        og_init(&t);
        int a = og_input(&t, "a", SHAPE(3, 4), true);
        int b = og_input(&t, "b", SHAPE(3, 4), k != ARITH_MUL_CONST);
        struct kurc_err err;
        int y = k == ARITH_ADD        ? kurc_emit_add(t.g, a, b, "y", &err)
                : k == ARITH_MUL      ? kurc_emit_mul(t.g, a, b, "y", &err)
                : k == ARITH_MUL_SELF ? kurc_emit_mul(t.g, a, a, "y", &err)
                : k == ARITH_ADD_SELF ? kurc_emit_add(t.g, a, a, "y", &err)
                : k == ARITH_SCALE    ? kurc_emit_scale(t.g, a, -1.7f, "y")
                                      : kurc_emit_mul(t.g, a, b, "y", &err);
        assert_true(y >= 0);
        og_objective(&t, y);
        og_ready(&t, 3);
        og_fill(&t, a, 800 + (uint64_t)k, -2, 2);
        og_fill(&t, b, 810 + (uint64_t)k, -2, 2);
        kurc_exec_forward(t.x);
        int64_t n = og_count(&t, y);
        const float *av = og_value(&t, a), *bv = og_value(&t, b);
        float *want = floats(n);
        for (int64_t i = 0; i < n; i++)
            want[i] = k == ARITH_ADD        ? av[i] + bv[i]
                      : k == ARITH_ADD_SELF ? av[i] + av[i]
                      : k == ARITH_MUL_SELF ? av[i] * av[i]
                      : k == ARITH_SCALE    ? -1.7f * av[i]
                                            : av[i] * bv[i];
        check_exact(og_value(&t, y), want, n, names[k]);
        free(want);
        check_grad(&t, a, names[k]);
        if (k == ARITH_ADD || k == ARITH_MUL)
            check_grad(&t, b, names[k]);
        if (k == ARITH_MUL_CONST)
            assert_null(kurc_exec_grad(t.x, b));
        og_free(&t);
    }
}

/* ------------------------------------------------------------------------
 * shape ops: reshape, transpose, concat, slice, repeat, reduce
 * ------------------------------------------------------------------------ */

/* Flat index of element idx of sample b of a per-sample shape. */
static int64_t flat(const struct kurc_shape *s, int64_t b, const int64_t *idx) {
    int64_t f = b;
    for (int i = 0; i < s->ndim; i++)
        f = f * s->dim[i] + idx[i];
    return f;
}

/* Steps idx through shape s in row-major order; false after the last. */
static bool next_index(const struct kurc_shape *s, int64_t *idx) {
    for (int i = s->ndim - 1; i >= 0; i--) {
        if (++idx[i] < s->dim[i])
            return true;
        idx[i] = 0;
    }
    return false;
}

static void test_reshape(void **state) {
    (void)state;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(2, 3, 4), true);
    struct kurc_shape to = SHAPE(4, 6);
    struct kurc_err err;
    int y = kurc_emit_reshape(t.g, x, &to, "y", &err);
    assert_true(y >= 0);
    struct kurc_shape bad = SHAPE(5, 5);
    assert_int_equal(kurc_emit_reshape(t.g, x, &bad, "bad", &err), -1);
    og_objective(&t, y);
    og_ready(&t, 3);
    og_fill(&t, x, 900, -1, 1);
    kurc_exec_forward(t.x);
    check_exact(og_value(&t, y), og_value(&t, x), og_count(&t, x), "reshape");
    check_grad(&t, x, "reshape x");
    og_free(&t);
}

static void transpose_case(struct kurc_shape in, const int *perm, uint64_t seed) {
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", in, true);
    struct kurc_err err;
    int y = kurc_emit_transpose(t.g, x, perm, "y", &err);
    assert_true(y >= 0);
    og_objective(&t, y);
    int64_t batch = 2;
    og_ready(&t, batch);
    og_fill(&t, x, seed, -1, 1);
    kurc_exec_forward(t.x);
    const struct kurc_shape *out = kurc_graph_shape(t.g, y);
    for (int i = 0; i < in.ndim; i++)
        assert_int_equal(out->dim[i], in.dim[perm[i]]);
    /* y[b, j] = x[b, i] with i[perm[k]] = j[k] */
    for (int64_t b = 0; b < batch; b++) {
        int64_t j[KURC_MAX_DIMS] = {0}, i[KURC_MAX_DIMS];
        do {
            for (int k = 0; k < in.ndim; k++)
                i[perm[k]] = j[k];
            assert_true(og_value(&t, y)[flat(out, b, j)] == og_value(&t, x)[flat(&in, b, i)]);
        } while (next_index(out, j));
    }
    check_grad(&t, x, "transpose x");
    og_free(&t);
}

static void test_transpose(void **state) {
    (void)state;
    static const int perms3[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int p = 0; p < 6; p++)
        transpose_case(SHAPE(2, 3, 4), perms3[p], 1000 + (uint64_t)p);
    static const int perms4[5][4] = {
        {3, 1, 0, 2}, {0, 2, 3, 1}, {1, 0, 3, 2}, {3, 2, 1, 0}, {0, 1, 3, 2}};
    for (int p = 0; p < 5; p++)
        transpose_case(SHAPE(2, 3, 2, 4), perms4[p], 1010 + (uint64_t)p);
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(2, 3), false);
    struct kurc_err err;
    assert_int_equal(kurc_emit_transpose(t.g, x, (int[]){0, 0}, "bad", &err), -1);
    og_free(&t);
}

/* Concatenation of n inputs of rank `rank` along axis (maybe negative);
 * input k has size sizes[k] on the axis and 2, 3, ... elsewhere. */
static void concat_case(int rank, int axis, int n, const int64_t *sizes, uint64_t seed) {
    int a = axis < 0 ? axis + rank : axis;
    struct og t;
    og_init(&t);
    int xs[3];
    for (int k = 0; k < n; k++) {
        struct kurc_shape s = {.ndim = rank};
        for (int d = 0; d < rank; d++)
            s.dim[d] = d == a ? sizes[k] : 2 + d;
        xs[k] = og_input(&t, "x", s, true);
    }
    struct kurc_err err;
    int y = kurc_emit_concat(t.g, xs, n, axis, "y", &err);
    assert_true(y >= 0);
    og_objective(&t, y);
    int64_t batch = 3;
    og_ready(&t, batch);
    for (int k = 0; k < n; k++)
        og_fill(&t, xs[k], seed + (uint64_t)k, -1, 1);
    kurc_exec_forward(t.x);
    const struct kurc_shape *out = kurc_graph_shape(t.g, y);
    for (int64_t b = 0; b < batch; b++) {
        int64_t j[KURC_MAX_DIMS] = {0};
        do {
            int64_t i[KURC_MAX_DIMS];
            memcpy(i, j, sizeof i);
            int k = 0;
            while (i[a] >= sizes[k])
                i[a] -= sizes[k++];
            const struct kurc_shape *ks = kurc_graph_shape(t.g, xs[k]);
            assert_true(og_value(&t, y)[flat(out, b, j)] == og_value(&t, xs[k])[flat(ks, b, i)]);
        } while (next_index(out, j));
    }
    for (int k = 0; k < n; k++) {
        char what[64];
        snprintf(what, sizeof what, "concat axis %d input %d", axis, k);
        check_grad(&t, xs[k], what);
    }
    og_free(&t);
}

static void test_concat(void **state) {
    (void)state;
    concat_case(2, 0, 2, (int64_t[]){2, 3}, 1100);
    concat_case(3, 0, 3, (int64_t[]){1, 2, 3}, 1110);
    concat_case(3, 1, 3, (int64_t[]){1, 3, 2}, 1120);
    concat_case(2, 1, 2, (int64_t[]){4, 1}, 1130);
    concat_case(2, -1, 2, (int64_t[]){2, 5}, 1140);
    concat_case(3, -1, 3, (int64_t[]){3, 1, 2}, 1150);
}

static void slice_case(struct kurc_shape in, int axis, int64_t start, int64_t len, uint64_t seed) {
    int a = axis < 0 ? axis + in.ndim : axis;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", in, true);
    struct kurc_err err;
    int y = kurc_emit_slice(t.g, x, axis, start, len, "y", &err);
    assert_true(y >= 0);
    og_objective(&t, y);
    int64_t batch = 2;
    og_ready(&t, batch);
    og_fill(&t, x, seed, -1, 1);
    kurc_exec_forward(t.x);
    const struct kurc_shape *out = kurc_graph_shape(t.g, y);
    assert_int_equal(out->dim[a], len);
    for (int64_t b = 0; b < batch; b++) {
        int64_t j[KURC_MAX_DIMS] = {0}, i[KURC_MAX_DIMS];
        do {
            memcpy(i, j, sizeof i);
            i[a] += start;
            assert_true(og_value(&t, y)[flat(out, b, j)] == og_value(&t, x)[flat(&in, b, i)]);
        } while (next_index(out, j));
    }
    check_grad(&t, x, "slice x");
    og_free(&t);
}

static void test_slice(void **state) {
    (void)state;
    slice_case(SHAPE(4, 5, 3), 0, 1, 2, 1200);
    slice_case(SHAPE(4, 5, 3), 1, 2, 3, 1210);
    slice_case(SHAPE(4, 5, 3), -1, 1, 1, 1220);
    slice_case(SHAPE(6), 0, 0, 6, 1230);
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(4, 5), false);
    struct kurc_err err;
    assert_int_equal(kurc_emit_slice(t.g, x, 1, 3, 3, "bad", &err), -1);
    assert_int_equal(kurc_emit_slice(t.g, x, 2, 0, 1, "bad", &err), -1);
    og_free(&t);
}

static void test_repeat(void **state) {
    (void)state;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(3, 2), true);
    int y = kurc_emit_repeat(t.g, x, 4, "y");
    const struct kurc_shape *out = kurc_graph_shape(t.g, y);
    assert_int_equal(out->ndim, 3);
    assert_int_equal(out->dim[0], 4);
    og_objective(&t, y);
    og_ready(&t, 3);
    og_fill(&t, x, 1300, -1, 1);
    kurc_exec_forward(t.x);
    for (int64_t b = 0; b < 3; b++)
        for (int64_t c = 0; c < 4; c++)
            for (int64_t i = 0; i < 6; i++)
                assert_true(og_value(&t, y)[(b * 4 + c) * 6 + i] == og_value(&t, x)[b * 6 + i]);
    check_grad(&t, x, "repeat x");
    og_free(&t);
}

static void test_reduce(void **state) {
    (void)state;
    for (int mean = 0; mean < 2; mean++)
        for (int rank = 1; rank <= 2; rank++) {
            struct og t;
            og_init(&t);
            int x = og_input(&t, "x", rank == 1 ? SHAPE(5) : SHAPE(3, 5), true);
            int y = kurc_emit_reduce(t.g, x, mean, "y");
            const struct kurc_shape *out = kurc_graph_shape(t.g, y);
            assert_int_equal(out->ndim, rank);
            assert_int_equal(out->dim[rank - 1], 1);
            og_objective(&t, y);
            og_ready(&t, 4);
            og_fill(&t, x, 1400 + (uint64_t)(2 * mean + rank), -1, 1);
            kurc_exec_forward(t.x);
            int64_t rows = og_count(&t, y);
            float *want = floats(rows);
            for (int64_t r = 0; r < rows; r++) {
                double s = 0;
                for (int c = 0; c < 5; c++)
                    s += og_value(&t, x)[r * 5 + c];
                want[r] = (float)(mean ? s / 5 : s);
            }
            check_close(og_value(&t, y), want, rows, 1e-6, mean ? "reduce mean" : "reduce sum");
            free(want);
            check_grad(&t, x, mean ? "reduce mean x" : "reduce sum x");
            og_free(&t);
        }
}

/* ------------------------------------------------------------------------
 * gather (embeddings)
 * ------------------------------------------------------------------------ */

static void test_gather(void **state) {
    (void)state;
    const int64_t vocab = 5, width = 4, batch = 3;
    struct og t;
    og_init(&t);
    int index = og_input(&t, "index", SHAPE(2, 3), false);
    int table = og_param(&t, "table", SHAPE(vocab, width), true);
    struct kurc_err err;
    int y = kurc_emit_gather(t.g, index, table, "y", &err);
    assert_true(y >= 0);
    const struct kurc_shape *out = kurc_graph_shape(t.g, y);
    assert_int_equal(out->ndim, 3);
    assert_int_equal(out->dim[2], width);
    og_objective(&t, y);
    og_ready(&t, batch);
    float *iv = og_value(&t, index);
    int64_t n = og_count(&t, index);
    /* every row but the last is picked, several more than once */
    for (int64_t i = 0; i < n; i++)
        iv[i] = (float)(i * 7 % (vocab - 1));
    og_fill(&t, table, 1500, -1, 1);
    kurc_exec_forward(t.x);
    for (int64_t i = 0; i < n; i++)
        for (int64_t c = 0; c < width; c++)
            assert_true(og_value(&t, y)[i * width + c] ==
                        og_value(&t, table)[(int64_t)iv[i] * width + c]);
    check_grad(&t, table, "gather table");
    /* the row never picked gets no gradient */
    og_backward(&t);
    for (int64_t c = 0; c < width; c++)
        assert_true(kurc_exec_grad(t.x, table)[(vocab - 1) * width + c] == 0.0f);
    og_free(&t);
}

/* ------------------------------------------------------------------------
 * dropout
 * ------------------------------------------------------------------------ */

static void test_dropout(void **state) {
    (void)state;
    const float rate = 0.4f;
    const uint64_t seed = 77, base = 9;
    const int64_t batch = 5, per = 24;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(4, 6), true);
    int y = kurc_emit_dropout(t.g, x, rate, seed, "y");
    og_objective(&t, y);
    og_ready(&t, batch);
    t.x->sample_base = base;
    og_fill(&t, x, 1600, -1, 1);
    og_backward(&t);
    const struct kurc_op *op = &t.g->ops[0];
    const float *mask = kurc_exec_saved(t.x, op);
    const float *xv = og_value(&t, x), *yv = og_value(&t, y), *r = og_value(&t, t.r);
    const float *dx = kurc_exec_grad(t.x, x);
    int64_t dropped = 0;
    float keep = 1.0f / (1.0f - rate);
    for (int64_t i = 0; i < batch * per; i++) {
        /* the mask of element i of sample s is u(seed, (base + s) per + i) */
        float want =
            kurc_rng_uniform(seed, base * (uint64_t)per + (uint64_t)i) >= rate ? keep : 0.0f;
        assert_true(mask[i] == want);
        assert_true(yv[i] == xv[i] * want);
        assert_true(dx[i] == r[i] * want); /* the gradient is the mask (times dJ/dy = r) */
        dropped += want == 0.0f;
    }
    assert_true(dropped > 0 && dropped < batch * per);
    check_grad(&t, x, "dropout x");

    /* not training: the identity, forward and backward */
    t.x->training = false;
    og_backward(&t);
    check_exact(og_value(&t, y), og_value(&t, x), batch * per, "dropout (inference)");
    check_exact(kurc_exec_grad(t.x, x), og_value(&t, t.r), batch * per,
                "dropout gradient (inference)");
    og_free(&t);
}

/* ------------------------------------------------------------------------
 * batch normalisation
 * ------------------------------------------------------------------------ */

static void batchnorm_case(struct kurc_shape in, int axis, uint64_t seed) {
    const float eps = 1e-3f;
    const int64_t batch = 4;
    int a = axis < 0 ? axis + in.ndim : axis;
    int64_t c = in.dim[a], outer = batch, inner = 1;
    for (int i = 0; i < a; i++)
        outer *= in.dim[i];
    for (int i = a + 1; i < in.ndim; i++)
        inner *= in.dim[i];
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", in, true);
    int gamma = og_param(&t, "gamma", SHAPE(c), true);
    int beta = og_param(&t, "beta", SHAPE(c), true);
    struct kurc_err err;
    int y = kurc_emit_batchnorm(t.g, x, gamma, beta, axis, eps, "bn", &err);
    assert_true(y >= 0);
    og_objective(&t, y);
    og_ready(&t, batch);
    og_fill(&t, x, seed, -1, 2);
    og_fill(&t, gamma, seed + 1, 0.5f, 1.5f);
    og_fill(&t, beta, seed + 2, -1, 1);
    kurc_exec_forward(t.x);
    const float *xv = og_value(&t, x), *gv = og_value(&t, gamma), *bv = og_value(&t, beta);
    int64_t n = og_count(&t, x);
    float *want = floats(n);
    for (int64_t ch = 0; ch < c; ch++) {
        double sum = 0, sq = 0, m = (double)(outer * inner);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++)
                sum += xv[(o * c + ch) * inner + i];
        double mean = sum / m;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                double d = xv[(o * c + ch) * inner + i] - mean;
                sq += d * d;
            }
        double inv = 1 / sqrt(sq / m + eps);
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t at = (o * c + ch) * inner + i;
                want[at] = (float)(gv[ch] * (xv[at] - mean) * inv + bv[ch]);
            }
    }
    check_close(og_value(&t, y), want, n, FWD_TOL, "batchnorm forward");
    free(want);
    char what[64];
    snprintf(what, sizeof what, "batchnorm axis %d x", axis);
    check_grad(&t, x, what);
    snprintf(what, sizeof what, "batchnorm axis %d gamma", axis);
    check_grad(&t, gamma, what);
    snprintf(what, sizeof what, "batchnorm axis %d beta", axis);
    check_grad(&t, beta, what);
    og_free(&t);
}

static void test_batchnorm(void **state) {
    (void)state;
    batchnorm_case(SHAPE(3, 5), -1, 1700);
    batchnorm_case(SHAPE(3, 5), 0, 1710);
    batchnorm_case(SHAPE(2, 3, 4), 1, 1720);
    batchnorm_case(SHAPE(6), 0, 1730);

    /* gamma and beta must both have the normalised axis's size */
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(3, 5), false);
    int five = og_param(&t, "five", SHAPE(5), true), three = og_param(&t, "three", SHAPE(3), true);
    struct kurc_err err;
    assert_int_equal(kurc_emit_batchnorm(t.g, x, three, five, -1, 1e-3f, "bn", &err), -1);
    assert_int_equal(kurc_emit_batchnorm(t.g, x, five, three, -1, 1e-3f, "bn", &err), -1);
    assert_non_null(strstr(err.msg, "beta"));
    assert_int_equal(kurc_emit_batchnorm(t.g, x, five, five, 2, 1e-3f, "bn", &err), -1);
    assert_true(kurc_emit_batchnorm(t.g, x, five, five, -1, 1e-3f, "bn", &err) >= 0);
    og_free(&t);
}

/* ------------------------------------------------------------------------
 * losses
 * ------------------------------------------------------------------------ */

static double ref_row_loss(bool cce, const float *p, const float *t, int64_t cols) {
    double l = 0, s = 0;
    for (int64_t c = 0; c < cols; c++)
        s += p[c];
    for (int64_t c = 0; c < cols; c++) {
        if (cce) {
            double q = fmin(fmax(p[c] / s, 1e-7), 1 - 1e-7);
            l -= t[c] * log(q);
        } else {
            l += ((double)p[c] - t[c]) * ((double)p[c] - t[c]) / (double)cols;
        }
    }
    return l;
}

static void loss_case(bool cce, struct kurc_shape shape, uint64_t seed) {
    const int64_t batch = 4;
    const float weight = 0.7f;
    struct og t;
    og_init(&t);
    int pred = og_input(&t, "pred", shape, true);
    int truth = og_input(&t, "truth", shape, false);
    struct kurc_err err;
    int loss = cce ? kurc_emit_cce(t.g, pred, truth, weight, "loss", &err)
                   : kurc_emit_mse(t.g, pred, truth, weight, "loss", &err);
    assert_true(loss >= 0);
    og_loss(&t, loss);
    og_ready(&t, batch);
    t.x->loss_scale = 1.0f / (float)batch;
    og_fill(&t, pred, seed, cce ? 0.2f : -1.0f, 1.0f);
    og_fill(&t, truth, seed + 1, cce ? 0.0f : -1.0f, 1.0f);
    kurc_exec_forward(t.x);
    int64_t cols = shape.dim[shape.ndim - 1], rows = kurc_shape_numel(&shape) / cols;
    float want[8];
    for (int64_t s = 0; s < batch; s++) {
        double sum = 0;
        for (int64_t r = 0; r < rows; r++) {
            int64_t at = (s * rows + r) * cols;
            sum += ref_row_loss(cce, og_value(&t, pred) + at, og_value(&t, truth) + at, cols);
        }
        want[s] = (float)(sum / (double)rows);
    }
    check_close(og_value(&t, loss), want, batch, FWD_TOL, cce ? "cce forward" : "mse forward");
    char what[64];
    snprintf(what, sizeof what, "%s %lld rows pred", cce ? "cce" : "mse", (long long)rows);
    check_grad(&t, pred, what);
    og_free(&t);
}

static void test_losses(void **state) {
    (void)state;
    for (int cce = 0; cce < 2; cce++) {
        loss_case(cce, SHAPE(3, 5), 1800 + (uint64_t)cce);
        loss_case(cce, SHAPE(5), 1810 + (uint64_t)cce);
        loss_case(cce, SHAPE(2, 2, 4), 1820 + (uint64_t)cce);
    }
}

/* ------------------------------------------------------------------------
 * folding (Kur's `parallel`): ops inside fold/unfold
 * ------------------------------------------------------------------------ */

/* Emits the op(s) of a case on x, declaring its own parameters. */
typedef int (*emit_fn)(struct og *t, int x);

static int param_of(struct og *t, const char *name, struct kurc_shape s) {
    return og_param(t, name, s, true);
}

/* x has the per-slice shape (4, 3) in every case. */
static int e_dense(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_dense(t->g, x, param_of(t, "w", SHAPE(3, 5)), param_of(t, "b", SHAPE(5)),
                           "dense", &err);
}
static int e_conv(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_conv(t->g, x, param_of(t, "w", SHAPE(2, 3, 2)), param_of(t, "b", SHAPE(2)),
                          (int64_t[]){2}, true, "conv", &err);
}
static int e_deconv(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_conv_transpose(t->g, x, param_of(t, "w", SHAPE(3, 2, 3)),
                                    param_of(t, "b", SHAPE(2)), (int64_t[]){2}, false, "deconv",
                                    &err);
}
static int e_pool(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_pool(t->g, x, KURC_POOL_MAX, 1, (int64_t[]){2}, (int64_t[]){2}, true, "pool",
                          &err);
}
static int e_avgpool(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_pool(t->g, x, KURC_POOL_AVERAGE, 1, (int64_t[]){3}, (int64_t[]){1}, true,
                          "pool", &err);
}
static int e_tanh(struct og *t, int x) {
    return kurc_emit_activation(t->g, x, KURC_ACT_TANH, 0, "tanh");
}
static int e_softmax(struct og *t, int x) {
    return kurc_emit_softmax(t->g, x, false, "softmax");
}
static int e_square(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_mul(t->g, x, x, "square", &err);
}
static int e_double(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_add(t->g, x, kurc_emit_scale(t->g, x, 0.5f, "half"), "sum", &err);
}
static int e_reshape(struct og *t, int x) {
    struct kurc_err err;
    struct kurc_shape s = SHAPE(2, 6);
    return kurc_emit_reshape(t->g, x, &s, "reshape", &err);
}
static int e_transpose(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_transpose(t->g, x, (int[]){1, 0}, "transpose", &err);
}
static int e_concat(struct og *t, int x) {
    struct kurc_err err;
    int tx = kurc_emit_activation(t->g, x, KURC_ACT_TANH, 0, "tanh");
    return kurc_emit_concat(t->g, (int[]){x, tx, x}, 3, 0, "concat", &err);
}
static int e_slice(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_slice(t->g, x, 0, 1, 2, "slice", &err);
}
static int e_repeat(struct og *t, int x) {
    return kurc_emit_repeat(t->g, x, 2, "repeat");
}
static int e_reduce(struct og *t, int x) {
    return kurc_emit_reduce(t->g, x, true, "reduce");
}
static int e_dropout(struct og *t, int x) {
    return kurc_emit_dropout(t->g, x, 0.3f, 5, "dropout");
}
static int e_batchnorm(struct og *t, int x) {
    struct kurc_err err;
    return kurc_emit_batchnorm(t->g, x, param_of(t, "gamma", SHAPE(3)),
                               param_of(t, "beta", SHAPE(3)), -1, 1e-3f, "bn", &err);
}

static void fill_params(struct og *t, uint64_t seed) {
    for (size_t i = 0; i < t->g->n_tensors; i++)
        if (t->g->tensors[i].kind == KURC_TENSOR_PARAM)
            og_fill(t, (int)i, seed + (uint64_t)t->g->tensors[i].param, -1, 1);
}

/* fold -> op -> unfold on x (T, 4, 3) against the same op on (4, 3) with T
 * times the batch (the same memory), then finite differences through the
 * folded graph. */
static void fold_case(const char *name, emit_fn emit, uint64_t seed) {
    const int64_t slices = 3, batch = 2;
    struct kurc_err err;
    struct og f, r;
    og_init(&f);
    int fx = og_input(&f, "x", SHAPE(slices, 4, 3), true);
    int folded = kurc_emit_fold(f.g, fx, "fold", &err);
    assert_true(folded >= 0);
    assert_int_equal(f.g->tensors[folded].fold, slices);
    f.g->fold = slices; /* as `parallel` builds its children */
    int fy = emit(&f, folded);
    assert_true(fy >= 0);
    assert_int_equal(f.g->tensors[fy].fold, slices);
    f.g->fold = 1;
    int fu = kurc_emit_unfold(f.g, fy, slices, "unfold");
    assert_int_equal(f.g->tensors[fu].fold, 1);
    assert_int_equal(kurc_graph_shape(f.g, fu)->dim[0], slices);
    og_objective(&f, fu);
    og_ready(&f, batch);
    f.x->sample_base = 3;

    og_init(&r);
    int rx = og_input(&r, "x", SHAPE(4, 3), true);
    int ry = emit(&r, rx);
    og_objective(&r, ry);
    og_ready(&r, batch * slices);
    r.x->sample_base = 3 * slices;

    og_fill_distinct(&f, fx, seed, 0.05f); /* |x| <= 1.8: h <= 0.018 */
    fill_params(&f, seed + 1);
    fill_params(&r, seed + 1);
    assert_int_equal(og_count(&f, fx), og_count(&r, rx));
    assert_int_equal(og_count(&f, fu), og_count(&r, ry));
    memcpy(og_value(&r, rx), og_value(&f, fx), (size_t)og_count(&f, fx) * sizeof(float));
    memcpy(og_value(&r, r.r), og_value(&f, f.r), (size_t)og_count(&f, fu) * sizeof(float));

    og_backward(&f);
    og_backward(&r);
    char what[96];
    snprintf(what, sizeof what, "fold %s forward", name);
    check_close(og_value(&f, fu), og_value(&r, ry), og_count(&f, fu), 1e-6, what);
    snprintf(what, sizeof what, "fold %s dx", name);
    check_close(kurc_exec_grad(f.x, fx), kurc_exec_grad(r.x, rx), og_count(&f, fx), 1e-6, what);
    check_close(f.p.grads, r.p.grads, (int64_t)f.p.total, 1e-6, "fold parameter gradients");

    snprintf(what, sizeof what, "fold %s x", name);
    check_grad(&f, fx, what);
    for (size_t i = 0; i < f.g->n_tensors; i++)
        if (f.g->tensors[i].kind == KURC_TENSOR_PARAM) {
            snprintf(what, sizeof what, "fold %s %s", name, f.g->tensors[i].name);
            check_grad(&f, (int)i, what);
        }
    og_free(&f);
    og_free(&r);
}

static void test_fold(void **state) {
    (void)state;
    static const struct {
        const char *name;
        emit_fn emit;
    } cases[] = {
        {"dense", e_dense},           {"conv", e_conv},
        {"conv_transpose", e_deconv}, {"max pool", e_pool},
        {"average pool", e_avgpool},  {"tanh", e_tanh},
        {"softmax", e_softmax},       {"x*x", e_square},
        {"x+0.5x", e_double},         {"reshape", e_reshape},
        {"transpose", e_transpose},   {"concat", e_concat},
        {"slice", e_slice},           {"repeat", e_repeat},
        {"reduce", e_reduce},         {"dropout", e_dropout},
        {"batchnorm", e_batchnorm},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        fold_case(cases[i].name, cases[i].emit, 1900 + 10 * i);
}

/* Two levels of folding: (T1, T2, 3) -> dense per slice -> (T1, T2, 5)
 * equals the dense layer on the 3-D input directly. */
static void test_fold_nested(void **state) {
    (void)state;
    const int64_t t1 = 3, t2 = 2;
    struct kurc_err err;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(t1, t2, 3), true);
    int w = og_param(&t, "w", SHAPE(3, 5), true);
    int b = og_param(&t, "b", SHAPE(5), true);
    int f1 = kurc_emit_fold(t.g, x, "fold1", &err);
    t.g->fold = t1;
    int f2 = kurc_emit_fold(t.g, f1, "fold2", &err);
    assert_int_equal(t.g->tensors[f2].fold, t1 * t2);
    t.g->fold = t1 * t2;
    int y = kurc_emit_dense(t.g, f2, w, b, "dense", &err);
    t.g->fold = t1;
    int u2 = kurc_emit_unfold(t.g, y, t2, "unfold2");
    t.g->fold = 1;
    int u1 = kurc_emit_unfold(t.g, u2, t1, "unfold1");
    int direct = kurc_emit_dense(t.g, x, w, b, "direct", &err);
    assert_true(kurc_shape_equal(kurc_graph_shape(t.g, u1), kurc_graph_shape(t.g, direct)));
    og_objective(&t, u1);
    og_ready(&t, 2);
    og_fill(&t, x, 2100, -1, 1);
    fill_params(&t, 2101);
    kurc_exec_forward(t.x);
    check_close(og_value(&t, u1), og_value(&t, direct), og_count(&t, direct), 1e-6,
                "nested fold dense");
    check_grad(&t, x, "nested fold x");
    check_grad(&t, w, "nested fold w");
    check_grad(&t, b, "nested fold b");
    og_free(&t);
}

/* A loss inside a fold: one loss per (sample, slice), as a `parallel`
 * child computing its own loss would make. */
static void test_fold_loss(void **state) {
    (void)state;
    const int64_t slices = 2, batch = 3;
    for (int cce = 0; cce < 2; cce++) {
        struct kurc_err err;
        struct og t;
        og_init(&t);
        int x = og_input(&t, "x", SHAPE(slices, 3, 5), true);
        int truth = og_input(&t, "truth", SHAPE(slices, 3, 5), false);
        int fx = kurc_emit_fold(t.g, x, "fold", &err);
        int ft = kurc_emit_fold(t.g, truth, "fold truth", &err);
        t.g->fold = slices;
        int loss = cce ? kurc_emit_cce(t.g, fx, ft, 0.5f, "loss", &err)
                       : kurc_emit_mse(t.g, fx, ft, 0.5f, "loss", &err);
        t.g->fold = 1;
        og_loss(&t, loss);
        og_ready(&t, batch);
        og_fill(&t, x, 2200 + (uint64_t)cce, cce ? 0.2f : -1.0f, 1.0f);
        og_fill(&t, truth, 2210 + (uint64_t)cce, 0, 1);
        kurc_exec_forward(t.x);
        float want[16];
        int64_t n = og_count(&t, loss);
        assert_int_equal(n, batch * slices);
        for (int64_t s = 0; s < n; s++) {
            double sum = 0;
            for (int64_t row = 0; row < 3; row++)
                sum += ref_row_loss(cce, og_value(&t, x) + (s * 3 + row) * 5,
                                    og_value(&t, truth) + (s * 3 + row) * 5, 5);
            want[s] = (float)(sum / 3);
        }
        check_close(og_value(&t, loss), want, n, FWD_TOL, "loss inside a fold");
        check_grad(&t, x, cce ? "cce inside a fold" : "mse inside a fold");
        og_free(&t);
    }
}

/* ------------------------------------------------------------------------
 * the executor: accumulation, frozen parameters
 * ------------------------------------------------------------------------ */

/* x feeds two dense layers whose outputs are added, and a kernel is shared
 * by two layers: both gradients are sums over the uses. */
static void test_accumulation(void **state) {
    (void)state;
    struct kurc_err err;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(5), true);
    int x2 = og_input(&t, "x2", SHAPE(4), true);
    int w1 = og_param(&t, "w1", SHAPE(5, 4), true);
    int b1 = og_param(&t, "b1", SHAPE(4), true);
    int w2 = og_param(&t, "w2", SHAPE(5, 4), true);
    int shared = og_param(&t, "shared", SHAPE(4, 4), true);
    int h1 = kurc_emit_dense(t.g, x, w1, b1, "h1", &err);
    int h2 = kurc_emit_dense(t.g, x, w2, -1, "h2", &err);
    int h = kurc_emit_activation(t.g, kurc_emit_add(t.g, h1, h2, "sum", &err), KURC_ACT_TANH, 0,
                                 "tanh");
    int y1 = kurc_emit_dense(t.g, h, shared, -1, "y1", &err);
    int y2 = kurc_emit_dense(t.g, x2, shared, -1, "y2", &err);
    int y = kurc_emit_mul(t.g, y1, y2, "y", &err);
    og_objective(&t, y);
    og_ready(&t, 3);
    og_fill(&t, x, 2300, -1, 1);
    og_fill(&t, x2, 2301, -1, 1);
    fill_params(&t, 2302);
    check_grad(&t, x, "accumulation x");
    check_grad(&t, x2, "accumulation x2");
    check_grad(&t, w1, "accumulation w1");
    check_grad(&t, b1, "accumulation b1");
    check_grad(&t, w2, "accumulation w2");
    check_grad(&t, shared, "accumulation shared kernel");
    og_free(&t);
}

static void fill_grad(struct og *t, int param_tensor, float v) {
    const struct kurc_param *q = &t->p.items[t->g->tensors[param_tensor].param];
    for (int64_t i = 0; i < q->numel; i++)
        t->p.grads[q->offset + (size_t)i] = v;
}

static void assert_grad_is(struct og *t, int param_tensor, float v) {
    const struct kurc_param *q = &t->p.items[t->g->tensors[param_tensor].param];
    for (int64_t i = 0; i < q->numel; i++)
        assert_true(t->p.grads[q->offset + (size_t)i] == v);
}

/* Frozen (trainable: false) parameters have no gradient: kurc_exec_grad
 * is NULL, the ops skip them (their gradient memory is left alone) and
 * still compute the others. */
static void test_frozen(void **state) {
    (void)state;
    struct kurc_err err;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(6, 2), true);
    int w = og_param(&t, "w", SHAPE(2, 3), false);
    int b = og_param(&t, "b", SHAPE(3), true);
    int cw = og_param(&t, "cw", SHAPE(3, 3, 2), false);
    int cb = og_param(&t, "cb", SHAPE(2), false);
    int gamma = og_param(&t, "gamma", SHAPE(2), false);
    int beta = og_param(&t, "beta", SHAPE(2), false);
    int table = og_param(&t, "table", SHAPE(4, 2), false);
    int h = kurc_emit_dense(t.g, x, w, b, "dense", &err);
    h = kurc_emit_conv(t.g, h, cw, cb, (int64_t[]){1}, true, "conv", &err);
    h = kurc_emit_batchnorm(t.g, h, gamma, beta, -1, 1e-3f, "bn", &err);
    /* a branch with nothing to differentiate: frozen table, plain index */
    int index = og_input(&t, "index", SHAPE(6), false);
    int e = kurc_emit_gather(t.g, index, table, "embed", &err);
    assert_false(t.g->tensors[e].needs_grad);
    int y = kurc_emit_add(t.g, h, e, "y", &err);
    assert_true(y >= 0 && t.g->tensors[y].needs_grad);
    og_objective(&t, y);
    og_ready(&t, 3);
    og_fill(&t, x, 2400, -1, 1);
    fill_params(&t, 2401);
    og_fill(&t, gamma, 2402, 0.5f, 1.5f);
    for (int64_t i = 0; i < og_count(&t, index); i++)
        og_value(&t, index)[i] = (float)(i % 4);

    int frozen[] = {w, cw, cb, gamma, beta, table};
    for (size_t i = 0; i < sizeof frozen / sizeof frozen[0]; i++) {
        assert_null(kurc_exec_grad(t.x, frozen[i]));
        assert_false(t.g->tensors[frozen[i]].needs_grad);
    }
    assert_null(kurc_exec_grad(t.x, e));
    kurc_params_zero_grads(&t.p);
    for (size_t i = 0; i < sizeof frozen / sizeof frozen[0]; i++)
        fill_grad(&t, frozen[i], 42.0f);
    kurc_exec_forward(t.x);
    kurc_exec_backward(t.x);
    for (size_t i = 0; i < sizeof frozen / sizeof frozen[0]; i++)
        assert_grad_is(&t, frozen[i], 42.0f);
    check_grad(&t, x, "frozen: x");
    check_grad(&t, b, "frozen: b");
    og_free(&t);
}

static int report(void **state) {
    (void)state;
    fprintf(stderr,
            "worst relative gradient error over all checks: %.3e (tolerance %.0e, floor %.0e, "
            "h %.0e)\n",
            worst_seen, TOL, FLOOR, H);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense),          cmocka_unit_test(test_conv),
        cmocka_unit_test(test_conv_transpose), cmocka_unit_test(test_conv_adjoint),
        cmocka_unit_test(test_pool),           cmocka_unit_test(test_activations),
        cmocka_unit_test(test_softmax),        cmocka_unit_test(test_arith),
        cmocka_unit_test(test_reshape),        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_concat),         cmocka_unit_test(test_slice),
        cmocka_unit_test(test_repeat),         cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_gather),         cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_batchnorm),      cmocka_unit_test(test_losses),
        cmocka_unit_test(test_fold),           cmocka_unit_test(test_fold_nested),
        cmocka_unit_test(test_fold_loss),      cmocka_unit_test(test_accumulation),
        cmocka_unit_test(test_frozen),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
