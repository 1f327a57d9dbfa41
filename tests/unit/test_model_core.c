/* test_model_core.c - whole models through the parser, builder, executor and
 * autodiff: gradients of every parameter against finite differences, and
 * training steps that lower the loss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "modeltest.h"

static void check_model(const char *yaml, int64_t batch, double tol) {
    struct mt_model t;
    struct kurc_err err;
    if (mt_load(&t, yaml, batch, &err)) {
        fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
        fail();
    }
    mt_fill_inputs(&t, 7, -1.0f, 1.0f);
    double worst = mt_gradcheck(&t, 12, 1e-3, tol);
    fprintf(stderr, "worst relative gradient error %.2e\n", worst);
    assert_true(worst < tol);
    mt_free(&t);
}

/* Kur's MNIST model shape on a small image, with cross-entropy on softmax
 * outputs whose truth rows are random positive weights. */
static void test_conv_dense_softmax_cce(void **state) {
    (void)state;
    check_model("model:\n"
                "  - input: {shape: [6, 5, 2]}\n    name: images\n"
                "  - convolution: {kernels: 3, size: [3, 2], strides: [2, 1]}\n"
                "  - activation: tanh\n"
                "  - flatten:\n"
                "  - dense: [7, 4]\n"
                "  - activation: softmax\n    name: labels\n"
                "loss:\n  - target: labels\n    name: categorical_crossentropy\n",
                3, 2e-2);
}

static void test_dense_mse_valid_conv1d(void **state) {
    (void)state;
    check_model("model:\n"
                "  - input: {shape: [9, 3]}\n    name: x\n"
                "  - convolution: {kernels: 4, size: 3, border: valid, activation: sigmoid}\n"
                "  - dense: 2\n    name: y\n"
                "loss:\n  - target: y\n    name: mean_squared_error\n",
                4, 1e-2);
}

/* A few Adam steps on a fixed batch must lower the loss. */
static void test_training_lowers_loss(void **state) {
    (void)state;
    struct mt_model t;
    struct kurc_err err;
    assert_int_equal(mt_load(&t,
                             "model:\n  - input: {shape: [8]}\n    name: x\n"
                             "  - dense: 16\n  - activation: relu\n  - dense: 3\n    name: y\n"
                             "loss:\n  - target: y\n    name: mean_squared_error\n",
                             16, &err),
                     KURC_OK);
    mt_fill_inputs(&t, 3, -1.0f, 1.0f);
    double first = 0, last = 0;
    assert_int_equal(mt_train(&t, 200, false, &first, &last, &err), KURC_OK);
    fprintf(stderr, "loss %.4f -> %.4f\n", first, last);
    assert_true(last < 0.5 * first);
    mt_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_dense_softmax_cce),
        cmocka_unit_test(test_dense_mse_valid_conv1d),
        cmocka_unit_test(test_training_lowers_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
