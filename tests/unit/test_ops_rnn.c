/* test_ops_rnn.c - the recurrent op (SimpleRNN, GRU, LSTM) and the CTC loss
 * op through the graph executor: forwards against double-precision
 * references written from the Keras 2.0 equations, and finite-difference
 * gradients of every input and parameter (opgraph.h), for forward and
 * reverse scans, sequence and last-step outputs, with and without
 * per-sample lengths (masking), and the CTC loss's gradient w.r.t. the
 * probabilities, with its edge cases (empty labels, repeats, infeasible
 * alignments, warp's blank 0).
 *
 * Tolerances, as test_ops_grad.c: central differences with h = 1e-2
 * max(1, |v|), relative error |g - fd| / max(|g|, |fd|, 1e-2) < 1e-2.
 * Activations: tanh (smooth) for most cases, relu (Kur's default) with h =
 * 1e-3 so that perturbations rarely cross its kink; gates hard_sigmoid
 * (Keras 2.0's default) and sigmoid.  Weights U(-0.5, 0.5) keep the gates'
 * pre-activations mostly inside hard_sigmoid's linear range (-2.5, 2.5).
 * Forwards: |got - want| / max(|got|, |want|, 1) <= 1e-5. */
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

#define H_STEP 1e-2
#define TOL 1e-2
#define FLOOR 1e-2
#define SAMPLES 60
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

static void check_close(const float *got, const float *want, int64_t n, double tol,
                        const char *what) {
    double e = tu_max_rel_err(got, want, n, 1.0);
    if (!(e <= tol)) {
        print_error("%s: forward differs from the reference by %.3g (relative)\n", what, e);
        fail();
    }
}

/* ------------------------------------------------------------------------
 * references in double
 * ------------------------------------------------------------------------ */

static double ref_act(enum kurc_act a, double x) {
    switch (a) {
    case KURC_ACT_RELU:
        return x > 0 ? x : 0;
    case KURC_ACT_TANH:
        return tanh(x);
    case KURC_ACT_SIGMOID:
        return 1 / (1 + exp(-x));
    case KURC_ACT_HARD_SIGMOID:
        return fmin(1, fmax(0, 0.2 * x + 0.5));
    default:
        return x;
    }
}

static int64_t gate_blocks(enum kurc_rnn_cell c) {
    return c == KURC_RNN_LSTM ? 4 : c == KURC_RNN_GRU ? 3 : 1;
}

/* Keras 2.0 (implementation 0/1 semantics):
 *   SimpleRNN: h = act(x W + b + h U)
 *   GRU:  z = g(x W_z + b_z + h U_z), r = g(x W_r + b_r + h U_r),
 *         hh = act(x W_h + b_h + (r h) U_h), h = z h + (1 - z) hh
 *   LSTM: i, f, o = g(x W_. + b_. + h U_.), c = f c + i act(x W_c + b_c + h U_c),
 *         h = o act(c) */
static void ref_rnn(const struct kurc_rnn_spec *sp, int64_t B, int64_t T, int64_t I, int64_t H,
                    const float *x, const float *w, const float *u, const float *b,
                    const float *len, float *y) {
    int64_t G = gate_blocks(sp->cell), GH = G * H;
    double *h = calloc((size_t)H, sizeof *h), *c = calloc((size_t)H, sizeof *c);
    double *a = calloc((size_t)GH, sizeof *a), *rh = calloc((size_t)H, sizeof *rh);
    double *nh = calloc((size_t)H, sizeof *nh);
    for (int64_t n = 0; n < B; n++) {
        memset(h, 0, (size_t)H * sizeof *h);
        memset(c, 0, (size_t)H * sizeof *c);
        for (int64_t k = 0; k < T; k++) {
            int64_t t = sp->reverse ? T - 1 - k : k;
            bool valid = !len || (double)t < len[n];
            float *yt = sp->sequence ? y + (n * T + t) * H : NULL;
            if (!valid) {
                if (yt)
                    memset(yt, 0, (size_t)H * sizeof *yt);
                continue;
            }
            const float *xt = x + (n * T + t) * I;
            for (int64_t j = 0; j < GH; j++) {
                double s = b[j];
                for (int64_t i = 0; i < I; i++)
                    s += (double)xt[i] * w[i * GH + j];
                a[j] = s;
            }
            int64_t direct = sp->cell == KURC_RNN_GRU ? 2 * H : GH;
            for (int64_t j = 0; j < direct; j++)
                for (int64_t i = 0; i < H; i++)
                    a[j] += h[i] * u[i * GH + j];
            if (sp->cell == KURC_RNN_SIMPLE) {
                for (int64_t j = 0; j < H; j++)
                    nh[j] = ref_act(sp->act, a[j]);
            } else if (sp->cell == KURC_RNN_GRU) {
                for (int64_t i = 0; i < H; i++)
                    rh[i] = ref_act(sp->gate, a[H + i]) * h[i];
                for (int64_t j = 0; j < H; j++) {
                    double ah = a[2 * H + j];
                    for (int64_t i = 0; i < H; i++)
                        ah += rh[i] * u[i * GH + 2 * H + j];
                    double z = ref_act(sp->gate, a[j]);
                    nh[j] = z * h[j] + (1 - z) * ref_act(sp->act, ah);
                }
            } else {
                for (int64_t j = 0; j < H; j++) {
                    double ig = ref_act(sp->gate, a[j]), fg = ref_act(sp->gate, a[H + j]);
                    double g = ref_act(sp->act, a[2 * H + j]), og = ref_act(sp->gate, a[3 * H + j]);
                    c[j] = fg * c[j] + ig * g;
                    nh[j] = og * ref_act(sp->act, c[j]);
                }
            }
            memcpy(h, nh, (size_t)H * sizeof *h);
            if (yt)
                for (int64_t j = 0; j < H; j++)
                    yt[j] = (float)h[j];
        }
        if (!sp->sequence)
            for (int64_t j = 0; j < H; j++)
                y[n * H + j] = (float)h[j];
    }
    free(h);
    free(c);
    free(a);
    free(rh);
    free(nh);
}

/* ------------------------------------------------------------------------
 * recurrent op
 * ------------------------------------------------------------------------ */

static const char *cell_name(enum kurc_rnn_cell c) {
    return c == KURC_RNN_LSTM ? "lstm" : c == KURC_RNN_GRU ? "gru" : "rnn";
}

static void rnn_case(uint64_t seed, const struct kurc_rnn_spec *sp, bool masked, double h) {
    int64_t T = og_rand_int(seed, 0, 2, 5), I = og_rand_int(seed, 1, 1, 4);
    int64_t H = og_rand_int(seed, 2, 1, 4), B = og_rand_int(seed, 3, 2, 4);
    int64_t G = gate_blocks(sp->cell);
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(T, I), true);
    int len = masked ? og_input(&t, "len", SHAPE(1), false) : -1;
    int w = og_param(&t, "w", SHAPE(I, G * H), true);
    int u = og_param(&t, "u", SHAPE(H, G * H), true);
    int b = og_param(&t, "b", SHAPE(G * H), true);
    struct kurc_err err;
    int y = kurc_emit_rnn(t.g, x, w, u, b, len, sp, "rnn", &err);
    if (y < 0) {
        print_error("kurc_emit_rnn: %s\n", err.msg);
        fail();
    }
    og_objective(&t, y);
    og_ready(&t, B);
    og_fill(&t, x, seed + 1, -1, 1);
    og_fill(&t, w, seed + 2, -0.5f, 0.5f);
    og_fill(&t, u, seed + 3, -0.5f, 0.5f);
    og_fill(&t, b, seed + 4, -0.3f, 0.3f);
    if (masked) {
        /* lengths 0..T, with one full and one empty sequence */
        float *lv = og_value(&t, len);
        for (int64_t n = 0; n < B; n++)
            lv[n] = (float)(n == 0 ? T : n == 1 ? 0 : og_rand_int(seed, 10 + (uint64_t)n, 1, T));
    }

    char what[160];
    snprintf(what, sizeof what, "%s %s%s%s T=%lld in=%lld H=%lld B=%lld", cell_name(sp->cell),
             sp->reverse ? "reverse " : "", sp->sequence ? "sequence" : "last",
             masked ? " masked" : "", (long long)T, (long long)I, (long long)H, (long long)B);
    kurc_exec_forward(t.x);
    int64_t ny = og_count(&t, y);
    float *want = calloc((size_t)ny, sizeof *want);
    ref_rnn(sp, B, T, I, H, og_value(&t, x), og_value(&t, w), og_value(&t, u), og_value(&t, b),
            masked ? og_value(&t, len) : NULL, want);
    char label[200];
    snprintf(label, sizeof label, "%s forward", what);
    check_close(og_value(&t, y), want, ny, FWD_TOL, label);
    if (masked) {
        /* the empty sequence (sample 1): zero output */
        for (int64_t i = 0; i < ny / B; i++)
            assert_true(og_value(&t, y)[ny / B + i] == 0.0f);
    }
    free(want);

    const char *names[4] = {"x", "w", "u", "b"};
    int tensors[4] = {x, w, u, b};
    for (int i = 0; i < 4; i++) {
        snprintf(label, sizeof label, "%s d%s", what, names[i]);
        check_grad_h(&t, tensors[i], h, label);
    }
    og_free(&t);
}

static void rnn_cases(enum kurc_rnn_cell cell, enum kurc_act act, enum kurc_act gate, double h,
                      uint64_t seed) {
    for (int rev = 0; rev < 2; rev++)
        for (int seq = 0; seq < 2; seq++)
            for (int masked = 0; masked < 2; masked++) {
                struct kurc_rnn_spec sp = {cell, act, 0.0f, gate, 0.0f, rev, seq};
                rnn_case(seed + (uint64_t)(rev * 4 + seq * 2 + masked) * 17, &sp, masked, h);
            }
}

static void test_simple_rnn(void **state) {
    (void)state;
    rnn_cases(KURC_RNN_SIMPLE, KURC_ACT_TANH, KURC_ACT_HARD_SIGMOID, H_STEP, 1000);
    rnn_cases(KURC_RNN_SIMPLE, KURC_ACT_RELU, KURC_ACT_HARD_SIGMOID, 1e-3, 1100);
}

static void test_gru(void **state) {
    (void)state;
    rnn_cases(KURC_RNN_GRU, KURC_ACT_TANH, KURC_ACT_HARD_SIGMOID, H_STEP, 2000);
    rnn_cases(KURC_RNN_GRU, KURC_ACT_TANH, KURC_ACT_SIGMOID, H_STEP, 2100);
    rnn_cases(KURC_RNN_GRU, KURC_ACT_RELU, KURC_ACT_HARD_SIGMOID, 1e-3, 2200);
}

static void test_lstm(void **state) {
    (void)state;
    rnn_cases(KURC_RNN_LSTM, KURC_ACT_TANH, KURC_ACT_HARD_SIGMOID, H_STEP, 3000);
    rnn_cases(KURC_RNN_LSTM, KURC_ACT_TANH, KURC_ACT_SIGMOID, H_STEP, 3100);
    rnn_cases(KURC_RNN_LSTM, KURC_ACT_RELU, KURC_ACT_HARD_SIGMOID, 1e-3, 3200);
}

static void test_rnn_errors(void **state) {
    (void)state;
    struct og t;
    og_init(&t);
    struct kurc_err err;
    struct kurc_rnn_spec sp = {KURC_RNN_GRU, KURC_ACT_TANH, 0, KURC_ACT_HARD_SIGMOID, 0,
                               false,        true};
    int flat = og_input(&t, "flat", SHAPE(5), false);
    int x = og_input(&t, "x", SHAPE(4, 3), false);
    int w = og_param(&t, "w", SHAPE(3, 6), true);
    int u = og_param(&t, "u", SHAPE(2, 6), true);
    int b = og_param(&t, "b", SHAPE(6), true);
    int wrong = og_param(&t, "wrong", SHAPE(3, 4), true);
    int len2 = og_input(&t, "len2", SHAPE(2), false);
    assert_int_equal(kurc_emit_rnn(t.g, flat, w, u, b, -1, &sp, "r", &err), -1);
    assert_non_null(strstr(err.msg, "sequence"));
    assert_int_equal(kurc_emit_rnn(t.g, x, wrong, u, b, -1, &sp, "r", &err), -1);
    assert_int_equal(kurc_emit_rnn(t.g, x, w, wrong, b, -1, &sp, "r", &err), -1);
    assert_int_equal(kurc_emit_rnn(t.g, x, w, u, wrong, -1, &sp, "r", &err), -1);
    assert_int_equal(kurc_emit_rnn(t.g, x, w, u, b, len2, &sp, "r", &err), -1);
    assert_true(kurc_emit_rnn(t.g, x, w, u, b, -1, &sp, "r", &err) >= 0);
    og_free(&t);
}

/* ------------------------------------------------------------------------
 * CTC
 * ------------------------------------------------------------------------ */

static double lse(double a, double b) {
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    double m = fmax(a, b);
    return m + log(exp(a - m) + exp(b - m));
}

/* -log P(labels) by brute force over every path of n steps (small cases):
 * a path collapses (merge repeats, drop blanks) to the labels. */
static double ref_ctc_brute(const float *p, int64_t C, int64_t n, const int64_t *lab, int64_t m,
                            int64_t blank) {
    double total = -INFINITY;
    int64_t paths = 1;
    for (int64_t t = 0; t < n; t++)
        paths *= C;
    int64_t path[16], out[16];
    for (int64_t idx = 0; idx < paths; idx++) {
        int64_t v = idx;
        for (int64_t t = 0; t < n; t++) {
            path[t] = v % C;
            v /= C;
        }
        int64_t len = 0, prev = -1;
        for (int64_t t = 0; t < n; t++) {
            if (path[t] != prev && path[t] != blank)
                out[len++] = path[t];
            prev = path[t];
        }
        if (len != m)
            continue;
        bool same = true;
        for (int64_t j = 0; j < m && same; j++)
            same = out[j] == lab[j];
        if (!same)
            continue;
        double lp = 0;
        for (int64_t t = 0; t < n; t++) {
            double sum = 0;
            for (int64_t k = 0; k < C; k++)
                sum += (double)p[t * C + k] + 1e-8;
            lp += log(((double)p[t * C + path[t]] + 1e-8) / sum);
        }
        total = lse(total, lp);
    }
    return -total;
}

/* A CTC graph: pred (T, C) probabilities from a softmax of a needs-grad
 * input (so the gradient check runs through the softmax too, and the
 * probabilities are a true distribution), labels (L,), lengths. */
struct ctc_graph {
    struct og t;
    int logits, pred, labels, label_len, input_len, loss;
};

static void ctc_build(struct ctc_graph *c, int64_t B, int64_t T, int64_t C, int64_t L,
                      bool with_input_len, bool through_softmax, const struct kurc_ctc_spec *sp) {
    og_init(&c->t);
    struct kurc_err err;
    c->logits = og_input(&c->t, "logits", SHAPE(T, C), true);
    c->pred = through_softmax ? kurc_emit_softmax(c->t.g, c->logits, false, "softmax") : c->logits;
    c->labels = og_input(&c->t, "labels", SHAPE(L), false);
    c->label_len = og_input(&c->t, "label_len", SHAPE(1), false);
    c->input_len = with_input_len ? og_input(&c->t, "input_len", SHAPE(1), false) : -1;
    c->loss =
        kurc_emit_ctc(c->t.g, c->pred, c->labels, c->label_len, c->input_len, sp, "ctc", &err);
    if (c->loss < 0) {
        print_error("kurc_emit_ctc: %s\n", err.msg);
        fail();
    }
    og_loss(&c->t, c->loss);
    og_ready(&c->t, B);
}

/* Random labels in [0, C - 1) (never the blank C - 1; warp: [0, C - 1)
 * too, shifted to [1, C)), some with repeats. */
static void ctc_fill(struct ctc_graph *c, uint64_t seed, int64_t B, int64_t T, int64_t C,
                     int64_t L) {
    og_fill(&c->t, c->logits, seed, -2, 2);
    float *lab = og_value(&c->t, c->labels), *ll = og_value(&c->t, c->label_len);
    float *il = c->input_len >= 0 ? og_value(&c->t, c->input_len) : NULL;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = il ? og_rand_int(seed, 100 + (uint64_t)b, (T + 1) / 2, T) : T;
        if (il)
            il[b] = (float)n;
        int64_t m = og_rand_int(seed, 200 + (uint64_t)b, 0, L < n / 2 ? L : n / 2);
        ll[b] = (float)m;
        for (int64_t j = 0; j < L; j++)
            lab[b * L + j] = j < m ? (float)og_rand_int(seed, 300 + (uint64_t)(b * L + j), 0, C - 2)
                                   : -1.0f; /* padding is never read */
    }
}

static void test_ctc_forward_brute_force(void **state) {
    (void)state;
    for (int warp = 0; warp < 2; warp++)
        for (uint64_t seed = 0; seed < 6; seed++) {
            int64_t B = 3, T = og_rand_int(seed, 1, 1, 5), C = og_rand_int(seed, 2, 2, 4);
            int64_t L = 3;
            struct kurc_ctc_spec sp = {1.0f, warp, false};
            struct ctc_graph c;
            ctc_build(&c, B, T, C, L, true, true, &sp);
            ctc_fill(&c, 40 + seed, B, T, C, L);
            kurc_exec_forward(c.t.x);
            const float *p = og_value(&c.t, c.pred), *loss = og_value(&c.t, c.loss);
            for (int64_t b = 0; b < B; b++) {
                int64_t n = (int64_t)og_value(&c.t, c.input_len)[b];
                int64_t m = (int64_t)og_value(&c.t, c.label_len)[b];
                int64_t lab[8];
                for (int64_t j = 0; j < m; j++)
                    lab[j] = (int64_t)og_value(&c.t, c.labels)[b * L + j] + (warp ? 1 : 0);
                double want = ref_ctc_brute(p + b * T * C, C, n, lab, m, warp ? 0 : C - 1);
                double got = loss[b];
                if (isinf(want)) {
                    assert_true(isinf(got) && got > 0);
                    continue;
                }
                if (!(fabs(got - want) <= 1e-5 * fmax(1.0, fabs(want)))) {
                    print_error("ctc T=%lld C=%lld m=%lld n=%lld: got %.9g, want %.9g\n",
                                (long long)T, (long long)C, (long long)m, (long long)n, got, want);
                    fail();
                }
            }
            og_free(&c.t);
        }
}

static void test_ctc_gradient(void **state) {
    (void)state;
    for (int warp = 0; warp < 2; warp++)
        for (int with_len = 0; with_len < 2; with_len++)
            for (uint64_t seed = 0; seed < 3; seed++) {
                int64_t B = 3, T = og_rand_int(seed, 1, 3, 8), C = og_rand_int(seed, 2, 2, 5);
                int64_t L = og_rand_int(seed, 3, 1, 4);
                struct kurc_ctc_spec sp = {0.7f, warp, false};
                /* directly on probabilities (the op's own gradient), then
                 * through a softmax */
                for (int soft = 0; soft < 2; soft++) {
                    struct ctc_graph c;
                    ctc_build(&c, B, T, C, L, with_len, soft, &sp);
                    ctc_fill(&c, 70 + seed, B, T, C, L);
                    if (!soft)
                        og_fill(&c.t, c.logits, 80 + seed, 0.05f, 1.0f);
                    char what[128];
                    snprintf(what, sizeof what, "ctc %s%s%s T=%lld C=%lld L=%lld",
                             warp ? "warp " : "", with_len ? "lengths " : "",
                             soft ? "through softmax" : "d/dprob", (long long)T, (long long)C,
                             (long long)L);
                    check_grad_h(&c.t, c.logits, soft ? H_STEP : 1e-3, what);
                    og_free(&c.t);
                }
            }
}

/* Infeasible alignments give +inf and no gradient; empty labels over no
 * steps give 0; loss_scale multiplies by mean(input length) / 100. */
static void test_ctc_edges(void **state) {
    (void)state;
    struct kurc_ctc_spec sp = {1.0f, false, false};
    struct ctc_graph c;
    int64_t B = 3, T = 4, C = 3, L = 3;
    ctc_build(&c, B, T, C, L, true, true, &sp);
    ctc_fill(&c, 5, B, T, C, L);
    float *lab = og_value(&c.t, c.labels), *ll = og_value(&c.t, c.label_len);
    float *il = og_value(&c.t, c.input_len);
    /* sample 0: labels (0, 0, 1) need 4 steps (a blank between the 0s) but get 3 */
    lab[0] = 0, lab[1] = 0, lab[2] = 1, ll[0] = 3, il[0] = 3;
    /* sample 1: nothing over nothing */
    ll[1] = 0, il[1] = 0;
    /* sample 2: a label equal to the blank */
    lab[6] = 2, ll[2] = 1, il[2] = 4;
    og_backward(&c.t);
    const float *loss = og_value(&c.t, c.loss);
    assert_true(isinf(loss[0]) && loss[0] > 0);
    assert_true(loss[1] == 0.0f);
    assert_true(isinf(loss[2]) && loss[2] > 0);
    const float *g = kurc_exec_grad(c.t.x, c.logits);
    for (int64_t i = 0; i < B * T * C; i++)
        assert_true(g[i] == 0.0f);
    /* feasible with exactly the steps needed: 4 */
    il[0] = 4;
    ll[2] = 0;
    kurc_exec_forward(c.t.x);
    assert_true(isfinite(loss[0]) && loss[0] > 0);
    double plain[3];
    for (int i = 0; i < 3; i++)
        plain[i] = loss[i];
    og_free(&c.t);

    /* loss_scale: mean input length (4 + 0 + 4) / 3 / 100 */
    struct kurc_ctc_spec scaled = {1.0f, false, true};
    ctc_build(&c, B, T, C, L, true, true, &scaled);
    ctc_fill(&c, 5, B, T, C, L);
    lab = og_value(&c.t, c.labels), ll = og_value(&c.t, c.label_len);
    il = og_value(&c.t, c.input_len);
    lab[0] = 0, lab[1] = 0, lab[2] = 1, ll[0] = 3, il[0] = 4;
    ll[1] = 0, il[1] = 0;
    ll[2] = 0, il[2] = 4;
    kurc_exec_forward(c.t.x);
    loss = og_value(&c.t, c.loss);
    for (int i = 0; i < 3; i++)
        assert_true(fabs(loss[i] - plain[i] * (8.0 / 3.0 / 100.0)) <= 1e-6 * fmax(1, plain[i]));
    check_grad_h(&c.t, c.logits, H_STEP, "ctc loss_scale");
    og_free(&c.t);
}

static void test_ctc_errors(void **state) {
    (void)state;
    struct og t;
    og_init(&t);
    struct kurc_err err;
    struct kurc_ctc_spec sp = {1.0f, false, false};
    int flat = og_input(&t, "flat", SHAPE(5), false);
    int pred = og_input(&t, "pred", SHAPE(6, 4), false);
    int one_class = og_input(&t, "one", SHAPE(6, 1), false);
    int labels = og_input(&t, "labels", SHAPE(3), false);
    int labels2 = og_input(&t, "labels2", SHAPE(3, 2), false);
    int n = og_input(&t, "n", SHAPE(1), false);
    int n2 = og_input(&t, "n2", SHAPE(2), false);
    assert_int_equal(kurc_emit_ctc(t.g, flat, labels, n, n, &sp, "c", &err), -1);
    assert_int_equal(kurc_emit_ctc(t.g, one_class, labels, n, n, &sp, "c", &err), -1);
    assert_int_equal(kurc_emit_ctc(t.g, pred, labels2, n, n, &sp, "c", &err), -1);
    assert_int_equal(kurc_emit_ctc(t.g, pred, labels, n2, n, &sp, "c", &err), -1);
    assert_int_equal(kurc_emit_ctc(t.g, pred, labels, n, n2, &sp, "c", &err), -1);
    assert_true(kurc_emit_ctc(t.g, pred, labels, n, -1, &sp, "c", &err) >= 0);
    og_free(&t);
}

static int report(void **state) {
    (void)state;
    fprintf(stderr, "worst relative gradient error over all checks: %.3g\n", worst_seen);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_rnn),
        cmocka_unit_test(test_gru),
        cmocka_unit_test(test_lstm),
        cmocka_unit_test(test_rnn_errors),
        cmocka_unit_test(test_ctc_forward_brute_force),
        cmocka_unit_test(test_ctc_gradient),
        cmocka_unit_test(test_ctc_edges),
        cmocka_unit_test(test_ctc_errors),
    };
    return cmocka_run_group_tests(tests, NULL, report);
}
