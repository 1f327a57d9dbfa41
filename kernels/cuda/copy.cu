/* copy.cu - copy_strided on the GPU: transposes, slices,
 * concatenation, repetition and their gradients (src/core/backend.h).
 *
 * The view is first reduced to the fewest axes (as cpu_copy_strided does:
 * length-1 axes dropped, axes that continue each other on both sides
 * merged).  Then:
 *  - a plain copy or accumulation with distinct destinations: one thread
 *    per element, its source and destination offsets from its index;
 *  - an accumulation into destinations that repeat (axes of destination
 *    stride 0: the gradient of a broadcast): the repeating axes are summed
 *    by the thread (or, when they are long and the destinations few, by a
 *    block with a fixed-shape tree) that owns the destination element, so
 *    every destination is written once and the sum's order is fixed - no
 *    atomics, the same result on every run.
 * A plain copy into repeating destinations (meaningless: the CPU keeps the
 * last source) keeps an unspecified one of them.
 */
#include <string.h>

#include "kernels/common/copy_axes.h"
#include "kernels/cuda/cuda_internal.h"

#define THREADS 256

/* The simplified axes of a view (kernels/common/copy_axes.h), passed to the kernels
 * by value. */
struct axes {
    int n;
    struct kurc_copy_axis ax[KURC_MAX_COPY_DIMS];
};

/* Offsets of element i (row-major over the axes) on both sides. */
static __device__ __forceinline__ void offsets(const struct axes &a, int64_t i, int64_t *so,
                                               int64_t *dof) {
    int64_t s = 0, d = 0;
    for (int k = a.n - 1; k >= 0; k--) {
        int64_t idx = i % a.ax[k].n;
        i /= a.ax[k].n;
        s += idx * a.ax[k].s;
        d += idx * a.ax[k].d;
    }
    *so = s;
    *dof = d;
}

static __global__ void copy_kernel(struct axes a, int64_t total, const float *__restrict__ src,
                                   float *__restrict__ dst, bool accumulate) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t so, dof;
        offsets(a, i, &so, &dof);
        if (accumulate)
            dst[dof] += src[so];
        else
            dst[dof] = src[so];
    }
}

/* keep: the axes with distinct destinations; red: the repeating ones
 * (destination stride 0), summed for each kept element. */
static __global__ void reduce_thread_kernel(struct axes keep, int64_t n_keep, struct axes red,
                                            int64_t n_red, const float *__restrict__ src,
                                            float *__restrict__ dst) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n_keep;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t so, dof, ro, unused;
        offsets(keep, i, &so, &dof);
        float acc = 0.0f;
        for (int64_t j = 0; j < n_red; j++) {
            offsets(red, j, &ro, &unused);
            acc += src[so + ro];
        }
        dst[dof] += acc;
    }
}

static __global__ void reduce_block_kernel(struct axes keep, int64_t n_keep, struct axes red,
                                           int64_t n_red, const float *__restrict__ src,
                                           float *__restrict__ dst) {
    __shared__ float shared[THREADS];
    for (int64_t i = blockIdx.x; i < n_keep; i += gridDim.x) {
        int64_t so, dof, ro, unused;
        offsets(keep, i, &so, &dof);
        float acc = 0.0f;
        for (int64_t j = threadIdx.x; j < n_red; j += THREADS) {
            offsets(red, j, &ro, &unused);
            acc += src[so + ro];
        }
        shared[threadIdx.x] = acc;
        __syncthreads();
        for (int s = THREADS / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s)
                shared[threadIdx.x] += shared[threadIdx.x + s];
            __syncthreads();
        }
        if (threadIdx.x == 0)
            dst[dof] += shared[0];
        __syncthreads();
    }
}

void kc_copy_strided(struct kurc_backend *be, const struct kurc_strided *view, const float *src,
                     float *dst, bool accumulate) {
    struct kc_ctx *c = kc_ctx_of(be);
    if (c->failed)
        return;
    struct axes a;
    a.n = kurc_copy_simplify(view, a.ax);
    if (a.n < 0)
        return;
    int64_t total = 1;
    bool repeats = false;
    for (int k = 0; k < a.n; k++) {
        total *= a.ax[k].n;
        repeats = repeats || a.ax[k].d == 0;
    }
    if (!(accumulate && repeats)) {
        copy_kernel<<<kc_blocks(c, total, THREADS), THREADS, 0, c->stream>>>(a, total, src, dst,
                                                                             accumulate);
        kc_launched(c, "copy_strided", "copy_kernel");
        return;
    }
    struct axes keep, red;
    memset(&keep, 0, sizeof keep);
    memset(&red, 0, sizeof red);
    int64_t n_keep = 1, n_red = 1;
    for (int k = 0; k < a.n; k++) {
        struct axes *to = a.ax[k].d == 0 ? &red : &keep;
        to->ax[to->n++] = a.ax[k];
        if (a.ax[k].d == 0)
            n_red *= a.ax[k].n;
        else
            n_keep *= a.ax[k].n;
    }
    if (n_red > THREADS && n_keep < (int64_t)c->sm_count * 64) {
        unsigned grid = n_keep < c->max_blocks ? (unsigned)n_keep : (unsigned)c->max_blocks;
        reduce_block_kernel<<<grid, THREADS, 0, c->stream>>>(keep, n_keep, red, n_red, src, dst);
        kc_launched(c, "copy_strided", "reduce_block_kernel");
    } else {
        reduce_thread_kernel<<<kc_blocks(c, n_keep, THREADS), THREADS, 0, c->stream>>>(
            keep, n_keep, red, n_red, src, dst);
        kc_launched(c, "copy_strided", "reduce_thread_kernel");
    }
}
