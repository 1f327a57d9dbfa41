/* test_fused_epilogue.c - fused epilogues (core/exec.h, src/ops/op_epilogue.c)
 * against the unfused ops: a convolution or dense op with a bias followed
 * by an activation, run by the executor with the activation fused into the
 * product's forward (bias and activation applied per chunk of output rows)
 * and backward (the activation's derivative and the bias gradient in one
 * pass), then again with no_fusion.  The activation's output and the
 * gradients of the input, kernel and bias must be bitwise equal: the fused
 * kernels compute the same floats in the same order.  Also: the graph pass
 * fuses only activations whose derivative follows from their output (elu
 * stays unfused), never a tensor read from outside (external), and the
 * fused path passes the finite-difference check of test_ops_grad.  A
 * flatten between conv and dense becomes a view of its input's memory
 * (the same bits again). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* after the headers it needs */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opgraph.h"

#define BATCH 5

struct fcase {
    bool conv;
    enum kurc_act act;
    float alpha;
    int64_t chunk;  /* executor chunk rows (0: whole batches) */
    bool external;  /* mark the product's output as read from outside */
    bool fuses;     /* the pass is expected to fuse */
};

/* The tensors of a case's graph. */
struct fgraph {
    struct og t;
    int in, w, b, pre, out;
};

static void build(struct fgraph *f, const struct fcase *c) {
    struct kurc_err err;
    struct og *t = &f->t;
    og_init(t);
    if (c->conv) {
        f->in = og_input(t, "x", SHAPE(9, 8, 3), true);
        f->w = og_param(t, "w", SHAPE(3, 3, 3, 6), true);
        f->b = og_param(t, "b", SHAPE(6), true);
        int64_t stride[2] = {1, 1};
        f->pre = kurc_emit_conv(t->g, f->in, f->w, f->b, stride, true, "conv", &err);
    } else {
        f->in = og_input(t, "x", SHAPE(3, 17), true);
        f->w = og_param(t, "w", SHAPE(17, 11), true);
        f->b = og_param(t, "b", SHAPE(11), true);
        f->pre = kurc_emit_dense(t->g, f->in, f->w, f->b, "dense", &err);
    }
    assert_true(f->pre >= 0);
    t->g->tensors[f->pre].external = c->external;
    f->out = kurc_emit_activation(t->g, f->pre, c->act, c->alpha, "act");
    og_objective(t, f->out);
    og_ready(t, BATCH);
    if (c->chunk) { /* the same executor in chunked (deterministic) mode */
        kurc_exec_free(t->x);
        if (kurc_exec_create_chunked(t->be, t->g, &t->p, BATCH, c->chunk, &t->x, &err))
            fail_msg("%s", err.msg);
        t->x->batch = BATCH;
        t->x->training = true;
        t->x->loss_scale = 1.0f;
    }
}

/* The inputs, parameters and objective weights (again after a replan,
 * which may move the activations). */
static void fill(struct fgraph *f) {
    og_fill(&f->t, f->in, 1, -1.0f, 1.0f);
    og_fill(&f->t, f->w, 2, -0.5f, 0.5f);
    og_fill(&f->t, f->b, 3, -0.5f, 0.5f);
    og_fill(&f->t, f->t.r, 0xD07, -1.0f, 1.0f);
}

/* The product op's epilogue, or NULL. */
static const struct kurc_op *epilogue(const struct fgraph *f) {
    for (size_t i = 0; i < f->t.g->n_ops; i++)
        if (f->t.g->ops[i].out == f->pre)
            return kurc_exec_epilogue(f->t.x, &f->t.g->ops[i]);
    fail_msg("no op makes the product");
    return NULL;
}

/* Forward and backward; copies of the output and of the gradients of the
 * input, kernel and bias, one after another. */
static float *run(struct fgraph *f, size_t *n) {
    fill(f);
    og_backward(&f->t);
    int tensors[4] = {f->out, f->in, f->w, f->b};
    size_t sizes[4], total = 0;
    for (int i = 0; i < 4; i++)
        total += sizes[i] = (size_t)og_count(&f->t, tensors[i]);
    float *all = malloc(total * sizeof *all), *at = all;
    for (int i = 0; i < 4; i++, at += sizes[i - 1]) {
        const float *src = i == 0 ? og_value(&f->t, tensors[i]) : kurc_exec_grad(f->t.x, tensors[i]);
        memcpy(at, src, sizes[i] * sizeof *at);
    }
    *n = total;
    return all;
}

static void check(const struct fcase *c, const char *what) {
    struct fgraph f;
    build(&f, c);
    if ((epilogue(&f) != NULL) != c->fuses)
        fail_msg("%s: fused %d, expected %d", what, epilogue(&f) != NULL, c->fuses);
    size_t n = 0, m = 0;
    float *fused = run(&f, &n);
    struct kurc_err err;
    f.t.x->no_fusion = true;
    if (kurc_exec_replan(f.t.x, f.t.g, &err))
        fail_msg("%s", err.msg);
    assert_null(epilogue(&f));
    float *plain = run(&f, &m);
    assert_int_equal(n, m);
    size_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += memcmp(&fused[i], &plain[i], sizeof(float)) != 0;
    printf("%s: %zu values (output, dx, dw, db), %zu differ\n", what, n, diff);
    assert_int_equal(diff, 0);
    free(fused);
    free(plain);
    og_free(&f.t);
}

static void test_conv_relu(void **state) {
    (void)state;
    check(&(struct fcase){.conv = true, .act = KURC_ACT_RELU, .fuses = true}, "conv relu");
    check(&(struct fcase){.conv = true, .act = KURC_ACT_RELU, .chunk = 2, .fuses = true},
          "conv relu, chunks of 2");
}

static void test_conv_others(void **state) {
    (void)state;
    check(&(struct fcase){.conv = true, .act = KURC_ACT_TANH, .fuses = true}, "conv tanh");
    check(&(struct fcase){.conv = true, .act = KURC_ACT_SIGMOID, .chunk = 3, .fuses = true},
          "conv sigmoid, chunks of 3");
    check(&(struct fcase){.conv = true, .act = KURC_ACT_LEAKY_RELU, .alpha = 0.3f, .fuses = true},
          "conv leaky relu");
}

static void test_dense(void **state) {
    (void)state;
    check(&(struct fcase){.act = KURC_ACT_RELU, .fuses = true}, "dense relu");
    check(&(struct fcase){.act = KURC_ACT_SIGMOID, .fuses = true}, "dense sigmoid");
    check(&(struct fcase){.act = KURC_ACT_TANH, .chunk = 2, .fuses = true},
          "dense tanh, chunks of 2");
}

/* What the pass leaves alone: an activation whose derivative needs its
 * input, leaky relu with a negative slope, a product read from outside. */
static void test_not_fused(void **state) {
    (void)state;
    check(&(struct fcase){.conv = true, .act = KURC_ACT_ELU, .alpha = 1.0f}, "conv elu");
    check(&(struct fcase){.act = KURC_ACT_LEAKY_RELU, .alpha = -0.5f}, "dense leaky relu -0.5");
    check(&(struct fcase){.act = KURC_ACT_RELU, .external = true}, "dense relu, external");
}

/* The MNIST example's shape: conv, relu, flatten (a reshape the executor
 * turns into a view of the relu's output), dense with relu: the same bits
 * as the plain ops, gradients of the input and of both kernels and biases. */
static void test_conv_flatten_dense(void **state) {
    (void)state;
    float *got[2];
    size_t n = 0;
    for (int plain = 0; plain < 2; plain++) {
        struct og t;
        struct kurc_err err;
        og_init(&t);
        int in = og_input(&t, "x", SHAPE(6, 5, 2), true);
        int w = og_param(&t, "w", SHAPE(3, 3, 2, 4), true), b = og_param(&t, "b", SHAPE(4), true);
        int v = og_param(&t, "v", SHAPE(120, 7), true), c = og_param(&t, "c", SHAPE(7), true);
        int64_t stride[2] = {1, 1};
        int h = kurc_emit_conv(t.g, in, w, b, stride, true, "conv", &err);
        int r = kurc_emit_activation(t.g, h, KURC_ACT_RELU, 0.0f, "relu");
        struct kurc_shape flat_shape = SHAPE(120);
        int flat = kurc_emit_reshape(t.g, r, &flat_shape, "flatten", &err);
        h = kurc_emit_dense(t.g, flat, v, c, "dense", &err);
        h = kurc_emit_activation(t.g, h, KURC_ACT_RELU, 0.0f, "relu2");
        og_objective(&t, h);
        og_ready(&t, BATCH);
        if (plain) {
            t.x->no_fusion = true;
            assert_int_equal(kurc_exec_replan(t.x, t.g, &err), KURC_OK);
            og_fill(&t, t.r, 0xD07, -1.0f, 1.0f); /* as og_ready: the plan moved it */
        }
        assert_int_equal(t.x->view_of[flat], plain ? -1 : r);
        int filled[5] = {in, w, b, v, c};
        for (int k = 0; k < 5; k++)
            og_fill(&t, filled[k], 10 + (uint64_t)k, -0.5f, 0.5f);
        og_backward(&t);
        int read[6] = {h, in, w, b, v, c};
        size_t total = 0;
        for (int k = 0; k < 6; k++)
            total += (size_t)og_count(&t, read[k]);
        got[plain] = malloc(total * sizeof(float));
        float *at = got[plain];
        for (int k = 0; k < 6; k++) {
            size_t m = (size_t)og_count(&t, read[k]);
            memcpy(at, k ? kurc_exec_grad(t.x, read[k]) : og_value(&t, read[k]), m * sizeof *at);
            at += m;
        }
        n = total;
        og_free(&t);
    }
    size_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += memcmp(&got[0][i], &got[1][i], sizeof(float)) != 0;
    printf("conv relu flatten dense relu: %zu values, %zu differ\n", n, diff);
    assert_int_equal(diff, 0);
    free(got[0]);
    free(got[1]);
}

/* The fused path's gradients against central finite differences (as in
 * test_ops_grad: h = 1e-2, 1% relative with a floor of 1e-2; tanh is
 * smooth, so no kink to avoid). */
static void test_fused_finite_difference(void **state) {
    (void)state;
    const struct fcase cases[2] = {
        {.conv = true, .act = KURC_ACT_TANH, .fuses = true},
        {.act = KURC_ACT_SIGMOID, .fuses = true},
    };
    for (int i = 0; i < 2; i++) {
        struct fgraph f;
        build(&f, &cases[i]);
        fill(&f);
        assert_non_null(epilogue(&f));
        int tensors[3] = {f.in, f.w, f.b};
        for (int k = 0; k < 3; k++) {
            double e = og_gradcheck(&f.t, tensors[k], 60, 1e-2, 1e-2, 1e-2, "fused");
            printf("%s: worst relative error %.3g\n", i ? "dense sigmoid" : "conv tanh", e);
            assert_true(e < 1e-2);
        }
        og_free(&f.t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_relu),
        cmocka_unit_test(test_conv_others),
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_not_fused),
        cmocka_unit_test(test_conv_flatten_dense),
        cmocka_unit_test(test_fused_finite_difference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
