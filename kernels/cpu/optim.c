/* optim.c - the CPU backend's optimizer updates over flat parameter,
 * gradient and state arrays, in float32 exactly as Keras 2.0 writes them
 * (the rules are quoted in src/core/backend.h).  The arrays must not overlap. */
#include <math.h>

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/cpu_kernels.h"

/* v = momentum v - lr g;  p += nesterov ? momentum v - lr g : v.  With
 * momentum 0 this is p -= lr g and v is neither read nor written (it may
 * be NULL). */
void cpu_sgd_step(struct kurc_backend *be, int64_t n, float lr, float momentum, bool nesterov,
                  float *restrict p, const float *restrict g, float *restrict v) {
    (void)be;
    if (momentum == 0.0f) {
        for (int64_t i = 0; i < n; i++)
            p[i] -= lr * g[i];
    } else if (nesterov) {
        for (int64_t i = 0; i < n; i++) {
            float vi = momentum * v[i] - lr * g[i];
            v[i] = vi;
            p[i] = p[i] + momentum * vi - lr * g[i];
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float vi = momentum * v[i] - lr * g[i];
            v[i] = vi;
            p[i] += vi;
        }
    }
}

static inline __attribute__((always_inline)) void
adam_step_body(int64_t n, float lr_t, float beta1, float beta2, float eps, float *restrict p,
               const float *restrict g, float *restrict m, float *restrict v) {
    float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    for (int64_t i = 0; i < n; i++) {
        float mi = beta1 * m[i] + c1 * g[i];
        float vi = beta2 * v[i] + c2 * (g[i] * g[i]);
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr_t * mi / (sqrtf(vi) + eps);
    }
}

KURC_CPU_VARIANTS(adam_step,
                  (int64_t n, float lr_t, float beta1, float beta2, float eps, float *restrict p,
                   const float *restrict g, float *restrict m, float *restrict v),
                  (n, lr_t, beta1, beta2, eps, p, g, m, v))

void cpu_adam_step(struct kurc_backend *be, int64_t n, float lr_t, float beta1, float beta2,
                   float eps, float *restrict p, const float *restrict g, float *restrict m,
                   float *restrict v) {
    (void)be;
    adam_step_pick()(n, lr_t, beta1, beta2, eps, p, g, m, v);
}

void cpu_rmsprop_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps,
                      float *restrict p, const float *restrict g, float *restrict a) {
    (void)be;
    float c = 1.0f - rho;
    for (int64_t i = 0; i < n; i++) {
        float ai = rho * a[i] + c * (g[i] * g[i]);
        a[i] = ai;
        p[i] -= lr * g[i] / (sqrtf(ai) + eps);
    }
}

/* The update u uses the old d; d then moves towards u^2. */
void cpu_adadelta_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps,
                       float *restrict p, const float *restrict g, float *restrict a,
                       float *restrict d) {
    (void)be;
    float c = 1.0f - rho;
    for (int64_t i = 0; i < n; i++) {
        float ai = rho * a[i] + c * (g[i] * g[i]);
        float u = g[i] * sqrtf(d[i] + eps) / sqrtf(ai + eps);
        a[i] = ai;
        p[i] -= lr * u;
        d[i] = rho * d[i] + c * (u * u);
    }
}
