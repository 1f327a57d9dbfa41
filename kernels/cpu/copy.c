/* copy.c - the CPU backend's copies: strided copies (transposes, slices,
 * concatenation, repetition and their gradients) and embedding gathers
 * (contracts in src/core/backend.h).  Source and destination must not
 * overlap. */
#include <string.h>

#include "kernels/common/copy_axes.h"
#include "kernels/common/gather_row.h"
#include "kernels/cpu/cpu_kernels.h"

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
