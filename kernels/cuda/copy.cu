/* copy.cu - the CUDA backend's copies: copy_strided (transposes, slices,
 * concatenation, repetition and their gradients), embedding gathers
 * (contracts in src/core/backend.h), and the layout copies of conv.c
 * (transposes, explicit padding).
 *
 * copy_strided: the view is first reduced to the fewest axes (as cpu_copy_strided does:
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
#include "kernels/common/gather_row.h"
#include "kernels/cuda/grid.cuh"

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

/* --- embedding gathers ------------------------------------------------------- */

/* One thread per output element; indices are floats holding integers,
 * truncated as on the CPU; one outside the table (kurc_gather_row) reads
 * zeros. */
static __global__ void gather_kernel(int64_t total, int64_t width, int64_t rows,
                                     const float *__restrict__ index,
                                     const float *__restrict__ table, float *__restrict__ out) {
    GRID_STRIDE(i, total) {
        int64_t row = kurc_gather_row(index[i / width], rows);
        out[i] = row < 0 ? 0.0f : table[row * width + i % width];
    }
}

void kc_gather(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows, const float *index,
               const float *table, float *out) {
    SKIP_IF_IDLE(be, n * width);
    LAUNCH(be, "gather", gather_kernel, n * width, n * width, width, rows, index, table, out);
}

/* Several indices may name one row: atomicAdd (the order of the additions,
 * and so the last bits of a repeated row's sum, may vary).  An index
 * outside the table scatters nothing. */
static __global__ void gather_backward_kernel(int64_t total, int64_t width, int64_t rows,
                                              const float *__restrict__ index,
                                              const float *__restrict__ dout, float *dtable) {
    GRID_STRIDE(i, total) {
        int64_t row = kurc_gather_row(index[i / width], rows);
        if (row >= 0)
            atomicAdd(&dtable[row * width + i % width], dout[i]);
    }
}

void kc_gather_backward(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows,
                        const float *index, const float *dout, float *dtable) {
    SKIP_IF_IDLE(be, n * width);
    LAUNCH(be, "gather_backward", gather_backward_kernel, n * width, n * width, width, rows, index,
           dout, dtable);
}

/* --- layout copies for conv.c ----------------------------------------------- */

/* 32 x 32 tiles through shared memory (padded against bank conflicts):
 * reads and writes both coalesced.  Block (32, 8); grid over tiles with
 * y-tiles folded into x when there are more than 65535. */
#define TILE 32
static __global__ void transpose_kernel(int64_t rows, int64_t cols, int64_t tiles_c, int64_t tiles,
                                        const float *__restrict__ src, float *__restrict__ dst,
                                        bool accumulate) {
    __shared__ float tile[TILE][TILE + 1];
    for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
        int64_t r0 = t / tiles_c * TILE, c0 = t % tiles_c * TILE;
        for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
            int64_t r = r0 + j, c = c0 + threadIdx.x;
            if (r < rows && c < cols)
                tile[j][threadIdx.x] = src[r * cols + c];
        }
        __syncthreads();
        /* dst row = source column c0 + j, dst column = source row r0 + x */
        for (int j = threadIdx.y; j < TILE; j += blockDim.y) {
            int64_t c = c0 + j, r = r0 + threadIdx.x;
            if (r < rows && c < cols) {
                float v = tile[threadIdx.x][j];
                float *at = &dst[c * rows + r];
                *at = accumulate ? *at + v : v;
            }
        }
        __syncthreads();
    }
}

void kc_transpose(struct kurc_backend *be, const char *op, int64_t rows, int64_t cols,
                  const float *src, float *dst, bool accumulate) {
    SKIP_IF_IDLE(be, rows * cols);
    struct kc_ctx *c = kc_ctx_of(be);
    int64_t tiles_c = (cols + TILE - 1) / TILE;
    int64_t tiles = (rows + TILE - 1) / TILE * tiles_c;
    unsigned grid = tiles < c->max_blocks ? (unsigned)tiles : (unsigned)c->max_blocks;
    transpose_kernel<<<grid, dim3(TILE, 8), 0, c->stream>>>(rows, cols, tiles_c, tiles, src, dst,
                                                            accumulate);
    kc_launched(c, op, "transpose_kernel");
}

/* A box's cell (n, d0, d1, d2, ch) as an offset. */
static __device__ __forceinline__ int64_t box_at(const struct kc_box &b, int64_t n,
                                                 const int64_t d[3], int64_t ch) {
    return (((n * b.dims[0] + d[0]) * b.dims[1] + d[1]) * b.dims[2] + d[2]) * b.channels + ch;
}

/* Cell i of box b (counting over the batch): its coordinates d and
 * channel; returns its sample. */
static __device__ __forceinline__ int64_t box_split(const struct kc_box &b, int64_t i, int64_t d[3],
                                                    int64_t *ch) {
    *ch = i % b.channels;
    int64_t rest = i / b.channels;
    d[2] = rest % b.dims[2];
    rest /= b.dims[2];
    d[1] = rest % b.dims[1];
    rest /= b.dims[1];
    d[0] = rest % b.dims[0];
    return rest / b.dims[0];
}

/* One thread per padded cell: its source in x, or 0. */
static __global__ void pad_kernel(int64_t total, struct kc_box x, struct kc_box p, int64_t b0,
                                  int64_t b1, int64_t b2, const float *__restrict__ src,
                                  float *__restrict__ dst) {
    GRID_STRIDE(i, total) {
        int64_t ch, d[3];
        int64_t n = box_split(p, i, d, &ch);
        d[0] -= b0;
        d[1] -= b1;
        d[2] -= b2;
        bool inside = d[0] >= 0 && d[0] < x.dims[0] && d[1] >= 0 && d[1] < x.dims[1] && d[2] >= 0 &&
                      d[2] < x.dims[2];
        dst[i] = inside ? src[box_at(x, n, d, ch)] : 0.0f;
    }
}

void kc_pad(struct kurc_backend *be, const struct kc_box *x, const struct kc_box *padded,
            const int64_t before[3], const float *src, float *dst) {
    int64_t total =
        padded->batch * padded->dims[0] * padded->dims[1] * padded->dims[2] * padded->channels;
    SKIP_IF_IDLE(be, total);
    LAUNCH(be, "convolution padding", pad_kernel, total, total, *x, *padded, before[0], before[1],
           before[2], src, dst);
}

/* One thread per cell of x: dx += its cell in the padded gradient. */
static __global__ void unpad_add_kernel(int64_t total, struct kc_box x, struct kc_box p, int64_t b0,
                                        int64_t b1, int64_t b2, const float *__restrict__ dpadded,
                                        float *__restrict__ dx) {
    GRID_STRIDE(i, total) {
        int64_t ch, d[3];
        int64_t n = box_split(x, i, d, &ch);
        d[0] += b0;
        d[1] += b1;
        d[2] += b2;
        if (d[0] < p.dims[0] && d[1] < p.dims[1] && d[2] < p.dims[2])
            dx[i] += dpadded[box_at(p, n, d, ch)];
    }
}

void kc_unpad_add(struct kurc_backend *be, const struct kc_box *x, const struct kc_box *padded,
                  const int64_t before[3], const float *dpadded, float *dx) {
    int64_t total = x->batch * x->dims[0] * x->dims[1] * x->dims[2] * x->channels;
    SKIP_IF_IDLE(be, total);
    LAUNCH(be, "convolution padding", unpad_add_kernel, total, total, *x, *padded, before[0],
           before[1], before[2], dpadded, dx);
}
