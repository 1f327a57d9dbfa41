/* test_recurrent.c - the `recurrent` container and the `ctc` loss at the
 * Kurfile level: arguments, defaults and errors, shapes and weights
 * (names, Keras initialisation), gradients of whole layers against finite
 * differences (every type, sequence or not, bidirectional with each merge
 * mode), the time alignment of bidirectional layers, masking by sequence
 * lengths from the data (through a strided convolution) against the same
 * layers run on truncated sequences, the CTC loss's inputs and relative_to
 * length mapping through the data binding, and two small Kur-style models
 * that train: a language model (stacked GRUs, dense, softmax, categorical
 * cross-entropy) and a speech model (conv1d, relu, batch norm, two GRUs,
 * parallel dense, softmax, CTC).
 *
 * Tolerances: gradients |g - fd| / max(|g|, |fd|, 1e-2) < 1e-2 with
 * modeltest's central differences (h = 1e-3 max(1, |v|)), tanh cells (no
 * kinks); the directional check of the relu default < 1e-2.  Forward
 * comparisons between models in float32: 1e-5 relative. */
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

#include "base/log.h"
#include "base/rng.h"
#include "data/dataset.h"
#include "modeltest.h"
#include "train/binding.h"

/* --- helpers ------------------------------------------------------------ */

/* Data shapes without data: a list of (name, shape). */
struct mock_source {
    int n;
    const char *names[8];
    struct kurc_shape shapes[8];
};

static bool mock_lookup(void *ctx, const char *name, struct kurc_shape *shape) {
    const struct mock_source *m = ctx;
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0) {
            *shape = m->shapes[i];
            return true;
        }
    return false;
}

static void mock_add(struct mock_source *m, const char *name, int ndim, int64_t d0, int64_t d1) {
    m->names[m->n] = name;
    m->shapes[m->n] = (struct kurc_shape){.ndim = ndim, .dim = {d0, d1}};
    m->n++;
}

static void load_ok_with(struct mt_model *t, const char *yaml, int64_t batch,
                         const struct kurc_shape_source *shapes) {
    struct kurc_err err;
    if (mt_load_with(t, yaml, batch, shapes, &err)) {
        fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
        fail();
    }
}

static void load_ok(struct mt_model *t, const char *yaml, int64_t batch) {
    load_ok_with(t, yaml, batch, NULL);
}

/* The Kurfile must fail to load with a message containing needle. */
static void load_fails_with(const char *yaml, const struct kurc_shape_source *shapes,
                            const char *needle) {
    struct mt_model t;
    struct kurc_err err;
    enum kurc_status st = mt_load_with(&t, yaml, 2, shapes, &err);
    mt_free(&t);
    if (st == KURC_OK) {
        fprintf(stderr, "expected an error with '%s', but the model loaded\n", needle);
        fail();
    }
    fprintf(stderr, "expected error: %s\n", err.msg);
    if (!strstr(err.msg, needle)) {
        fprintf(stderr, "missing '%s'\n", needle);
        fail();
    }
}

static void load_fails(const char *yaml, const char *needle) {
    load_fails_with(yaml, NULL, needle);
}

static const struct kurc_param *param(const struct kurc_model *m, const char *layer,
                                      const char *weight) {
    int i = kurc_params_find(&m->params, layer, weight);
    if (i < 0) {
        fprintf(stderr, "no parameter %s/%s\n", layer, weight);
        fail();
    }
    return &m->params.items[i];
}

static void expect_param(const struct kurc_model *m, const char *layer, const char *weight,
                         int64_t d0, int64_t d1) {
    const struct kurc_param *q = param(m, layer, weight);
    assert_int_equal(q->shape.ndim, d1 ? 2 : 1);
    assert_int_equal(q->shape.dim[0], d0);
    if (d1)
        assert_int_equal(q->shape.dim[1], d1);
}

static void expect_shape(const struct kurc_model *m, int tensor, int ndim, int64_t d0, int64_t d1) {
    const struct kurc_shape *s = kurc_graph_shape(m->graph, tensor);
    assert_int_equal(s->ndim, ndim);
    assert_int_equal(s->dim[0], d0);
    if (ndim > 1)
        assert_int_equal(s->dim[1], d1);
}

static float *download(const struct mt_model *t, const char *layer, const char *weight) {
    int i = kurc_params_find(&t->m->params, layer, weight);
    assert_true(i >= 0);
    float *v = malloc((size_t)t->m->params.items[i].numel * sizeof *v);
    kurc_params_download(&t->m->params, (size_t)i, v);
    return v;
}

/* --- arguments, shapes, weights ------------------------------------------ */

#define INPUT_7x3 "model:\n  - input: {shape: [7, 3]}\n    name: x\n"

static void test_defaults_shapes_and_weights(void **state) {
    (void)state;
    struct mt_model t;
    /* gru, sequence, relu by default */
    load_ok(&t, INPUT_7x3 "  - recurrent: {size: 5}\n    name: r\n  - output: y\n", 2);
    expect_shape(t.m, mt_output_tensor(t.m, "y"), 2, 7, 5);
    expect_param(t.m, "r", "kernel", 3, 15);
    expect_param(t.m, "r", "recurrent_kernel", 5, 15);
    expect_param(t.m, "r", "bias", 15, 0);
    assert_int_equal(t.m->params.n, 3);
    const struct kurc_graph *g = t.m->graph;
    bool found = false;
    for (size_t i = 0; i < g->n_ops; i++)
        if (strcmp(g->ops[i].def->name, "rnn") == 0) {
            found = true;
            assert_int_equal(g->ops[i].attr.rnn.cell, KURC_RNN_GRU);
            assert_int_equal(g->ops[i].attr.rnn.act, KURC_ACT_RELU);
            assert_int_equal(g->ops[i].attr.rnn.gate, KURC_ACT_HARD_SIGMOID);
            assert_false(g->ops[i].attr.rnn.reverse);
            assert_int_equal(g->ops[i].n_in, 4); /* no lengths without data */
        }
    assert_true(found);
    /* Keras init: glorot kernel within sqrt(6 / (3 + 15)), orthogonal
     * blocks of the recurrent kernel, zero bias */
    float *k = download(&t, "r", "kernel"), *u = download(&t, "r", "recurrent_kernel");
    float *b = download(&t, "r", "bias");
    double limit = sqrt(6.0 / 18.0);
    for (int i = 0; i < 45; i++)
        assert_true(fabs(k[i]) <= limit);
    for (int i = 0; i < 15; i++)
        assert_true(b[i] == 0.0f);
    for (int blk = 0; blk < 3; blk++)
        for (int a = 0; a < 5; a++)
            for (int c = 0; c < 5; c++) {
                double dot = 0;
                for (int r = 0; r < 5; r++)
                    dot += (double)u[r * 15 + blk * 5 + a] * u[r * 15 + blk * 5 + c];
                assert_true(fabs(dot - (a == c)) < 1e-5);
            }
    free(k);
    free(u);
    free(b);
    mt_free(&t);

    /* lstm, last step: forget-gate bias ones */
    load_ok(&t,
            INPUT_7x3 "  - recurrent: {size: 4, type: LSTM, sequence: no}\n    name: r\n"
                      "  - output: y\n",
            2);
    expect_shape(t.m, mt_output_tensor(t.m, "y"), 1, 4, 0);
    expect_param(t.m, "r", "kernel", 3, 16);
    expect_param(t.m, "r", "recurrent_kernel", 4, 16);
    b = download(&t, "r", "bias");
    for (int i = 0; i < 16; i++)
        assert_true(b[i] == (i >= 4 && i < 8 ? 1.0f : 0.0f));
    free(b);
    mt_free(&t);

    /* plain rnn, tanh */
    load_ok(&t,
            INPUT_7x3 "  - recurrent: {size: 2, type: rnn, outer_activation: tanh}\n    name: r\n"
                      "  - output: y\n",
            2);
    expect_shape(t.m, mt_output_tensor(t.m, "y"), 2, 7, 2);
    expect_param(t.m, "r", "recurrent_kernel", 2, 2);
    mt_free(&t);

    /* bidirectional: average by default, weights _fwd and _rev */
    load_ok(&t,
            INPUT_7x3 "  - recurrent: {size: 5, bidirectional: yes}\n    name: r\n"
                      "  - output: y\n",
            2);
    expect_shape(t.m, mt_output_tensor(t.m, "y"), 2, 7, 5);
    expect_param(t.m, "r", "kernel_fwd", 3, 15);
    expect_param(t.m, "r", "recurrent_kernel_rev", 5, 15);
    expect_param(t.m, "r", "bias_rev", 15, 0);
    assert_int_equal(t.m->params.n, 6);
    mt_free(&t);

    /* concat: half the units each; an odd size loses one */
    load_ok(&t,
            INPUT_7x3 "  - recurrent: {size: 6, bidirectional: yes, merge: concat}\n    name: r\n"
                      "  - output: y\n",
            2);
    expect_shape(t.m, mt_output_tensor(t.m, "y"), 2, 7, 6);
    expect_param(t.m, "r", "recurrent_kernel_fwd", 3, 9);
    mt_free(&t);
    load_ok(&t,
            INPUT_7x3 "  - recurrent: {size: 7, bidirectional: yes, merge: concat, sequence: "
                      "no}\n    name: r\n  - output: y\n",
            2);
    expect_shape(t.m, mt_output_tensor(t.m, "y"), 1, 6, 0);
    mt_free(&t);
}

static void test_errors(void **state) {
    (void)state;
    load_fails(INPUT_7x3 "  - recurrent: {size: 5, type: sru}\n", "PyTorch-only");
    load_fails(INPUT_7x3 "  - recurrent: {size: 5, type: elman}\n", "unknown recurrent type");
    load_fails(INPUT_7x3 "  - recurrent: {size: 5, merge: concat}\n", "bidirectional");
    load_fails(INPUT_7x3 "  - recurrent: {size: 5, bidirectional: yes, merge: max}\n",
               "unknown merge");
    load_fails(INPUT_7x3 "  - recurrent: {size: 5, outer_activation: softmax}\n", "softmax");
    load_fails(INPUT_7x3 "  - recurrent: {size: 5, outer_activation: swish}\n", "swish");
    load_fails(INPUT_7x3 "  - recurrent: {type: gru}\n", "size");
    load_fails(INPUT_7x3 "  - recurrent: {size: 0}\n", "size");
    load_fails(INPUT_7x3 "  - recurrent: {size: 1, bidirectional: yes, merge: concat}\n",
               "too small");
    load_fails(INPUT_7x3 "  - flatten\n  - recurrent: {size: 5}\n", "(time, features)");
}

/* --- gradients ----------------------------------------------------------- */

static void gradcheck_model(const char *layer, const char *what) {
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "model:\n  - input: {shape: [5, 3]}\n    name: x\n"
             "  - recurrent: %s\n"
             "  - output: y\n"
             "loss:\n  - target: y\n    name: mean_squared_error\n",
             layer);
    struct mt_model t;
    load_ok(&t, yaml, 3);
    mt_fill_inputs(&t, 17, -1.0f, 1.0f);
    double e = mt_gradcheck(&t, 40, 1e-2, 1e-2);
    fprintf(stderr, "%-60s worst relative gradient error %.2e\n", what, e);
    assert_true(e < 1e-2);
    mt_free(&t);
}

static void test_gradients(void **state) {
    (void)state;
    const char *types[] = {"gru", "lstm", "rnn"};
    for (int i = 0; i < 3; i++)
        for (int seq = 0; seq < 2; seq++) {
            char layer[256], what[128];
            snprintf(layer, sizeof layer,
                     "{size: 4, type: %s, sequence: %s, outer_activation: "
                     "tanh}",
                     types[i], seq ? "yes" : "no");
            snprintf(what, sizeof what, "%s sequence %s", types[i], seq ? "yes" : "no");
            gradcheck_model(layer, what);
        }
    const char *merges[] = {"multiply", "add", "concat", "average"};
    for (int i = 0; i < 4; i++)
        for (int seq = 0; seq < 2; seq++) {
            char layer[256], what[128];
            snprintf(layer, sizeof layer,
                     "{size: 4, type: %s, bidirectional: yes, merge: %s, "
                     "sequence: %s, outer_activation: tanh}",
                     i % 2 ? "lstm" : "gru", merges[i], seq ? "yes" : "no");
            snprintf(what, sizeof what, "bidirectional %s %s sequence %s", i % 2 ? "lstm" : "gru",
                     merges[i], seq ? "yes" : "no");
            gradcheck_model(layer, what);
        }
    /* Kur's default relu cell: along random directions (kinks) */
    struct mt_model t;
    load_ok(&t,
            "model:\n  - input: {shape: [6, 3]}\n    name: x\n"
            "  - recurrent: {size: 5, bidirectional: yes}\n"
            "  - recurrent: {size: 4, sequence: no, type: lstm}\n"
            "  - output: y\n"
            "loss:\n  - target: y\n    name: mean_squared_error\n",
            4);
    mt_fill_inputs(&t, 3, -1.0f, 1.0f);
    for (uint64_t d = 0; d < 3; d++) {
        double e = mt_gradcheck_direction(&t, 50 + d);
        fprintf(stderr, "relu stack: directional gradient error %.2e\n", e);
        assert_true(e < 1e-2);
    }
    mt_free(&t);
}

/* Inside a time-distributed `parallel` a recurrent layer runs on every
 * slice (its steps are the slice's second axis), with shared weights. */
static void test_inside_parallel(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "model:\n  - input: {shape: [4, 5, 3]}\n    name: x\n"
            "  - parallel:\n      apply:\n"
            "        - recurrent: {size: 2, sequence: no, type: lstm, outer_activation: tanh}\n"
            "          name: r\n"
            "  - output: y\n"
            "loss:\n  - target: y\n    name: mean_squared_error\n",
            3);
    expect_shape(t.m, mt_output_tensor(t.m, "y"), 2, 4, 2);
    expect_param(t.m, "r", "kernel", 3, 8);
    mt_fill_inputs(&t, 23, -1.0f, 1.0f);
    double e = mt_gradcheck(&t, 40, 1e-2, 1e-2);
    fprintf(stderr, "lstm inside parallel: worst relative gradient error %.2e\n", e);
    assert_true(e < 1e-2);
    /* every slice as a model of its own (same weights: same names) */
    struct mt_model one;
    load_ok(&one,
            "model:\n  - input: {shape: [5, 3]}\n    name: x\n"
            "  - recurrent: {size: 2, sequence: no, type: lstm, outer_activation: tanh}\n"
            "    name: r\n"
            "  - output: y\n",
            12);
    memcpy(kurc_exec_value(one.x, mt_input_tensor(one.m, "x")),
           kurc_exec_value(t.x, mt_input_tensor(t.m, "x")), 3 * 4 * 5 * 3 * sizeof(float));
    kurc_exec_forward(t.x);
    kurc_exec_forward(one.x);
    const float *a = kurc_exec_value(t.x, mt_output_tensor(t.m, "y"));
    const float *b = kurc_exec_value(one.x, mt_output_tensor(one.m, "y"));
    for (int i = 0; i < 3 * 4 * 2; i++)
        assert_true(fabsf(a[i] - b[i]) <= 1e-6f);
    mt_free(&one);
    mt_free(&t);
}

/* --- bidirectional time alignment ------------------------------------------ */

/* The backward half of a concat-merged bidirectional layer, at step t,
 * equals a forward layer with the _rev weights run on the time-reversed
 * input, at step T-1-t (Kur's Keras layer gave it at step t, misaligned). */
static void test_bidirectional_alignment(void **state) {
    (void)state;
    const int64_t T = 6, F = 3, H = 3, B = 2;
    struct mt_model bi, one;
    load_ok(&bi,
            "model:\n  - input: {shape: [6, 3]}\n    name: x\n"
            "  - recurrent: {size: 6, bidirectional: yes, merge: concat, outer_activation: "
            "tanh}\n    name: r\n  - output: y\n",
            B);
    load_ok(&one,
            "model:\n  - input: {shape: [6, 3]}\n    name: x\n"
            "  - recurrent: {size: 3, outer_activation: tanh}\n    name: r\n  - output: y\n",
            B);
    const char *w[3][2] = {{"kernel", "kernel_rev"},
                           {"recurrent_kernel", "recurrent_kernel_rev"},
                           {"bias", "bias_rev"}};
    for (int i = 0; i < 3; i++) {
        float *v = download(&bi, "r", w[i][1]);
        kurc_params_upload(&one.m->params, (size_t)kurc_params_find(&one.m->params, "r", w[i][0]),
                           v);
        free(v);
    }
    mt_fill_inputs(&bi, 5, -1.0f, 1.0f);
    float *xb = kurc_exec_value(bi.x, mt_input_tensor(bi.m, "x"));
    float *xo = kurc_exec_value(one.x, mt_input_tensor(one.m, "x"));
    for (int64_t n = 0; n < B; n++)
        for (int64_t t = 0; t < T; t++)
            memcpy(xo + (n * T + T - 1 - t) * F, xb + (n * T + t) * F, (size_t)F * sizeof *xo);
    kurc_exec_forward(bi.x);
    kurc_exec_forward(one.x);
    const float *yb = kurc_exec_value(bi.x, mt_output_tensor(bi.m, "y"));
    const float *yo = kurc_exec_value(one.x, mt_output_tensor(one.m, "y"));
    for (int64_t n = 0; n < B; n++)
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < H; j++) {
                float a = yb[(n * T + t) * 2 * H + H + j], b = yo[(n * T + T - 1 - t) * H + j];
                assert_true(fabsf(a - b) <= 1e-5f * fmaxf(1.0f, fabsf(b)));
            }
    mt_free(&bi);
    mt_free(&one);
}

/* --- masking by sequence lengths ------------------------------------------- */

/* A layer masked by x_length (mapped through a valid, strided convolution)
 * gives, for each sample, what the same layers give on that sample's
 * frames alone: outputs for its steps and zeros after them (sequence), or
 * its state after its last step; a backward direction starts at the
 * sample's own last step.  Frames beyond a sample's length hold garbage. */
static void masking_case(const char *recurrent, bool sequence, int64_t units) {
    const int64_t T = 13, F = 2, B = 4;
    const int64_t frames[4] = {13, 3, 8, 10};
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "model:\n  - input: x\n"
             "  - convolution: {kernels: 3, size: 3, strides: 2, border: valid}\n"
             "  - recurrent: %s\n"
             "  - output: y\n",
             recurrent);
    struct mock_source src = {0};
    mock_add(&src, "x", 2, T, F);
    mock_add(&src, "x_length", 1, 1, 0);
    struct kurc_shape_source shapes = {mock_lookup, &src};
    struct mt_model all;
    load_ok_with(&all, yaml, B, &shapes);
    assert_int_equal(all.m->n_feeds, 1);
    assert_string_equal(all.m->feeds[0].source, "x_length");
    int64_t steps = (T - 3) / 2 + 1;
    int y = mt_output_tensor(all.m, "y");
    expect_shape(all.m, y, sequence ? 2 : 1, sequence ? steps : units, units);
    float *x = kurc_exec_value(all.x, mt_input_tensor(all.m, "x"));
    for (int64_t i = 0; i < B * T * F; i++)
        x[i] = (float)(2.0 * kurc_rng_uniform(9, (uint64_t)i) - 1.0);
    float *len = kurc_exec_value(all.x, all.m->feeds[0].tensor);
    for (int64_t n = 0; n < B; n++)
        len[n] = (float)frames[n];
    kurc_feed_lengths(&all.m->feeds[0], len, B); /* as the binding does */
    for (int64_t n = 0; n < B; n++)
        assert_true(len[n] == (float)((frames[n] - 3) / 2 + 1));
    kurc_exec_forward(all.x);
    const float *ya = kurc_exec_value(all.x, y);
    int64_t per = sequence ? steps * units : units;
    for (int64_t n = 0; n < B; n++) {
        struct mock_source s1 = {0};
        mock_add(&s1, "x", 2, frames[n], F);
        struct kurc_shape_source sh1 = {mock_lookup, &s1};
        struct mt_model one;
        load_ok_with(&one, yaml, 1, &sh1);
        assert_int_equal(one.m->n_feeds, 0);
        memcpy(kurc_exec_value(one.x, mt_input_tensor(one.m, "x")), x + n * T * F,
               (size_t)(frames[n] * F) * sizeof(float));
        kurc_exec_forward(one.x);
        const float *yo = kurc_exec_value(one.x, mt_output_tensor(one.m, "y"));
        int64_t m = (frames[n] - 3) / 2 + 1;
        for (int64_t i = 0; i < per; i++) {
            float a = ya[n * per + i];
            float b = !sequence || i < m * units ? yo[i] : 0.0f;
            if (!(fabsf(a - b) <= 1e-5f * fmaxf(1.0f, fabsf(b)))) {
                fprintf(stderr, "%s: sample %lld (%lld frames) element %lld: %g, want %g\n",
                        recurrent, (long long)n, (long long)frames[n], (long long)i, a, b);
                fail();
            }
        }
        mt_free(&one);
    }
    mt_free(&all);
}

static void test_masking(void **state) {
    (void)state;
    masking_case("{size: 4, outer_activation: tanh}", true, 4);
    masking_case("{size: 4, type: lstm, sequence: no}", false, 4);
    masking_case("{size: 8, bidirectional: yes, merge: concat, outer_activation: tanh}", true, 8);
    masking_case("{size: 4, bidirectional: yes, type: rnn, sequence: no}", false, 4);
    masking_case("{size: 4, bidirectional: yes, merge: multiply, type: lstm}", true, 4);
}

static void test_masking_errors(void **state) {
    (void)state;
    /* lengths the data gives must be one per sample and traceable */
    struct mock_source src = {0};
    mock_add(&src, "x", 2, 6, 4);
    mock_add(&src, "x_length", 1, 2, 0);
    struct kurc_shape_source shapes = {mock_lookup, &src};
    load_fails_with("model:\n  - input: x\n  - recurrent: {size: 3}\n", &shapes, "one length");
    src.shapes[1].dim[0] = 1;
    load_fails_with("model:\n  - input: x\n  - transpose: [1, 0]\n  - recurrent: {size: 3}\n",
                    &shapes, "transpose");
}

/* --- ctc through the binding ------------------------------------------------ */

#define SPEECH_MODEL                                                                               \
    "model:\n"                                                                                     \
    "  - input: utterance\n"                                                                       \
    "  - convolution: {kernels: 16, size: 3, strides: 2, border: valid}\n"                         \
    "  - activation: relu\n"                                                                       \
    "  - batch_normalization\n"                                                                    \
    "  - for:\n"                                                                                   \
    "      range: 2\n"                                                                             \
    "      iterate:\n"                                                                             \
    "        - recurrent: {size: 16, sequence: yes}\n"                                             \
    "  - parallel:\n"                                                                              \
    "      apply:\n"                                                                               \
    "        - dense: 5\n"                                                                         \
    "  - activation: softmax\n"                                                                    \
    "  - output: asr\n"                                                                            \
    "loss:\n"                                                                                      \
    "  - name: ctc\n"                                                                              \
    "    target: asr\n"                                                                            \
    "    input_length: utterance_length\n"                                                         \
    "    relative_to: utterance\n"                                                                 \
    "    output_length: transcript_length\n"                                                       \
    "    output: transcript\n"

/* The same with smooth activations (tanh) for gradient checks: relu kinks
 * (and the default relu cells) make finite differences unreliable. */
#define SPEECH_MODEL_SMOOTH                                                                        \
    "model:\n"                                                                                     \
    "  - input: utterance\n"                                                                       \
    "  - convolution: {kernels: 16, size: 3, strides: 2, border: valid}\n"                         \
    "  - activation: tanh\n"                                                                       \
    "  - batch_normalization\n"                                                                    \
    "  - recurrent: {size: 16, outer_activation: tanh}\n"                                          \
    "  - recurrent: {size: 16, outer_activation: tanh, bidirectional: yes, merge: concat}\n"       \
    "  - parallel:\n"                                                                              \
    "      apply:\n"                                                                               \
    "        - dense: 5\n"                                                                         \
    "  - activation: softmax\n"                                                                    \
    "  - output: asr\n"                                                                            \
    "loss:\n"                                                                                      \
    "  - name: ctc\n"                                                                              \
    "    target: asr\n"                                                                            \
    "    input_length: utterance_length\n"                                                         \
    "    relative_to: utterance\n"                                                                 \
    "    output_length: transcript_length\n"                                                       \
    "    output: transcript\n"

/* Speech-like random data: B utterances of up to T frames of F features,
 * transcripts of up to L labels in [0, vocab). */
static void speech_data(struct kurc_dataset *d, int64_t B, int64_t T, int64_t F, int64_t L,
                        int64_t vocab, uint64_t seed) {
    kurc_dataset_init(d);
    struct kurc_err err;
    float *x = malloc((size_t)(B * T * F) * sizeof *x), *xl = malloc((size_t)B * sizeof *xl);
    float *lab = malloc((size_t)(B * L) * sizeof *lab), *ll = malloc((size_t)B * sizeof *ll);
    for (int64_t n = 0; n < B; n++) {
        int64_t frames = T - (int64_t)(kurc_rng_u64(seed, (uint64_t)n) % (uint64_t)(T / 3));
        xl[n] = (float)frames;
        int64_t m = 1 + (int64_t)(kurc_rng_u64(seed + 1, (uint64_t)n) % (uint64_t)L);
        ll[n] = (float)m;
        for (int64_t j = 0; j < L; j++)
            lab[n * L + j] =
                j < m ? (float)(kurc_rng_u64(seed + 2, (uint64_t)(n * L + j)) % (uint64_t)vocab)
                      : 0.0f;
        for (int64_t i = 0; i < T * F; i++)
            x[n * T * F + i] =
                i < frames * F
                    ? (float)(2.0 * kurc_rng_uniform(seed + 3, (uint64_t)(n * T * F + i)) - 1.0)
                    : 0.0f;
    }
    struct kurc_shape xs = {.ndim = 2, .dim = {T, F}}, one = {.ndim = 1, .dim = {1}};
    struct kurc_shape ls = {.ndim = 1, .dim = {L}};
    assert_int_equal(kurc_dataset_add(d, "utterance", &xs, B, x, "test", &err), KURC_OK);
    assert_int_equal(kurc_dataset_add(d, "utterance_length", &one, B, xl, "test", &err), KURC_OK);
    assert_int_equal(kurc_dataset_add(d, "transcript", &ls, B, lab, "test", &err), KURC_OK);
    assert_int_equal(kurc_dataset_add(d, "transcript_length", &one, B, ll, "test", &err), KURC_OK);
    assert_int_equal(kurc_dataset_seal(d, &err), KURC_OK);
}

static bool dataset_lookup(void *ctx, const char *name, struct kurc_shape *shape) {
    const struct kurc_source *s = kurc_dataset_find(ctx, name);
    if (s)
        *shape = s->shape;
    return s != NULL;
}

static void test_ctc_binding_and_relative_to(void **state) {
    (void)state;
    const int64_t B = 4, T = 15, F = 3, L = 3;
    struct kurc_dataset d;
    speech_data(&d, B, T, F, L, 4, 11);
    struct kurc_shape_source shapes = {dataset_lookup, &d};
    struct mt_model t;
    load_ok_with(&t, SPEECH_MODEL, B, &shapes);
    /* both recurrent layers share one lengths feed; the loss feeds three */
    assert_int_equal(t.m->n_feeds, 1);
    assert_int_equal(t.losses.n, 1);
    const struct kurc_loss_term *term = &t.losses.terms[0];
    assert_int_equal(term->truth, -1);
    assert_int_equal(term->n_feeds, 3);
    assert_string_equal(term->feeds[0].source, "transcript");
    expect_shape(t.m, term->feeds[0].tensor, 1, L, 0);
    assert_true(term->feeds[1].length);
    assert_int_equal(term->feeds[1].map.n, 0);
    assert_false(term->feeds[0].length);
    assert_true(term->feeds[2].length);
    assert_int_equal(term->feeds[2].map.n, 1);
    assert_int_equal(term->feeds[2].map.steps[0].stride, 2);
    expect_shape(t.m, mt_output_tensor(t.m, "asr"), 2, (T - 3) / 2 + 1, 5);

    struct kurc_bindings b;
    struct kurc_err err;
    assert_int_equal(kurc_bind(t.m, &t.losses, &d, B, &b, &err), KURC_OK);
    assert_int_equal(b.n, 1 + 1 + 3);
    int64_t idx[4] = {0, 1, 2, 3};
    kurc_bind_load(&b, t.x, idx, B);
    const float *in_len = kurc_exec_value(t.x, term->feeds[2].tensor);
    const float *mask_len = kurc_exec_value(t.x, t.m->feeds[0].tensor);
    const struct kurc_source *raw = kurc_dataset_find(&d, "utterance_length");
    for (int64_t n = 0; n < B; n++) {
        float want = (float)(((int64_t)raw->data[n] - 3) / 2 + 1);
        assert_true(in_len[n] == want);
        assert_true(mask_len[n] == want);
    }
    double loss = mt_objective(&t);
    assert_true(isfinite(loss) && loss > 0);
    kurc_bindings_release(&b);

    /* evaluation binds without the losses: only the model's feeds */
    assert_int_equal(kurc_bind(t.m, NULL, &d, B, &b, &err), KURC_OK);
    assert_int_equal(b.n, 2);
    kurc_bindings_release(&b);
    mt_free(&t);

    /* the loss's gradients through the whole model */
    load_ok_with(&t, SPEECH_MODEL_SMOOTH, B, &shapes);
    assert_int_equal(kurc_bind(t.m, &t.losses, &d, B, &b, &err), KURC_OK);
    kurc_bind_load(&b, t.x, idx, B);
    for (uint64_t dir = 0; dir < 3; dir++) {
        double e = mt_gradcheck_direction(&t, 90 + dir);
        fprintf(stderr, "speech model with ctc: directional gradient error %.2e\n", e);
        assert_true(e < 1e-2);
    }
    kurc_bindings_release(&b);
    mt_free(&t);

    /* data without the labels: a clear error */
    struct kurc_dataset partial;
    kurc_dataset_init(&partial);
    struct kurc_shape xs = {.ndim = 2, .dim = {T, F}};
    float *x = calloc((size_t)(T * F), sizeof *x);
    assert_int_equal(kurc_dataset_add(&partial, "utterance", &xs, 1, x, "test", &err), KURC_OK);
    struct kurc_shape_source ps = {dataset_lookup, &partial};
    load_fails_with(SPEECH_MODEL, &ps, "transcript");
    kurc_dataset_release(&partial);

    /* relative_to errors */
    load_fails_with("model:\n  - input: utterance\n  - recurrent: {size: 5}\n  - output: asr\n"
                    "loss:\n  - {name: ctc, target: asr, input_length: utterance_length,\n"
                    "     relative_to: nowhere, output_length: transcript_length,\n"
                    "     output: transcript}\n",
                    &shapes, "nowhere");
    load_fails_with("model:\n  - input: utterance\n  - flatten\n  - repeat: 4\n"
                    "  - output: asr\n"
                    "loss:\n  - {name: ctc, target: asr, input_length: utterance_length,\n"
                    "     relative_to: utterance, output_length: transcript_length,\n"
                    "     output: transcript}\n",
                    &shapes, "repeat");
    /* variants: warp and loss_scale as a list; unknown ones are ignored */
    load_ok_with(&t,
                 "model:\n  - input: utterance\n  - recurrent: {size: 5}\n  - output: asr\n"
                 "loss:\n  - {name: ctc, target: asr, input_length: utterance_length,\n"
                 "     output_length: transcript_length, output: transcript,\n"
                 "     variant: [warp, loss_scale, fancy]}\n",
                 B, &shapes);
    const struct kurc_graph *g = t.m->graph;
    const struct kurc_op *ctc = &g->ops[g->n_ops - 1];
    assert_string_equal(ctc->def->name, "ctc");
    assert_int_equal(ctc->attr.ctc.geom.blank, 0);
    assert_int_equal(ctc->attr.ctc.geom.label_shift, 1);
    assert_true(ctc->attr.ctc.loss_scale);
    assert_int_equal(t.losses.terms[0].feeds[2].map.n, 0);
    mt_free(&t);
    kurc_dataset_release(&d);
}

/* A batch whose utterances leave the output one step: the model builds
 * and its CTC loss is finite. */
static void test_ctc_one_output_step(void **state) {
    (void)state;
    const int64_t B = 2, T = 4, F = 3, L = 1;
    struct kurc_dataset d;
    speech_data(&d, B, T, F, L, 4, 13);
    struct kurc_shape_source shapes = {dataset_lookup, &d};
    struct mt_model t;
    load_ok_with(&t, SPEECH_MODEL, B, &shapes);
    expect_shape(t.m, mt_output_tensor(t.m, "asr"), 2, 1, 5);
    struct kurc_bindings b;
    struct kurc_err err;
    assert_int_equal(kurc_bind(t.m, &t.losses, &d, B, &b, &err), KURC_OK);
    int64_t idx[2] = {0, 1};
    kurc_bind_load(&b, t.x, idx, B);
    double loss = mt_objective(&t);
    assert_true(isfinite(loss) && loss > 0);
    kurc_bindings_release(&b);
    mt_free(&t);
    kurc_dataset_release(&d);
}

/* --- models that train -------------------------------------------------------- */

/* Kur's language model (examples/language-model), smaller: one-hot
 * characters in, stacked GRUs with batch norm, the next character out. */
static void test_language_model_trains(void **state) {
    (void)state;
    const int64_t B = 16, T = 8, V = 10;
    struct mt_model t;
    load_ok(&t,
            "settings:\n  vocab: {size: 10}\n  rnn: {size: 24, depth: 3}\n"
            "model:\n"
            "  - input: {shape: [8, 10]}\n    name: in_seq\n"
            "  - for:\n"
            "      range: \"{{ rnn.depth - 1 }}\"\n"
            "      iterate:\n"
            "        - recurrent: {size: \"{{ rnn.size }}\", type: gru, sequence: yes,\n"
            "                      bidirectional: no}\n"
            "        - batch_normalization\n"
            "  - recurrent: {size: \"{{ rnn.size }}\", type: gru, sequence: no,\n"
            "                bidirectional: no}\n"
            "  - dense: \"{{ vocab.size }}\"\n"
            "  - activation: softmax\n"
            "  - output: out_char\n"
            "loss:\n  - target: out_char\n    name: categorical_crossentropy\n",
            B);
    float *x = kurc_exec_value(t.x, mt_input_tensor(t.m, "in_seq"));
    float *truth = kurc_exec_value(t.x, t.losses.terms[0].truth);
    memset(x, 0, (size_t)(B * T * V) * sizeof *x);
    memset(truth, 0, (size_t)(B * V) * sizeof *truth);
    for (int64_t n = 0; n < B; n++) {
        int64_t sum = 0;
        for (int64_t s = 0; s < T; s++) {
            int64_t c = (int64_t)(kurc_rng_u64(21, (uint64_t)(n * T + s)) % (uint64_t)V);
            x[(n * T + s) * V + c] = 1.0f;
            sum += c;
        }
        truth[n * V + sum % V] = 1.0f; /* a function of the sequence */
    }
    double first, last;
    struct kurc_err err;
    assert_int_equal(mt_train(&t, 60, false, &first, &last, &err), KURC_OK);
    fprintf(stderr, "language model: loss %.4f -> %.4f\n", first, last);
    assert_true(last < 0.5 * first);
    mt_free(&t);
}

/* Kur's speech example (DeepSpeech-like), smaller, on random data with
 * lengths: the CTC loss comes down. */
static void test_speech_model_trains(void **state) {
    (void)state;
    const int64_t B = 8, T = 21, F = 6, L = 4;
    struct kurc_dataset d;
    speech_data(&d, B, T, F, L, 4, 31);
    struct kurc_shape_source shapes = {dataset_lookup, &d};
    struct mt_model t;
    load_ok_with(&t, SPEECH_MODEL, B, &shapes);
    struct kurc_bindings b;
    struct kurc_err err;
    assert_int_equal(kurc_bind(t.m, &t.losses, &d, B, &b, &err), KURC_OK);
    int64_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    kurc_bind_load(&b, t.x, idx, B);
    double first, last;
    assert_int_equal(mt_train(&t, 80, false, &first, &last, &err), KURC_OK);
    fprintf(stderr, "speech model: ctc loss %.4f -> %.4f\n", first, last);
    assert_true(last < 0.6 * first);
    kurc_bindings_release(&b);
    mt_free(&t);
    kurc_dataset_release(&d);
}

int main(void) {
    kurc_log_configure(KURC_LOG_ERROR, 0, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_shapes_and_weights),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_inside_parallel),
        cmocka_unit_test(test_bidirectional_alignment),
        cmocka_unit_test(test_masking),
        cmocka_unit_test(test_masking_errors),
        cmocka_unit_test(test_ctc_binding_and_relative_to),
        cmocka_unit_test(test_ctc_one_output_step),
        cmocka_unit_test(test_language_model_trains),
        cmocka_unit_test(test_speech_model_trains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
