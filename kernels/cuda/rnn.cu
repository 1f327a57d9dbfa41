/* rnn.cu - the CUDA backend's recurrent step kernels: the element-wise
 * parts of one time step of a SimpleRNN, GRU or LSTM layer, forward and
 * backward (contract: struct kurc_rnn_step in src/core/backend.h; the matrix
 * products between them are the op's, through gemm).
 *
 * One thread per (row, unit): every unit's equations read and write only
 * its own columns of the row, so the threads are independent.  The
 * formulas are kernels/cpu/rnn.c's, in the same order, without FMA
 * contraction.
 */
#include "kernels/common/act_math.h"
#include "kernels/cuda/cuda_internal.h"


#define THREADS 256

static __device__ __forceinline__ bool valid(const struct kurc_rnn_step &s, int64_t r) {
    return !s.len || (float)s.t < s.len[r];
}

#define CELLS(i, s)                                                                                \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (s).rows * (s).units;     \
         i += (int64_t)gridDim.x * blockDim.x)

static __global__ void forward_gates_kernel(struct kurc_rnn_step s) {
    int64_t H = s.units;
    CELLS(i, s) {
        int64_t r = i / H, j = i % H;
        float *rh = s.rh + r * s.ld_rh;
        if (!valid(s, r)) {
            rh[j] = 0.0f;
            continue;
        }
        float ar = s.pre[r * s.ld_pre + H + j];
        rh[j] = kurc_act_value(s.gate, s.gate_alpha, ar) * s.h_prev[r * s.ld_prev + j];
    }
}

static __global__ void forward_step_kernel(struct kurc_rnn_step s) {
    int64_t H = s.units;
    CELLS(i, s) {
        int64_t r = i / H, j = i % H;
        const float *a = s.pre + r * s.ld_pre;
        const float *hp = s.h_prev + r * s.ld_prev;
        float *h = s.h + r * s.ld_state;
        float *y = s.y ? s.y + r * s.ld_y : NULL;
        if (!valid(s, r)) {
            h[j] = hp[j];
            if (s.cell == KURC_RNN_LSTM)
                s.c[r * s.ld_state + j] = s.c_prev[r * s.ld_prev + j];
            if (y)
                y[j] = 0.0f;
            continue;
        }
        if (s.cell == KURC_RNN_SIMPLE) {
            h[j] = kurc_act_value(s.act, s.act_alpha, a[j]);
        } else if (s.cell == KURC_RNN_GRU) {
            float z = kurc_act_value(s.gate, s.gate_alpha, a[j]);
            float hh = kurc_act_value(s.act, s.act_alpha, a[2 * H + j]);
            h[j] = z * hp[j] + (1.0f - z) * hh;
        } else {
            const float *cp = s.c_prev + r * s.ld_prev;
            float *c = s.c + r * s.ld_state;
            float ig = kurc_act_value(s.gate, s.gate_alpha, a[j]);
            float f = kurc_act_value(s.gate, s.gate_alpha, a[H + j]);
            float g = kurc_act_value(s.act, s.act_alpha, a[2 * H + j]);
            float o = kurc_act_value(s.gate, s.gate_alpha, a[3 * H + j]);
            float cj = f * cp[j] + ig * g;
            c[j] = cj;
            h[j] = o * kurc_act_value(s.act, s.act_alpha, cj);
        }
        if (y)
            y[j] = h[j];
    }
}

static __global__ void backward_step_kernel(struct kurc_rnn_step s) {
    int64_t H = s.units;
    CELLS(i, s) {
        int64_t r = i / H, j = i % H;
        float *a = s.pre + r * s.ld_pre;
        float *dh = s.dh + r * H;
        if (!valid(s, r)) {
            if (s.cell == KURC_RNN_SIMPLE) {
                a[j] = 0.0f;
            } else if (s.cell == KURC_RNN_GRU) { /* z and h blocks */
                a[j] = 0.0f;
                a[2 * H + j] = 0.0f;
            } else {
                a[j] = a[H + j] = a[2 * H + j] = a[3 * H + j] = 0.0f;
            }
            continue;
        }
        float g = dh[j] + (s.dy ? s.dy[r * s.ld_y + j] : 0.0f);
        const float *hp = s.h_prev + r * s.ld_prev;
        if (s.cell == KURC_RNN_SIMPLE) {
            float y = kurc_act_value(s.act, s.act_alpha, a[j]);
            a[j] = g * kurc_act_slope(s.act, s.act_alpha, a[j], y);
            dh[j] = 0.0f;
        } else if (s.cell == KURC_RNN_GRU) {
            float az = a[j], ah = a[2 * H + j];
            float z = kurc_act_value(s.gate, s.gate_alpha, az);
            float hh = kurc_act_value(s.act, s.act_alpha, ah);
            a[j] = g * (hp[j] - hh) * kurc_act_slope(s.gate, s.gate_alpha, az, z);
            a[2 * H + j] = g * (1.0f - z) * kurc_act_slope(s.act, s.act_alpha, ah, hh);
            dh[j] = g * z;
        } else {
            const float *cp = s.c_prev + r * s.ld_prev;
            float *dc = s.dc + r * H;
            float ai = a[j], af = a[H + j], ac = a[2 * H + j], ao = a[3 * H + j];
            float ig = kurc_act_value(s.gate, s.gate_alpha, ai);
            float f = kurc_act_value(s.gate, s.gate_alpha, af);
            float cg = kurc_act_value(s.act, s.act_alpha, ac);
            float o = kurc_act_value(s.gate, s.gate_alpha, ao);
            float c = f * cp[j] + ig * cg;
            float tc = kurc_act_value(s.act, s.act_alpha, c);
            float dct = dc[j] + g * o * kurc_act_slope(s.act, s.act_alpha, c, tc);
            a[j] = dct * cg * kurc_act_slope(s.gate, s.gate_alpha, ai, ig);
            a[H + j] = dct * cp[j] * kurc_act_slope(s.gate, s.gate_alpha, af, f);
            a[2 * H + j] = dct * ig * kurc_act_slope(s.act, s.act_alpha, ac, cg);
            a[3 * H + j] = g * tc * kurc_act_slope(s.gate, s.gate_alpha, ao, o);
            dc[j] = dct * f;
            dh[j] = 0.0f;
        }
    }
}

static __global__ void backward_gates_kernel(struct kurc_rnn_step s) {
    int64_t H = s.units;
    CELLS(i, s) {
        int64_t r = i / H, j = i % H;
        float *ar = s.pre + r * s.ld_pre + H;
        if (!valid(s, r)) {
            ar[j] = 0.0f;
            continue;
        }
        float drh = s.drh[r * H + j];
        float rg = kurc_act_value(s.gate, s.gate_alpha, ar[j]);
        s.dh[r * H + j] += drh * rg;
        ar[j] = drh * s.h_prev[r * s.ld_prev + j] * kurc_act_slope(s.gate, s.gate_alpha, ar[j], rg);
    }
}

#define RNN_SLOT(name, kernel)                                                                     \
    void kc_##name(struct kurc_backend *be, const struct kurc_rnn_step *s) {                       \
        struct kc_ctx *c = kc_ctx_of(be);                                                          \
        int64_t n = s->rows * s->units;                                                            \
        if (c->failed || n <= 0)                                                                   \
            return;                                                                                \
        kernel<<<kc_blocks(c, n, THREADS), THREADS, 0, c->stream>>>(*s);                           \
        kc_launched(c, #name, #kernel);                                                            \
    }

RNN_SLOT(rnn_forward_gates, forward_gates_kernel)
RNN_SLOT(rnn_forward_step, forward_step_kernel)
RNN_SLOT(rnn_backward_step, backward_step_kernel)
RNN_SLOT(rnn_backward_gates, backward_gates_kernel)

