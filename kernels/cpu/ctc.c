/* ctc.c - the CPU backend's CTC loss (contract: struct kurc_ctc_geom in
 * src/core/backend.h): the alpha-beta recursions of Graves et al. (2006) in log
 * space, in double precision, one sample at a time (samples are
 * independent).
 *
 * Workspace per sample, in doubles: alpha and beta (steps x S each, S =
 * 2 max_labels + 1 extended positions), the log normalisers of the steps
 * (steps), the extended label sequence (S) and one row of gamma (classes). */
#include <math.h>
#include <stdint.h>

#include "kernels/common/ctc_math.h"
#include "kernels/cpu/cpu_kernels.h"

static int64_t ext_size(const struct kurc_ctc_geom *g) {
    return 2 * g->max_labels + 1;
}

static int64_t per_sample(const struct kurc_ctc_geom *g) {
    int64_t s = ext_size(g);
    return 2 * g->steps * s + g->steps + s + g->classes;
}

size_t cpu_ctc_workspace(struct kurc_backend *be, const struct kurc_ctc_geom *g) {
    (void)be;
    return (size_t)(g->batch * per_sample(g)) * sizeof(double);
}

/* One sample's problem: its steps, extended labels and log q. */
struct sample {
    const struct kurc_ctc_geom *g;
    const float *p; /* steps x classes */
    int64_t n;      /* steps used */
    int64_t S;      /* extended positions used: 2 m + 1 */
    double *alpha, *beta, *lnorm, *ext, *gamma;
};

static inline double logq(const struct sample *s, int64_t t, int64_t k) {
    return log((double)s->p[t * s->g->classes + k] + (double)KURC_CTC_EPSILON) - s->lnorm[t];
}

static inline int64_t ext_at(const struct sample *s, int64_t i) {
    return (int64_t)s->ext[i];
}

/* Sets up sample b; returns false when it has no alignment. */
static bool setup(const struct kurc_ctc_geom *g, int64_t b, const float *prob, const float *labels,
                  const float *label_len, const float *input_len, void *workspace,
                  struct sample *s) {
    int64_t T = g->steps, C = g->classes, SMAX = ext_size(g);
    double *w = (double *)workspace + b * per_sample(g);
    s->g = g;
    s->p = prob + b * T * C;
    s->n = kurc_ctc_length(input_len, b, T);
    int64_t m = kurc_ctc_length(label_len, b, g->max_labels);
    s->S = 2 * m + 1;
    s->alpha = w;
    s->beta = w + T * SMAX;
    s->lnorm = s->beta + T * SMAX;
    s->ext = s->lnorm + T;
    s->gamma = s->ext + SMAX;
    int64_t repeats = 0;
    for (int64_t j = 0; j < m; j++) {
        float v = labels[b * g->max_labels + j];
        int64_t k = (int64_t)floorf(v + 0.5f) + g->label_shift;
        if (!(v > -1e9f && v < 1e9f) || k < 0 || k >= C || k == g->blank)
            return false;
        s->ext[2 * j] = (double)g->blank;
        s->ext[2 * j + 1] = (double)k;
        if (j > 0 && (int64_t)s->ext[2 * j - 1] == k)
            repeats++;
    }
    s->ext[2 * m] = (double)g->blank;
    if (s->n < m + repeats)
        return false;
    for (int64_t t = 0; t < s->n; t++) {
        double sum = 0;
        for (int64_t k = 0; k < C; k++)
            sum += (double)s->p[t * C + k] + (double)KURC_CTC_EPSILON;
        s->lnorm[t] = log(sum);
    }
    return true;
}

/* alpha_t(i) over the used steps; returns log P. */
static double forward(struct sample *s) {
    int64_t S = s->S, SMAX = ext_size(s->g);
    if (s->n == 0)
        return S == 1 ? 0.0 : -INFINITY;
    double *a = s->alpha;
    for (int64_t i = 0; i < S; i++)
        a[i] = i < 2 ? logq(s, 0, ext_at(s, i)) : -INFINITY;
    for (int64_t t = 1; t < s->n; t++) {
        const double *prev = a + (t - 1) * SMAX;
        double *cur = a + t * SMAX;
        for (int64_t i = 0; i < S; i++) {
            double v = prev[i];
            if (i >= 1)
                v = kurc_lse2(v, prev[i - 1]);
            if (i >= 2 && (i & 1) && ext_at(s, i) != ext_at(s, i - 2))
                v = kurc_lse2(v, prev[i - 2]);
            cur[i] = v == -INFINITY ? v : v + logq(s, t, ext_at(s, i));
        }
    }
    const double *last = a + (s->n - 1) * SMAX;
    return S >= 2 ? kurc_lse2(last[S - 1], last[S - 2]) : last[S - 1];
}

static void backward_vars(struct sample *s) {
    int64_t S = s->S, SMAX = ext_size(s->g), n = s->n;
    double *bt = s->beta;
    double *last = bt + (n - 1) * SMAX;
    for (int64_t i = 0; i < S; i++)
        last[i] = i >= S - 2 ? logq(s, n - 1, ext_at(s, i)) : -INFINITY;
    for (int64_t t = n - 2; t >= 0; t--) {
        const double *next = bt + (t + 1) * SMAX;
        double *cur = bt + t * SMAX;
        for (int64_t i = 0; i < S; i++) {
            double v = next[i];
            if (i + 1 < S)
                v = kurc_lse2(v, next[i + 1]);
            if (i + 2 < S && ((i + 2) & 1) && ext_at(s, i + 2) != ext_at(s, i))
                v = kurc_lse2(v, next[i + 2]);
            cur[i] = v == -INFINITY ? v : v + logq(s, t, ext_at(s, i));
        }
    }
}

void cpu_ctc_forward(struct kurc_backend *be, const struct kurc_ctc_geom *g, const float *prob,
                     const float *labels, const float *label_len, const float *input_len,
                     float scale, float *loss, void *workspace) {
    (void)be;
    for (int64_t b = 0; b < g->batch; b++) {
        struct sample s;
        if (!setup(g, b, prob, labels, label_len, input_len, workspace, &s)) {
            loss[b] = INFINITY;
            continue;
        }
        double lp = forward(&s);
        loss[b] = lp == -INFINITY ? INFINITY : (float)(-(double)scale * lp);
    }
}

void cpu_ctc_backward(struct kurc_backend *be, const struct kurc_ctc_geom *g, const float *prob,
                      const float *labels, const float *label_len, const float *input_len,
                      float scale, float *dprob, void *workspace) {
    (void)be;
    int64_t T = g->steps, C = g->classes, SMAX = ext_size(g);
    for (int64_t b = 0; b < g->batch; b++) {
        struct sample s;
        if (!setup(g, b, prob, labels, label_len, input_len, workspace, &s) || s.n == 0)
            continue;
        double lp = forward(&s);
        if (lp == -INFINITY)
            continue;
        backward_vars(&s);
        float *d = dprob + b * T * C;
        for (int64_t t = 0; t < s.n; t++) {
            const double *a = s.alpha + t * SMAX, *bt = s.beta + t * SMAX;
            for (int64_t k = 0; k < C; k++)
                s.gamma[k] = 0.0;
            for (int64_t i = 0; i < s.S; i++) {
                double v = a[i] + bt[i];
                if (v == -INFINITY)
                    continue;
                int64_t k = ext_at(&s, i);
                s.gamma[k] += exp(v - logq(&s, t, k) - lp);
            }
            for (int64_t k = 0; k < C; k++) {
                double pe = (double)s.p[t * C + k] + (double)KURC_CTC_EPSILON;
                double q = exp(log(pe) - s.lnorm[t]);
                d[t * C + k] += (float)((double)scale * (q - s.gamma[k]) / pe);
            }
        }
    }
}
