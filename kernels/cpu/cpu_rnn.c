/* cpu_rnn.c - the CPU backend's recurrent step kernels: the element-wise
 * parts of one time step of a SimpleRNN, GRU or LSTM layer, forward and
 * backward (contract: struct kurc_rnn_step in src/backend.h).  The matrix
 * products between them are the op's (src/ops/op_rnn.c). */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"

/* Keras 2.0's SELU constants, as cpu_elementwise.c. */
#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f

/* One activation value, as cpu_act_forward computes it. */
static inline float act(enum kurc_act a, float alpha, float x) {
    switch (a) {
    case KURC_ACT_LINEAR:
        return x;
    case KURC_ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    case KURC_ACT_TANH:
        return tanhf(x);
    case KURC_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-x));
    case KURC_ACT_HARD_SIGMOID: {
        float t = 0.2f * x + 0.5f;
        return t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    }
    case KURC_ACT_SOFTPLUS:
        return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
    case KURC_ACT_SOFTSIGN:
        return x / (1.0f + fabsf(x));
    case KURC_ACT_ELU:
        return x > 0.0f ? x : alpha * expm1f(x);
    case KURC_ACT_SELU:
        return SELU_SCALE * (x > 0.0f ? x : SELU_ALPHA * expm1f(x));
    case KURC_ACT_LEAKY_RELU:
        return x > 0.0f ? x : alpha * x;
    case KURC_ACT_COUNT:
        break;
    }
    return x;
}

/* Its derivative at x (y = act(x)), as cpu_act_backward: the left piece's
 * at a kink. */
static inline float dact(enum kurc_act a, float alpha, float x, float y) {
    switch (a) {
    case KURC_ACT_LINEAR:
        return 1.0f;
    case KURC_ACT_RELU:
        return x > 0.0f ? 1.0f : 0.0f;
    case KURC_ACT_TANH:
        return 1.0f - y * y;
    case KURC_ACT_SIGMOID:
        return y * (1.0f - y);
    case KURC_ACT_HARD_SIGMOID:
        return x > -2.5f && x < 2.5f ? 0.2f : 0.0f;
    case KURC_ACT_SOFTPLUS:
        return 1.0f / (1.0f + expf(-x));
    case KURC_ACT_SOFTSIGN: {
        float d = 1.0f + fabsf(x);
        return 1.0f / (d * d);
    }
    case KURC_ACT_ELU:
        return x > 0.0f ? 1.0f : alpha * expf(x);
    case KURC_ACT_SELU:
        return SELU_SCALE * (x > 0.0f ? 1.0f : SELU_ALPHA * expf(x));
    case KURC_ACT_LEAKY_RELU:
        return x > 0.0f ? 1.0f : alpha;
    case KURC_ACT_COUNT:
        break;
    }
    return 1.0f;
}

static inline bool valid(const struct kurc_rnn_step *s, int64_t r) {
    return !s->len || (float)s->t < s->len[r];
}

void cpu_rnn_forward_gates(struct kurc_backend *be, const struct kurc_rnn_step *s) {
    (void)be;
    int64_t H = s->units;
    for (int64_t r = 0; r < s->rows; r++) {
        float *rh = s->rh + r * s->ld_rh;
        if (!valid(s, r)) {
            memset(rh, 0, (size_t)H * sizeof *rh);
            continue;
        }
        const float *ar = s->pre + r * s->ld_pre + H;
        const float *hp = s->h_prev + r * s->ld_prev;
        for (int64_t j = 0; j < H; j++)
            rh[j] = act(s->gate, s->gate_alpha, ar[j]) * hp[j];
    }
}

void cpu_rnn_forward_step(struct kurc_backend *be, const struct kurc_rnn_step *s) {
    (void)be;
    int64_t H = s->units;
    for (int64_t r = 0; r < s->rows; r++) {
        const float *a = s->pre + r * s->ld_pre;
        const float *hp = s->h_prev + r * s->ld_prev;
        float *h = s->h + r * s->ld_state;
        float *y = s->y ? s->y + r * s->ld_y : NULL;
        if (!valid(s, r)) {
            memcpy(h, hp, (size_t)H * sizeof *h);
            if (s->cell == KURC_RNN_LSTM)
                memcpy(s->c + r * s->ld_state, s->c_prev + r * s->ld_prev, (size_t)H * sizeof *h);
            if (y)
                memset(y, 0, (size_t)H * sizeof *y);
            continue;
        }
        switch (s->cell) {
        case KURC_RNN_SIMPLE:
            for (int64_t j = 0; j < H; j++)
                h[j] = act(s->act, s->act_alpha, a[j]);
            break;
        case KURC_RNN_GRU:
            for (int64_t j = 0; j < H; j++) {
                float z = act(s->gate, s->gate_alpha, a[j]);
                float hh = act(s->act, s->act_alpha, a[2 * H + j]);
                h[j] = z * hp[j] + (1.0f - z) * hh;
            }
            break;
        case KURC_RNN_LSTM: {
            const float *cp = s->c_prev + r * s->ld_prev;
            float *c = s->c + r * s->ld_state;
            for (int64_t j = 0; j < H; j++) {
                float i = act(s->gate, s->gate_alpha, a[j]);
                float f = act(s->gate, s->gate_alpha, a[H + j]);
                float g = act(s->act, s->act_alpha, a[2 * H + j]);
                float o = act(s->gate, s->gate_alpha, a[3 * H + j]);
                c[j] = f * cp[j] + i * g;
                h[j] = o * act(s->act, s->act_alpha, c[j]);
            }
            break;
        }
        }
        if (y)
            memcpy(y, h, (size_t)H * sizeof *y);
    }
}

void cpu_rnn_backward_step(struct kurc_backend *be, const struct kurc_rnn_step *s) {
    (void)be;
    int64_t H = s->units;
    for (int64_t r = 0; r < s->rows; r++) {
        float *a = s->pre + r * s->ld_pre;
        float *dh = s->dh + r * H;
        if (!valid(s, r)) {
            switch (s->cell) {
            case KURC_RNN_SIMPLE:
                memset(a, 0, (size_t)H * sizeof *a);
                break;
            case KURC_RNN_GRU: /* z and h blocks; r is rnn_backward_gates' */
                memset(a, 0, (size_t)H * sizeof *a);
                memset(a + 2 * H, 0, (size_t)H * sizeof *a);
                break;
            case KURC_RNN_LSTM:
                memset(a, 0, (size_t)(4 * H) * sizeof *a);
                break;
            }
            continue;
        }
        const float *dy = s->dy ? s->dy + r * s->ld_y : NULL;
        const float *hp = s->h_prev + r * s->ld_prev;
        switch (s->cell) {
        case KURC_RNN_SIMPLE:
            for (int64_t j = 0; j < H; j++) {
                float g = dh[j] + (dy ? dy[j] : 0.0f);
                float y = act(s->act, s->act_alpha, a[j]);
                a[j] = g * dact(s->act, s->act_alpha, a[j], y);
                dh[j] = 0.0f;
            }
            break;
        case KURC_RNN_GRU:
            for (int64_t j = 0; j < H; j++) {
                float g = dh[j] + (dy ? dy[j] : 0.0f);
                float az = a[j], ah = a[2 * H + j];
                float z = act(s->gate, s->gate_alpha, az);
                float hh = act(s->act, s->act_alpha, ah);
                a[j] = g * (hp[j] - hh) * dact(s->gate, s->gate_alpha, az, z);
                a[2 * H + j] = g * (1.0f - z) * dact(s->act, s->act_alpha, ah, hh);
                dh[j] = g * z;
            }
            break;
        case KURC_RNN_LSTM: {
            const float *cp = s->c_prev + r * s->ld_prev;
            float *dc = s->dc + r * H;
            for (int64_t j = 0; j < H; j++) {
                float g = dh[j] + (dy ? dy[j] : 0.0f);
                float ai = a[j], af = a[H + j], ac = a[2 * H + j], ao = a[3 * H + j];
                float i = act(s->gate, s->gate_alpha, ai);
                float f = act(s->gate, s->gate_alpha, af);
                float cg = act(s->act, s->act_alpha, ac);
                float o = act(s->gate, s->gate_alpha, ao);
                float c = f * cp[j] + i * cg;
                float tc = act(s->act, s->act_alpha, c);
                float dct = dc[j] + g * o * dact(s->act, s->act_alpha, c, tc);
                a[j] = dct * cg * dact(s->gate, s->gate_alpha, ai, i);
                a[H + j] = dct * cp[j] * dact(s->gate, s->gate_alpha, af, f);
                a[2 * H + j] = dct * i * dact(s->act, s->act_alpha, ac, cg);
                a[3 * H + j] = g * tc * dact(s->gate, s->gate_alpha, ao, o);
                dc[j] = dct * f;
                dh[j] = 0.0f;
            }
            break;
        }
        }
    }
}

void cpu_rnn_backward_gates(struct kurc_backend *be, const struct kurc_rnn_step *s) {
    (void)be;
    int64_t H = s->units;
    for (int64_t r = 0; r < s->rows; r++) {
        float *ar = s->pre + r * s->ld_pre + H;
        if (!valid(s, r)) {
            memset(ar, 0, (size_t)H * sizeof *ar);
            continue;
        }
        const float *hp = s->h_prev + r * s->ld_prev;
        const float *drh = s->drh + r * H;
        float *dh = s->dh + r * H;
        for (int64_t j = 0; j < H; j++) {
            float rg = act(s->gate, s->gate_alpha, ar[j]);
            dh[j] += drh[j] * rg;
            ar[j] = drh[j] * hp[j] * dact(s->gate, s->gate_alpha, ar[j], rg);
        }
    }
}
