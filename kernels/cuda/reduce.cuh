/* reduce.cuh - sums in a fixed order, shared by reduce.cu, norm.cu,
 * softmax.cu and loss.cu: warp and block sums, per-channel partial sums
 * and a warp per row.
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
 * device and fit the scratch.
 */
#ifndef KURC_CUDA_REDUCE_CUH
#define KURC_CUDA_REDUCE_CUH

#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/grid.cuh"

#define FULL 0xffffffffu

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
static inline __device__ double block_sum(double v, double *shared) {
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

static inline bool launched(struct kurc_backend *be, const char *op, const char *kernel) {
    return kc_launched(kc_ctx_of(be), op, kernel);
}

/* --- a warp per row -------------------------------------------------------------- */

/* Launches KERNEL(args...) with a warp per row of a (rows, cols) problem,
 * unless the backend has failed or the problem is empty; OP names it in
 * errors. */
#define LAUNCH_ROWS(be, op, kernel, rows, cols, ...)                                               \
    do {                                                                                           \
        if (kc_failed(be) || (rows) <= 0 || (cols) <= 0)                                           \
            break;                                                                                 \
        kernel<<<row_blocks(be, rows), THREADS, 0, kc_ctx_of(be)->stream>>>(__VA_ARGS__);          \
        launched(be, op, #kernel);                                                                 \
    } while (0)

/* The sum of row p[0..cols) in double, in a fixed order: each lane of the
 * warp takes every 32nd element, then the lanes are added (all get it). */
static __device__ __forceinline__ double warp_row_sum(const float *p, int64_t cols, int lane) {
    double s = 0;
    for (int64_t c = lane; c < cols; c += 32)
        s += p[c];
    return warp_sum(s);
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
static inline int choose_splits(const struct kc_ctx *c, const struct view &v, int q, int extra) {
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

/* --- row-wise kernels: a warp per row -------------------------------------------- */

#define ROW_LOOP(row, rows)                                                                        \
    for (int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32; row < (rows);        \
         row += (int64_t)gridDim.x * blockDim.x / 32)

static inline unsigned row_blocks(struct kurc_backend *be, int64_t rows) {
    return kc_blocks(kc_ctx_of(be), rows * 32, THREADS);
}

#endif
