/* test_cpu_optim.c - the CPU backend's optimizer steps: two steps of each
 * rule on a 3-element vector against NumPy float32 evaluations of Keras
 * 2.0's update expressions (in Keras's operation order), pasted here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu_kernels.h"

static const float p0[3] = {1.0f, -2.0f, 0.5f};
static const float g1[3] = {0.5f, -0.25f, 2.0f};
static const float g2[3] = {-1.0f, 0.125f, 0.75f};

/* Float32 evaluations of the same expressions may differ from NumPy's by
 * an ulp or two; 1e-6 relative is a few ulps. */
static void expect_close3(const char *what, const float *got, const float *want) {
    for (int i = 0; i < 3; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-6f * fabsf(want[i]) + 1e-12f))
            fail_msg("%s[%d]: got %.9g, want %.9g", what, i, got[i], want[i]);
}

/* lr 0.1: plain (no state), momentum 0.9, and Nesterov momentum 0.9. */
static void test_sgd(void **state) {
    (void)state;
    float p[3];
    memcpy(p, p0, sizeof p);
    cpu_sgd_step(NULL, 3, 0.1f, 0.0f, false, p, g1, NULL);
    cpu_sgd_step(NULL, 3, 0.1f, 0.0f, false, p, g2, NULL);
    expect_close3("sgd", p, (const float[3]){1.04999995f, -1.98750007f, 0.225000009f});

    const float v_want[3] = {0.0550000034f, 0.00999999885f, -0.254999995f};
    for (int nesterov = 0; nesterov < 2; nesterov++) {
        float v[3] = {0, 0, 0};
        memcpy(p, p0, sizeof p);
        cpu_sgd_step(NULL, 3, 0.1f, 0.9f, nesterov, p, g1, v);
        cpu_sgd_step(NULL, 3, 0.1f, 0.9f, nesterov, p, g2, v);
        if (nesterov)
            expect_close3("nesterov", p,
                          (const float[3]){1.05449998f, -1.95600009f, -0.184500009f});
        else
            expect_close3("momentum", p, (const float[3]){1.005f, -1.96500003f, 0.0450000167f});
        expect_close3("velocity", v, v_want);
    }
}

/* lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8; lr_t = lr sqrt(1 - beta2^t)
 * / (1 - beta1^t) as the caller computes it.  The first step moves each
 * weight by lr against the gradient's sign, as Adam's first step must. */
static void test_adam(void **state) {
    (void)state;
    float p[3], m[3] = {0, 0, 0}, v[3] = {0, 0, 0};
    memcpy(p, p0, sizeof p);
    cpu_adam_step(NULL, 3, 0.000316225662f, 0.9f, 0.999f, 1e-8f, p, g1, m, v);
    expect_close3("adam p1", p, (const float[3]){0.999000013f, -1.99899995f, 0.499000013f});
    expect_close3("adam m1", m, (const float[3]){0.0500000119f, -0.025000006f, 0.200000048f});
    expect_close3("adam v1", v, (const float[3]){0.000249996781f, 6.24991953e-05f, 0.0039999485f});
    cpu_adam_step(NULL, 3, 0.000235315165f, 0.9f, 0.999f, 1e-8f, p, g2, m, v);
    expect_close3("adam p2", p, (const float[3]){0.999366105f, -1.99873364f, 0.498111248f});
    expect_close3("adam m2", m, (const float[3]){-0.0550000146f, -0.0100000016f, 0.255000055f});
    expect_close3("adam v2", v, (const float[3]){0.00124973385f, 7.80614937e-05f, 0.00455844123f});
}

/* lr 0.001, rho 0.9, eps 1e-8. */
static void test_rmsprop(void **state) {
    (void)state;
    float p[3], a[3] = {0, 0, 0};
    memcpy(p, p0, sizeof p);
    cpu_rmsprop_step(NULL, 3, 0.001f, 0.9f, 1e-8f, p, g1, a);
    expect_close3("rmsprop p1", p, (const float[3]){0.996837735f, -1.99683774f, 0.496837735f});
    expect_close3("rmsprop a1", a, (const float[3]){0.025000006f, 0.00625000149f, 0.400000095f});
    cpu_rmsprop_step(NULL, 3, 0.001f, 0.9f, 1e-8f, p, g2, a);
    expect_close3("rmsprop p2", p, (const float[3]){0.999694884f, -1.99831212f, 0.495675266f});
    expect_close3("rmsprop a2", a, (const float[3]){0.122500032f, 0.00718750153f, 0.41625008f});
}

/* lr 1.0, rho 0.95, eps 1e-8: the update uses the accumulated update d
 * from before the step. */
static void test_adadelta(void **state) {
    (void)state;
    float p[3], a[3] = {0, 0, 0}, d[3] = {0, 0, 0};
    memcpy(p, p0, sizeof p);
    cpu_adadelta_step(NULL, 3, 1.0f, 0.95f, 1e-8f, p, g1, a, d);
    expect_close3("adadelta p1", p, (const float[3]){0.999552786f, -1.99955285f, 0.499552786f});
    expect_close3("adadelta a1", a, (const float[3]){0.012500003f, 0.00312500075f, 0.200000048f});
    expect_close3("adadelta d1", d,
                  (const float[3]){9.99999195e-09f, 9.99996708e-09f, 9.99999816e-09f});
    cpu_adadelta_step(NULL, 3, 1.0f, 0.95f, 1e-8f, p, g2, a, d);
    expect_close3("adadelta p2", p, (const float[3]){1.00012136f, -1.99984157f, 0.499325693f});
    expect_close3("adadelta a2", a, (const float[3]){0.0618750155f, 0.00375000085f, 0.218125045f});
    expect_close3("adadelta d2", d,
                  (const float[3]){2.56615937e-08f, 1.36666163e-08f, 1.20787949e-08f});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_rmsprop),
        cmocka_unit_test(test_adadelta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
