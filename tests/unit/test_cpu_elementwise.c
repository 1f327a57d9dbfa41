/* test_cpu_elementwise.c - the CPU backend's element-wise kernels against
 * known answers (computed in float64 with PyTorch 1.13 / NumPy 1.24 and
 * pasted here), central finite differences, naive index loops and the
 * accumulate contract of every backward. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kerneltest.h"

static double weighted_sum(const float *y, const float *w, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)w[i] * y[i];
    return s;
}

static void test_fill(void **state) {
    (void)state;
    float x[7] = {0};
    cpu_fill(NULL, x, 6, 2.5f);
    for (int i = 0; i < 6; i++)
        assert_true(x[i] == 2.5f);
    assert_true(x[6] == 0.0f);
    cpu_fill(NULL, x, 0, 1.0f);
    assert_true(x[0] == 2.5f);
}

/* ---- activations ------------------------------------------------------ */

#define ACT_POINTS 11
static const float act_x[ACT_POINTS] = {-100, -20, -3, -1, -0.5f, 0, 0.5f, 1, 3, 20, 100};

/* alpha for ELU (0.7) and leaky relu (0.3); the others ignore it. */
static float act_alpha(enum kurc_act act) {
    return act == KURC_ACT_ELU ? 0.7f : 0.3f;
}

/* act(x) at act_x, float64 (PyTorch; hard_sigmoid and softplus NumPy). */
static const struct {
    enum kurc_act act;
    double y[ACT_POINTS];
} act_values[] = {
    {KURC_ACT_LINEAR, {-100, -20, -3, -1, -0.5, 0, 0.5, 1, 3, 20, 100}},
    {KURC_ACT_RELU, {0, 0, 0, 0, 0, 0, 0.5, 1, 3, 20, 100}},
    {KURC_ACT_TANH,
     {-1, -1, -0.99505475368673046, -0.76159415595576485, -0.46211715726000974, 0,
      0.46211715726000974, 0.76159415595576485, 0.99505475368673046, 1, 1}},
    {KURC_ACT_SIGMOID,
     {3.7200759760208356e-44, 2.0611536181902037e-09, 0.047425873177566781, 0.2689414213699951,
      0.37754066879814541, 0.5, 0.62245933120185459, 0.7310585786300049, 0.95257412682243336,
      0.99999999793884631, 1}},
    {KURC_ACT_HARD_SIGMOID, {0, 0, 0, 0.3, 0.4, 0.5, 0.6, 0.7, 1, 1, 1}},
    {KURC_ACT_SOFTPLUS,
     {3.7200759760208361e-44, 2.0611536203143808e-09, 0.048587351573742062, 0.31326168751822286,
      0.47407698418010669, 0.69314718055994529, 0.97407698418010669, 1.3132616875182228,
      3.0485873515737421, 20.000000002061153, 100}},
    {KURC_ACT_SOFTSIGN,
     {-0.99009900990099009, -0.95238095238095233, -0.75, -0.5, -0.33333333333333331, 0,
      0.33333333333333331, 0.5, 0.75, 0.95238095238095233, 0.99009900990099009}},
    {KURC_ACT_ELU,
     {-0.69999999999999996, -0.69999999855719242, -0.6651490521424952, -0.44248439117999033,
      -0.27542853820115659, 0, 0.5, 1, 3, 20, 100}},
    {KURC_ACT_SELU,
     {-1.7580993408473766, -1.758099337223664, -1.6705687287671118, -1.1113307378125625,
      -0.69175818780287135, 0, 0.52535049367774023, 1.0507009873554805, 3.1521029620664414,
      21.014019747109607, 105.07009873554804}},
    {KURC_ACT_LEAKY_RELU, {-30, -6, -0.9, -0.3, -0.15, 0, 0.5, 1, 3, 20, 100}},
};

/* act'(x) at act_x (PyTorch autograd in float64).  At the kinks: relu'(0)
 * = 0, leaky'(0) = alpha, elu'(0) = alpha, hard_sigmoid' = 0 outside
 * (-2.5, 2.5). */
static const struct {
    enum kurc_act act;
    double d[ACT_POINTS];
} act_derivatives[] = {
    {KURC_ACT_LINEAR, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
    {KURC_ACT_RELU, {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}},
    {KURC_ACT_TANH,
     {0, 0, 0.0098660371654401662, 0.41997434161402614, 0.7864477329659274, 1, 0.7864477329659274,
      0.41997434161402614, 0.0098660371654401662, 0, 0}},
    {KURC_ACT_SIGMOID,
     {3.7200759760208356e-44, 2.0611536139418496e-09, 0.045176659730912137, 0.19661193324148185,
      0.23500371220159449, 0.25, 0.23500371220159449, 0.19661193324148185, 0.045176659730911999,
      2.0611536879193953e-09, 0}},
    {KURC_ACT_HARD_SIGMOID, {0, 0, 0, 0.2, 0.2, 0.2, 0.2, 0.2, 0, 0, 0}},
    {KURC_ACT_SOFTPLUS,
     {3.7200759760208361e-44, 2.0611536181902033e-09, 0.047425873177566788, 0.2689414213699951,
      0.37754066879814546, 0.5, 0.62245933120185459, 0.7310585786300049, 0.95257412682243325,
      0.99999999793884642, 1}},
    {KURC_ACT_SOFTSIGN,
     {9.8029604940692502e-05, 0.0022675736961451226, 0.0625, 0.25, 0.44444444444444442, 1,
      0.44444444444444442, 0.25, 0.0625, 0.0022675736961451226, 9.8029604940692502e-05}},
    {KURC_ACT_ELU,
     {2.6040531832145849e-44, 1.4428075357069904e-09, 0.034850947857504762, 0.25751560882000962,
      0.42457146179884336, 0.7, 1, 1, 1, 1, 1}},
    {KURC_ACT_SELU,
     {6.5402631213443932e-44, 3.6237128249944113e-09, 0.087530612080264872, 0.64676860303481398,
      1.0663411530445053, 1.7580993408473766, 1.0507009873554805, 1.0507009873554805,
      1.0507009873554805, 1.0507009873554805, 1.0507009873554805}},
    {KURC_ACT_LEAKY_RELU, {0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 1, 1, 1, 1, 1}},
};

/* Every activation's forward and derivative at negative, zero and large
 * inputs.  Forward values are relative to 2e-6 (1e-30 absolute, for the
 * underflowing tails).  tanh' and sigmoid' come from the float output, as
 * in Keras: 1 - y^2 loses about log2(1 / (1 - y^2)) bits (3.8e-6 relative
 * at x = 3), and the output saturates to +-1 or 1 for large x, so the
 * derivatives are checked to 2e-5 relative or 1e-8 absolute. */
static void test_act_known_values(void **state) {
    (void)state;
    assert_int_equal(sizeof act_values / sizeof act_values[0], KURC_ACT_COUNT);
    for (int k = 0; k < KURC_ACT_COUNT; k++) {
        enum kurc_act act = act_values[k].act;
        assert_int_equal(act_derivatives[k].act, act);
        float y[ACT_POINTS], dy[ACT_POINTS], dx[ACT_POINTS] = {0};
        cpu_act_forward(NULL, act, act_alpha(act), ACT_POINTS, act_x, y);
        char what[32];
        snprintf(what, sizeof what, "act %d forward", k);
        kt_expect_close(what, y, act_values[k].y, ACT_POINTS, 2e-6, 1e-30);
        for (int i = 0; i < ACT_POINTS; i++)
            dy[i] = 1.0f;
        cpu_act_backward(NULL, act, act_alpha(act), ACT_POINTS, act_x, y, dy, dx);
        snprintf(what, sizeof what, "act %d backward", k);
        kt_expect_close(what, dx, act_derivatives[k].d, ACT_POINTS, 2e-5, 1e-8);
    }
}

/* Forward in place (y == x) gives the same values. */
static void test_act_in_place(void **state) {
    (void)state;
    for (int k = 0; k < KURC_ACT_COUNT; k++) {
        float y[ACT_POINTS], x[ACT_POINTS];
        memcpy(x, act_x, sizeof x);
        cpu_act_forward(NULL, (enum kurc_act)k, 0.5f, ACT_POINTS, act_x, y);
        cpu_act_forward(NULL, (enum kurc_act)k, 0.5f, ACT_POINTS, x, x);
        assert_memory_equal(x, y, sizeof x);
    }
}

struct act_ctx {
    enum kurc_act act;
    float alpha;
    int64_t n;
    const float *w;
    float *y;
};

static double act_objective(const float *x, void *p) {
    struct act_ctx *c = p;
    cpu_act_forward(NULL, c->act, c->alpha, c->n, x, c->y);
    return weighted_sum(c->y, c->w, c->n);
}

/* Central differences (h = 1e-2) of sum w act(x) for x in [-4, 4] kept 0.1
 * away from the kinks (0, +-2.5): relative error below 1e-3 (floor 1e-2).
 * Then the accumulate contract: dx starting from dx0 ends at dx0 + grad. */
static void test_act_gradients(void **state) {
    (void)state;
    enum { N = 64 };
    for (int k = 0; k < KURC_ACT_COUNT; k++) {
        float x[N], y[N], w[N], grad[N] = {0}, dx[N], dx0[N];
        tu_fill_uniform(x, N, 100 + (uint64_t)k, -4.0f, 4.0f);
        for (int i = 0; i < N; i++) {
            float a = fabsf(x[i]);
            if (a < 0.1f || fabsf(a - 2.5f) < 0.1f)
                x[i] += 0.25f;
        }
        tu_fill_uniform(w, N, 200 + (uint64_t)k, -1.0f, 1.0f);
        struct act_ctx ctx = {(enum kurc_act)k, act_alpha((enum kurc_act)k), N, w, y};
        act_objective(x, &ctx);
        cpu_act_backward(NULL, ctx.act, ctx.alpha, N, x, y, w, grad);
        char what[32];
        snprintf(what, sizeof what, "activation %d", k);
        kt_expect_gradient(what, x, N, grad, 1e-2, act_objective, &ctx, 1e-3, 1e-2);

        tu_fill_uniform(dx0, N, 300, -1.0f, 1.0f);
        memcpy(dx, dx0, sizeof dx);
        act_objective(x, &ctx);
        cpu_act_backward(NULL, ctx.act, ctx.alpha, N, x, y, w, dx);
        double want[N];
        for (int i = 0; i < N; i++)
            want[i] = (double)dx0[i] + grad[i];
        snprintf(what, sizeof what, "activation %d accumulate", k);
        kt_expect_close(what, dx, want, N, 1e-6, 1e-7);
    }
}

/* ---- softmax ---------------------------------------------------------- */

static const float softmax_x[4][3] = {
    {1000, 1001, 1002}, {-1, 0, 1}, {-1000, 0, 1000}, {-50, -50, -50}};
static const double softmax_y[4][3] = {
    {0.090030573170380448, 0.24472847105479761, 0.66524095577482178},
    {0.090030573170380448, 0.24472847105479761, 0.66524095577482178},
    {0, 0, 1},
    {0.33333333333333331, 0.33333333333333331, 0.33333333333333331}};
static const double log_softmax_y[4][3] = {
    {-2.4076059644443806, -1.4076059644443804, -0.40760596444438041},
    {-2.4076059644443806, -1.4076059644443804, -0.40760596444438041},
    {-2000, -1000, 0},
    {-1.0986122886681098, -1.0986122886681098, -1.0986122886681098}};

/* Rows with huge, opposite and equal values (PyTorch float64 values),
 * relative 1e-6 (the log row near 1000 is exact to 3e-7 of 2.4). */
static void test_softmax_known_values(void **state) {
    (void)state;
    float y[12];
    cpu_softmax_forward(NULL, false, 4, 3, &softmax_x[0][0], y);
    kt_expect_close("softmax", y, &softmax_y[0][0], 12, 1e-6, 1e-30);
    cpu_softmax_forward(NULL, true, 4, 3, &softmax_x[0][0], y);
    kt_expect_close("log_softmax", y, &log_softmax_y[0][0], 12, 1e-6, 1e-30);

    float x[12];
    memcpy(x, softmax_x, sizeof x);
    cpu_softmax_forward(NULL, true, 4, 3, x, x);
    assert_memory_equal(x, y, sizeof x);
}

struct softmax_ctx {
    bool log;
    int64_t rows, cols;
    const float *w;
    float *y;
};

static double softmax_objective(const float *x, void *p) {
    struct softmax_ctx *c = p;
    cpu_softmax_forward(NULL, c->log, c->rows, c->cols, x, c->y);
    return weighted_sum(c->y, c->w, c->rows * c->cols);
}

/* h = 1e-2 on x in [-3, 3]: relative error below 1e-3 (floor 1e-2); then
 * accumulation onto a non-zero dx. */
static void test_softmax_gradients(void **state) {
    (void)state;
    enum { R = 4, C = 7, N = R * C };
    for (int lg = 0; lg < 2; lg++) {
        float x[N], y[N], w[N], grad[N] = {0}, dx[N], dx0[N];
        tu_fill_uniform(x, N, 11, -3.0f, 3.0f);
        tu_fill_uniform(w, N, 12, -1.0f, 1.0f);
        struct softmax_ctx ctx = {lg == 1, R, C, w, y};
        softmax_objective(x, &ctx);
        cpu_softmax_backward(NULL, ctx.log, R, C, y, w, grad);
        kt_expect_gradient(lg ? "log_softmax" : "softmax", x, N, grad, 1e-2, softmax_objective,
                           &ctx, 1e-3, 1e-2);

        tu_fill_uniform(dx0, N, 13, -1.0f, 1.0f);
        memcpy(dx, dx0, sizeof dx);
        softmax_objective(x, &ctx);
        cpu_softmax_backward(NULL, ctx.log, R, C, y, w, dx);
        double want[N];
        for (int i = 0; i < N; i++)
            want[i] = (double)dx0[i] + grad[i];
        kt_expect_close("softmax accumulate", dx, want, N, 1e-6, 1e-7);
    }
}

/* ---- arithmetic ------------------------------------------------------- */

static void test_add_mul_axpby(void **state) {
    (void)state;
    float a[5] = {1, -2, 3.5f, 0, 1e30f}, b[5] = {0.5f, 2, -1, 4, 1e30f}, y[5];
    cpu_add(NULL, 5, a, b, y);
    const double sum[5] = {1.5, 0, 2.5, 4, 2e30};
    kt_expect_close("add", y, sum, 5, 1e-7, 0);
    cpu_mul(NULL, 5, a, b, y);
    const double prod[5] = {0.5, -4, -3.5, 0, INFINITY};
    for (int i = 0; i < 4; i++)
        assert_true(y[i] == (float)prod[i]);
    assert_true(isinf(y[4]));

    /* In place: a = a + b. */
    float c[5];
    memcpy(c, a, sizeof c);
    cpu_add(NULL, 5, c, b, c);
    kt_expect_close("add in place", c, sum, 5, 1e-7, 0);

    /* beta = 0 overwrites whatever y held, NaN included. */
    float z[5] = {NAN, NAN, INFINITY, -INFINITY, NAN};
    cpu_axpby(NULL, 5, 2.0f, a, 0.0f, z);
    const double twice[5] = {2, -4, 7, 0, 2e30};
    kt_expect_close("axpby beta 0", z, twice, 5, 1e-7, 0);
    cpu_axpby(NULL, 5, -1.0f, b, 1.0f, z);
    const double diff[5] = {1.5, -6, 8, -4, 1e30};
    kt_expect_close("axpby beta 1", z, diff, 5, 1e-7, 0);
    cpu_axpby(NULL, 5, 0.5f, a, -2.0f, z);
    const double mixed[5] = {-2.5, 11, -14.25, 8, -1.5e30};
    kt_expect_close("axpby", z, mixed, 5, 1e-7, 0);
}

/* add_chain is add, k times in turn (b + a[0], then a[1] + that, ...),
 * bitwise, across its blocks (n = 2500) and written over a[k-1]; the
 * values differ in magnitude so that another order would round otherwise
 * (checked: the reverse order differs somewhere). */
static void test_add_chain(void **state) {
    (void)state;
    enum { N = 2500, K = 4 };
    static const float scale[K] = {1e8f, 1.0f, -1e8f, 3e-3f};
    float *a[K], *b = kt_alloc_floats(N), *want = kt_alloc_floats(N);
    uint64_t r = 0;
    for (int j = 0; j < K; j++) {
        a[j] = kt_alloc_floats(N);
        for (int64_t i = 0; i < N; i++)
            a[j][i] = scale[j] * kurc_rng_uniform(7, r++);
    }
    for (int64_t i = 0; i < N; i++)
        b[i] = kurc_rng_uniform(7, r++) - 0.5f;
    int reverse_differs = 0;
    for (int64_t i = 0; i < N; i++) {
        volatile float v = b[i], w = a[K - 1][i];
        for (int j = 0; j < K; j++)
            v = a[j][i] + v;
        for (int j = K - 1; j-- > 0;)
            w = a[j][i] + w;
        w = w + b[i];
        want[i] = v;
        reverse_differs += v != w;
    }
    assert_true(reverse_differs > 0);
    const float *chain[K] = {a[0], a[1], a[2], a[3]};
    float *y = kt_alloc_floats(N);
    cpu_add_chain(NULL, N, chain, K, b, y);
    assert_memory_equal(y, want, N * sizeof *y);
    cpu_add_chain(NULL, N, chain, K, b, a[K - 1]); /* over the last one */
    assert_memory_equal(a[K - 1], want, N * sizeof *y);
    for (int j = 0; j < K; j++)
        free(a[j]);
    free(b);
    free(want);
    free(y);
}

struct mul_ctx {
    int64_t n;
    const float *other, *w;
    float *y;
};

static double mul_objective(const float *x, void *p) {
    struct mul_ctx *c = p;
    cpu_mul(NULL, c->n, x, c->other, c->y);
    return weighted_sum(c->y, c->w, c->n);
}

/* The product is linear in each factor: central differences (h = 1e-2)
 * agree to 1e-4 relative (floor 1e-2); mul_backward accumulates. */
static void test_mul_backward(void **state) {
    (void)state;
    enum { N = 50 };
    float a[N], b[N], w[N], y[N], grad[N];
    tu_fill_uniform(a, N, 21, -2.0f, 2.0f);
    tu_fill_uniform(b, N, 22, -2.0f, 2.0f);
    tu_fill_uniform(w, N, 23, -1.0f, 1.0f);
    cpu_fill(NULL, grad, N, 0.0f);
    cpu_mul_backward(NULL, N, w, b, grad);
    struct mul_ctx ctx = {N, b, w, y};
    kt_expect_gradient("mul", a, N, grad, 1e-2, mul_objective, &ctx, 1e-4, 1e-2);

    float dx[N];
    double want[N];
    cpu_fill(NULL, dx, N, 1.0f);
    cpu_mul_backward(NULL, N, w, b, dx);
    for (int i = 0; i < N; i++)
        want[i] = 1.0 + (double)w[i] * b[i];
    kt_expect_close("mul accumulate", dx, want, N, 1e-6, 1e-7);
}

/* ---- strided copies --------------------------------------------------- */

/* The reference: every index tuple in row-major order, one element at a
 * time. */
static void naive_copy(const struct kurc_strided *v, const float *src, float *dst, bool acc) {
    int64_t total = 1;
    for (int d = 0; d < v->ndim; d++)
        total *= v->dims[d];
    for (int64_t flat = 0; flat < total; flat++) {
        int64_t rem = flat, so = 0, doff = 0;
        for (int d = v->ndim - 1; d >= 0; d--) {
            int64_t i = rem % v->dims[d];
            rem /= v->dims[d];
            so += i * v->src_strides[d];
            doff += i * v->dst_strides[d];
        }
        dst[doff] = acc ? dst[doff] + src[so] : src[so];
    }
}

/* Hand-checked cases: a transpose, a broadcast row, a repeated column, a
 * slice, a concatenation half, and accumulation. */
static void test_copy_strided_cases(void **state) {
    (void)state;
    const float m[6] = {1, 2, 3, 4, 5, 6}; /* 2 x 3 */
    float t[6];
    struct kurc_strided tr = {2, {3, 2}, {1, 3}, {2, 1}};
    cpu_copy_strided(NULL, &tr, m, t, false);
    const float t_want[6] = {1, 4, 2, 5, 3, 6};
    assert_memory_equal(t, t_want, sizeof t);

    const float row[3] = {7, 8, 9};
    float rep[12];
    struct kurc_strided bc = {2, {4, 3}, {0, 1}, {3, 1}};
    cpu_copy_strided(NULL, &bc, row, rep, false);
    for (int i = 0; i < 12; i++)
        assert_true(rep[i] == row[i % 3]);
    struct kurc_strided bc2 = {2, {3, 4}, {1, 0}, {4, 1}};
    cpu_copy_strided(NULL, &bc2, row, rep, false);
    for (int i = 0; i < 12; i++)
        assert_true(rep[i] == row[i / 4]);

    /* Columns 1..2 of a 3 x 4 matrix. */
    const float big[12] = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
    float sl[6];
    struct kurc_strided slice = {2, {3, 2}, {4, 1}, {2, 1}};
    cpu_copy_strided(NULL, &slice, big + 1, sl, false);
    const float sl_want[6] = {1, 2, 11, 12, 21, 22};
    assert_memory_equal(sl, sl_want, sizeof sl);

    /* The second operand of a concatenation along the last axis: a 3 x 2
     * block written into columns 2..3 of a 3 x 4 destination. */
    float cat[12];
    cpu_fill(NULL, cat, 12, -1.0f);
    struct kurc_strided half = {2, {3, 2}, {2, 1}, {4, 1}};
    cpu_copy_strided(NULL, &half, sl_want, cat + 2, false);
    const float cat_want[12] = {-1, -1, 1, 2, -1, -1, 11, 12, -1, -1, 21, 22};
    assert_memory_equal(cat, cat_want, sizeof cat);

    /* Accumulate: the transpose added onto ones; then the sum over rows of
     * m (a destination stride of 0). */
    cpu_fill(NULL, t, 6, 1.0f);
    cpu_copy_strided(NULL, &tr, m, t, true);
    for (int i = 0; i < 6; i++)
        assert_true(t[i] == t_want[i] + 1.0f);
    float colsum[3] = {100, 200, 300};
    struct kurc_strided red = {2, {2, 3}, {3, 1}, {0, 1}};
    cpu_copy_strided(NULL, &red, m, colsum, true);
    const float colsum_want[3] = {105, 207, 309};
    assert_memory_equal(colsum, colsum_want, sizeof colsum);
    float rowsum[2] = {0, 0};
    struct kurc_strided red2 = {2, {2, 3}, {3, 1}, {1, 0}};
    cpu_copy_strided(NULL, &red2, m, rowsum, true);
    assert_true(rowsum[0] == 6.0f && rowsum[1] == 15.0f);

    /* No axes: one element; a zero-length axis: nothing. */
    float one = 3.0f;
    struct kurc_strided scalar = {0, {0}, {0}, {0}};
    cpu_copy_strided(NULL, &scalar, m + 4, &one, false);
    assert_true(one == 5.0f);
    cpu_copy_strided(NULL, &scalar, m + 4, &one, true);
    assert_true(one == 10.0f);
    struct kurc_strided empty = {2, {3, 0}, {1, 1}, {1, 1}};
    cpu_copy_strided(NULL, &empty, m, &one, false);
    assert_true(one == 10.0f);
}

/* A random view: up to 5 axes (some of length 1, some long enough to span
 * several transpose tiles), the source a permuted, padded array with some
 * axes broadcast, the destination a permuted array; with `reduce`, some
 * destination axes have stride 0.  Returns the element counts to allocate. */
static void random_view(uint64_t seed, bool reduce, struct kurc_strided *v, int64_t *src_len,
                        int64_t *dst_len) {
    uint64_t k = 0;
#define RND(n) ((int64_t)(kurc_rng_u64(seed, k++) % (uint64_t)(n)))
    v->ndim = 1 + (int)RND(5);
    for (int d = 0; d < v->ndim; d++)
        v->dims[d] = RND(8) == 0 ? 33 + RND(40) : 1 + RND(6);
    int perm[KURC_MAX_COPY_DIMS];
    for (int side = 0; side < 2; side++) {
        for (int d = 0; d < v->ndim; d++)
            perm[d] = d;
        for (int d = v->ndim - 1; d > 0; d--) {
            int j = (int)RND(d + 1), t = perm[d];
            perm[d] = perm[j];
            perm[j] = t;
        }
        int64_t *strides = side == 0 ? v->src_strides : v->dst_strides;
        int64_t stride = 1;
        for (int d = v->ndim - 1; d >= 0; d--) {
            int axis = perm[d];
            bool zero = side == 0 ? RND(4) == 0 : reduce && RND(3) == 0;
            if (zero) {
                strides[axis] = 0;
                continue;
            }
            strides[axis] = stride;
            stride *= v->dims[axis] + (side == 0 ? RND(3) : 0);
        }
        if (side == 0)
            *src_len = stride;
        else
            *dst_len = stride;
    }
#undef RND
}

/* 300 random views against the naive loop: copies exactly (and leave the
 * elements outside the view alone), accumulations to 1e-5 (a reduction may
 * sum in another order). */
static void test_copy_strided_random(void **state) {
    (void)state;
    for (uint64_t seed = 0; seed < 300; seed++) {
        bool reduce = seed % 3 == 2;
        struct kurc_strided v;
        int64_t ns = 0, nd = 0;
        random_view(seed, reduce, &v, &ns, &nd);
        float *src = malloc((size_t)ns * sizeof *src);
        float *got = malloc((size_t)nd * sizeof *got);
        float *want = malloc((size_t)nd * sizeof *want);
        assert_true(src && got && want);
        tu_fill_uniform(src, ns, seed, -1.0f, 1.0f);
        tu_fill_uniform(got, nd, seed + 1000, -1.0f, 1.0f);
        memcpy(want, got, (size_t)nd * sizeof *want);
        bool acc = reduce || seed % 2 == 1;
        cpu_copy_strided(NULL, &v, src, got, acc);
        naive_copy(&v, src, want, acc);
        if (acc) {
            double err = tu_max_rel_err(got, want, nd, 1.0);
            if (err > 1e-5)
                fail_msg("view %llu (ndim %d): accumulate error %.3g", (unsigned long long)seed,
                         v.ndim, err);
        } else if (memcmp(got, want, (size_t)nd * sizeof *got) != 0) {
            fail_msg("view %llu (ndim %d): copy differs", (unsigned long long)seed, v.ndim);
        }
        free(src);
        free(got);
        free(want);
    }
}

struct copy_ctx {
    const struct kurc_strided *view;
    int64_t dst_len;
    const float *w;
    float *dst;
};

static double copy_objective(const float *src, void *p) {
    struct copy_ctx *c = p;
    cpu_copy_strided(NULL, c->view, src, c->dst, false);
    return weighted_sum(c->dst, c->w, c->dst_len);
}

/* The gradient of a broadcasting transpose is the copy back with the
 * strides swapped, in accumulate mode (a sum over the broadcast axis).
 * Linear, so central differences (h = 1e-2) agree to 1e-4 (floor 1e-2). */
static void test_copy_strided_gradient(void **state) {
    (void)state;
    /* src (3, 4) -> dst (4, 5, 3): dst[i, j, k] = src[k, i] for every j. */
    struct kurc_strided fwd = {3, {4, 5, 3}, {1, 0, 4}, {15, 3, 1}};
    struct kurc_strided bwd = {3, {4, 5, 3}, {15, 3, 1}, {1, 0, 4}};
    float src[12], dst[60], w[60], grad[12];
    tu_fill_uniform(src, 12, 31, -1.0f, 1.0f);
    tu_fill_uniform(w, 60, 32, -1.0f, 1.0f);
    cpu_fill(NULL, grad, 12, 0.0f);
    cpu_copy_strided(NULL, &bwd, w, grad, true);
    struct copy_ctx ctx = {&fwd, 60, w, dst};
    kt_expect_gradient("copy_strided", src, 12, grad, 1e-2, copy_objective, &ctx, 1e-4, 1e-2);
}

/* ---- embedding gather ------------------------------------------------- */

struct gather_ctx {
    int64_t n, width, rows;
    const float *index, *w;
    float *out;
};

static double gather_objective(const float *table, void *p) {
    struct gather_ctx *c = p;
    cpu_gather(NULL, c->n, c->width, c->rows, c->index, table, c->out);
    return weighted_sum(c->out, c->w, c->n * c->width);
}

/* Rows by index (index 4 twice, 2.5 cut to 2; 5, -1 and NaN lie outside
 * the table and read zeros), then the scatter-add gradient against
 * central differences (h = 1e-2, 1e-4 relative, floor 1e-2), which also
 * shows the repeated row summed, the unused row untouched and nothing
 * scattered by the indices outside. */
static void test_gather(void **state) {
    (void)state;
    enum { ROWS = 5, W = 3, N = 7 };
    float table[ROWS * W], out[N * W], w[N * W], grad[ROWS * W];
    for (int i = 0; i < ROWS * W; i++)
        table[i] = (float)(10 * (i / W) + i % W);
    const float index[N] = {4, 0, 5, 4, -1, 2.5f, NAN};
    cpu_gather(NULL, N, W, ROWS, index, table, out);
    const float want[N * W] = {40, 41, 42, 0, 1,  2,  0,  0, 0, 40, 41,
                               42, 0,  0,  0, 20, 21, 22, 0, 0, 0};
    assert_memory_equal(out, want, sizeof out);

    tu_fill_uniform(w, N * W, 41, -1.0f, 1.0f);
    cpu_fill(NULL, grad, ROWS * W, 0.0f);
    cpu_gather_backward(NULL, N, W, ROWS, index, w, grad);
    for (int c = 0; c < W; c++) {
        assert_true(grad[1 * W + c] == 0.0f && grad[3 * W + c] == 0.0f);
        assert_true(grad[4 * W + c] == w[0 * W + c] + w[3 * W + c]);
        assert_true(grad[0 * W + c] == w[1 * W + c] && grad[2 * W + c] == w[5 * W + c]);
    }
    struct gather_ctx ctx = {N, W, ROWS, index, w, out};
    kt_expect_gradient("gather", table, ROWS * W, grad, 1e-2, gather_objective, &ctx, 1e-4, 1e-2);

    float acc[ROWS * W];
    cpu_fill(NULL, acc, ROWS * W, 0.5f);
    cpu_gather_backward(NULL, N, W, ROWS, index, w, acc);
    for (int i = 0; i < ROWS * W; i++)
        assert_true(fabsf(acc[i] - (0.5f + grad[i])) <= 1e-6f);
}

/* ---- dropout ---------------------------------------------------------- */

/* 1e5 draws at rate 0.3: the fraction of zeros within 0.006 of 0.3 (four
 * standard deviations), kept values exactly 1 / (1 - rate), y = x mask
 * exactly, the mask as backend.h defines it (what the CUDA backend must
 * reproduce), the same mask for the same (seed, offset), a different one
 * for another seed, and an offset that shifts the sequence. */
static void test_dropout(void **state) {
    (void)state;
    enum { N = 100000 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    float *mask = malloc(N * sizeof *mask), *mask2 = malloc(N * sizeof *mask2);
    assert_true(x && y && mask && mask2);
    tu_fill_uniform(x, N, 51, -2.0f, 2.0f);
    const float rate = 0.3f, keep = 1.0f / (1.0f - rate);
    cpu_dropout_forward(NULL, N, rate, 1234, 0, x, y, mask);
    int64_t zeros = 0;
    for (int64_t i = 0; i < N; i++) {
        assert_true(mask[i] == 0.0f || mask[i] == keep);
        assert_true(y[i] == x[i] * mask[i]);
        float want = kurc_rng_uniform(1234, (uint64_t)i) >= rate ? keep : 0.0f;
        assert_true(mask[i] == want);
        zeros += mask[i] == 0.0f;
    }
    double frac = (double)zeros / N;
    if (fabs(frac - 0.3) > 0.006)
        fail_msg("fraction of zeros %.5f, want 0.3", frac);

    cpu_dropout_forward(NULL, N, rate, 1234, 0, x, y, mask2);
    assert_memory_equal(mask, mask2, N * sizeof *mask);
    cpu_dropout_forward(NULL, N, rate, 1235, 0, x, y, mask2);
    assert_true(memcmp(mask, mask2, N * sizeof *mask) != 0);
    cpu_dropout_forward(NULL, N - 10, rate, 1234, 10, x, y, mask2);
    assert_memory_equal(mask + 10, mask2, (N - 10) * sizeof *mask);

    cpu_dropout_forward(NULL, N, 0.0f, 1234, 0, x, y, mask);
    for (int64_t i = 0; i < N; i++)
        assert_true(mask[i] == 1.0f && y[i] == x[i]);
    free(x);
    free(y);
    free(mask);
    free(mask2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_act_known_values),
        cmocka_unit_test(test_act_in_place),
        cmocka_unit_test(test_act_gradients),
        cmocka_unit_test(test_softmax_known_values),
        cmocka_unit_test(test_softmax_gradients),
        cmocka_unit_test(test_add_mul_axpby),
        cmocka_unit_test(test_add_chain),
        cmocka_unit_test(test_mul_backward),
        cmocka_unit_test(test_copy_strided_cases),
        cmocka_unit_test(test_copy_strided_random),
        cmocka_unit_test(test_copy_strided_gradient),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_dropout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
