/* test_cpu_norm_loss.c - the CPU backend's batch normalisation, losses,
 * reductions and clip against known answers (PyTorch 1.13 autograd in
 * float64, pasted here), central finite differences and the accumulate
 * contract of every backward. */
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

static void fill(float *x, int64_t n, float value) {
    for (int64_t i = 0; i < n; i++)
        x[i] = value;
}

/* want[i] = base[i] + add[i], in double, for the accumulate checks. */
static void sum_into(double *want, const float *base, const float *add, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        want[i] = (double)base[i] + add[i];
}

/* ---- batch normalisation ---------------------------------------------- */

/* One known case: x (outer, channels, inner) with gamma, beta and the
 * upstream gradient dy, and PyTorch's batch_norm(training=True,
 * eps=1e-3) outputs and gradients. */
struct bn_case {
    int64_t outer, channels, inner;
    float x[12], gamma[3], beta[3], dy[12];
    double y[12], mean[3], invstd[3], dx[12], dgamma[3], dbeta[3];
};

static const struct bn_case bn_cases[] = {
    /* Channels last (inner 1); channel 2 is constant (variance 0). */
    {4,
     3,
     1,
     {1, 2, -1, 3, 0, -1, 5, 4, -1, -1, 2, -1},
     {1, 0.5f, 2},
     {0, 1, -0.5f},
     {0.5f, -1, 2, 1, 0.25f, -1, -0.5f, 2, 0, 1.5f, -0.75f, 3},
     {-0.44716888084749401, 1, -0.5, 0.44716888084749401, 0.29306992924509767, -0.5,
      1.341506642542482, 1.7069300707549022, -0.5, -1.341506642542482, 1, -0.5},
     {2, 2, -1},
     {0.44716888084749401, 0.70693007075490233, 31.622776601683796},
     {-0.17884296296842508, -0.39764816479963255, 63.245553203367592, 0.29063518318029863,
      0.35331047170630914, -126.49110640673518, -0.13422443236596579, 0.35361959904859319,
      -63.245553203367592, 0.022432212154092288, -0.30928190595526978, 126.49110640673518},
     {-2.4594288446612169, 2.4742552476421582, 0},
     {2.5, 0.5, 4}},
    /* Channels in the middle (inner 2). */
    {2,
     3,
     2,
     {1, 2, 3, 4, 5, 6, -1, -2, 0.5f, 0.25f, 8, -8},
     {1.5f, -1, 0.25f},
     {0.1f, 0.2f, 0.3f},
     {1, -1, 0.5f, 0.5f, 2, 0, -0.25f, 1, 1, -2, 0.5f, 0.75f},
     {1.0484936182929347, 1.9969872365858694, -0.46209738993136706, -1.0852478745726537,
      0.38928740151634805, 0.42897069107916941, -0.84849361829293468, -1.7969872365858692,
      1.0957788216718496, 1.2515664428321711, 0.50833727020481212, -0.12659536280032965},
     {0, 1.9375, 2.75},
     {0.63232907886195644, 0.62315048464128664, 0.15873315825128545},
     {1.0313825173125868, -0.60487326682370546, -0.086609803485613812, 0.12512237424147277,
      0.047651180874423611, -0.031481054020742118, -0.67569741045273624, 0.24918815996385493,
      -0.92751549012397361, 0.88900291936811471, -0.011170720778377446, -0.0049994060753040413},
     {-1.7389049668703802, 2.1810266962445031, -0.1488123358605801},
     {0.75, 0, 3.25}},
};

/* Outputs, saved statistics and gradients of both cases, relative 1e-5
 * (1e-6 absolute); then the gradients accumulate onto non-zero arrays. */
static void test_batchnorm_known_values(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof bn_cases / sizeof bn_cases[0]; k++) {
        const struct bn_case *c = &bn_cases[k];
        int64_t n = c->outer * c->channels * c->inner, ch = c->channels;
        float y[12], mean[3], invstd[3], dx[12] = {0}, dgamma[3] = {0}, dbeta[3] = {0};
        cpu_batchnorm_forward(NULL, c->outer, ch, c->inner, 1e-3f, c->x, c->gamma, c->beta, y, mean,
                              invstd);
        kt_expect_close("bn y", y, c->y, n, 1e-5, 1e-6);
        kt_expect_close("bn mean", mean, c->mean, ch, 1e-6, 1e-7);
        kt_expect_close("bn invstd", invstd, c->invstd, ch, 1e-5, 0);
        cpu_batchnorm_backward(NULL, c->outer, ch, c->inner, c->x, c->dy, c->gamma, mean, invstd,
                               dx, dgamma, dbeta);
        kt_expect_close("bn dx", dx, c->dx, n, 1e-5, 1e-6);
        kt_expect_close("bn dgamma", dgamma, c->dgamma, ch, 1e-5, 1e-6);
        kt_expect_close("bn dbeta", dbeta, c->dbeta, ch, 1e-6, 0);

        float dx0[12], dg0[3], db0[3], dx2[12], dg2[3], db2[3];
        double want[12];
        fill(dx0, 12, 0.5f);
        fill(dg0, 3, -1.0f);
        fill(db0, 3, 2.0f);
        memcpy(dx2, dx0, sizeof dx2);
        memcpy(dg2, dg0, sizeof dg2);
        memcpy(db2, db0, sizeof db2);
        cpu_batchnorm_backward(NULL, c->outer, ch, c->inner, c->x, c->dy, c->gamma, mean, invstd,
                               dx2, dg2, db2);
        sum_into(want, dx0, dx, n);
        kt_expect_close("bn dx accumulate", dx2, want, n, 1e-6, 1e-6);
        sum_into(want, dg0, dgamma, ch);
        kt_expect_close("bn dgamma accumulate", dg2, want, ch, 1e-6, 1e-6);
        sum_into(want, db0, dbeta, ch);
        kt_expect_close("bn dbeta accumulate", db2, want, ch, 1e-6, 1e-6);
    }
}

/* A channel with mean 1000 and spread ~1 (the float mean alone is off by
 * 2.5e-5 of the spread): outputs and gradients (PyTorch float64) still
 * within 1e-5 relative. */
static void test_batchnorm_large_mean(void **state) {
    (void)state;
    const float x[6] = {1000.5f, 999.25f, 1000.75f, 1001.0f, 999.0f, 1000.0f};
    const float one = 1.0f, zero = 0.0f;
    float y[6], mean, invstd;
    cpu_batchnorm_forward(NULL, 6, 1, 1, 1e-3f, x, &one, &zero, y, &mean, &invstd);
    const double want[6] = {0.5585145572685084, -1.1170291145368467, 0.89362329162957943,
                            1.2287320259906505, -1.4521378488979177, -0.11170291145363365};
    kt_expect_close("bn large mean", y, want, 6, 1e-5, 1e-6);
    const double want_invstd = 1.3404349374442841;
    kt_expect_close("bn large mean invstd", &invstd, &want_invstd, 1, 1e-6, 0);

    const float dy[6] = {1, 0, 0, 0, 0, 0};
    float dx[6] = {0}, dgamma = 0, dbeta = 0;
    cpu_batchnorm_backward(NULL, 6, 1, 1, x, dy, &one, &mean, &invstd, dx, &dgamma, &dbeta);
    const double want_dx[6] = {1.0473402348617749,   -0.084028063557104571, -0.33490803038759015,
                               -0.37672135819267111, -0.042214735752023655, -0.20946804697234736};
    kt_expect_close("bn large mean dx", dx, want_dx, 6, 1e-5, 1e-6);
    const double want_dgamma = 0.55851455726840094;
    kt_expect_close("bn large mean dgamma", &dgamma, &want_dgamma, 1, 1e-5, 0);
    assert_true(dbeta == 1.0f);
}

/* Which array a batch-norm objective perturbs. */
enum bn_role { BN_X, BN_GAMMA, BN_BETA };

struct bn_ctx {
    enum bn_role role;
    int64_t outer, channels, inner;
    const float *x, *gamma, *beta, *w;
    float *y, *mean, *invstd;
};

static double bn_objective(const float *v, void *p) {
    struct bn_ctx *c = p;
    const float *x = c->role == BN_X ? v : c->x;
    const float *gamma = c->role == BN_GAMMA ? v : c->gamma;
    const float *beta = c->role == BN_BETA ? v : c->beta;
    cpu_batchnorm_forward(NULL, c->outer, c->channels, c->inner, 1e-3f, x, gamma, beta, c->y,
                          c->mean, c->invstd);
    int64_t n = c->outer * c->channels * c->inner;
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)c->w[i] * c->y[i];
    return s;
}

/* sum w y for x (3, 70, 2): 70 channels cross the kernel's 64-channel
 * blocks.  h = 1e-2; dx within 1e-3 relative (floor 1e-1: dx sums to zero
 * over each channel, so small entries are differences of large ones),
 * dgamma and dbeta within 1e-3 (floor 1e-2). */
static void test_batchnorm_gradients(void **state) {
    (void)state;
    enum { O = 3, C = 70, I = 2, N = O * C * I };
    static float x[N], w[N], y[N], dx[N], gamma[C], beta[C], dgamma[C], dbeta[C];
    float mean[C], invstd[C];
    tu_fill_uniform(x, N, 61, -2.0f, 2.0f);
    tu_fill_uniform(w, N, 62, -1.0f, 1.0f);
    tu_fill_uniform(gamma, C, 63, 0.5f, 1.5f);
    tu_fill_uniform(beta, C, 64, -0.5f, 0.5f);
    struct bn_ctx ctx = {BN_X, O, C, I, x, gamma, beta, w, y, mean, invstd};
    bn_objective(x, &ctx);
    memset(dx, 0, sizeof dx);
    memset(dgamma, 0, sizeof dgamma);
    memset(dbeta, 0, sizeof dbeta);
    cpu_batchnorm_backward(NULL, O, C, I, x, w, gamma, mean, invstd, dx, dgamma, dbeta);

    kt_expect_gradient("bn dx", x, N, dx, 1e-2, bn_objective, &ctx, 1e-3, 1e-1);
    ctx.role = BN_GAMMA;
    kt_expect_gradient("bn dgamma", gamma, C, dgamma, 1e-2, bn_objective, &ctx, 1e-3, 1e-2);
    ctx.role = BN_BETA;
    kt_expect_gradient("bn dbeta", beta, C, dbeta, 1e-2, bn_objective, &ctx, 1e-3, 1e-2);
}

/* ---- categorical cross-entropy ---------------------------------------- */

/* Rows: normalised; needing renormalisation (sum 4); all but one entry
 * clipped (0 -> eps, 1 -> 1 - eps); one entry clipped with soft targets;
 * clipped at the top.  Loss and gradient from PyTorch float64 autograd of
 * Keras's formula with the float32 bounds (clamp passes the gradient at
 * the bounds, as TensorFlow's clip does). */
static const float cce_pred[5][3] = {
    {0.2f, 0.7f, 0.1f}, {1, 2, 1}, {0, 1, 0}, {1e-9f, 0.5f, 0.5f}, {1, 0, 0}};
static const float cce_truth[5][3] = {
    {0, 1, 0}, {0, 0, 1}, {1, 0, 0}, {0.2f, 0.5f, 0.3f}, {1, 0, 0}};
static const double cce_loss[5] = {0.35667495351805045, 1.3862943611198906, 16.118095639272223,
                                   3.778136873102401, 1.1920929665620916e-07};
static const double cce_grad[5][3] = {
    {1.0000000074505808, -0.42857144544927483, 1.0000000074505808},
    {0.25, 0.25, -0.75},
    {0, 0, 0},
    {0.79999999919999998, -0.20000000080000002, 0.1999999992},
    {0, 0, 0}};

/* Relative 1e-6 (the top-clipped loss, 1.19e-7, is exact to 1e-13); the
 * gradient with scale 0.5 onto dpred = 1, relative 1e-6. */
static void test_cce_known_values(void **state) {
    (void)state;
    float loss[5];
    cpu_cce_forward(NULL, 5, 3, &cce_pred[0][0], &cce_truth[0][0], loss);
    kt_expect_close("cce loss", loss, cce_loss, 5, 1e-6, 1e-13);

    float grad[15];
    double want[15];
    fill(grad, 15, 1.0f);
    cpu_cce_backward(NULL, 5, 3, &cce_pred[0][0], &cce_truth[0][0], 0.5f, grad);
    for (int i = 0; i < 15; i++)
        want[i] = 1.0 + 0.5 * (&cce_grad[0][0])[i];
    kt_expect_close("cce grad", grad, want, 15, 1e-6, 1e-7);
}

struct loss_ctx {
    bool cce;
    int64_t rows, cols;
    const float *truth;
    float scale;
    float *loss;
};

static double loss_objective(const float *pred, void *p) {
    struct loss_ctx *c = p;
    if (c->cce)
        cpu_cce_forward(NULL, c->rows, c->cols, pred, c->truth, c->loss);
    else
        cpu_mse_forward(NULL, c->rows, c->cols, pred, c->truth, c->loss);
    double s = 0;
    for (int64_t r = 0; r < c->rows; r++)
        s += c->loss[r];
    return c->scale * s;
}

/* scale * sum of the row losses on unnormalised predictions in [0.1, 1]
 * with soft targets (cce) or any targets (mse): central differences with
 * h = 3e-3 within 2e-3 relative, floor 1e-1 (the float row losses, ulp
 * ~5e-7, make differences noisy by ~1e-4 absolute). */
static void test_loss_gradients(void **state) {
    (void)state;
    enum { R = 4, C = 6, N = R * C };
    for (int k = 0; k < 2; k++) {
        float pred[N], truth[N], loss[R], grad[N];
        tu_fill_uniform(pred, N, 71, 0.1f, 1.0f);
        tu_fill_uniform(truth, N, 72, k == 0 ? 0.0f : -1.0f, 1.0f);
        struct loss_ctx ctx = {k == 0, R, C, truth, 0.75f, loss};
        fill(grad, N, 0.0f);
        if (ctx.cce)
            cpu_cce_backward(NULL, R, C, pred, truth, ctx.scale, grad);
        else
            cpu_mse_backward(NULL, R, C, pred, truth, ctx.scale, grad);
        kt_expect_gradient(ctx.cce ? "cce" : "mse", pred, N, grad, 3e-3, loss_objective, &ctx, 2e-3,
                           1e-1);
    }
}

/* Per-row means of squared errors; the gradient 2 scale (pred - truth) /
 * cols added onto dpred = -1. */
static void test_mse_known_values(void **state) {
    (void)state;
    const float pred[6] = {1, 2, 3, 0, -1, 0.5f}, truth[6] = {1, 0, 0, 0.5f, 0.5f, 0.5f};
    float loss[2], grad[6];
    cpu_mse_forward(NULL, 2, 3, pred, truth, loss);
    const double want_loss[2] = {13.0 / 3, 2.5 / 3};
    kt_expect_close("mse loss", loss, want_loss, 2, 1e-7, 0);
    fill(grad, 6, -1.0f);
    cpu_mse_backward(NULL, 2, 3, pred, truth, 3.0f, grad);
    const double want_grad[6] = {-1, 3, 5, -2, -4, -1};
    kt_expect_close("mse grad", grad, want_grad, 6, 1e-7, 0);
}

/* ---- reductions and clip ---------------------------------------------- */

/* A short array with a tail past the 8 lanes, and 1e6 copies of 0.1f,
 * whose float sum would be off by 1%: in double the sums are exact to
 * 1e-10. */
static void test_sums(void **state) {
    (void)state;
    const float x[11] = {1, -2, 3, 0.5f, -0.25f, 4, 0, -1, 2, 8, -16};
    double s = 0, sq = 0;
    cpu_sum(NULL, 11, x, &s);
    cpu_sum_squares(NULL, 11, x, &sq);
    assert_true(s == -0.75);
    assert_true(sq == 355.3125);
    cpu_sum(NULL, 0, x, &s);
    assert_true(s == 0.0);

    enum { N = 1000000 };
    float *big = malloc(N * sizeof *big);
    assert_non_null(big);
    fill(big, N, 0.1f);
    cpu_sum(NULL, N, big, &s);
    cpu_sum_squares(NULL, N, big, &sq);
    double want_s = 1e6 * (double)0.1f, want_sq = 1e6 * ((double)0.1f * (double)0.1f);
    assert_true(fabs(s - want_s) <= 1e-10 * want_s);
    assert_true(fabs(sq - want_sq) <= 1e-10 * want_sq);
    free(big);
}

static void test_clip(void **state) {
    (void)state;
    float x[8] = {-3, -1, 0, 0.5f, 2, NAN, INFINITY, -INFINITY};
    cpu_clip(NULL, 8, 1.0f, x);
    const float want[5] = {-1, -1, 0, 0.5f, 1};
    assert_memory_equal(x, want, sizeof want);
    assert_true(isnan(x[5]));
    assert_true(x[6] == 1.0f && x[7] == -1.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batchnorm_known_values),
        cmocka_unit_test(test_batchnorm_large_mean),
        cmocka_unit_test(test_batchnorm_gradients),
        cmocka_unit_test(test_cce_known_values),
        cmocka_unit_test(test_loss_gradients),
        cmocka_unit_test(test_mse_known_values),
        cmocka_unit_test(test_sums),
        cmocka_unit_test(test_clip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
