/* pool.cu - N-D max and average pooling (1 to 3 spatial axes,
 * channels last) with kurc's own kernels.
 *
 * Why not cuDNN: kurc's pooling (kernels/cpu/pool.c) lets windows run past
 * the input on either side by different amounts (TensorFlow's "same"),
 * gives 0 for a window with no cell inside, and sends a max's gradient to
 * the FIRST maximum in window order.  cuDNN pads symmetrically and leaves
 * ties unspecified, so these kernels reproduce kernels/cpu/pool.c exactly
 * instead: the forward pass and every gradient of windows that do not
 * overlap are bit for bit the CPU's.
 *
 * One thread per (pixel, channel); consecutive threads take consecutive
 * channels, so reads and writes are coalesced.  Backward:
 *  - average: each input cell gathers dy / count from the windows that
 *    contain it (no atomics);
 *  - max, windows that do not overlap (stride >= size on every axis): each
 *    window adds its dy to its first maximum (no two windows share a cell);
 *  - max, overlapping windows: each input cell gathers from the windows
 *    whose first maximum it is (deterministic) when that costs at most
 *    GATHER_LIMIT reads per cell, else each window adds with atomicAdd
 *    (the order of additions into a shared cell may vary in the last bit).
 * Inside, every geometry is a 3-D one: missing leading axes have size 1.
 */
#include "kernels/common/pool3.h"
#include "kernels/cuda/cuda_internal.h"

#define THREADS 256
#define GATHER_LIMIT 512

static __device__ __forceinline__ int64_t cell(const struct kurc_pool3 &q, int64_t n, int64_t i0,
                                               int64_t i1, int64_t i2) {
    return (((n * q.in[0] + i0) * q.in[1] + i1) * q.in[2] + i2) * q.channels;
}

/* The offset of the first maximum of window w in sample n, channel ch. */
static __device__ __forceinline__ int64_t first_max(const struct kurc_pool3 &q, const float *x,
                                                    int64_t n, const struct kurc_pool3_window &w,
                                                    int64_t ch) {
    int64_t at = cell(q, n, w.lo[0], w.lo[1], w.lo[2]) + ch;
    float best = x[at];
    for (int64_t i0 = w.lo[0]; i0 < w.hi[0]; i0++)
        for (int64_t i1 = w.lo[1]; i1 < w.hi[1]; i1++)
            for (int64_t i2 = w.lo[2]; i2 < w.hi[2]; i2++) {
                int64_t off = cell(q, n, i0, i1, i2) + ch;
                if (x[off] > best) {
                    best = x[off];
                    at = off;
                }
            }
    return at;
}

/* Output i (a pixel and channel over the whole batch): its channel, its
 * window; returns its sample. */
static __device__ __forceinline__ int64_t output_window(const struct kurc_pool3 &q, int64_t i,
                                                        int64_t *ch, struct kurc_pool3_window *w) {
    int64_t o[3];
    *ch = i % q.channels;
    int64_t n = kurc_pool3_split(i / q.channels, q.out, o);
    kurc_pool3_window_of(&q, o, w);
    return n;
}

static __global__ void pool_forward_kernel(struct kurc_pool3 q, int64_t total,
                                           const float *__restrict__ x, float *__restrict__ y) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t ch;
        struct kurc_pool3_window w;
        int64_t n = output_window(q, i, &ch, &w);
        if (w.count == 0) {
            y[i] = 0.0f;
            continue;
        }
        if (!q.average) {
            y[i] = x[first_max(q, x, n, w, ch)];
            continue;
        }
        float acc = 0.0f;
        for (int64_t i0 = w.lo[0]; i0 < w.hi[0]; i0++)
            for (int64_t i1 = w.lo[1]; i1 < w.hi[1]; i1++)
                for (int64_t i2 = w.lo[2]; i2 < w.hi[2]; i2++)
                    acc += x[cell(q, n, i0, i1, i2) + ch];
        y[i] = acc * (1.0f / (float)w.count);
    }
}

static void kc_pool_prepare(const struct kurc_pool_geom *g, struct kurc_pool3 *q, int64_t *outputs,
                            int64_t *inputs) {
    kurc_pool3_init(g, q);
    *outputs = q->batch * q->out[0] * q->out[1] * q->out[2] * q->channels;
    *inputs = q->batch * q->in[0] * q->in[1] * q->in[2] * q->channels;
}

void kc_pool_forward(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                     float *y) {
    struct kc_ctx *c = kc_ctx_of(be);
    struct kurc_pool3 q;
    int64_t outputs, inputs;
    kc_pool_prepare(g, &q, &outputs, &inputs);
    if (c->failed || outputs <= 0)
        return;
    pool_forward_kernel<<<kc_blocks(c, outputs, THREADS), THREADS, 0, c->stream>>>(q, outputs, x,
                                                                                   y);
    kc_launched(c, "pool_forward", "pool_forward_kernel");
}

/* Output windows along axis d that contain input coordinate i: [*lo, *hi]
 * (empty when *lo > *hi).  Window o covers [o s - p, o s - p + size). */
static __device__ __forceinline__ int64_t floor_div(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static __device__ __forceinline__ void windows_of(const struct kurc_pool3 &q, int d, int64_t i,
                                                  int64_t *lo, int64_t *hi) {
    *lo = floor_div(i + q.p[d] - q.size[d], q.s[d]) + 1;
    *hi = floor_div(i + q.p[d], q.s[d]);
    if (*lo < 0)
        *lo = 0;
    if (*hi > q.out[d] - 1)
        *hi = q.out[d] - 1;
}

/* One thread per input cell (and channel): the gradients of the windows
 * that hold it, summed in window order, added once. */
static __global__ void pool_gather_kernel(struct kurc_pool3 q, int64_t total,
                                          const float *__restrict__ x, const float *__restrict__ dy,
                                          float *__restrict__ dx) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t ch = i % q.channels, at[3];
        int64_t n = kurc_pool3_split(i / q.channels, q.in, at);
        int64_t lo[3], hi[3];
        for (int d = 0; d < 3; d++)
            windows_of(q, d, at[d], &lo[d], &hi[d]);
        float acc = 0.0f;
        bool any = false;
        int64_t o[3];
        for (o[0] = lo[0]; o[0] <= hi[0]; o[0]++)
            for (o[1] = lo[1]; o[1] <= hi[1]; o[1]++)
                for (o[2] = lo[2]; o[2] <= hi[2]; o[2]++) {
                    int64_t pix = ((n * q.out[0] + o[0]) * q.out[1] + o[1]) * q.out[2] + o[2];
                    float g = dy[pix * q.channels + ch];
                    struct kurc_pool3_window w;
                    kurc_pool3_window_of(&q, o, &w);
                    if (q.average) {
                        acc += g * (1.0f / (float)w.count);
                        any = true;
                    } else if (first_max(q, x, n, w, ch) == i) {
                        acc += g;
                        any = true;
                    }
                }
        if (any)
            dx[i] += acc;
    }
}

/* One thread per output (and channel): its gradient to its first maximum,
 * plainly when windows do not overlap, else with atomicAdd. */
template <bool ATOMIC>
static __global__ void pool_scatter_kernel(struct kurc_pool3 q, int64_t total,
                                           const float *__restrict__ x,
                                           const float *__restrict__ dy, float *dx) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t ch;
        struct kurc_pool3_window w;
        int64_t n = output_window(q, i, &ch, &w);
        if (w.count == 0)
            continue;
        int64_t at = first_max(q, x, n, w, ch);
        if (ATOMIC)
            atomicAdd(&dx[at], dy[i]);
        else
            dx[at] += dy[i];
    }
}

void kc_pool_backward(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                      const float *y, const float *dy, float *dx) {
    (void)y;
    struct kc_ctx *c = kc_ctx_of(be);
    struct kurc_pool3 q;
    int64_t outputs, inputs;
    kc_pool_prepare(g, &q, &outputs, &inputs);
    if (c->failed || outputs <= 0 || inputs <= 0)
        return;
    bool overlap = false;
    int64_t per_cell = 1, window = 1;
    for (int d = 0; d < 3; d++) {
        overlap = overlap || q.s[d] < q.size[d];
        per_cell *= (q.size[d] + q.s[d] - 1) / q.s[d];
        window *= q.size[d];
    }
    if (q.average || (overlap && per_cell * window <= GATHER_LIMIT)) {
        pool_gather_kernel<<<kc_blocks(c, inputs, THREADS), THREADS, 0, c->stream>>>(q, inputs, x,
                                                                                     dy, dx);
        kc_launched(c, "pool_backward", "pool_gather_kernel");
    } else if (!overlap) {
        pool_scatter_kernel<false>
            <<<kc_blocks(c, outputs, THREADS), THREADS, 0, c->stream>>>(q, outputs, x, dy, dx);
        kc_launched(c, "pool_backward", "pool_scatter_kernel");
    } else {
        pool_scatter_kernel<true>
            <<<kc_blocks(c, outputs, THREADS), THREADS, 0, c->stream>>>(q, outputs, x, dy, dx);
        kc_launched(c, "pool_backward", "pool_scatter_kernel");
    }
}
