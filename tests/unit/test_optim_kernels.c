/* test_optim_kernels.c - the optimizer steps of every backend this build
 * has and this machine can run (the CPU everywhere, CUDA on a GPU): two
 * steps of each rule on a 3-element vector against NumPy float32
 * evaluations of Keras 2.0's update expressions (in Keras's operation
 * order), pasted here.  A new optimizer's kernel is tested here, on every
 * backend at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/backends.h"

static const float p0[3] = {1.0f, -2.0f, 0.5f};
static const float g1[3] = {0.5f, -0.25f, 2.0f};
static const float g2[3] = {-1.0f, 0.125f, 0.75f};

/* Float32 evaluations of the same expressions may differ from NumPy's by
 * an ulp or two; 1e-6 relative is a few ulps. */
static void expect_close3(const char *backend, const char *what, const float *got,
                          const float *want) {
    for (int i = 0; i < 3; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-6f * fabsf(want[i]) + 1e-12f))
            fail_msg("%s: %s[%d]: got %.9g, want %.9g", backend, what, i, got[i], want[i]);
}

/* Three vectors of 3 floats in a backend's memory: p, g and two states. */
struct vecs {
    struct kurc_backend *be;
    float *p, *g, *s1, *s2;
};

static float *vec(struct kurc_backend *be, const float *init) {
    float *d = be->ops->alloc(be, 3 * sizeof *d);
    assert_non_null(d);
    if (init)
        be->ops->upload(be, d, init, 3 * sizeof *d);
    return d;
}

static struct vecs vecs_make(struct kurc_backend *be) {
    return (struct vecs){be, vec(be, p0), vec(be, NULL), vec(be, NULL), vec(be, NULL)};
}

static void vecs_free(struct vecs *v) {
    v->be->ops->free(v->be, v->p);
    v->be->ops->free(v->be, v->g);
    v->be->ops->free(v->be, v->s1);
    v->be->ops->free(v->be, v->s2);
}

/* Sets the gradient for the next step. */
static void set_grad(struct vecs *v, const float *g) {
    v->be->ops->upload(v->be, v->g, g, 3 * sizeof *g);
}

/* Checks a vector of the backend against want. */
static void expect_vec(struct vecs *v, const char *what, const float *d, const float *want) {
    float h[3];
    v->be->ops->download(v->be, h, d, sizeof h);
    struct kurc_err err;
    if (kurc_backend_check(v->be, &err))
        fail_msg("%s: %s", v->be->ops->name, err.msg);
    expect_close3(v->be->ops->name, what, h, want);
}

/* Runs rule(v) on every available backend. */
static void on_every_backend(void (*rule)(struct vecs *v)) {
    int ran = 0;
    for (const struct kurc_backend_type *const *t = kurc_backend_types; *t; t++) {
        char why[256];
        if ((*t)->available(why, sizeof why) == 0) {
            printf("%s: passed over (%s)\n", (*t)->name, why);
            continue;
        }
        struct kurc_backend_options opt = {.threads = 1, .device = 0, .rank = -1};
        struct kurc_backend *be = NULL;
        struct kurc_err err;
        if ((*t)->create(&opt, &be, &err))
            fail_msg("%s: %s", (*t)->name, err.msg);
        struct vecs v = vecs_make(be);
        rule(&v);
        vecs_free(&v);
        kurc_backend_release(be);
        ran++;
    }
    assert_true(ran >= 1);
}

/* lr 0.1: plain (no state), momentum 0.9, and Nesterov momentum 0.9. */
static void sgd(struct vecs *v) {
    struct kurc_backend *be = v->be;
    set_grad(v, g1);
    be->ops->sgd_step(be, 3, 0.1f, 0.0f, false, v->p, v->g, NULL);
    set_grad(v, g2);
    be->ops->sgd_step(be, 3, 0.1f, 0.0f, false, v->p, v->g, NULL);
    expect_vec(v, "sgd", v->p, (const float[3]){1.04999995f, -1.98750007f, 0.225000009f});

    const float v_want[3] = {0.0550000034f, 0.00999999885f, -0.254999995f};
    for (int nesterov = 0; nesterov < 2; nesterov++) {
        be->ops->upload(be, v->p, p0, sizeof p0);
        be->ops->zero(be, v->s1, 3 * sizeof(float));
        set_grad(v, g1);
        be->ops->sgd_step(be, 3, 0.1f, 0.9f, nesterov, v->p, v->g, v->s1);
        set_grad(v, g2);
        be->ops->sgd_step(be, 3, 0.1f, 0.9f, nesterov, v->p, v->g, v->s1);
        if (nesterov)
            expect_vec(v, "nesterov", v->p,
                       (const float[3]){1.05449998f, -1.95600009f, -0.184500009f});
        else
            expect_vec(v, "momentum", v->p, (const float[3]){1.005f, -1.96500003f, 0.0450000167f});
        expect_vec(v, "velocity", v->s1, v_want);
    }
}

static void test_sgd(void **state) {
    (void)state;
    on_every_backend(sgd);
}

/* lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8; lr_t = lr sqrt(1 - beta2^t)
 * / (1 - beta1^t) as the caller computes it.  The first step moves each
 * weight by lr against the gradient's sign, as Adam's first step must. */
static void adam(struct vecs *v) {
    struct kurc_backend *be = v->be;
    set_grad(v, g1);
    be->ops->adam_step(be, 3, 0.000316225662f, 0.9f, 0.999f, 1e-8f, v->p, v->g, v->s1, v->s2);
    expect_vec(v, "adam p1", v->p, (const float[3]){0.999000013f, -1.99899995f, 0.499000013f});
    expect_vec(v, "adam m1", v->s1, (const float[3]){0.0500000119f, -0.025000006f, 0.200000048f});
    expect_vec(v, "adam v1", v->s2,
               (const float[3]){0.000249996781f, 6.24991953e-05f, 0.0039999485f});
    set_grad(v, g2);
    be->ops->adam_step(be, 3, 0.000235315165f, 0.9f, 0.999f, 1e-8f, v->p, v->g, v->s1, v->s2);
    expect_vec(v, "adam p2", v->p, (const float[3]){0.999366105f, -1.99873364f, 0.498111248f});
    expect_vec(v, "adam m2", v->s1, (const float[3]){-0.0550000146f, -0.0100000016f, 0.255000055f});
    expect_vec(v, "adam v2", v->s2,
               (const float[3]){0.00124973385f, 7.80614937e-05f, 0.00455844123f});
}

static void test_adam(void **state) {
    (void)state;
    on_every_backend(adam);
}

/* lr 0.001, rho 0.9, eps 1e-8. */
static void rmsprop(struct vecs *v) {
    struct kurc_backend *be = v->be;
    set_grad(v, g1);
    be->ops->rmsprop_step(be, 3, 0.001f, 0.9f, 1e-8f, v->p, v->g, v->s1);
    expect_vec(v, "rmsprop p1", v->p, (const float[3]){0.996837735f, -1.99683774f, 0.496837735f});
    expect_vec(v, "rmsprop a1", v->s1, (const float[3]){0.025000006f, 0.00625000149f, 0.400000095f});
    set_grad(v, g2);
    be->ops->rmsprop_step(be, 3, 0.001f, 0.9f, 1e-8f, v->p, v->g, v->s1);
    expect_vec(v, "rmsprop p2", v->p, (const float[3]){0.999694884f, -1.99831212f, 0.495675266f});
    expect_vec(v, "rmsprop a2", v->s1, (const float[3]){0.122500032f, 0.00718750153f, 0.41625008f});
}

static void test_rmsprop(void **state) {
    (void)state;
    on_every_backend(rmsprop);
}

/* lr 1.0, rho 0.95, eps 1e-8: the update uses the accumulated update d
 * from before the step. */
static void adadelta(struct vecs *v) {
    struct kurc_backend *be = v->be;
    set_grad(v, g1);
    be->ops->adadelta_step(be, 3, 1.0f, 0.95f, 1e-8f, v->p, v->g, v->s1, v->s2);
    expect_vec(v, "adadelta p1", v->p, (const float[3]){0.999552786f, -1.99955285f, 0.499552786f});
    expect_vec(v, "adadelta a1", v->s1,
               (const float[3]){0.012500003f, 0.00312500075f, 0.200000048f});
    expect_vec(v, "adadelta d1", v->s2,
               (const float[3]){9.99999195e-09f, 9.99996708e-09f, 9.99999816e-09f});
    set_grad(v, g2);
    be->ops->adadelta_step(be, 3, 1.0f, 0.95f, 1e-8f, v->p, v->g, v->s1, v->s2);
    expect_vec(v, "adadelta p2", v->p, (const float[3]){1.00012136f, -1.99984157f, 0.499325693f});
    expect_vec(v, "adadelta a2", v->s1,
               (const float[3]){0.0618750155f, 0.00375000085f, 0.218125045f});
    expect_vec(v, "adadelta d2", v->s2,
               (const float[3]){2.56615937e-08f, 1.36666163e-08f, 1.20787949e-08f});
}

static void test_adadelta(void **state) {
    (void)state;
    on_every_backend(adadelta);
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
