/* rnn_dump.c - runs kurc's recurrent op (GRU, LSTM, SimpleRNN) and CTC
 * loss op on random inputs (CPU backend) and writes what check_rnn_torch.py
 * needs to recompute them in PyTorch (float64):
 *
 *   rnn_dump DIR        writes DIR/rnn_NAME.txt and DIR/ctc_NAME.txt
 *
 * Recurrent cases: the Keras 2.0 cells (Kur's), forward and reverse scans,
 * sequence and last-step outputs, with and without per-sample lengths;
 * the objective is J = sum r * y for a fixed random r, so the gradients
 * are dJ/dx, dJ/dw, dJ/du, dJ/db.  CTC cases: probabilities p (softmax of
 * random logits, float32), labels with repeats, lengths; the per-sample
 * losses and the gradient of their sum w.r.t. p.
 *
 * File format: "case KIND NAME" then "KEY VALUE..." lines; tensors as
 * "tensor NAME NDIM D0 D1 ..." with the values (%.9g) on the next line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "opgraph.h"

static void write_tensor(FILE *f, const char *name, int ndim, const int64_t *dims, const float *v) {
    int64_t n = 1;
    fprintf(f, "tensor %s %d", name, ndim);
    for (int i = 0; i < ndim; i++) {
        fprintf(f, " %lld", (long long)dims[i]);
        n *= dims[i];
    }
    fputc('\n', f);
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%s%.9g", i ? " " : "", v[i]);
    fputc('\n', f);
}

static FILE *open_case(const char *dir, const char *kind, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s_%s.txt", dir, kind, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "case %s %s\n", kind, name);
    return f;
}

static const char *act_name(enum kurc_act a) {
    switch (a) {
    case KURC_ACT_RELU:
        return "relu";
    case KURC_ACT_TANH:
        return "tanh";
    case KURC_ACT_SIGMOID:
        return "sigmoid";
    case KURC_ACT_HARD_SIGMOID:
        return "hard_sigmoid";
    default:
        return "linear";
    }
}

struct rnn_case {
    const char *name;
    enum kurc_rnn_cell cell;
    enum kurc_act act;
    bool reverse, sequence, masked;
    int64_t B, T, I, H;
};

static const struct rnn_case rnn_cases[] = {
    {"gru_tanh", KURC_RNN_GRU, KURC_ACT_TANH, false, true, false, 3, 9, 5, 6},
    {"gru_relu_masked", KURC_RNN_GRU, KURC_ACT_RELU, false, true, true, 4, 12, 4, 5},
    {"gru_reverse_last_masked", KURC_RNN_GRU, KURC_ACT_TANH, true, false, true, 4, 10, 3, 4},
    {"lstm_tanh", KURC_RNN_LSTM, KURC_ACT_TANH, false, true, false, 3, 9, 5, 6},
    {"lstm_relu_reverse_masked", KURC_RNN_LSTM, KURC_ACT_RELU, true, true, true, 4, 12, 4, 5},
    {"lstm_last_masked", KURC_RNN_LSTM, KURC_ACT_TANH, false, false, true, 3, 8, 3, 4},
    {"rnn_relu", KURC_RNN_SIMPLE, KURC_ACT_RELU, false, true, true, 3, 7, 4, 3},
};

static void dump_rnn(const char *dir, const struct rnn_case *c, uint64_t seed) {
    int64_t G = c->cell == KURC_RNN_LSTM ? 4 : c->cell == KURC_RNN_GRU ? 3 : 1;
    int64_t B = c->B, T = c->T, I = c->I, H = c->H;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(T, I), true);
    int len = c->masked ? og_input(&t, "len", SHAPE(1), false) : -1;
    int w = og_param(&t, "w", SHAPE(I, G * H), true);
    int u = og_param(&t, "u", SHAPE(H, G * H), true);
    int b = og_param(&t, "b", SHAPE(G * H), true);
    struct kurc_rnn_spec spec = {c->cell, c->act,     0.0f,       KURC_ACT_HARD_SIGMOID,
                                 0.0f,    c->reverse, c->sequence};
    struct kurc_err err;
    int y = kurc_emit_rnn(t.g, x, w, u, b, len, &spec, "rnn", &err);
    if (y < 0) {
        fprintf(stderr, "%s: %s\n", c->name, err.msg);
        exit(1);
    }
    og_objective(&t, y);
    og_ready(&t, B);
    og_fill(&t, x, seed, -1, 1);
    og_fill(&t, w, seed + 1, -0.6f, 0.6f);
    og_fill(&t, u, seed + 2, -0.6f, 0.6f);
    og_fill(&t, b, seed + 3, -0.2f, 0.2f);
    if (c->masked) {
        float *lv = og_value(&t, len);
        for (int64_t n = 0; n < B; n++)
            lv[n] = (float)(n == 0 ? T : og_rand_int(seed, 50 + (uint64_t)n, 0, T));
    }
    og_backward(&t);
    FILE *f = open_case(dir, "rnn", c->name);
    fprintf(f, "cell %s\nact %s\ngate hard_sigmoid\nreverse %d\nsequence %d\n",
            c->cell == KURC_RNN_LSTM  ? "lstm"
            : c->cell == KURC_RNN_GRU ? "gru"
                                      : "rnn",
            act_name(c->act), c->reverse, c->sequence);
    write_tensor(f, "x", 3, (int64_t[]){B, T, I}, og_value(&t, x));
    if (c->masked)
        write_tensor(f, "len", 1, (int64_t[]){B}, og_value(&t, len));
    write_tensor(f, "w", 2, (int64_t[]){I, G * H}, og_value(&t, w));
    write_tensor(f, "u", 2, (int64_t[]){H, G * H}, og_value(&t, u));
    write_tensor(f, "b", 1, (int64_t[]){G * H}, og_value(&t, b));
    int64_t ydims[3] = {B, T, H};
    if (!c->sequence)
        ydims[1] = H;
    write_tensor(f, "r", c->sequence ? 3 : 2, ydims, og_value(&t, t.r));
    write_tensor(f, "y", c->sequence ? 3 : 2, ydims, og_value(&t, y));
    write_tensor(f, "dx", 3, (int64_t[]){B, T, I}, kurc_exec_grad(t.x, x));
    write_tensor(f, "dw", 2, (int64_t[]){I, G * H}, kurc_exec_grad(t.x, w));
    write_tensor(f, "du", 2, (int64_t[]){H, G * H}, kurc_exec_grad(t.x, u));
    write_tensor(f, "db", 1, (int64_t[]){G * H}, kurc_exec_grad(t.x, b));
    fclose(f);
    og_free(&t);
}

struct ctc_case {
    const char *name;
    int64_t B, T, C, L;
    bool warp, lengths;
};

static const struct ctc_case ctc_cases[] = {
    {"small", 4, 6, 4, 3, false, true},    {"speech", 6, 50, 29, 12, false, true},
    {"long", 3, 200, 10, 30, false, true}, {"full_length", 4, 20, 6, 5, false, false},
    {"warp", 5, 30, 8, 6, true, true},
};

static void dump_ctc(const char *dir, const struct ctc_case *c, uint64_t seed) {
    int64_t B = c->B, T = c->T, C = c->C, L = c->L;
    struct og t;
    og_init(&t);
    int p = og_input(&t, "p", SHAPE(T, C), true);
    int labels = og_input(&t, "labels", SHAPE(L), false);
    int label_len = og_input(&t, "label_len", SHAPE(1), false);
    int input_len = c->lengths ? og_input(&t, "input_len", SHAPE(1), false) : -1;
    struct kurc_ctc_spec spec = {1.0f, c->warp, false};
    struct kurc_err err;
    int loss = kurc_emit_ctc(t.g, p, labels, label_len, input_len, &spec, "ctc", &err);
    if (loss < 0) {
        fprintf(stderr, "%s: %s\n", c->name, err.msg);
        exit(1);
    }
    og_loss(&t, loss);
    og_ready(&t, B);
    /* p: softmax of logits U(-3, 3), in float32 */
    float *pv = og_value(&t, p);
    for (int64_t r = 0; r < B * T; r++) {
        double m = -INFINITY, s = 0;
        float *row = pv + r * C;
        for (int64_t k = 0; k < C; k++) {
            row[k] = (float)(6.0 * kurc_rng_uniform(seed, (uint64_t)(r * C + k)) - 3.0);
            m = fmax(m, row[k]);
        }
        for (int64_t k = 0; k < C; k++)
            s += exp(row[k] - m);
        for (int64_t k = 0; k < C; k++)
            row[k] = (float)(exp(row[k] - m) / s);
    }
    float *lab = og_value(&t, labels), *ll = og_value(&t, label_len);
    float *il = c->lengths ? og_value(&t, input_len) : NULL;
    for (int64_t n = 0; n < B; n++) {
        int64_t steps = il ? og_rand_int(seed + 1, (uint64_t)n, T / 2, T) : T;
        if (il)
            il[n] = (float)steps;
        int64_t m = og_rand_int(seed + 2, (uint64_t)n, 0, L < steps / 2 ? L : steps / 2);
        if (n == 0)
            m = L < steps / 2 ? L : steps / 2; /* the most labels */
        ll[n] = (float)m;
        for (int64_t j = 0; j < L; j++) {
            int64_t v = og_rand_int(seed + 3, (uint64_t)(n * L + j), 0, C - 2);
            /* every third label repeats its predecessor */
            if (j > 0 && j % 3 == 2)
                v = (int64_t)lab[n * L + j - 1];
            lab[n * L + j] = j < m ? (float)v : 0.0f;
        }
    }
    og_backward(&t);
    FILE *f = open_case(dir, "ctc", c->name);
    fprintf(f, "warp %d\n", c->warp);
    write_tensor(f, "p", 3, (int64_t[]){B, T, C}, pv);
    write_tensor(f, "labels", 2, (int64_t[]){B, L}, lab);
    write_tensor(f, "label_len", 1, (int64_t[]){B}, ll);
    if (il)
        write_tensor(f, "input_len", 1, (int64_t[]){B}, il);
    write_tensor(f, "loss", 1, (int64_t[]){B}, og_value(&t, loss));
    write_tensor(f, "dp", 3, (int64_t[]){B, T, C}, kurc_exec_grad(t.x, p));
    fclose(f);
    og_free(&t);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: rnn_dump DIR\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof rnn_cases / sizeof rnn_cases[0]; i++)
        dump_rnn(argv[1], &rnn_cases[i], 1000 + 10 * i);
    for (size_t i = 0; i < sizeof ctc_cases / sizeof ctc_cases[0]; i++)
        dump_ctc(argv[1], &ctc_cases[i], 2000 + 10 * i);
    return 0;
}
