/* reduce.cu - the CUDA backend's reductions: sums to the host, the
 * bias gradient, batch normalisation, softmax and the per-row losses.
 *
 * Determinism: every sum is taken in a fixed order - per-thread partial
 * sums, fixed-shape trees within blocks, and partial results of blocks
 * combined in index order by a second kernel - so results are identical
 * from run to run on a given device (no atomics).  Sums are kept in double
 * as on the CPU; results agree with kernels/cpu to float rounding.
 *
 * Partial results go to the backend's device scratch (KC_SCRATCH_DOUBLES),
 * so nothing is allocated: per-channel reductions (bias gradient, batch
 * norm) split each channel's rows into `splits` parts, as many as fill the
 * device and fit the scratch.  Batch normalisation over more channels than
 * the scratch holds (about 70 000) is reported as unsupported.
 *
 * Row-wise kernels (softmax, losses) give each row a warp.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kernels/cuda/cuda_internal.h"

#define THREADS 256
#define WARPS (THREADS / 32)
#define FULL 0xffffffffu

/* Where the scalar reductions keep partials and the result. */
#define SUM_BLOCKS 1024
#define SUM_RESULT SUM_BLOCKS

static __device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(FULL, v, o);
    return v;
}

/* Max as cpu_softmax_forward takes it: a NaN never replaces the maximum. */
static __device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) {
        float w = __shfl_xor_sync(FULL, v, o);
        v = w > v ? w : v;
    }
    return v;
}

/* The block's sum (every thread gets it); `shared` holds THREADS doubles. */
static __device__ double block_sum(double v, double *shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s)
            shared[threadIdx.x] += shared[threadIdx.x + s];
        __syncthreads();
    }
    double total = shared[0];
    __syncthreads();
    return total;
}

static bool launched(struct kurc_backend *be, const char *op, const char *kernel) {
    return kc_launched(kc_ctx_of(be), op, kernel);
}

/* --- sum and sum_squares ------------------------------------------------------ */

template <bool SQUARE>
static __global__ void sum_partial_kernel(int64_t n, const float *__restrict__ x,
                                          double *__restrict__ partial) {
    __shared__ double shared[THREADS];
    double acc = 0;
    for (int64_t i = (int64_t)blockIdx.x * THREADS + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * THREADS) {
        double v = x[i];
        acc += SQUARE ? v * v : v;
    }
    double total = block_sum(acc, shared);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = total;
}

/* One block: partial[0 .. count) in a fixed order into *out. */
static __global__ void sum_final_kernel(int count, const double *__restrict__ partial,
                                        double *__restrict__ out) {
    __shared__ double shared[THREADS];
    double acc = 0;
    for (int i = threadIdx.x; i < count; i += THREADS)
        acc += partial[i];
    double total = block_sum(acc, shared);
    if (threadIdx.x == 0)
        *out = total;
}

template <bool SQUARE>
static void host_sum(struct kurc_backend *be, const char *op, int64_t n, const float *x,
                     double *out) {
    struct kc_ctx *c = kc_ctx_of(be);
    *out = 0;
    if (c->failed || n <= 0)
        return;
    unsigned blocks = kc_blocks(c, n, THREADS);
    if (blocks > SUM_BLOCKS)
        blocks = SUM_BLOCKS;
    sum_partial_kernel<SQUARE><<<blocks, THREADS, 0, c->stream>>>(n, x, c->scratch);
    if (!launched(be, op, "sum_partial_kernel"))
        return;
    sum_final_kernel<<<1, THREADS, 0, c->stream>>>((int)blocks, c->scratch,
                                                   c->scratch + SUM_RESULT);
    if (!launched(be, op, "sum_final_kernel"))
        return;
    if (kc_cuda_ok(c,
                   cudaMemcpyAsync(c->host, c->scratch + SUM_RESULT, sizeof(double),
                                   cudaMemcpyDeviceToHost, c->stream),
                   op, "cudaMemcpyAsync (device to host)") &&
        kc_cuda_ok(c, cudaStreamSynchronize(c->stream), op, "cudaStreamSynchronize"))
        *out = c->host[0];
}

void kc_sum(struct kurc_backend *be, int64_t n, const float *x, double *out) {
    host_sum<false>(be, "sum", n, x, out);
}

void kc_sum_squares(struct kurc_backend *be, int64_t n, const float *x, double *out) {
    host_sum<true>(be, "sum_squares", n, x, out);
}

/* --- per-channel sums ---------------------------------------------------------- *
 * A tensor viewed as (outer, channels, inner): element (o, c, i) at
 * (o * channels + c) * inner + i.  Each channel's M = outer * inner
 * elements are split into `splits` parts; part s of channel c leaves its Q
 * sums at partial[(q * splits + s) * channels + c].  The quantities:
 *   SUM_X  x;  SQ_DEV  (x - mean)^2;  BN_BACK  x, dy, dy (x - saved mean);
 *   CENTERED  x - center, (x - center)^2;  CENTERED_DY  dy, dy (x - center)
 *   (the last two for batchnorm_sums, center in dmean).
 */
enum { SUM_X = 0, SQ_DEV = 1, BN_BACK = 2, CENTERED = 3, CENTERED_DY = 4 };

struct view {
    int64_t outer, channels, inner;
};

/* The Q sums of one element (m = o * inner + i) of channel c. */
template <int KIND>
static __device__ __forceinline__ void quantities(const struct view &v, int64_t m, int64_t c,
                                                  const float *x, const float *dy,
                                                  const double *dmean, const float *hi, double *q) {
    int64_t o = m / v.inner, i = m % v.inner;
    int64_t at = (o * v.channels + c) * v.inner + i;
    double xv = x[at];
    if (KIND == SUM_X) {
        q[0] += xv;
    } else if (KIND == SQ_DEV) {
        double dev = xv - dmean[c];
        q[0] += dev * dev;
    } else if (KIND == BN_BACK) {
        double g = dy[at];
        q[0] += xv;
        q[1] += g;
        q[2] += g * (xv - (double)hi[c]);
    } else if (KIND == CENTERED) {
        double d = xv - dmean[c];
        q[0] += d;
        q[1] += d * d;
    } else {
        double g = dy[at];
        q[0] += g;
        q[1] += g * (xv - dmean[c]);
    }
}

#define QN(KIND) ((KIND) == BN_BACK ? 3 : (KIND) >= CENTERED ? 2 : 1)

/* inner == 1 (channels last): block (32, 8) over a tile of 32 channels,
 * so each row's channels are read together; part s takes rows
 * s * 8 + ty, stepping splits * 8. */
template <int KIND>
static __global__ void
channel_tile_kernel(struct view v, int splits, const float *__restrict__ x,
                    const float *__restrict__ dy, const double *__restrict__ dmean,
                    const float *__restrict__ hi, double *__restrict__ partial) {
    __shared__ double shared[QN(KIND)][8][33];
    int64_t c = (int64_t)blockIdx.x * 32 + threadIdx.x;
    int s = blockIdx.y;
    double q[3] = {0, 0, 0};
    if (c < v.channels)
        for (int64_t r = (int64_t)s * 8 + threadIdx.y; r < v.outer; r += (int64_t)splits * 8)
            quantities<KIND>(v, r, c, x, dy, dmean, hi, q);
    for (int k = 0; k < QN(KIND); k++)
        shared[k][threadIdx.y][threadIdx.x] = q[k];
    __syncthreads();
    if (threadIdx.y == 0 && c < v.channels)
        for (int k = 0; k < QN(KIND); k++) {
            double t = 0;
            for (int j = 0; j < 8; j++)
                t += shared[k][j][threadIdx.x];
            partial[((int64_t)k * splits + s) * v.channels + c] = t;
        }
}

/* inner > 1: block per (channel, part), THREADS threads over the
 * channel's elements m = s * THREADS + t, stepping splits * THREADS
 * (consecutive m are consecutive i: coalesced within each run of inner). */
template <int KIND>
static __global__ void
channel_block_kernel(struct view v, int splits, const float *__restrict__ x,
                     const float *__restrict__ dy, const double *__restrict__ dmean,
                     const float *__restrict__ hi, double *__restrict__ partial) {
    __shared__ double shared[THREADS];
    int64_t c = blockIdx.x;
    int s = blockIdx.y;
    int64_t count = v.outer * v.inner;
    double q[3] = {0, 0, 0};
    for (int64_t m = (int64_t)s * THREADS + threadIdx.x; m < count; m += (int64_t)splits * THREADS)
        quantities<KIND>(v, m, c, x, dy, dmean, hi, q);
    for (int k = 0; k < QN(KIND); k++) {
        double t = block_sum(q[k], shared);
        if (threadIdx.x == 0)
            partial[((int64_t)k * splits + s) * v.channels + c] = t;
    }
}

/* Parts per channel: enough blocks to fill the device, within the
 * scratch (Q partials per part plus `extra` doubles per channel), at most
 * 65535 (a grid's y).  0 when even one part does not fit. */
static int choose_splits(const struct kc_ctx *c, const struct view &v, int q, int extra) {
    int64_t fit = ((int64_t)KC_SCRATCH_DOUBLES / v.channels - extra) / q;
    if (fit < 1)
        return 0;
    int64_t target = (int64_t)c->sm_count * 4;
    int64_t groups = v.inner == 1 ? (v.channels + 31) / 32 : v.channels;
    int64_t want = (target + groups - 1) / groups;
    int64_t most = v.inner == 1 ? (v.outer + 7) / 8 : (v.outer * v.inner + THREADS - 1) / THREADS;
    int64_t s = want < most ? want : most;
    s = s < fit ? s : fit;
    s = s < 65535 ? s : 65535;
    return s < 1 ? 1 : (int)s;
}

/* Runs the partial sums of KIND over every channel. */
template <int KIND>
static bool channel_sums(struct kurc_backend *be, const char *op, const struct view &v, int splits,
                         const float *x, const float *dy, const double *dmean, const float *hi) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (v.inner == 1) {
        dim3 grid((unsigned)((v.channels + 31) / 32), (unsigned)splits);
        channel_tile_kernel<KIND>
            <<<grid, dim3(32, 8), 0, c->stream>>>(v, splits, x, dy, dmean, hi, c->scratch);
        return launched(be, op, "channel_tile_kernel");
    }
    dim3 grid((unsigned)v.channels, (unsigned)splits);
    channel_block_kernel<KIND>
        <<<grid, THREADS, 0, c->stream>>>(v, splits, x, dy, dmean, hi, c->scratch);
    return launched(be, op, "channel_block_kernel");
}

/* A part's sums in order: sum_s partial[(k * splits + s) * channels + c]. */
static __device__ __forceinline__ double gather_parts(const double *partial, int k, int splits,
                                                      int64_t channels, int64_t c) {
    double t = 0;
    for (int s = 0; s < splits; s++)
        t += partial[((int64_t)k * splits + s) * channels + c];
    return t;
}

#define CHANNEL_LOOP(c, n)                                                                         \
    for (int64_t c = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; c < (n);                      \
         c += (int64_t)gridDim.x * blockDim.x)

/* --- bias gradient ------------------------------------------------------------- */

static __global__ void bias_final_kernel(int64_t cols, int splits,
                                         const double *__restrict__ partial,
                                         float *__restrict__ dbias) {
    CHANNEL_LOOP(c, cols)
    dbias[c] += (float)gather_parts(partial, 0, splits, cols, c);
}

/* Wide layers: a thread per column, down the rows (reads coalesced
 * across the threads of a warp); enough columns keep the device busy. */
static __global__ void bias_column_kernel(int64_t rows, int64_t cols, const float *__restrict__ dy,
                                          float *__restrict__ dbias) {
    CHANNEL_LOOP(c, cols) {
        double t = 0;
        for (int64_t r = 0; r < rows; r++)
            t += dy[r * cols + c];
        dbias[c] += (float)t;
    }
}

#define BIAS_WIDE 32768

void kc_bias_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *dy,
                      float *dbias) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed || rows <= 0 || cols <= 0)
        return;
    struct view v = {rows, cols, 1};
    int splits = cols >= BIAS_WIDE ? 0 : choose_splits(c, v, 1, 0);
    if (splits == 0) {
        bias_column_kernel<<<kc_blocks(c, cols, THREADS), THREADS, 0, c->stream>>>(rows, cols, dy,
                                                                                   dbias);
        launched(be, "bias_backward", "bias_column_kernel");
        return;
    }
    if (!channel_sums<SUM_X>(be, "bias_backward", v, splits, dy, NULL, NULL, NULL))
        return;
    bias_final_kernel<<<kc_blocks(c, cols, THREADS), THREADS, 0, c->stream>>>(cols, splits,
                                                                              c->scratch, dbias);
    launched(be, "bias_backward", "bias_final_kernel");
}

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

/* --- row-wise kernels: a warp per row -------------------------------------------- */

#define ROW_LOOP(row, rows)                                                                        \
    for (int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32; row < (rows);        \
         row += (int64_t)gridDim.x * blockDim.x / 32)

static unsigned row_blocks(struct kurc_backend *be, int64_t rows) {
    return kc_blocks(kc_ctx_of(be), rows * 32, THREADS);
}

/* y may be x.  Each lane rewrites only the elements it read. */
static __global__ void softmax_forward_kernel(bool log_out, int64_t rows, int64_t cols,
                                              const float *x, float *y) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float max = -INFINITY;
        for (int64_t c = lane; c < cols; c += 32)
            max = xr[c] > max ? xr[c] : max;
        max = warp_max(max);
        double sum = 0;
        if (log_out) {
            for (int64_t c = lane; c < cols; c += 32)
                sum += expf(xr[c] - max);
            float lse = (float)log(warp_sum(sum));
            for (int64_t c = lane; c < cols; c += 32)
                yr[c] = (xr[c] - max) - lse;
        } else {
            for (int64_t c = lane; c < cols; c += 32) {
                float e = expf(xr[c] - max);
                yr[c] = e;
                sum += e;
            }
            float inv = (float)(1.0 / warp_sum(sum));
            for (int64_t c = lane; c < cols; c += 32)
                yr[c] *= inv;
        }
    }
}

void kc_softmax_forward(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                        const float *x, float *y) {
    if (kc_failed(be) || rows <= 0 || cols <= 0)
        return;
    softmax_forward_kernel<<<row_blocks(be, rows), THREADS, 0, kc_ctx_of(be)->stream>>>(log, rows,
                                                                                        cols, x, y);
    launched(be, "softmax_forward", "softmax_forward_kernel");
}

static __global__ void softmax_backward_kernel(bool log_out, int64_t rows, int64_t cols,
                                               const float *__restrict__ y,
                                               const float *__restrict__ dy,
                                               float *__restrict__ dx) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        double dot = 0;
        for (int64_t c = lane; c < cols; c += 32)
            dot += log_out ? (double)dyr[c] : (double)dyr[c] * yr[c];
        float s = (float)warp_sum(dot);
        for (int64_t c = lane; c < cols; c += 32)
            dxr[c] += log_out ? dyr[c] - expf(yr[c]) * s : yr[c] * (dyr[c] - s);
    }
}

void kc_softmax_backward(struct kurc_backend *be, bool log, int64_t rows, int64_t cols,
                         const float *y, const float *dy, float *dx) {
    if (kc_failed(be) || rows <= 0 || cols <= 0)
        return;
    softmax_backward_kernel<<<row_blocks(be, rows), THREADS, 0, kc_ctx_of(be)->stream>>>(
        log, rows, cols, y, dy, dx);
    launched(be, "softmax_backward", "softmax_backward_kernel");
}

/* Kur's cce (kernels/cpu/loss.c): p / sum(p) clipped to [eps, 1 - eps], in double. */
#define CCE_LO ((double)KURC_CCE_EPSILON)
#define CCE_HI ((double)(1.0f - KURC_CCE_EPSILON))

static __global__ void cce_forward_kernel(int64_t rows, int64_t cols,
                                          const float *__restrict__ pred,
                                          const float *__restrict__ truth,
                                          float *__restrict__ loss) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        double s = 0;
        for (int64_t c = lane; c < cols; c += 32)
            s += p[c];
        s = warp_sum(s);
        double l = 0;
        for (int64_t c = lane; c < cols; c += 32) {
            double q = p[c] / s;
            q = q < CCE_LO ? CCE_LO : (q > CCE_HI ? CCE_HI : q);
            l -= t[c] * log(q);
        }
        l = warp_sum(l);
        if (lane == 0)
            loss[r] = (float)l;
    }
}

void kc_cce_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                    const float *truth, float *loss) {
    if (kc_failed(be) || rows <= 0 || cols <= 0)
        return;
    cce_forward_kernel<<<row_blocks(be, rows), THREADS, 0, kc_ctx_of(be)->stream>>>(
        rows, cols, pred, truth, loss);
    launched(be, "cce_forward", "cce_forward_kernel");
}

static __global__ void cce_backward_kernel(int64_t rows, int64_t cols,
                                           const float *__restrict__ pred,
                                           const float *__restrict__ truth, float scale,
                                           float *__restrict__ dpred) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        float *d = dpred + r * cols;
        double s = 0;
        for (int64_t c = lane; c < cols; c += 32)
            s += p[c];
        s = warp_sum(s);
        double tin = 0;
        for (int64_t c = lane; c < cols; c += 32) {
            double q = p[c] / s;
            if (q >= CCE_LO && q <= CCE_HI)
                tin += t[c];
        }
        tin = warp_sum(tin);
        for (int64_t c = lane; c < cols; c += 32) {
            double q = p[c] / s;
            double g = q >= CCE_LO && q <= CCE_HI ? -t[c] / q : 0.0;
            d[c] += (float)(scale * (g + tin) / s);
        }
    }
}

void kc_cce_backward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                     const float *truth, float scale, float *dpred) {
    if (kc_failed(be) || rows <= 0 || cols <= 0)
        return;
    cce_backward_kernel<<<row_blocks(be, rows), THREADS, 0, kc_ctx_of(be)->stream>>>(
        rows, cols, pred, truth, scale, dpred);
    launched(be, "cce_backward", "cce_backward_kernel");
}

static __global__ void mse_forward_kernel(int64_t rows, int64_t cols,
                                          const float *__restrict__ pred,
                                          const float *__restrict__ truth,
                                          float *__restrict__ loss) {
    int lane = threadIdx.x % 32;
    ROW_LOOP(r, rows) {
        const float *p = pred + r * cols, *t = truth + r * cols;
        double l = 0;
        for (int64_t c = lane; c < cols; c += 32) {
            double e = (double)p[c] - t[c];
            l += e * e;
        }
        l = warp_sum(l);
        if (lane == 0)
            loss[r] = (float)(l / (double)cols);
    }
}

void kc_mse_forward(struct kurc_backend *be, int64_t rows, int64_t cols, const float *pred,
                    const float *truth, float *loss) {
    if (kc_failed(be) || rows <= 0 || cols <= 0)
        return;
    mse_forward_kernel<<<row_blocks(be, rows), THREADS, 0, kc_ctx_of(be)->stream>>>(
        rows, cols, pred, truth, loss);
    launched(be, "mse_forward", "mse_forward_kernel");
}
