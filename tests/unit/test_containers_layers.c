/* test_containers_layers.c - the layer containers pool, dropout,
 * batch_normalization, embedding, repeat, transpose, expand and squeeze,
 * through the model parser and builder: output shapes for their argument
 * forms (Kur's defaults included), known forward values, gradients of every
 * parameter against finite differences, and their configuration errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "modeltest.h"

#define GRAD_TOL 2e-2

/* Loads a model or fails the test with the error. */
static void load(struct mt_model *t, const char *yaml, int64_t batch) {
    struct kurc_err err;
    if (mt_load(t, yaml, batch, &err)) {
        fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
        fail();
    }
}

/* The node called name (by any of its names). */
static const struct kurc_node *node(const struct mt_model *t, const char *name) {
    for (size_t i = 0; i < t->m->n_nodes; i++)
        for (size_t k = 0; k < t->m->nodes[i].n_names; k++)
            if (strcmp(t->m->nodes[i].names[k], name) == 0)
                return &t->m->nodes[i];
    fprintf(stderr, "no node '%s'\n", name);
    fail();
    return NULL;
}

static void assert_shape(const struct mt_model *t, const char *name, const char *want) {
    char have[96];
    kurc_shape_format(kurc_graph_shape(t->m->graph, node(t, name)->value), have, sizeof have);
    if (strcmp(have, want) != 0)
        fprintf(stderr, "%s: shape %s, expected %s\n", name, have, want);
    assert_string_equal(have, want);
}

/* The executor's values of a node (inputs included), batch-major. */
static float *values(const struct mt_model *t, const char *name) {
    return kurc_exec_value(t->x, node(t, name)->value);
}

static float *param(const struct mt_model *t, const char *layer, const char *weight) {
    int i = kurc_params_find(&t->m->params, layer, weight);
    assert_true(i >= 0);
    return t->m->params.values + t->m->params.items[i].offset;
}

static void assert_values(const float *have, const double *want, int n, double tol) {
    for (int i = 0; i < n; i++) {
        if (fabs(have[i] - want[i]) > tol)
            fprintf(stderr, "  [%d]: %.6g, expected %.6g\n", i, have[i], want[i]);
        assert_true(fabs(have[i] - want[i]) <= tol);
    }
}

/* Loading yaml fails with a configuration error whose message contains
 * every fragment (NULL-terminated). */
static void expect_error(const char *yaml, ...) {
    struct mt_model t;
    struct kurc_err err;
    enum kurc_status st = mt_load(&t, yaml, 1, &err);
    mt_free(&t);
    if (st != KURC_E_CONFIG)
        fprintf(stderr, "status %d for:\n%s\n", (int)st, yaml);
    assert_int_equal(st, KURC_E_CONFIG);
    va_list ap;
    va_start(ap, yaml);
    for (const char *frag; (frag = va_arg(ap, const char *));) {
        if (!strstr(err.msg, frag))
            fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, frag);
        assert_non_null(strstr(err.msg, frag));
    }
    va_end(ap);
}

/* Finite-difference check of every parameter of a loaded, filled model;
 * gradients below floor are compared absolutely. */
static void check_grads(struct mt_model *t, double floor) {
    double worst = mt_gradcheck(t, 12, floor, GRAD_TOL);
    fprintf(stderr, "worst relative gradient error %.2e\n", worst);
    assert_true(worst < GRAD_TOL);
}

static void gradcheck(const char *yaml, int64_t batch) {
    struct mt_model t;
    load(&t, yaml, batch);
    mt_fill_inputs(&t, 7, -1.0f, 1.0f);
    check_grads(&t, 1e-3);
    mt_free(&t);
}

/* --- pool ---------------------------------------------------------------- */

static void test_pool_shapes(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [8, 6, 3]}\n    name: x\n"
         "  - pool: [2, 2]\n    name: stride_one\n"
         "  - pool: {size: [3, 2], strides: 2}\n    name: valid\n"
         "  - pool: {size: [2, 2], strides: [1, 2], type: average, border: same}\n"
         "    name: same\n"
         "  - input: {shape: [9, 4]}\n    name: seq\n"
         "  - pool: 3\n    name: one_d\n"
         "  - pool: {size: 3, strides: 3, border: same}\n    name: one_d_same\n"
         "  - input: {shape: [4, 5, 6, 2]}\n    name: vol\n"
         "  - pool: {size: [2, 2, 3], strides: [2, 1, 3]}\n    name: three_d\n",
         1);
    /* Kur's strides default to 1, not to the pool size */
    assert_shape(&t, "stride_one", "(7, 5, 3)");
    assert_shape(&t, "valid", "(3, 2, 3)");
    assert_shape(&t, "same", "(3, 1, 3)");
    assert_shape(&t, "one_d", "(7, 4)");
    assert_shape(&t, "one_d_same", "(3, 4)");
    assert_shape(&t, "three_d", "(2, 4, 2, 2)");
    mt_free(&t);
}

static void test_pool_values(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [5, 2]}\n    name: x\n"
         "  - pool: 2\n    name: max_valid\n"
         "  - pool: {size: 2, strides: 2, border: same}\n    name: max_same\n    inputs: x\n"
         "  - pool: {size: 2, strides: 2, border: same, type: average}\n"
         "    name: avg_same\n    inputs: x\n"
         "  - input: {shape: [3, 3, 1]}\n    name: img\n"
         "  - pool: {size: [2, 2], type: average}\n    name: avg_valid\n"
         "  - pool: {size: [2, 2], border: same}\n    name: max_same_2d\n    inputs: img\n",
         1);
    /* channel 1 is channel 0 negated */
    const float x[] = {1, -1, 3, -3, 2, -2, 5, -5, 4, -4};
    memcpy(values(&t, "x"), x, sizeof x);
    for (int i = 0; i < 9; i++)
        values(&t, "img")[i] = (float)(i + 1);
    kurc_exec_forward(t.x);
    assert_values(values(&t, "max_valid"), (const double[]){3, -1, 3, -2, 5, -2, 5, -4}, 8, 0);
    /* same, stride 2 on 5 cells: 3 windows, the last one padded (TF pads
     * at the end); average counts only the cells inside */
    assert_values(values(&t, "max_same"), (const double[]){3, -1, 5, -2, 4, -4}, 6, 0);
    assert_values(values(&t, "avg_same"), (const double[]){2, -2, 3.5, -3.5, 4, -4}, 6, 1e-6);
    assert_values(values(&t, "avg_valid"), (const double[]){3, 4, 6, 7}, 4, 1e-6);
    assert_values(values(&t, "max_same_2d"), (const double[]){5, 6, 6, 8, 9, 9, 8, 9, 9}, 9, 0);
    mt_free(&t);
}

/* Max pooling after a one-channel dense layer: each output channel is
 * a w x + b with w away from 0, so its order within a window is the input's
 * and small steps of w and b never change which cell wins; the inputs are
 * distinct. */
static void test_pool_max_gradients(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [4, 5, 1]}\n    name: x\n"
         "  - dense: 2\n"
         "  - pool: {size: [2, 3], strides: [2, 1]}\n"
         "  - flatten\n"
         "  - dense: 3\n    name: y\n"
         "loss:\n  - target: y\n    name: mean_squared_error\n",
         2);
    mt_fill_inputs(&t, 7, -1.0f, 1.0f);
    float *x = values(&t, "x");
    for (int i = 0; i < 40; i++)
        x[i] = (float)((i * 17) % 40) / 40.0f - 0.5f;
    check_grads(&t, 1e-3);
    mt_free(&t);
}

static void test_pool_average_gradients(void **state) {
    (void)state;
    gradcheck("model:\n"
              "  - input: {shape: [5, 4, 2]}\n    name: x\n"
              "  - convolution: {kernels: 3, size: [2, 2]}\n"
              "  - pool: {size: [2, 3], strides: [2, 2], type: average, border: same}\n"
              "  - flatten\n"
              "  - dense: 2\n    name: y\n"
              "loss:\n  - target: y\n    name: mean_squared_error\n",
              3);
}

static void test_pool_errors(void **state) {
    (void)state;
    const char *head = "model:\n  - input: {shape: [8, 6, 3]}\n    name: x\n";
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s  - pool: [2, -1]\n    name: p\n", head);
    expect_error(yaml, "p (pool): 'size' must be at least 1, found -1", NULL);
    snprintf(yaml, sizeof yaml, "%s  - pool: [2, 2, 2, 2]\n    name: p\n", head);
    expect_error(yaml, "p (pool): 'size' must list 1 to 3 integers, found 4", NULL);
    snprintf(yaml, sizeof yaml, "%s  - pool: {size: [2, 2], stride: 2}\n    name: p\n", head);
    expect_error(yaml, "p (pool): unknown key 'stride'; did you mean 'strides'?", NULL);
    snprintf(yaml, sizeof yaml, "%s  - pool: {size: [2, 2], strides: [1, 2, 1]}\n    name: p\n",
             head);
    expect_error(yaml, "p (pool): 'strides' lists 3 values but 'size' has 2 axes", NULL);
    snprintf(yaml, sizeof yaml, "%s  - pool: {size: 2, type: min}\n    name: p\n", head);
    expect_error(yaml, "p (pool).type: unknown value 'min'", NULL);
    snprintf(yaml, sizeof yaml, "%s  - pool: {strides: 2}\n    name: p\n", head);
    expect_error(yaml, "p (pool): missing required key 'size'", NULL);
    snprintf(yaml, sizeof yaml, "%s  - pool: 2\n    name: p\n", head);
    expect_error(yaml, "p (pool): a 1-D pool needs inputs of 2 axes", "shape (8, 6, 3)", NULL);
    snprintf(yaml, sizeof yaml, "%s  - pool: [2, 7]\n    name: p\n", head);
    expect_error(yaml,
                 "p (pool): its input of shape (8, 6, 3) is smaller than the pool size "
                 "along axis 1 (6 < 7) with a valid border",
                 NULL);
}

/* --- dropout ------------------------------------------------------------- */

static void test_dropout_values(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [500]}\n    name: x\n"
         "  - dropout: 0.25\n    name: d\n"
         "  - dropout: {fraction: 0, independent: yes}\n    name: none\n",
         2);
    assert_shape(&t, "d", "(500,)");
    mt_fill_inputs(&t, 5, 0.5f, 1.5f);
    const float *x = values(&t, "x"), *y = values(&t, "d");
    kurc_exec_forward(t.x);
    int dropped = 0;
    for (int i = 0; i < 1000; i++) {
        bool zero = y[i] == 0.0f, scaled = fabsf(y[i] - x[i] / 0.75f) < 1e-6f;
        assert_true(zero || scaled);
        dropped += zero;
    }
    fprintf(stderr, "dropped %d of 1000 at 0.25\n", dropped);
    assert_true(dropped > 180 && dropped < 320);
    assert_memory_equal(values(&t, "none"), y, 1000 * sizeof(float));
    /* the same samples get the same masks */
    float first[1000];
    memcpy(first, y, sizeof first);
    kurc_exec_forward(t.x);
    assert_memory_equal(first, y, sizeof first);
    /* evaluation: the identity */
    t.x->training = false;
    kurc_exec_forward(t.x);
    assert_memory_equal(x, y, 1000 * sizeof(float));
    mt_free(&t);
    /* spatial dropout: Kur's Keras backend warned and used independent
     * dropout; so does kurc */
    load(&t,
         "model:\n  - input: {shape: [4, 3]}\n    name: x\n"
         "  - dropout: {fraction: 0.5, independent: no}\n    name: d\n",
         1);
    assert_shape(&t, "d", "(4, 3)");
    mt_free(&t);
}

/* Training on: the masks are fixed for the batch's samples, so the
 * objective is a smooth function of the weights. */
static void test_dropout_gradients(void **state) {
    (void)state;
    gradcheck("model:\n"
              "  - input: {shape: [6]}\n    name: x\n"
              "  - dense: 8\n"
              "  - activation: tanh\n"
              "  - dropout: 0.5\n"
              "  - dense: 3\n    name: y\n"
              "loss:\n  - target: y\n    name: mean_squared_error\n",
              4);
}

static void test_dropout_errors(void **state) {
    (void)state;
    const char *head = "model:\n  - input: {shape: [4]}\n    name: x\n";
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s  - dropout: 1\n    name: d\n", head);
    expect_error(yaml, "d (dropout): the fraction must be at least 0 and below 1, found 1", NULL);
    snprintf(yaml, sizeof yaml, "%s  - dropout: {fraction: 1.5}\n    name: d\n", head);
    expect_error(yaml, "d (dropout): the fraction must be at least 0 and below 1, found 1.5", NULL);
    snprintf(yaml, sizeof yaml, "%s  - dropout: -0.1\n    name: d\n", head);
    expect_error(yaml, "d (dropout): must be at least 0, found -0.1", NULL);
    snprintf(yaml, sizeof yaml, "%s  - dropout: {fraction: -1}\n    name: d\n", head);
    expect_error(yaml, "d (dropout).fraction: must be at least 0, found -1", NULL);
    snprintf(yaml, sizeof yaml, "%s  - dropout: {fraction: 0.2, independant: no}\n    name: d\n",
             head);
    expect_error(yaml, "d (dropout): unknown key 'independant'; did you mean 'independent'?", NULL);
    snprintf(yaml, sizeof yaml, "%s  - dropout: half\n    name: d\n", head);
    expect_error(yaml, "d (dropout): expected a number or a mapping, found a string", NULL);
}

/* --- batch_normalization ------------------------------------------------- */

static void test_batchnorm_values(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [2]}\n    name: x\n"
         "  - batch_normalization:\n    name: bn\n",
         4);
    assert_shape(&t, "bn", "(2,)");
    const float x[] = {1, 10, 2, 20, 3, 30, 6, 40};
    memcpy(values(&t, "x"), x, sizeof x);
    float *gamma = param(&t, "bn", "gamma"), *beta = param(&t, "bn", "beta");
    assert_true(gamma[0] == 1 && gamma[1] == 1 && beta[0] == 0 && beta[1] == 0);
    gamma[0] = 2.0f;
    gamma[1] = 0.5f;
    beta[0] = 0.5f;
    beta[1] = -1.0f;
    /* per channel: mean 3 and 25, biased variance 14/4 and 500/4 */
    const double mean[2] = {3, 25}, var[2] = {3.5, 125}, g[2] = {2, 0.5}, b[2] = {0.5, -1};
    double want[8];
    for (int i = 0; i < 8; i++)
        want[i] = g[i % 2] * (x[i] - mean[i % 2]) / sqrt(var[i % 2] + 1e-3) + b[i % 2];
    kurc_exec_forward(t.x);
    assert_values(values(&t, "bn"), want, 8, 1e-5);
    /* Kur normalises with the batch's statistics in evaluation too */
    t.x->training = false;
    kurc_exec_forward(t.x);
    assert_values(values(&t, "bn"), want, 8, 1e-5);
    mt_free(&t);
}

/* axis 1 (Keras counts the batch axis as 0) is the first per-sample axis:
 * each of its 2 rows is normalised over the batch and the 3 columns. */
static void test_batchnorm_axis(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [2, 3]}\n    name: x\n"
         "  - batch_normalization: {axis: 1, momentum: 0.9}\n    name: rows\n"
         "  - batch_normalization: {axis: -2}\n    name: back\n    inputs: x\n"
         "  - batch_normalization: {axis: 2}\n    name: cols\n    inputs: x\n",
         5);
    assert_int_equal(
        t.m->params.items[kurc_params_find(&t.m->params, "rows", "gamma")].shape.dim[0], 2);
    assert_int_equal(t.m->params.items[kurc_params_find(&t.m->params, "cols", "beta")].shape.dim[0],
                     3);
    mt_fill_inputs(&t, 9, -3.0f, 5.0f);
    kurc_exec_forward(t.x);
    const float *y = values(&t, "rows");
    for (int row = 0; row < 2; row++) {
        double sum = 0, sq = 0;
        for (int s = 0; s < 5; s++)
            for (int col = 0; col < 3; col++) {
                double v = y[s * 6 + row * 3 + col];
                sum += v;
                sq += v * v;
            }
        assert_true(fabs(sum / 15) < 1e-5);
        assert_true(fabs(sq / 15 - 1) < 1e-3);
    }
    assert_memory_equal(values(&t, "back"), y, 30 * sizeof(float));
    mt_free(&t);
}

/* After a dense layer: the dense kernel's gradient flows back through the
 * normalisation.  Its bias gets none (the mean is subtracted), so the
 * finite differences there are float32 noise of a few 1e-5: a floor of
 * 1e-2 compares them absolutely. */
static void test_batchnorm_gradients(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [3, 5]}\n    name: x\n"
         "  - dense: 4\n    name: before\n"
         "  - batch_normalization\n"
         "  - activation: tanh\n"
         "  - batch_normalization: {axis: 1}\n"
         "  - flatten\n"
         "  - dense: 2\n    name: y\n"
         "loss:\n  - target: y\n    name: mean_squared_error\n",
         4);
    mt_fill_inputs(&t, 7, -1.0f, 1.0f);
    check_grads(&t, 1e-2);
    const struct kurc_param *k =
        &t.m->params.items[kurc_params_find(&t.m->params, "before", "kernel")];
    double norm = 0;
    for (int64_t i = 0; i < k->numel; i++)
        norm += fabs(t.m->params.grads[k->offset + i]);
    assert_true(norm > 1e-4);
    mt_free(&t);
}

static void test_batchnorm_errors(void **state) {
    (void)state;
    const char *head = "model:\n  - input: {shape: [4, 3]}\n    name: x\n";
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s  - batch_normalization: {axis: 3}\n    name: bn\n", head);
    expect_error(yaml,
                 "bn (batch_normalization): axis 3 is out of range for its input of shape "
                 "(4, 3)",
                 NULL);
    snprintf(yaml, sizeof yaml, "%s  - batch_normalization: {axis: -3}\n    name: bn\n", head);
    expect_error(yaml, "bn (batch_normalization): axis -3 is out of range", NULL);
    snprintf(yaml, sizeof yaml, "%s  - batch_normalization: {axis: 0}\n    name: bn\n", head);
    expect_error(yaml, "bn (batch_normalization): axis 0 is the batch axis", NULL);
    snprintf(yaml, sizeof yaml, "%s  - batch_normalization: {momentun: 0.5}\n    name: bn\n", head);
    expect_error(yaml,
                 "bn (batch_normalization): unknown key 'momentun'; did you mean "
                 "'momentum'?",
                 NULL);
    snprintf(yaml, sizeof yaml, "%s  - batch_normalization: {axis: last}\n    name: bn\n", head);
    expect_error(yaml, "bn (batch_normalization).axis: expected an integer", NULL);
}

/* --- embedding ----------------------------------------------------------- */

static void test_embedding_values(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [4]}\n    name: words\n"
         "  - embedding: {vocab_size: 3, size: 2}\n    name: e\n",
         2);
    assert_shape(&t, "e", "(4, 2)");
    const float *table = param(&t, "e", "embeddings");
    double nonzero = 0;
    for (int i = 0; i < 6; i++) {
        assert_true(fabsf(table[i]) <= 0.05f);
        nonzero += fabsf(table[i]);
    }
    assert_true(nonzero > 0);
    const float idx[] = {2, 0, 2, 1, 1, 1, 0, 2};
    memcpy(values(&t, "words"), idx, sizeof idx);
    kurc_exec_forward(t.x);
    const float *y = values(&t, "e");
    for (int i = 0; i < 8; i++)
        for (int k = 0; k < 2; k++)
            assert_true(y[i * 2 + k] == table[(int)idx[i] * 2 + k]);
    mt_free(&t);
}

static void test_embedding_gradients(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [5]}\n    name: words\n"
         "  - embedding: {vocab_size: 4, size: 3}\n"
         "  - flatten\n"
         "  - dense: 2\n    name: y\n"
         "loss:\n  - target: y\n    name: mean_squared_error\n",
         3);
    mt_fill_inputs(&t, 7, -1.0f, 1.0f);
    float *idx = values(&t, "words");
    for (int i = 0; i < 15; i++)
        idx[i] = (float)((i * 3) % 4); /* rows repeat within samples */
    check_grads(&t, 1e-3);
    mt_free(&t);
}

static void test_embedding_errors(void **state) {
    (void)state;
    char yaml[512];
    const char *head = "model:\n  - input: {shape: [4]}\n    name: x\n";
    snprintf(yaml, sizeof yaml, "%s  - embedding: {vocab_size: 0, size: 2}\n    name: e\n", head);
    expect_error(yaml, "e (embedding): 'vocab_size' must be at least 1, found 0", NULL);
    snprintf(yaml, sizeof yaml, "%s  - embedding: {vocab_size: 5, size: -2}\n    name: e\n", head);
    expect_error(yaml, "e (embedding): 'size' must be at least 1, found -2", NULL);
    snprintf(yaml, sizeof yaml, "%s  - embedding: {vocab_size: 5}\n    name: e\n", head);
    expect_error(yaml, "e (embedding): missing required key 'size'", NULL);
    snprintf(yaml, sizeof yaml, "%s  - embedding: {vocab_sise: 5, size: 2}\n    name: e\n", head);
    expect_error(yaml, "e (embedding): unknown key 'vocab_sise'; did you mean 'vocab_size'?", NULL);
    snprintf(yaml, sizeof yaml, "%s  - embedding: 5\n    name: e\n", head);
    expect_error(yaml, "e (embedding): expected a mapping, found an integer", NULL);
    expect_error("model:\n  - input: {shape: [4, 2]}\n    name: x\n"
                 "  - embedding: {vocab_size: 5, size: 2}\n    name: e\n",
                 "e (embedding): the input must be a 1-D sequence of indices (T,), but it has "
                 "shape (4, 2)",
                 NULL);
}

/* --- repeat -------------------------------------------------------------- */

static void test_repeat(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [3]}\n    name: x\n"
         "  - repeat: 2\n    name: r\n"
         "  - repeat: {count: 4}\n    name: r4\n    inputs: x\n",
         2);
    assert_shape(&t, "r", "(2, 3)");
    assert_shape(&t, "r4", "(4, 3)");
    const float x[] = {1, 2, 3, 4, 5, 6};
    memcpy(values(&t, "x"), x, sizeof x);
    kurc_exec_forward(t.x);
    assert_values(values(&t, "r"), (const double[]){1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6}, 12, 0);
    mt_free(&t);
    gradcheck("model:\n"
              "  - input: {shape: [4]}\n    name: x\n"
              "  - dense: 3\n"
              "  - repeat: 5\n"
              "  - dense: 2\n    name: y\n"
              "loss:\n  - target: y\n    name: mean_squared_error\n",
              3);
}

static void test_repeat_errors(void **state) {
    (void)state;
    const char *head = "model:\n  - input: {shape: [4]}\n    name: x\n";
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s  - repeat: 0\n    name: r\n", head);
    expect_error(yaml, "r (repeat): 'count' must be at least 1, found 0", NULL);
    snprintf(yaml, sizeof yaml, "%s  - repeat: {times: 2}\n    name: r\n", head);
    expect_error(yaml, "r (repeat): unknown key 'times' (expected count)", NULL);
    expect_error("model:\n  - input: {shape: [4, 2]}\n    name: x\n  - repeat: 3\n    name: r\n",
                 "r (repeat): the input must be 1-D (features,), but it has shape (4, 2)", NULL);
}

/* --- transpose ----------------------------------------------------------- */

static void test_transpose(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [2, 3]}\n    name: m\n"
         "  - transpose: [1, 0]\n    name: mt\n"
         "  - input: {shape: [2, 3, 4]}\n    name: c\n"
         "  - transpose: {axes: [2, 0, 1]}\n    name: ct\n"
         "  - transpose: {axes: [0, 2, 1, 3], include_batch: yes}\n    name: cb\n"
         "    inputs: c\n",
         1);
    assert_shape(&t, "mt", "(3, 2)");
    assert_shape(&t, "ct", "(4, 2, 3)");
    assert_shape(&t, "cb", "(3, 2, 4)");
    for (int i = 0; i < 6; i++)
        values(&t, "m")[i] = (float)i;
    for (int i = 0; i < 24; i++)
        values(&t, "c")[i] = (float)i;
    kurc_exec_forward(t.x);
    assert_values(values(&t, "mt"), (const double[]){0, 3, 1, 4, 2, 5}, 6, 0);
    /* ct[i][j][k] = c[j][k][i] and cb[i][j][k] = c[j][i][k] */
    const float *ct = values(&t, "ct"), *cb = values(&t, "cb");
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++)
                assert_true(ct[(i * 2 + j) * 3 + k] == (float)((j * 3 + k) * 4 + i));
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 4; k++)
                assert_true(cb[(i * 2 + j) * 4 + k] == (float)((j * 3 + i) * 4 + k));
    mt_free(&t);
    gradcheck("model:\n"
              "  - input: {shape: [2, 3, 4]}\n    name: x\n"
              "  - dense: 3\n"
              "  - transpose: [2, 0, 1]\n"
              "  - dense: 2\n    name: y\n"
              "loss:\n  - target: y\n    name: mean_squared_error\n",
              2);
}

static void test_transpose_errors(void **state) {
    (void)state;
    const char *head = "model:\n  - input: {shape: [2, 3]}\n    name: x\n";
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s  - transpose: [0, 0]\n    name: t\n", head);
    expect_error(yaml, "t (transpose): 'axes' must be a permutation of 0 to 1, each axis once",
                 NULL);
    snprintf(yaml, sizeof yaml, "%s  - transpose: [0, 2]\n    name: t\n", head);
    expect_error(yaml, "t (transpose): 'axes' must be a permutation of 0 to 1", NULL);
    snprintf(yaml, sizeof yaml, "%s  - transpose: [-1, 0]\n    name: t\n", head);
    expect_error(yaml, "t (transpose): 'axes' must be a permutation of 0 to 1", NULL);
    snprintf(yaml, sizeof yaml, "%s  - transpose: [2, 0, 1]\n    name: t\n", head);
    expect_error(yaml, "t (transpose): 'axes' permutes 3 axes, but its input has shape (2, 3)",
                 NULL);
    snprintf(yaml, sizeof yaml,
             "%s  - transpose: {axes: [1, 0, 2], include_batch: yes}\n    name: t\n", head);
    expect_error(yaml, "t (transpose): with include_batch, the batch axis (0) must stay first",
                 NULL);
    snprintf(yaml, sizeof yaml, "%s  - transpose: {axis: [1, 0]}\n    name: t\n", head);
    expect_error(yaml, "t (transpose): unknown key 'axis'; did you mean 'axes'?", NULL);
    snprintf(yaml, sizeof yaml, "%s  - transpose: [1, 0.5]\n    name: t\n", head);
    expect_error(yaml, "t (transpose)[1]: expected an integer, found a float", NULL);
    snprintf(yaml, sizeof yaml, "%s  - transpose: []\n    name: t\n", head);
    expect_error(yaml, "t (transpose): 'axes' must list 1 to 6 axes, found 0", NULL);
}

/* --- expand and squeeze -------------------------------------------------- */

static void test_expand_squeeze(void **state) {
    (void)state;
    struct mt_model t;
    load(&t,
         "model:\n"
         "  - input: {shape: [2, 3]}\n    name: x\n"
         "  - expand: 0\n    name: front\n"
         "  - expand: {dimension: -1}\n    name: back\n"
         "  - expand: 2\n    name: middle\n"
         "  - squeeze: 0\n    name: s0\n"
         "  - squeeze: {dimension: -1}\n    name: s_last\n"
         "  - squeeze: -2\n    name: s_middle\n"
         "  - expand: -2\n    name: before_last\n    inputs: x\n",
         2);
    assert_shape(&t, "front", "(1, 2, 3)");
    assert_shape(&t, "back", "(1, 2, 3, 1)");
    assert_shape(&t, "middle", "(1, 2, 1, 3, 1)");
    assert_shape(&t, "s0", "(2, 1, 3, 1)");
    assert_shape(&t, "s_last", "(2, 1, 3)");
    assert_shape(&t, "s_middle", "(2, 3)");
    assert_shape(&t, "before_last", "(2, 1, 3)");
    for (int i = 0; i < 12; i++)
        values(&t, "x")[i] = (float)(i * i);
    kurc_exec_forward(t.x);
    assert_memory_equal(values(&t, "middle"), values(&t, "x"), 12 * sizeof(float));
    assert_memory_equal(values(&t, "s_middle"), values(&t, "x"), 12 * sizeof(float));
    mt_free(&t);
    gradcheck("model:\n"
              "  - input: {shape: [6]}\n    name: x\n"
              "  - dense: 7\n"
              "  - expand: -1\n"
              "  - convolution: {kernels: 1, size: 3, border: valid}\n"
              "  - squeeze: 1\n"
              "  - dense: 2\n    name: y\n"
              "loss:\n  - target: y\n    name: mean_squared_error\n",
              3);
}

static void test_expand_squeeze_errors(void **state) {
    (void)state;
    const char *head = "model:\n  - input: {shape: [2, 3]}\n    name: x\n";
    char yaml[512];
    snprintf(yaml, sizeof yaml, "%s  - expand: 3\n    name: e\n", head);
    expect_error(yaml,
                 "e (expand): dimension 3 is out of range for its input of shape (2, 3) "
                 "(from -3 to 2)",
                 NULL);
    snprintf(yaml, sizeof yaml, "%s  - expand: -4\n    name: e\n", head);
    expect_error(yaml, "e (expand): dimension -4 is out of range", NULL);
    snprintf(yaml, sizeof yaml, "%s  - expand: {dim: 0}\n    name: e\n", head);
    expect_error(yaml, "e (expand): unknown key 'dim'", NULL);
    expect_error("model:\n  - input: {shape: [1, 1, 1, 1, 1]}\n    name: x\n"
                 "  - expand: 0\n  - expand: 0\n    name: e\n",
                 "e (expand): its input of shape (1, 1, 1, 1, 1, 1) already has 6 axes", NULL);
    snprintf(yaml, sizeof yaml, "%s  - squeeze: 1\n    name: s\n", head);
    expect_error(yaml, "s (squeeze): axis 1 of its input of shape (2, 3) has length 3, not 1",
                 NULL);
    snprintf(yaml, sizeof yaml, "%s  - squeeze: 2\n    name: s\n", head);
    expect_error(yaml,
                 "s (squeeze): dimension 2 is out of range for its input of shape (2, 3) "
                 "(from -2 to 1)",
                 NULL);
    snprintf(yaml, sizeof yaml, "%s  - squeeze: {dimension: one}\n    name: s\n", head);
    expect_error(yaml, "s (squeeze).dimension: expected an integer, found a string", NULL);
    expect_error("model:\n  - input: {shape: [1]}\n    name: x\n  - squeeze: 0\n    name: s\n",
                 "s (squeeze): its input of shape (1,) has one axis; kurc keeps at least one",
                 NULL);
}

/* Every layer here takes exactly one input. */
static void test_one_input(void **state) {
    (void)state;
    static const char *const entries[][2] = {
        {"pool", "2"},
        {"dropout", "0.5"},
        {"batch_normalization", ""},
        {"embedding", "{vocab_size: 3, size: 2}"},
        {"repeat", "2"},
        {"transpose", "[0]"},
        {"expand", "0"},
        {"squeeze", "0"},
    };
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        char yaml[512], want[128];
        snprintf(yaml, sizeof yaml,
                 "model:\n  - input: {shape: [4]}\n    name: a\n"
                 "  - input: {shape: [4]}\n    name: b\n"
                 "  - %s: %s\n    name: c\n    inputs: [a, b]\n",
                 entries[i][0], entries[i][1]);
        snprintf(want, sizeof want, "c (%s): %s takes one input, found 2", entries[i][0],
                 entries[i][0]);
        expect_error(yaml, want, NULL);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_shapes),           cmocka_unit_test(test_pool_values),
        cmocka_unit_test(test_pool_max_gradients),    cmocka_unit_test(test_pool_average_gradients),
        cmocka_unit_test(test_pool_errors),           cmocka_unit_test(test_dropout_values),
        cmocka_unit_test(test_dropout_gradients),     cmocka_unit_test(test_dropout_errors),
        cmocka_unit_test(test_batchnorm_values),      cmocka_unit_test(test_batchnorm_axis),
        cmocka_unit_test(test_batchnorm_gradients),   cmocka_unit_test(test_batchnorm_errors),
        cmocka_unit_test(test_embedding_values),      cmocka_unit_test(test_embedding_gradients),
        cmocka_unit_test(test_embedding_errors),      cmocka_unit_test(test_repeat),
        cmocka_unit_test(test_repeat_errors),         cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_transpose_errors),      cmocka_unit_test(test_expand_squeeze),
        cmocka_unit_test(test_expand_squeeze_errors), cmocka_unit_test(test_one_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
