/* elementwise.c - the CPU backend's element-wise kernels: fill,
 * activations, softmax, arithmetic, strided copies, embedding gathers and
 * dropout masks (contracts in src/core/backend.h).
 *
 * Aliasing: the forward element-wise kernels (act_forward, softmax_forward,
 * add, mul, axpby, dropout_forward's y and x) accept an output that is
 * exactly one of their inputs (in-place use), so they take no restrict
 * pointers (the vectoriser checks for overlap at run time).  Backward
 * kernels, copy_strided and gather require arrays that do not overlap. */
#include <math.h>
#include <string.h>

#include "base/rng.h"
#include "kernels/common/act_math.h"
#include "kernels/common/copy_axes.h"
#include "kernels/common/gather_row.h"
#include "kernels/cpu/cpu_kernels.h"

void cpu_fill(struct kurc_backend *be, float *x, int64_t n, float value) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        x[i] = value;
}

/* y = act(x) and dx += act'(x) dy over n elements, for one activation:
 * always inlined with a constant act, so each loop is its own formula,
 * free of the switch, for the vectoriser.  The backward loop reads y only
 * for tanh and sigmoid and x only for the others but linear. */
static inline __attribute__((always_inline)) void act_forward_loop(int act, float alpha, int64_t n,
                                                                   const float *x, float *y) {
    for (int64_t i = 0; i < n; i++)
        y[i] = kurc_act_value(act, alpha, x[i]);
}

static inline __attribute__((always_inline)) void
act_backward_loop(int act, float alpha, int64_t n, const float *restrict x, const float *restrict y,
                  const float *restrict dy, float *restrict dx) {
    const bool uses_y = act == KURC_ACT_TANH || act == KURC_ACT_SIGMOID;
    const bool uses_x = !uses_y && act != KURC_ACT_LINEAR;
    for (int64_t i = 0; i < n; i++)
        dx[i] += kurc_act_grad(act, alpha, uses_x ? x[i] : 0.0f, uses_y ? y[i] : 0.0f, dy[i]);
}

void cpu_act_forward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                     const float *x, float *y) {
    (void)be;
    if (act == KURC_ACT_LINEAR) {
        if (y != x && n > 0)
            memcpy(y, x, (size_t)n * sizeof *y);
        return;
    }
    switch (act) {
#define FORWARD_CASE(A)                                                                            \
    case A:                                                                                        \
        act_forward_loop(A, alpha, n, x, y);                                                       \
        break;
        KURC_ACT_CASES(FORWARD_CASE)
#undef FORWARD_CASE
    case KURC_ACT_COUNT: /* not an activation */
        break;
    }
}

/* dx += act'(x) dy (formulas and kinks: kernels/common/act_math.h). */
void cpu_act_backward(struct kurc_backend *be, enum kurc_act act, float alpha, int64_t n,
                      const float *restrict x, const float *restrict y, const float *restrict dy,
                      float *restrict dx) {
    (void)be;
    switch (act) {
#define BACKWARD_CASE(A)                                                                           \
    case A:                                                                                        \
        act_backward_loop(A, alpha, n, x, y, dy, dx);                                              \
        break;
        KURC_ACT_CASES(BACKWARD_CASE)
#undef BACKWARD_CASE
    case KURC_ACT_COUNT: /* not an activation */
        break;
    }
}

/* Row by row: subtract the row's maximum before exponentiating, so inputs
 * of any size give finite results; the sum is taken in double.  y may be x. */
void cpu_softmax_forward(struct kurc_backend *be, bool log_out, int64_t rows, int64_t cols,
                         const float *x, float *y) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float max = -INFINITY;
        for (int64_t c = 0; c < cols; c++)
            max = xr[c] > max ? xr[c] : max;
        double sum = 0;
        if (log_out) {
            for (int64_t c = 0; c < cols; c++)
                sum += expf(xr[c] - max);
            /* (x - max) is exact near the maximum; subtracting log(sum)
             * second keeps the small results accurate. */
            float lse = (float)log(sum);
            for (int64_t c = 0; c < cols; c++)
                yr[c] = (xr[c] - max) - lse;
        } else {
            for (int64_t c = 0; c < cols; c++) {
                yr[c] = expf(xr[c] - max);
                sum += yr[c];
            }
            float inv = (float)(1.0 / sum);
            for (int64_t c = 0; c < cols; c++)
                yr[c] *= inv;
        }
    }
}

/* From the forward output y:
 *   softmax:     dx_i += y_i (dy_i - sum_j dy_j y_j)
 *   log-softmax: dx_i += dy_i - e^{y_i} sum_j dy_j */
void cpu_softmax_backward(struct kurc_backend *be, bool log_out, int64_t rows, int64_t cols,
                          const float *restrict y, const float *restrict dy, float *restrict dx) {
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dyr = dy + r * cols;
        float *dxr = dx + r * cols;
        double dot = 0;
        if (log_out) {
            for (int64_t c = 0; c < cols; c++)
                dot += dyr[c];
            float s = (float)dot;
            for (int64_t c = 0; c < cols; c++)
                dxr[c] += dyr[c] - expf(yr[c]) * s;
        } else {
            for (int64_t c = 0; c < cols; c++)
                dot += (double)dyr[c] * yr[c];
            float s = (float)dot;
            for (int64_t c = 0; c < cols; c++)
                dxr[c] += yr[c] * (dyr[c] - s);
        }
    }
}

void cpu_add(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void cpu_mul(struct kurc_backend *be, int64_t n, const float *a, const float *b, float *y) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

/* beta == 0 never reads y, so uninitialised memory (even NaN) is
 * overwritten rather than propagated. */
void cpu_axpby(struct kurc_backend *be, int64_t n, float alpha, const float *x, float beta,
               float *y) {
    (void)be;
    if (beta == 0.0f) {
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * x[i];
    } else if (beta == 1.0f) {
        for (int64_t i = 0; i < n; i++)
            y[i] += alpha * x[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * x[i] + beta * y[i];
    }
}

void cpu_mul_backward(struct kurc_backend *be, int64_t n, const float *restrict dy,
                      const float *restrict other, float *restrict dx) {
    (void)be;
    for (int64_t i = 0; i < n; i++)
        dx[i] += dy[i] * other[i];
}

/* One row of a copy: n elements at strides s and d. */
static void copy_row(int64_t n, const float *restrict src, int64_t s, float *restrict dst,
                     int64_t d, bool accumulate) {
    if (s == 1 && d == 1) {
        if (accumulate) {
            for (int64_t i = 0; i < n; i++)
                dst[i] += src[i];
        } else {
            memcpy(dst, src, (size_t)n * sizeof *dst);
        }
    } else if (s == 0 && d == 1) {
        float v = src[0];
        if (accumulate) {
            for (int64_t i = 0; i < n; i++)
                dst[i] += v;
        } else {
            for (int64_t i = 0; i < n; i++)
                dst[i] = v;
        }
    } else if (d == 0 && accumulate) {
        float t = dst[0];
        for (int64_t i = 0; i < n; i++)
            t += src[i * s];
        dst[0] = t;
    } else if (accumulate) {
        for (int64_t i = 0; i < n; i++)
            dst[i * d] += src[i * s];
    } else {
        for (int64_t i = 0; i < n; i++)
            dst[i * d] = src[i * s];
    }
}

/* Side of the square tiles a transposing copy moves at a time: 32 x 32
 * floats (4 KiB) of source and destination stay in L1 together. */
#define COPY_TILE 32

/* A 2-D copy over axes p and q, tile by tile; each tile's rows run along
 * q (copy_row).  q is the destination-contiguous axis, so writes stream
 * while the strided reads stay inside a cache-resident tile. */
static void copy_tile(const struct kurc_copy_axis *p, const struct kurc_copy_axis *q,
                      const float *src, float *dst, bool accumulate) {
    for (int64_t i0 = 0; i0 < p->n; i0 += COPY_TILE) {
        int64_t i1 = i0 + COPY_TILE < p->n ? i0 + COPY_TILE : p->n;
        for (int64_t j0 = 0; j0 < q->n; j0 += COPY_TILE) {
            int64_t len = q->n - j0 < COPY_TILE ? q->n - j0 : COPY_TILE;
            for (int64_t i = i0; i < i1; i++)
                copy_row(len, src + i * p->s + j0 * q->s, q->s, dst + i * p->d + j0 * q->d, q->d,
                         accumulate);
        }
    }
}

/* The view is first simplified (kurc_copy_simplify); its innermost axis is then
 * copied by copy_row while an odometer walks the outer axes.  A transpose
 * (the innermost axis contiguous on at most one side, another axis
 * contiguous on the other) copies those two axes in tiles instead. */
void cpu_copy_strided(struct kurc_backend *be, const struct kurc_strided *view, const float *src,
                      float *dst, bool accumulate) {
    (void)be;
    struct kurc_copy_axis axes[KURC_MAX_COPY_DIMS];
    int m = kurc_copy_simplify(view, axes);
    if (m < 0)
        return;
    if (m == 0) {
        dst[0] = accumulate ? dst[0] + src[0] : src[0];
        return;
    }
    const struct kurc_copy_axis *inner = &axes[m - 1];
    int tile = -1;
    for (int i = 0; i < m - 1; i++) {
        bool scattered_writes = inner->d != 1 && axes[i].d == 1;
        bool scattered_reads = inner->d == 1 && inner->s != 1 && inner->s != 0 && axes[i].s == 1;
        if (scattered_writes || scattered_reads)
            tile = i;
    }
    /* p, q: the tile's outer and row axes (q contiguous in dst). */
    const struct kurc_copy_axis *p = inner, *q = inner;
    if (tile >= 0) {
        bool rows_inner = inner->d == 1;
        p = rows_inner ? &axes[tile] : inner;
        q = rows_inner ? inner : &axes[tile];
    }

    /* The odometer's axes: every axis but the innermost (and the tiled). */
    struct kurc_copy_axis outer[KURC_MAX_COPY_DIMS];
    int no = 0;
    for (int i = 0; i < m - 1; i++)
        if (i != tile)
            outer[no++] = axes[i];

    int64_t idx[KURC_MAX_COPY_DIMS] = {0};
    int64_t so = 0, doff = 0;
    for (;;) {
        if (tile >= 0)
            copy_tile(p, q, src + so, dst + doff, accumulate);
        else
            copy_row(inner->n, src + so, inner->s, dst + doff, inner->d, accumulate);
        int k = no - 1;
        for (; k >= 0; k--) {
            so += outer[k].s;
            doff += outer[k].d;
            if (++idx[k] < outer[k].n)
                break;
            so -= outer[k].s * outer[k].n;
            doff -= outer[k].d * outer[k].n;
            idx[k] = 0;
        }
        if (k < 0)
            break;
    }
}

/* Indices arrive as floats holding integers; truncation (as Keras's cast)
 * keeps any value the caller checked to lie in [0, rows) inside the table. */
void cpu_gather(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows,
                const float *restrict index, const float *restrict table, float *restrict out) {
    (void)be;
    for (int64_t i = 0; i < n; i++) {
        int64_t row = kurc_gather_row(index[i], rows);
        if (row < 0)
            memset(out + i * width, 0, (size_t)width * sizeof *out);
        else
            memcpy(out + i * width, table + row * width, (size_t)width * sizeof *out);
    }
}

void cpu_gather_backward(struct kurc_backend *be, int64_t n, int64_t width, int64_t rows,
                         const float *restrict index, const float *restrict dout,
                         float *restrict dtable) {
    (void)be;
    for (int64_t i = 0; i < n; i++) {
        int64_t row = kurc_gather_row(index[i], rows);
        if (row < 0)
            continue;
        float *d = dtable + row * width;
        const float *g = dout + i * width;
        for (int64_t c = 0; c < width; c++)
            d[c] += g[c];
    }
}

/* The scale is computed in float, 1.0f / (1.0f - rate), as the CUDA kernel
 * does, so both backends draw identical masks. */
void cpu_dropout_forward(struct kurc_backend *be, int64_t n, float rate, uint64_t seed,
                         uint64_t offset, const float *x, float *y, float *mask) {
    (void)be;
    float keep = 1.0f / (1.0f - rate);
    for (int64_t i = 0; i < n; i++) {
        float m = kurc_rng_uniform(seed, offset + (uint64_t)i) >= rate ? keep : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}
