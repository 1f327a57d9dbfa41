/* norm.cu - the CUDA backend's batch normalisation, with the batch's own
 * statistics and in pieces (statistics summed elsewhere), from the
 * per-channel partial sums of reduce.cuh.  Batch normalisation over more
 * channels than the reduction scratch holds (about 70 000) is reported as
 * unsupported.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/cuda/reduce.cuh"

/* --- batch normalisation (kernels/cpu/norm.c, step for step) ------------------ */

/* Per-channel values after the partials: F_* slots of `channels` doubles. */
enum { F_DMU = 0, F_HI, F_LO, F_SCALE, F_COUNT };

static __device__ __forceinline__ double *fslot(double *scratch, int64_t base, int k,
                                                int64_t channels) {
    return scratch + base + (int64_t)k * channels;
}

/* mean in double; saved mean = its float rounding hi, lo = the rest. */
static __global__ void bn_mean_kernel(int64_t channels, int splits, double count,
                                      double *__restrict__ scratch, int64_t base,
                                      float *__restrict__ mean) {
    CHANNEL_LOOP(c, channels) {
        double dmu = gather_parts(scratch, 0, splits, channels, c) / count;
        float hi = (float)dmu;
        fslot(scratch, base, F_DMU, channels)[c] = dmu;
        fslot(scratch, base, F_HI, channels)[c] = hi;
        fslot(scratch, base, F_LO, channels)[c] = (float)(dmu - hi);
        mean[c] = hi;
    }
}

static __global__ void bn_invstd_kernel(int64_t channels, int splits, double count, float eps,
                                        const float *__restrict__ gamma,
                                        double *__restrict__ scratch, int64_t base,
                                        float *__restrict__ invstd) {
    CHANNEL_LOOP(c, channels) {
        double inv =
            1.0 / sqrt(gather_parts(scratch, 0, splits, channels, c) / count + (double)eps);
        invstd[c] = (float)inv;
        fslot(scratch, base, F_SCALE, channels)[c] = (float)(gamma[c] * inv);
    }
}

static __global__ void bn_apply_kernel(struct view v, const float *__restrict__ x,
                                       const float *__restrict__ beta,
                                       const double *__restrict__ scratch, int64_t base,
                                       float *__restrict__ y) {
    int64_t total = v.outer * v.channels * v.inner;
    const double *hi = scratch + base + F_HI * v.channels;
    const double *lo = scratch + base + F_LO * v.channels;
    const double *scale = scratch + base + F_SCALE * v.channels;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t c = i / v.inner % v.channels;
        y[i] = ((x[i] - (float)hi[c]) - (float)lo[c]) * (float)scale[c] + beta[c];
    }
}

static int bn_splits(struct kurc_backend *be, const char *op, const struct view &v, int q) {
    int splits = choose_splits(kc_ctx_of(be), v, q, F_COUNT);
    if (splits == 0) {
        char what[160];
        snprintf(what, sizeof what,
                 "%lld channels are more than the reduction scratch holds (%zu doubles)",
                 (long long)v.channels, KC_SCRATCH_DOUBLES);
        kc_fail(kc_ctx_of(be), KURC_E_UNSUPPORTED, op, "the reduction scratch", what);
    }
    return splits;
}

void kc_batchnorm_forward(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                          float eps, const float *x, const float *gamma, const float *beta,
                          float *y, float *mean, float *invstd) {
    struct kc_ctx *c = kc_ctx_of(be);
    const char *op = "batchnorm_forward";
    if (c->failed || outer * channels * inner <= 0)
        return;
    struct view v = {outer, channels, inner};
    int splits = bn_splits(be, op, v, 1);
    if (splits == 0)
        return;
    int64_t base = (int64_t)splits * channels;
    double count = (double)outer * (double)inner;
    unsigned cb = kc_blocks(c, channels, THREADS);
    const double *dmu = c->scratch + base + F_DMU * channels;
    if (!channel_sums<SUM_X>(be, op, v, splits, x, NULL, NULL, NULL))
        return;
    bn_mean_kernel<<<cb, THREADS, 0, c->stream>>>(channels, splits, count, c->scratch, base, mean);
    if (!launched(be, op, "bn_mean_kernel") ||
        !channel_sums<SQ_DEV>(be, op, v, splits, x, NULL, dmu, NULL))
        return;
    bn_invstd_kernel<<<cb, THREADS, 0, c->stream>>>(channels, splits, count, eps, gamma, c->scratch,
                                                    base, invstd);
    if (!launched(be, op, "bn_invstd_kernel"))
        return;
    int64_t total = outer * channels * inner;
    bn_apply_kernel<<<kc_blocks(c, total, THREADS), THREADS, 0, c->stream>>>(v, x, beta, c->scratch,
                                                                             base, y);
    launched(be, op, "bn_apply_kernel");
}

/* Per channel: dbeta, dgamma, and dx's coefficients a, b, k, lo (F_* slots
 * reused: F_DMU a, F_HI b, F_LO k, F_SCALE lo). */
static __global__ void bn_grad_kernel(int64_t channels, int splits, double count,
                                      const float *__restrict__ gamma,
                                      const float *__restrict__ mean,
                                      const float *__restrict__ invstd,
                                      double *__restrict__ scratch, int64_t base,
                                      float *__restrict__ dgamma, float *__restrict__ dbeta) {
    CHANNEL_LOOP(c, channels) {
        double sx = gather_parts(scratch, 0, splits, channels, c);
        double sdy = gather_parts(scratch, 1, splits, channels, c);
        double sdyx = gather_parts(scratch, 2, splits, channels, c);
        double delta = sx / count - mean[c];
        double s = (double)invstd[c];
        double gs = (double)gamma[c] * s;
        double dyxhat = (sdyx - delta * sdy) * s;
        if (dbeta)
            dbeta[c] += (float)sdy;
        if (dgamma)
            dgamma[c] += (float)dyxhat;
        fslot(scratch, base, 0, channels)[c] = (float)gs;
        fslot(scratch, base, 1, channels)[c] = (float)(-gs * sdy / count);
        fslot(scratch, base, 2, channels)[c] = (float)(-gs * s * dyxhat / count);
        fslot(scratch, base, 3, channels)[c] = (float)delta;
    }
}

static __global__ void bn_dx_kernel(struct view v, const float *__restrict__ x,
                                    const float *__restrict__ dy, const float *__restrict__ mean,
                                    const double *__restrict__ scratch, int64_t base,
                                    float *__restrict__ dx) {
    int64_t total = v.outer * v.channels * v.inner;
    const double *coef = scratch + base;
    int64_t n = v.channels;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t c = i / v.inner % n;
        float a = (float)coef[c], b = (float)coef[n + c], k = (float)coef[2 * n + c],
              lo = (float)coef[3 * n + c];
        dx[i] += a * dy[i] + b + k * ((x[i] - mean[c]) - lo);
    }
}

void kc_batchnorm_backward(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                           const float *x, const float *dy, const float *gamma, const float *mean,
                           const float *invstd, float *dx, float *dgamma, float *dbeta) {
    struct kc_ctx *c = kc_ctx_of(be);
    const char *op = "batchnorm_backward";
    if (c->failed || outer * channels * inner <= 0 || (!dx && !dgamma && !dbeta))
        return;
    struct view v = {outer, channels, inner};
    int splits = bn_splits(be, op, v, 3);
    if (splits == 0)
        return;
    int64_t base = 3 * (int64_t)splits * channels;
    double count = (double)outer * (double)inner;
    if (!channel_sums<BN_BACK>(be, op, v, splits, x, dy, NULL, mean))
        return;
    bn_grad_kernel<<<kc_blocks(c, channels, THREADS), THREADS, 0, c->stream>>>(
        channels, splits, count, gamma, mean, invstd, c->scratch, base, dgamma, dbeta);
    if (!launched(be, op, "bn_grad_kernel") || !dx)
        return;
    int64_t total = outer * channels * inner;
    bn_dx_kernel<<<kc_blocks(c, total, THREADS), THREADS, 0, c->stream>>>(v, x, dy, mean,
                                                                          c->scratch, base, dx);
    launched(be, op, "bn_dx_kernel");
}

/* --- batch normalisation in pieces (statistics summed elsewhere) ---------------- */

/* out[c] = sum of the parts of quantity k (into scratch after the parts). */
static __global__ void parts_final_kernel(int64_t channels, int splits, int quantities,
                                          double *__restrict__ scratch, int64_t at) {
    CHANNEL_LOOP(c, channels) {
        for (int k = 0; k < quantities; k++)
            scratch[at + (int64_t)k * channels + c] = gather_parts(scratch, k, splits, channels, c);
    }
}

/* Per-channel sums to the host (kurc_backend_ops.batchnorm_sums): the
 * centre goes to the scratch, the partial sums are combined in order, and
 * both sums come back in one copy. */
void kc_batchnorm_sums(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                       const float *x, const float *dy, const double *center, double *s1,
                       double *s2) {
    struct kc_ctx *c = kc_ctx_of(be);
    const char *op = "batchnorm_sums";
    if (channels <= 0)
        return;
    memset(s1, 0, (size_t)channels * sizeof *s1);
    memset(s2, 0, (size_t)channels * sizeof *s2);
    if (c->failed || outer * inner <= 0)
        return;
    struct view v = {outer, channels, inner};
    int splits = bn_splits(be, op, v, 2);
    if (splits == 0)
        return;
    int64_t base = 2 * (int64_t)splits * channels, result = base + channels;
    double *dcenter = c->scratch + base;
    bool ok =
        center
            ? kc_cuda_ok(c,
                         cudaMemcpyAsync(dcenter, center, (size_t)channels * sizeof(double),
                                         cudaMemcpyHostToDevice, c->stream),
                         op, "cudaMemcpyAsync (host to device)")
            : kc_cuda_ok(c,
                         cudaMemsetAsync(dcenter, 0, (size_t)channels * sizeof(double), c->stream),
                         op, "cudaMemsetAsync");
    if (!ok)
        return;
    if (dy ? !channel_sums<CENTERED_DY>(be, op, v, splits, x, dy, dcenter, NULL)
           : !channel_sums<CENTERED>(be, op, v, splits, x, NULL, dcenter, NULL))
        return;
    parts_final_kernel<<<kc_blocks(c, channels, THREADS), THREADS, 0, c->stream>>>(
        channels, splits, 2, c->scratch, result);
    if (!launched(be, op, "parts_final_kernel"))
        return;
    size_t bytes = (size_t)channels * sizeof(double);
    if (kc_cuda_ok(
            c, cudaMemcpyAsync(s1, c->scratch + result, bytes, cudaMemcpyDeviceToHost, c->stream),
            op, "cudaMemcpyAsync (device to host)") &&
        kc_cuda_ok(c,
                   cudaMemcpyAsync(s2, c->scratch + result + channels, bytes,
                                   cudaMemcpyDeviceToHost, c->stream),
                   op, "cudaMemcpyAsync (device to host)"))
        kc_cuda_ok(c, cudaStreamSynchronize(c->stream), op, "cudaStreamSynchronize");
}

/* out (=, or += when accumulate) k ((x - hi) - lo) + b (+ a dy), in
 * cpu_batchnorm_affine's order. */
static __global__ void bn_affine_kernel(struct view v, const float *__restrict__ x,
                                        const float *__restrict__ hi, const float *__restrict__ lo,
                                        const float *__restrict__ k, const float *__restrict__ dy,
                                        const float *__restrict__ a, const float *__restrict__ b,
                                        float *__restrict__ out, bool accumulate) {
    int64_t total = v.outer * v.channels * v.inner;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t c = i / v.inner % v.channels;
        float val = dy ? a[c] * dy[i] + b[c] + k[c] * ((x[i] - hi[c]) - lo[c])
                       : ((x[i] - hi[c]) - lo[c]) * k[c] + b[c];
        out[i] = accumulate ? out[i] + val : val;
    }
}

void kc_batchnorm_affine(struct kurc_backend *be, int64_t outer, int64_t channels, int64_t inner,
                         const float *x, const float *hi, const float *lo, const float *k,
                         const float *dy, const float *a, const float *b, float *out,
                         bool accumulate) {
    struct kc_ctx *c = kc_ctx_of(be);
    int64_t total = outer * channels * inner;
    if (c->failed || total <= 0)
        return;
    struct view v = {outer, channels, inner};
    bn_affine_kernel<<<kc_blocks(c, total, THREADS), THREADS, 0, c->stream>>>(
        v, x, hi, lo, k, dy, a, b, out, accumulate);
    launched(be, "batchnorm_affine", "bn_affine_kernel");
}
