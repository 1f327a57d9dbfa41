/* cuda_rnn.cu - the CUDA backend's recurrent step kernels: the element-wise
 * parts of one time step of a SimpleRNN, GRU or LSTM layer, forward and
 * backward (contract: struct kurc_rnn_step in src/backend.h; the matrix
 * products between them are the op's, through gemm).
 *
 * One thread per (row, unit): every unit's equations read and write only
 * its own columns of the row, so the threads are independent.  The
 * formulas are cpu_rnn.c's, in the same order, without FMA contraction.
 *
 * Compiled when src/backend.h has the recurrent slots (CMake defines
 * KC_HAVE_RNN_SLOTS; see kernels/CMakeLists.txt).
 */
#include "cuda_internal.h"

#if KC_HAVE_RNN_SLOTS

#define THREADS 256

/* Keras 2.0's SELU constants, as cpu_elementwise.c. */
#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f

static __device__ __forceinline__ float act(int a, float alpha, float x) {
    switch (a) {
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
    default:
        return x;
    }
}

/* The derivative at x (y = act(x)): the left piece's at a kink. */
static __device__ __forceinline__ float dact(int a, float alpha, float x, float y) {
    switch (a) {
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
    default:
        return 1.0f;
    }
}

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
        rh[j] = act(s.gate, s.gate_alpha, ar) * s.h_prev[r * s.ld_prev + j];
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
            h[j] = act(s.act, s.act_alpha, a[j]);
        } else if (s.cell == KURC_RNN_GRU) {
            float z = act(s.gate, s.gate_alpha, a[j]);
            float hh = act(s.act, s.act_alpha, a[2 * H + j]);
            h[j] = z * hp[j] + (1.0f - z) * hh;
        } else {
            const float *cp = s.c_prev + r * s.ld_prev;
            float *c = s.c + r * s.ld_state;
            float ig = act(s.gate, s.gate_alpha, a[j]);
            float f = act(s.gate, s.gate_alpha, a[H + j]);
            float g = act(s.act, s.act_alpha, a[2 * H + j]);
            float o = act(s.gate, s.gate_alpha, a[3 * H + j]);
            float cj = f * cp[j] + ig * g;
            c[j] = cj;
            h[j] = o * act(s.act, s.act_alpha, cj);
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
            float y = act(s.act, s.act_alpha, a[j]);
            a[j] = g * dact(s.act, s.act_alpha, a[j], y);
            dh[j] = 0.0f;
        } else if (s.cell == KURC_RNN_GRU) {
            float az = a[j], ah = a[2 * H + j];
            float z = act(s.gate, s.gate_alpha, az);
            float hh = act(s.act, s.act_alpha, ah);
            a[j] = g * (hp[j] - hh) * dact(s.gate, s.gate_alpha, az, z);
            a[2 * H + j] = g * (1.0f - z) * dact(s.act, s.act_alpha, ah, hh);
            dh[j] = g * z;
        } else {
            const float *cp = s.c_prev + r * s.ld_prev;
            float *dc = s.dc + r * H;
            float ai = a[j], af = a[H + j], ac = a[2 * H + j], ao = a[3 * H + j];
            float ig = act(s.gate, s.gate_alpha, ai);
            float f = act(s.gate, s.gate_alpha, af);
            float cg = act(s.act, s.act_alpha, ac);
            float o = act(s.gate, s.gate_alpha, ao);
            float c = f * cp[j] + ig * cg;
            float tc = act(s.act, s.act_alpha, c);
            float dct = dc[j] + g * o * dact(s.act, s.act_alpha, c, tc);
            a[j] = dct * cg * dact(s.gate, s.gate_alpha, ai, ig);
            a[H + j] = dct * cp[j] * dact(s.gate, s.gate_alpha, af, f);
            a[2 * H + j] = dct * ig * dact(s.act, s.act_alpha, ac, cg);
            a[3 * H + j] = g * tc * dact(s.gate, s.gate_alpha, ao, o);
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
        float rg = act(s.gate, s.gate_alpha, ar[j]);
        s.dh[r * H + j] += drh * rg;
        ar[j] = drh * s.h_prev[r * s.ld_prev + j] * dact(s.gate, s.gate_alpha, ar[j], rg);
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

#endif
