/* ctc.cu - the CUDA backend's CTC loss (contract: struct kurc_ctc_geom in
 * src/core/backend.h): kernels/cpu/ctc.c's alpha-beta recursions in log
 * space, in double precision, with one thread block per sample.
 *
 * Within a block the threads share a sample's work: the per-step log
 * normalisers (a thread per step), each step of the alpha and beta
 * recursions (a thread per extended position, a barrier between steps)
 * and the gradient (a thread per (step, class), summing gamma over the
 * extended positions in kernels/cpu/ctc.c's order).  The workspace has
 * kernels/cpu/ctc.c's layout and size, per sample: alpha and beta (steps
 * x S, S = 2 max_labels + 1), the log normalisers (steps), the extended
 * label sequence (S) and a row of classes doubles (unused here).
 */
#include "kernels/common/ctc_math.h"
#include "kernels/cuda/cuda_internal.h"

#include <math.h>

#define THREADS 256

static __host__ __device__ int64_t ext_size(const struct kurc_ctc_geom &g) {
    return 2 * g.max_labels + 1;
}

static __host__ __device__ int64_t per_sample(const struct kurc_ctc_geom &g) {
    int64_t s = ext_size(g);
    return 2 * g.steps * s + g.steps + s + g.classes;
}

size_t kc_ctc_workspace(struct kurc_backend *be, const struct kurc_ctc_geom *g) {
    (void)be;
    return (size_t)(g->batch * per_sample(*g)) * sizeof(double);
}

/* A sample's problem, shared by the block. */
struct sample {
    const float *p; /* steps x classes */
    int64_t n;      /* steps used */
    int64_t S;      /* extended positions used */
    bool ok;        /* has an alignment (labels valid, enough steps) */
    double *alpha, *beta, *lnorm, *ext;
};

static __device__ __forceinline__ double logq(const struct kurc_ctc_geom &g, const struct sample &s,
                                              int64_t t, int64_t k) {
    return log((double)s.p[t * g.classes + k] + (double)KURC_CTC_EPSILON) - s.lnorm[t];
}

/* Every thread of the block calls it; on return *s is the block's shared
 * view of sample b (lnorm filled when ok). */
static __device__ void setup(const struct kurc_ctc_geom &g, int64_t b, const float *prob,
                             const float *labels, const float *label_len, const float *input_len,
                             double *workspace, struct sample *s) {
    int64_t T = g.steps, C = g.classes, SMAX = ext_size(g);
    if (threadIdx.x == 0) {
        double *w = workspace + b * per_sample(g);
        s->p = prob + b * T * C;
        s->n = kurc_ctc_length(input_len, b, T);
        int64_t m = kurc_ctc_length(label_len, b, g.max_labels);
        s->S = 2 * m + 1;
        s->alpha = w;
        s->beta = w + T * SMAX;
        s->lnorm = s->beta + T * SMAX;
        s->ext = s->lnorm + T;
        s->ok = true;
        int64_t repeats = 0;
        for (int64_t j = 0; j < m && s->ok; j++) {
            float v = labels[b * g.max_labels + j];
            int64_t k = (int64_t)floorf(v + 0.5f) + g.label_shift;
            if (!(v > -1e9f && v < 1e9f) || k < 0 || k >= C || k == g.blank) {
                s->ok = false;
                break;
            }
            s->ext[2 * j] = (double)g.blank;
            s->ext[2 * j + 1] = (double)k;
            if (j > 0 && (int64_t)s->ext[2 * j - 1] == k)
                repeats++;
        }
        s->ext[2 * m] = (double)g.blank;
        if (s->ok && s->n < m + repeats)
            s->ok = false;
    }
    __syncthreads();
    if (s->ok)
        for (int64_t t = threadIdx.x; t < s->n; t += blockDim.x) {
            double sum = 0;
            for (int64_t k = 0; k < C; k++)
                sum += (double)s->p[t * C + k] + (double)KURC_CTC_EPSILON;
            s->lnorm[t] = log(sum);
        }
    __syncthreads();
}

static __device__ __forceinline__ int64_t ext_at(const struct sample &s, int64_t i) {
    return (int64_t)s.ext[i];
}

/* alpha over the used steps; every thread returns log P. */
static __device__ double forward(const struct kurc_ctc_geom &g, struct sample &s,
                                 double *shared_lp) {
    int64_t S = s.S, SMAX = ext_size(g);
    if (s.n == 0)
        return S == 1 ? 0.0 : -INFINITY;
    double *a = s.alpha;
    for (int64_t i = threadIdx.x; i < S; i += blockDim.x)
        a[i] = i < 2 ? logq(g, s, 0, ext_at(s, i)) : -INFINITY;
    __syncthreads();
    for (int64_t t = 1; t < s.n; t++) {
        const double *prev = a + (t - 1) * SMAX;
        double *cur = a + t * SMAX;
        for (int64_t i = threadIdx.x; i < S; i += blockDim.x) {
            double v = prev[i];
            if (i >= 1)
                v = kurc_lse2(v, prev[i - 1]);
            if (i >= 2 && (i & 1) && ext_at(s, i) != ext_at(s, i - 2))
                v = kurc_lse2(v, prev[i - 2]);
            cur[i] = v == -INFINITY ? v : v + logq(g, s, t, ext_at(s, i));
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        const double *last = a + (s.n - 1) * SMAX;
        *shared_lp = S >= 2 ? kurc_lse2(last[S - 1], last[S - 2]) : last[S - 1];
    }
    __syncthreads();
    return *shared_lp;
}

static __device__ void backward_vars(const struct kurc_ctc_geom &g, struct sample &s) {
    int64_t S = s.S, SMAX = ext_size(g), n = s.n;
    double *bt = s.beta;
    double *last = bt + (n - 1) * SMAX;
    for (int64_t i = threadIdx.x; i < S; i += blockDim.x)
        last[i] = i >= S - 2 ? logq(g, s, n - 1, ext_at(s, i)) : -INFINITY;
    __syncthreads();
    for (int64_t t = n - 2; t >= 0; t--) {
        const double *next = bt + (t + 1) * SMAX;
        double *cur = bt + t * SMAX;
        for (int64_t i = threadIdx.x; i < S; i += blockDim.x) {
            double v = next[i];
            if (i + 1 < S)
                v = kurc_lse2(v, next[i + 1]);
            if (i + 2 < S && ((i + 2) & 1) && ext_at(s, i + 2) != ext_at(s, i))
                v = kurc_lse2(v, next[i + 2]);
            cur[i] = v == -INFINITY ? v : v + logq(g, s, t, ext_at(s, i));
        }
        __syncthreads();
    }
}

static __global__ void ctc_forward_kernel(struct kurc_ctc_geom g, const float *prob,
                                          const float *labels, const float *label_len,
                                          const float *input_len, float scale, float *loss,
                                          double *workspace) {
    __shared__ struct sample s;
    __shared__ double lp;
    for (int64_t b = blockIdx.x; b < g.batch; b += gridDim.x) {
        setup(g, b, prob, labels, label_len, input_len, workspace, &s);
        if (!s.ok) {
            if (threadIdx.x == 0)
                loss[b] = INFINITY;
            __syncthreads();
            continue;
        }
        double v = forward(g, s, &lp);
        if (threadIdx.x == 0)
            loss[b] = v == -INFINITY ? INFINITY : (float)(-(double)scale * v);
        __syncthreads();
    }
}

static __global__ void ctc_backward_kernel(struct kurc_ctc_geom g, const float *prob,
                                           const float *labels, const float *label_len,
                                           const float *input_len, float scale, float *dprob,
                                           double *workspace) {
    __shared__ struct sample s;
    __shared__ double lp;
    int64_t T = g.steps, C = g.classes, SMAX = ext_size(g);
    for (int64_t b = blockIdx.x; b < g.batch; b += gridDim.x) {
        setup(g, b, prob, labels, label_len, input_len, workspace, &s);
        if (!s.ok || s.n == 0) {
            __syncthreads();
            continue;
        }
        double v = forward(g, s, &lp);
        if (v == -INFINITY) {
            __syncthreads();
            continue;
        }
        backward_vars(g, s);
        float *d = dprob + b * T * C;
        for (int64_t tk = threadIdx.x; tk < s.n * C; tk += blockDim.x) {
            int64_t t = tk / C, k = tk % C;
            const double *a = s.alpha + t * SMAX, *bt = s.beta + t * SMAX;
            double gamma = 0.0;
            for (int64_t i = 0; i < s.S; i++) {
                if (ext_at(s, i) != k)
                    continue;
                double w = a[i] + bt[i];
                if (w == -INFINITY)
                    continue;
                gamma += exp(w - logq(g, s, t, k) - v);
            }
            double pe = (double)s.p[t * C + k] + (double)KURC_CTC_EPSILON;
            double q = exp(log(pe) - s.lnorm[t]);
            d[t * C + k] += (float)((double)scale * (q - gamma) / pe);
        }
        __syncthreads();
    }
}

static unsigned sample_blocks(const struct kc_ctx *c, int64_t batch) {
    int64_t most = (int64_t)c->sm_count * 8;
    return (unsigned)(batch < most ? batch : most);
}

void kc_ctc_forward(struct kurc_backend *be, const struct kurc_ctc_geom *g, const float *prob,
                    const float *labels, const float *label_len, const float *input_len,
                    float scale, float *loss, void *workspace) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed || g->batch <= 0)
        return;
    ctc_forward_kernel<<<sample_blocks(c, g->batch), THREADS, 0, c->stream>>>(
        *g, prob, labels, label_len, input_len, scale, loss, (double *)workspace);
    kc_launched(c, "ctc_forward", "ctc_forward_kernel");
}

void kc_ctc_backward(struct kurc_backend *be, const struct kurc_ctc_geom *g, const float *prob,
                     const float *labels, const float *label_len, const float *input_len,
                     float scale, float *dprob, void *workspace) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed || g->batch <= 0)
        return;
    ctc_backward_kernel<<<sample_blocks(c, g->batch), THREADS, 0, c->stream>>>(
        *g, prob, labels, label_len, input_len, scale, dprob, (double *)workspace);
    kc_launched(c, "ctc_backward", "ctc_backward_kernel");
}

