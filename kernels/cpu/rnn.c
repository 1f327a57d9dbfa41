/* rnn.c - the CPU backend's recurrent step kernels: the element-wise
 * parts of one time step of a SimpleRNN, GRU or LSTM layer, forward and
 * backward (contract: struct kurc_rnn_step in src/core/backend.h).  The matrix
 * products between them are the op's (src/ops/op_rnn.c). */
#include <math.h>
#include <string.h>

#include "kernels/common/act_math.h"
#include "kernels/cpu/cpu_kernels.h"

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
            rh[j] = kurc_act_value(s->gate, s->gate_alpha, ar[j]) * hp[j];
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
                h[j] = kurc_act_value(s->act, s->act_alpha, a[j]);
            break;
        case KURC_RNN_GRU:
            for (int64_t j = 0; j < H; j++) {
                float z = kurc_act_value(s->gate, s->gate_alpha, a[j]);
                float hh = kurc_act_value(s->act, s->act_alpha, a[2 * H + j]);
                h[j] = z * hp[j] + (1.0f - z) * hh;
            }
            break;
        case KURC_RNN_LSTM: {
            const float *cp = s->c_prev + r * s->ld_prev;
            float *c = s->c + r * s->ld_state;
            for (int64_t j = 0; j < H; j++) {
                float i = kurc_act_value(s->gate, s->gate_alpha, a[j]);
                float f = kurc_act_value(s->gate, s->gate_alpha, a[H + j]);
                float g = kurc_act_value(s->act, s->act_alpha, a[2 * H + j]);
                float o = kurc_act_value(s->gate, s->gate_alpha, a[3 * H + j]);
                c[j] = f * cp[j] + i * g;
                h[j] = o * kurc_act_value(s->act, s->act_alpha, c[j]);
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
                float y = kurc_act_value(s->act, s->act_alpha, a[j]);
                a[j] = g * kurc_act_slope(s->act, s->act_alpha, a[j], y);
                dh[j] = 0.0f;
            }
            break;
        case KURC_RNN_GRU:
            for (int64_t j = 0; j < H; j++) {
                float g = dh[j] + (dy ? dy[j] : 0.0f);
                float az = a[j], ah = a[2 * H + j];
                float z = kurc_act_value(s->gate, s->gate_alpha, az);
                float hh = kurc_act_value(s->act, s->act_alpha, ah);
                a[j] = g * (hp[j] - hh) * kurc_act_slope(s->gate, s->gate_alpha, az, z);
                a[2 * H + j] = g * (1.0f - z) * kurc_act_slope(s->act, s->act_alpha, ah, hh);
                dh[j] = g * z;
            }
            break;
        case KURC_RNN_LSTM: {
            const float *cp = s->c_prev + r * s->ld_prev;
            float *dc = s->dc + r * H;
            for (int64_t j = 0; j < H; j++) {
                float g = dh[j] + (dy ? dy[j] : 0.0f);
                float ai = a[j], af = a[H + j], ac = a[2 * H + j], ao = a[3 * H + j];
                float i = kurc_act_value(s->gate, s->gate_alpha, ai);
                float f = kurc_act_value(s->gate, s->gate_alpha, af);
                float cg = kurc_act_value(s->act, s->act_alpha, ac);
                float o = kurc_act_value(s->gate, s->gate_alpha, ao);
                float c = f * cp[j] + i * cg;
                float tc = kurc_act_value(s->act, s->act_alpha, c);
                float dct = dc[j] + g * o * kurc_act_slope(s->act, s->act_alpha, c, tc);
                a[j] = dct * cg * kurc_act_slope(s->gate, s->gate_alpha, ai, i);
                a[H + j] = dct * cp[j] * kurc_act_slope(s->gate, s->gate_alpha, af, f);
                a[2 * H + j] = dct * i * kurc_act_slope(s->act, s->act_alpha, ac, cg);
                a[3 * H + j] = g * tc * kurc_act_slope(s->gate, s->gate_alpha, ao, o);
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
            float rg = kurc_act_value(s->gate, s->gate_alpha, ar[j]);
            dh[j] += drh[j] * rg;
            ar[j] = drh[j] * hp[j] * kurc_act_slope(s->gate, s->gate_alpha, ar[j], rg);
        }
    }
}
