/* optim.cu - the CUDA backend's optimizer updates over flat parameter,
 * gradient and state arrays, one fused kernel each (Keras 2.0 rules,
 * src/core/backend.h).  The formulas are kernels/cpu/optim.c's, in the same
 * order; they use only + - * / and sqrt and this file is compiled without
 * FMA contraction (--fmad=false), so the results are the CPU's bit for
 * bit.  The arrays must not overlap.
 */
#include <math.h>

#include "kernels/cuda/grid.cuh"

static __global__ void sgd_plain_kernel(int64_t n, float lr, float *__restrict__ p,
                                        const float *__restrict__ g) {
    GRID_STRIDE(i, n) p[i] -= lr * g[i];
}

static __global__ void sgd_momentum_kernel(int64_t n, float lr, float momentum, bool nesterov,
                                           float *__restrict__ p, const float *__restrict__ g,
                                           float *__restrict__ v) {
    GRID_STRIDE(i, n) {
        float vi = momentum * v[i] - lr * g[i];
        v[i] = vi;
        if (nesterov)
            p[i] = p[i] + momentum * vi - lr * g[i];
        else
            p[i] += vi;
    }
}

void kc_sgd_step(struct kurc_backend *be, int64_t n, float lr, float momentum, bool nesterov,
                 float *p, const float *g, float *v) {
    SKIP_IF_IDLE(be, n);
    if (momentum == 0.0f)
        LAUNCH(be, "sgd_step", sgd_plain_kernel, n, n, lr, p, g);
    else
        LAUNCH(be, "sgd_step", sgd_momentum_kernel, n, n, lr, momentum, nesterov, p, g, v);
}

static __global__ void adam_kernel(int64_t n, float lr_t, float beta1, float beta2, float eps,
                                   float *__restrict__ p, const float *__restrict__ g,
                                   float *__restrict__ m, float *__restrict__ v) {
    float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float mi = beta1 * m[i] + c1 * gi;
        float vi = beta2 * v[i] + c2 * (gi * gi);
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr_t * mi / (sqrtf(vi) + eps);
    }
}

void kc_adam_step(struct kurc_backend *be, int64_t n, float lr_t, float beta1, float beta2,
                  float eps, float *p, const float *g, float *m, float *v) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "adam_step", adam_kernel, n, n, lr_t, beta1, beta2, eps, p, g, m, v);
}

static __global__ void rmsprop_kernel(int64_t n, float lr, float rho, float eps,
                                      float *__restrict__ p, const float *__restrict__ g,
                                      float *__restrict__ a) {
    float c = 1.0f - rho;
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float ai = rho * a[i] + c * (gi * gi);
        a[i] = ai;
        p[i] -= lr * gi / (sqrtf(ai) + eps);
    }
}

void kc_rmsprop_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps, float *p,
                     const float *g, float *a) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "rmsprop_step", rmsprop_kernel, n, n, lr, rho, eps, p, g, a);
}

static __global__ void adadelta_kernel(int64_t n, float lr, float rho, float eps,
                                       float *__restrict__ p, const float *__restrict__ g,
                                       float *__restrict__ a, float *__restrict__ d) {
    float c = 1.0f - rho;
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float ai = rho * a[i] + c * (gi * gi);
        float u = gi * sqrtf(d[i] + eps) / sqrtf(ai + eps);
        a[i] = ai;
        p[i] -= lr * u;
        d[i] = rho * d[i] + c * (u * u);
    }
}

void kc_adadelta_step(struct kurc_backend *be, int64_t n, float lr, float rho, float eps, float *p,
                      const float *g, float *a, float *d) {
    SKIP_IF_IDLE(be, n);
    LAUNCH(be, "adadelta_step", adadelta_kernel, n, n, lr, rho, eps, p, g, a, d);
}
