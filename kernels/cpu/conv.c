/* conv.c - N-D convolution (1 to 3 spatial axes, channels last) on the
 * CPU, lowered to matrix products.
 *
 * The lowered ("im2col") matrix has one row per output pixel of the batch
 * (batch * out pixels rows) and one column per (kernel position, input
 * channel), kernel positions outer and channels inner: the order of the
 * weights (kernel..., cin, cout).  So, with cols the lowered input,
 *     y  = cols @ w           dw += cols^T @ dy
 *     dcols = dy @ w^T        dx += col2im(dcols)
 * where col2im adds every entry back onto the input cell it came from.
 * The rows are lowered a chunk at a time into the workspace, which keeps
 * the workspace bounded whatever the batch.
 *
 * Two layouts of a lowered chunk:
 *  - row-major (rows x kc): each row is a few contiguous runs of the input
 *    (k[2] * cin floats per kernel row), good when cin is large;
 *  - transposed (kc x rows): each row of cols^T is one (kernel position,
 *    channel) over the output pixels, runs of out[2] floats, good when cin
 *    is small (MNIST's single channel would otherwise copy runs of 3).
 *    The products then take the transposed operand instead.
 * The forward and filter passes pick by the run length; the data pass
 * always uses row-major (measured: there the product, which packs dy,
 * dominates, and the transposed product packs it more slowly).
 * A transposed chunk of few columns (MNIST's 3x3 over one channel: 9)
 * has its forward and filter products made by conv_narrow.c's loops, where
 * they fit, rather than by OpenBLAS.
 * conv_forward_bias_act adds the bias and applies the activation to each
 * chunk of output rows right after its product, in one pass;
 * conv_backward_bias_act runs the activation's derivative, the bias sums
 * and both products a chunk of output rows at a time.
 * A 1x1 kernel with stride 1 and no padding needs no lowering: the input
 * is already the lowered matrix (as it is, trivially, with no input
 * channels).
 *
 * Inside, every geometry is a 3-D one: missing leading axes have size 1. */
#include <string.h>

#include "kernels/cpu/cpu_kernels.h"

/* Upper bound on the lowered chunk (unless one row alone is larger).
 * Measured with one OpenBLAS thread on a core with 2 MiB of L2 (CIFAR's
 * 32x32x64 -> 32, 3x3): 2 MiB chunks beat 8 MiB by 10-25% and 64 MiB by
 * 30-50%, since the chunk is still in cache when the product reads it. */
#define CONV_CHUNK_BYTES ((int64_t)2 << 20)
/* Lower transposed when a kernel row's run (k[2] * cin floats) is shorter
 * than this and than an output row (out[2]).  Measured on 28x28 and 32x32
 * inputs, 3x3 kernels: transposed wins for cin 1 and 2, loses for 3. */
#define CONV_SHORT_RUN 8

/* A convolution padded to three spatial axes, with derived sizes. */
struct conv3 {
    int64_t in[3], out[3], k[3], s[3], p[3];
    int64_t cin, cout;
    int64_t pixels;  /* output pixels per sample */
    int64_t rows;    /* batch * pixels: rows of the lowered matrix */
    int64_t in_size; /* floats per input sample */
    int64_t kc;      /* k[0] k[1] k[2] cin: columns of the lowered matrix */
    bool direct;     /* x is the lowered matrix: 1x1x1 kernel, stride 1, no
                      * padding, out == in; or cin == 0 */
    bool transposed; /* forward and filter passes lower chunks as cols^T */
};

static void conv3_init(const struct kurc_conv_geom *g, struct conv3 *c) {
    int lead = 3 - g->ndim;
    c->direct = true;
    c->pixels = 1;
    c->in_size = g->cin;
    c->kc = g->cin;
    for (int d = 0; d < 3; d++) {
        bool real = d >= lead;
        c->in[d] = real ? g->in[d - lead] : 1;
        c->out[d] = real ? g->out[d - lead] : 1;
        c->k[d] = real ? g->kernel[d - lead] : 1;
        c->s[d] = real ? g->stride[d - lead] : 1;
        c->p[d] = real ? g->pad_before[d - lead] : 0;
        c->pixels *= c->out[d];
        c->in_size *= c->in[d];
        c->kc *= c->k[d];
        if (c->k[d] != 1 || c->s[d] != 1 || c->p[d] != 0 || c->out[d] != c->in[d])
            c->direct = false;
    }
    if (g->cin == 0)
        c->direct = true;
    c->cin = g->cin;
    c->cout = g->cout;
    c->rows = g->batch * c->pixels;
    int64_t run = c->k[2] * c->cin;
    c->transposed = run < CONV_SHORT_RUN && run < c->out[2];
}

/* Rows of the lowered matrix per chunk: a pure function of the geometry
 * (not used when direct, so kc > 0).  The chunk's lowered rows and its
 * output rows (kc + cout floats a row) fit in CONV_CHUNK_BYTES together, so
 * the output is still in cache for the fused epilogue and, backwards, dy's
 * rows are as the product reads them. */
static int64_t chunk_rows(const struct conv3 *c) {
    int64_t n = CONV_CHUNK_BYTES / ((c->kc + c->cout) * (int64_t)sizeof(float));
    if (n < 1)
        n = 1;
    return n < c->rows ? n : c->rows;
}

/* The workspace: a lowered chunk (chunk_rows x kc floats), then, for the
 * fused backward, the chunk's dz (chunk_rows x cout floats) and the bias
 * gradient's sums (cout doubles, at sums_at bytes). */
static size_t sums_at(const struct conv3 *c) {
    size_t floats = (size_t)(chunk_rows(c) * (c->kc + c->cout));
    return (floats + 1) / 2 * 2 * sizeof(float);
}

size_t cpu_conv_workspace(struct kurc_backend *be, const struct kurc_conv_geom *g) {
    (void)be;
    struct conv3 c;
    conv3_init(g, &c);
    if (c.direct)
        return 0;
    return sums_at(&c) + (size_t)c.cout * sizeof(double);
}

/* A position in the rows of the lowered matrix: output pixel
 * (n, o[0], o[1], o[2]), in row order. */
struct cursor {
    int64_t n, o[3];
};

static void cursor_init(const struct conv3 *c, int64_t row, struct cursor *at) {
    int64_t p = row % c->pixels;
    at->n = row / c->pixels;
    at->o[2] = p % c->out[2];
    at->o[1] = p / c->out[2] % c->out[1];
    at->o[0] = p / c->out[2] / c->out[1];
}

/* Moves on by len pixels, len <= out[2] - o[2] (within one output row). */
static void cursor_advance(const struct conv3 *c, struct cursor *at, int64_t len) {
    at->o[2] += len;
    if (at->o[2] < c->out[2])
        return;
    at->o[2] = 0;
    if (++at->o[1] < c->out[1])
        return;
    at->o[1] = 0;
    if (++at->o[0] < c->out[0])
        return;
    at->o[0] = 0;
    at->n++;
}

/* Offset in the input of the sample of `at` of row (i0, i1), or -1 when
 * kernel position (k0, k1) puts that row in the padding. */
static int64_t input_row(const struct conv3 *c, const struct cursor *at, int64_t k0, int64_t k1) {
    int64_t i0 = at->o[0] * c->s[0] - c->p[0] + k0;
    int64_t i1 = at->o[1] * c->s[1] - c->p[1] + k1;
    if (i0 < 0 || i0 >= c->in[0] || i1 < 0 || i1 >= c->in[1])
        return -1;
    return at->n * c->in_size + (i0 * c->in[1] + i1) * c->in[2] * c->cin;
}

/* Row-major layout.  The kernel positions along the innermost axis whose
 * input cells lie inside the input, [*lo, *hi), for the output pixel at
 * `at` (lo == hi when none does); *base is the input index of kernel
 * position 0 (negative inside the padding).  Consecutive kernel positions
 * read consecutive input cells, so each kernel row of a lowered row is one
 * contiguous run of the input. */
static void kernel_span(const struct conv3 *c, const struct cursor *at, int64_t *base, int64_t *lo,
                        int64_t *hi) {
    *base = at->o[2] * c->s[2] - c->p[2];
    *lo = *base < 0 ? -*base : 0;
    *hi = c->in[2] - *base < c->k[2] ? c->in[2] - *base : c->k[2];
    if (*hi < *lo)
        *hi = *lo;
}

/* cols[r, :] = the input patch of row r0 + r, for nrows rows (zeros where
 * the patch lies in the padding). */
static void im2col(const struct conv3 *c, const float *x, int64_t r0, int64_t nrows, float *cols) {
    int64_t seg = c->k[2] * c->cin;
    struct cursor at;
    cursor_init(c, r0, &at);
    for (int64_t r = 0; r < nrows; r++, cursor_advance(c, &at, 1)) {
        float *dst = cols + r * c->kc;
        int64_t base, lo, hi;
        kernel_span(c, &at, &base, &lo, &hi);
        for (int64_t k0 = 0; k0 < c->k[0]; k0++)
            for (int64_t k1 = 0; k1 < c->k[1]; k1++, dst += seg) {
                int64_t row = input_row(c, &at, k0, k1);
                if (row < 0 || hi == lo) {
                    memset(dst, 0, (size_t)seg * sizeof(float));
                    continue;
                }
                if (lo > 0)
                    memset(dst, 0, (size_t)(lo * c->cin) * sizeof(float));
                memcpy(dst + lo * c->cin, x + row + (base + lo) * c->cin,
                       (size_t)((hi - lo) * c->cin) * sizeof(float));
                if (hi < c->k[2])
                    memset(dst + hi * c->cin, 0, (size_t)((c->k[2] - hi) * c->cin) * sizeof(float));
            }
    }
}

/* The adjoint of im2col: dx[cell] += every entry of cols that im2col copied
 * from that cell (entries in the padding are dropped). */
static void col2im(const struct conv3 *c, const float *cols, int64_t r0, int64_t nrows, float *dx) {
    int64_t seg = c->k[2] * c->cin;
    struct cursor at;
    cursor_init(c, r0, &at);
    for (int64_t r = 0; r < nrows; r++, cursor_advance(c, &at, 1)) {
        const float *src = cols + r * c->kc;
        int64_t base, lo, hi;
        kernel_span(c, &at, &base, &lo, &hi);
        int64_t len = (hi - lo) * c->cin;
        for (int64_t k0 = 0; k0 < c->k[0]; k0++)
            for (int64_t k1 = 0; k1 < c->k[1]; k1++, src += seg) {
                int64_t row = input_row(c, &at, k0, k1);
                if (row < 0 || len == 0)
                    continue;
                float *restrict to = dx + row + (base + lo) * c->cin;
                const float *restrict from = src + lo * c->cin;
                for (int64_t j = 0; j < len; j++)
                    to[j] += from[j];
            }
    }
}

/* ceil(a / b) for b > 0 and any sign of a. */
static int64_t ceil_div(int64_t a, int64_t b) {
    return a >= 0 ? (a + b - 1) / b : -(-a / b);
}

/* Transposed layout.  A run is up to len consecutive output pixels of one
 * output row, from `at`; for kernel position k2 along the innermost axis,
 * pixel j of the run reads input cell (o[2] + j) s[2] - p[2] + k2, which
 * lies inside the input for j in [*lo, *hi); *first is the cell of j = 0. */
static void run_span(const struct conv3 *c, const struct cursor *at, int64_t len, int64_t k2,
                     int64_t *first, int64_t *lo, int64_t *hi) {
    *first = at->o[2] * c->s[2] - c->p[2] + k2;
    *lo = ceil_div(-*first, c->s[2]);
    *hi = ceil_div(c->in[2] - *first, c->s[2]);
    *lo = *lo < 0 ? 0 : *lo > len ? len : *lo;
    *hi = *hi < *lo ? *lo : *hi > len ? len : *hi;
}

/* cols^T (kc x nrows, row stride nrows) of rows r0 .. r0 + nrows. */
static void im2col_t(const struct conv3 *c, const float *x, int64_t r0, int64_t nrows,
                     float *cols) {
    int64_t step = c->s[2] * c->cin;
    struct cursor at;
    cursor_init(c, r0, &at);
    for (int64_t r = 0; r < nrows;) {
        int64_t len = c->out[2] - at.o[2] < nrows - r ? c->out[2] - at.o[2] : nrows - r;
        float *dst = cols + r;
        for (int64_t k0 = 0; k0 < c->k[0]; k0++)
            for (int64_t k1 = 0; k1 < c->k[1]; k1++) {
                int64_t row = input_row(c, &at, k0, k1);
                for (int64_t k2 = 0; k2 < c->k[2]; k2++) {
                    int64_t first = 0, lo = len, hi = len;
                    if (row >= 0)
                        run_span(c, &at, len, k2, &first, &lo, &hi);
                    for (int64_t ci = 0; ci < c->cin; ci++, dst += nrows) {
                        if (lo > 0)
                            memset(dst, 0, (size_t)lo * sizeof(float));
                        if (hi > lo) {
                            const float *src = x + row + (first + lo * c->s[2]) * c->cin + ci;
                            if (step == 1)
                                memcpy(dst + lo, src, (size_t)(hi - lo) * sizeof(float));
                            else
                                for (int64_t j = 0; j < hi - lo; j++)
                                    dst[lo + j] = src[j * step];
                        }
                        if (hi < len)
                            memset(dst + hi, 0, (size_t)(len - hi) * sizeof(float));
                    }
                }
            }
        r += len;
        cursor_advance(c, &at, len);
    }
}

/* Rows [r0, r0 + nr) of the convolution's input as columns in cols:
 * (kc, nr) for a transposed convolution, else (nr, kc).  Returns the
 * leading dimension of that layout. */
static int64_t to_cols(const struct conv3 *c, const float *x, int64_t r0, int64_t nr, float *cols) {
    if (c->transposed) {
        im2col_t(c, x, r0, nr, cols);
        return nr;
    }
    im2col(c, x, r0, nr, cols);
    return c->kc;
}

/* A chunk's forward product, y = cols w, with cols as to_cols left it
 * (leading dimension ld): conv_narrow.c's loops where they fit, else
 * OpenBLAS. */
static void chunk_forward(struct kurc_backend *be, const struct conv3 *c, int64_t nr,
                          const float *cols, int64_t ld, const float *w, float *y) {
    if (c->transposed && cpu_conv_narrow_fits(c->kc, c->cout))
        cpu_conv_narrow_forward(nr, c->kc, c->cout, cols, ld, w, y);
    else
        cpu_gemm(be, c->transposed, false, nr, c->cout, c->kc, 1.0f, cols, ld, w, c->cout, 0.0f, y,
                 c->cout);
}

/* A chunk's filter product, dw += cols^T dz, likewise. */
static void chunk_filter(struct kurc_backend *be, const struct conv3 *c, int64_t nr,
                         const float *cols, int64_t ld, const float *dz, float *dw) {
    if (c->transposed && cpu_conv_narrow_fits(c->kc, c->cout))
        cpu_conv_narrow_filter(nr, c->kc, c->cout, cols, ld, dz, dw);
    else
        cpu_gemm(be, !c->transposed, false, c->kc, c->cout, nr, 1.0f, cols, ld, dz, c->cout, 1.0f,
                 dw, c->cout);
}

/* The convolution, with y = act(y + bias) applied to each chunk of output
 * rows right after its product when `epilogue` (in cache where the chunk's
 * output fits). */
static void conv_forward(struct kurc_backend *be, const struct kurc_conv_geom *g, const float *x,
                         const float *w, const float *bias, enum kurc_act act, float alpha,
                         bool epilogue, float *y, void *workspace) {
    struct conv3 c;
    conv3_init(g, &c);
    if (c.direct) {
        cpu_gemm(be, false, false, c.rows, c.cout, c.cin, 1.0f, x, c.cin, w, c.cout, 0.0f, y,
                 c.cout);
        if (epilogue)
            cpu_bias_act_forward(be, c.rows, c.cout, bias, act, alpha, y);
        return;
    }
    float *cols = workspace;
    int64_t chunk = chunk_rows(&c);
    for (int64_t r0 = 0; r0 < c.rows; r0 += chunk) {
        int64_t nr = c.rows - r0 < chunk ? c.rows - r0 : chunk;
        int64_t ld = to_cols(&c, x, r0, nr, cols);
        chunk_forward(be, &c, nr, cols, ld, w, y + r0 * c.cout);
        if (epilogue)
            cpu_bias_act_forward(be, nr, c.cout, bias, act, alpha, y + r0 * c.cout);
    }
}

void cpu_conv_forward(struct kurc_backend *be, const struct kurc_conv_geom *g, const float *x,
                      const float *w, float *y, void *workspace) {
    conv_forward(be, g, x, w, NULL, KURC_ACT_LINEAR, 0.0f, false, y, workspace);
}

void cpu_conv_forward_bias_act(struct kurc_backend *be, const struct kurc_conv_geom *g,
                               const float *x, const float *w, const float *bias,
                               enum kurc_act act, float alpha, float *y, void *workspace) {
    conv_forward(be, g, x, w, bias, act, alpha, true, y, workspace);
}

void cpu_conv_backward_data(struct kurc_backend *be, const struct kurc_conv_geom *g,
                            const float *dy, const float *w, float *dx, void *workspace) {
    struct conv3 c;
    conv3_init(g, &c);
    if (c.direct) {
        cpu_gemm(be, false, true, c.rows, c.cin, c.cout, 1.0f, dy, c.cout, w, c.cout, 1.0f, dx,
                 c.cin);
        return;
    }
    float *cols = workspace;
    int64_t chunk = chunk_rows(&c);
    for (int64_t r0 = 0; r0 < c.rows; r0 += chunk) {
        int64_t nr = c.rows - r0 < chunk ? c.rows - r0 : chunk;
        cpu_gemm(be, false, true, nr, c.kc, c.cout, 1.0f, dy + r0 * c.cout, c.cout, w, c.cout, 0.0f,
                 cols, c.kc);
        col2im(&c, cols, r0, nr, dx);
    }
}

void cpu_conv_backward_filter(struct kurc_backend *be, const struct kurc_conv_geom *g,
                              const float *x, const float *dy, float *dw, void *workspace) {
    struct conv3 c;
    conv3_init(g, &c);
    if (c.direct) {
        cpu_gemm(be, true, false, c.cin, c.cout, c.rows, 1.0f, x, c.cin, dy, c.cout, 1.0f, dw,
                 c.cout);
        return;
    }
    float *cols = workspace;
    int64_t chunk = chunk_rows(&c);
    for (int64_t r0 = 0; r0 < c.rows; r0 += chunk) {
        int64_t nr = c.rows - r0 < chunk ? c.rows - r0 : chunk;
        int64_t ld = to_cols(&c, x, r0, nr, cols);
        chunk_filter(be, &c, nr, cols, ld, dy + r0 * c.cout, dw);
    }
}

/* Fused backward (slot conv_backward_bias_act): per chunk of output rows,
 * dz = act'(y) dy into the workspace and its column sums into doubles,
 * then that chunk's data product (col2im into dx) and filter product
 * (into dw), while dz is in cache.  The chunks are those of
 * conv_backward_data and conv_backward_filter, and the sums go over the
 * rows in order as in bias_act_backward, so the bits are those of the
 * three in turn.  Unlowered (direct) convolutions run the three in turn,
 * through dz. */
void cpu_conv_backward_bias_act(struct kurc_backend *be, const struct kurc_conv_geom *g,
                                const float *x, const float *w, enum kurc_act act, float alpha,
                                const float *y, const float *dy, float *dz, float *dx, float *dw,
                                float *dbias, void *workspace) {
    struct conv3 c;
    conv3_init(g, &c);
    if (c.direct) {
        cpu_bias_act_backward(be, c.rows, c.cout, act, alpha, y, dy, dz, dbias);
        if (dx)
            cpu_conv_backward_data(be, g, dz, w, dx, workspace);
        if (dw)
            cpu_conv_backward_filter(be, g, x, dz, dw, workspace);
        return;
    }
    int64_t chunk = chunk_rows(&c);
    float *cols = workspace, *dzc = cols + chunk * c.kc;
    double *sums = dbias ? (double *)((char *)workspace + sums_at(&c)) : NULL;
    for (int64_t j = 0; sums && j < c.cout; j++)
        sums[j] = 0.0;
    for (int64_t r0 = 0; r0 < c.rows; r0 += chunk) {
        int64_t nr = c.rows - r0 < chunk ? c.rows - r0 : chunk;
        const float *yc = y + r0 * c.cout, *dyc = dy + r0 * c.cout;
        cpu_act_backward_sum(nr, c.cout, 0, c.cout, act, alpha, yc, dyc, dzc, sums);
        if (dx) {
            cpu_gemm(be, false, true, nr, c.kc, c.cout, 1.0f, dzc, c.cout, w, c.cout, 0.0f, cols,
                     c.kc);
            col2im(&c, cols, r0, nr, dx);
        }
        if (dw) {
            int64_t ld = to_cols(&c, x, r0, nr, cols);
            chunk_filter(be, &c, nr, cols, ld, dzc, dw);
        }
    }
    for (int64_t j = 0; sums && j < c.cout; j++)
        dbias[j] += (float)sums[j];
}
