/* pool.c - N-D max and average pooling (1 to 3 spatial axes, channels
 * last) on the CPU.
 *
 * A window covers only the input cells inside the input: padding cells
 * take no part, so a max ignores them and an average divides by the number
 * of cells inside (TensorFlow's 'SAME' pooling).  A window with no cell
 * inside gives 0 and no gradient.  Max pooling's gradient goes to the first
 * maximum in window order (axes outer to inner).  Inside, every geometry is
 * a 3-D one: missing leading axes have size 1. */
#include <string.h>

#include "kernels/common/pool3.h"
#include "kernels/cpu/cpu_kernels.h"

/* Channels the max backward tracks at a time (stack arrays). */
#define POOL_BLOCK 64

/* The window of output pixel pix (counting over the whole batch); returns
 * the offset of its sample in x. */
static int64_t window_at(const struct kurc_pool3 *q, int64_t pix, struct kurc_pool3_window *win) {
    int64_t o[3];
    int64_t n = kurc_pool3_split(pix, q->out, o);
    kurc_pool3_window_of(q, o, win);
    return n * q->in_size;
}

/* Offset (in floats, from the sample's start) of input cell (i0, i1, i2). */
static int64_t cell(const struct kurc_pool3 *q, int64_t i0, int64_t i1, int64_t i2) {
    return ((i0 * q->in[1] + i1) * q->in[2] + i2) * q->channels;
}

void cpu_pool_forward(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                      float *y) {
    (void)be;
    struct kurc_pool3 q;
    kurc_pool3_init(g, &q);
    int64_t nc = q.channels;
    for (int64_t pix = 0; pix < q.pixels; pix++) {
        struct kurc_pool3_window win;
        int64_t xoff = window_at(&q, pix, &win);
        float *restrict yo = y + pix * nc;
        if (win.count == 0) {
            memset(yo, 0, (size_t)nc * sizeof(float));
            continue;
        }
        bool first = true;
        if (g->type == KURC_POOL_AVERAGE)
            memset(yo, 0, (size_t)nc * sizeof(float));
        for (int64_t i0 = win.lo[0]; i0 < win.hi[0]; i0++)
            for (int64_t i1 = win.lo[1]; i1 < win.hi[1]; i1++)
                for (int64_t i2 = win.lo[2]; i2 < win.hi[2]; i2++) {
                    const float *restrict xc = x + xoff + cell(&q, i0, i1, i2);
                    if (g->type == KURC_POOL_AVERAGE) {
                        for (int64_t c = 0; c < nc; c++)
                            yo[c] += xc[c];
                    } else if (first) {
                        memcpy(yo, xc, (size_t)nc * sizeof(float));
                    } else {
                        for (int64_t c = 0; c < nc; c++)
                            yo[c] = xc[c] > yo[c] ? xc[c] : yo[c];
                    }
                    first = false;
                }
        if (g->type == KURC_POOL_AVERAGE) {
            float inv = 1.0f / (float)win.count;
            for (int64_t c = 0; c < nc; c++)
                yo[c] *= inv;
        }
    }
}

/* Max pooling's gradient: the first maximum of each window is found again
 * from x (strictly greater replaces, as in the forward pass), so y is not
 * needed. */
static void max_backward(const struct kurc_pool3 *q, const float *x, const float *dy, float *dx) {
    int64_t nc = q->channels;
    for (int64_t pix = 0; pix < q->pixels; pix++) {
        struct kurc_pool3_window win;
        int64_t xoff = window_at(q, pix, &win);
        if (win.count == 0)
            continue;
        for (int64_t c0 = 0; c0 < nc; c0 += POOL_BLOCK) {
            int64_t width = nc - c0 < POOL_BLOCK ? nc - c0 : POOL_BLOCK;
            float best[POOL_BLOCK];
            int64_t at[POOL_BLOCK];
            int64_t first = xoff + cell(q, win.lo[0], win.lo[1], win.lo[2]) + c0;
            for (int64_t c = 0; c < width; c++) {
                best[c] = x[first + c];
                at[c] = first + c;
            }
            for (int64_t i0 = win.lo[0]; i0 < win.hi[0]; i0++)
                for (int64_t i1 = win.lo[1]; i1 < win.hi[1]; i1++)
                    for (int64_t i2 = win.lo[2]; i2 < win.hi[2]; i2++) {
                        int64_t off = xoff + cell(q, i0, i1, i2) + c0;
                        for (int64_t c = 0; c < width; c++) {
                            if (x[off + c] > best[c]) {
                                best[c] = x[off + c];
                                at[c] = off + c;
                            }
                        }
                    }
            for (int64_t c = 0; c < width; c++)
                dx[at[c]] += dy[pix * nc + c0 + c];
        }
    }
}

/* Average pooling's gradient: each cell inside gets dy / count. */
static void average_backward(const struct kurc_pool3 *q, const float *dy, float *dx) {
    int64_t nc = q->channels;
    for (int64_t pix = 0; pix < q->pixels; pix++) {
        struct kurc_pool3_window win;
        int64_t xoff = window_at(q, pix, &win);
        if (win.count == 0)
            continue;
        float inv = 1.0f / (float)win.count;
        const float *restrict d = dy + pix * nc;
        for (int64_t i0 = win.lo[0]; i0 < win.hi[0]; i0++)
            for (int64_t i1 = win.lo[1]; i1 < win.hi[1]; i1++)
                for (int64_t i2 = win.lo[2]; i2 < win.hi[2]; i2++) {
                    float *restrict dc = dx + xoff + cell(q, i0, i1, i2);
                    for (int64_t c = 0; c < nc; c++)
                        dc[c] += d[c] * inv;
                }
    }
}

void cpu_pool_backward(struct kurc_backend *be, const struct kurc_pool_geom *g, const float *x,
                       const float *y, const float *dy, float *dx) {
    (void)be;
    (void)y;
    struct kurc_pool3 q;
    kurc_pool3_init(g, &q);
    if (g->type == KURC_POOL_MAX)
        max_backward(&q, x, dy, dx);
    else
        average_backward(&q, dy, dx);
}
