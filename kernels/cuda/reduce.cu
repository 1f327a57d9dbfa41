/* reduce.cu - the CUDA backend's sums: to the host (sum, sum_squares)
 * and the bias gradient's column sums, in a fixed order (reduce.cuh). */
#include "kernels/cuda/reduce.cuh"

/* Where the scalar reductions keep partials and the result. */
#define SUM_BLOCKS 1024
#define SUM_RESULT SUM_BLOCKS

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
