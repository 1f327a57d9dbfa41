/* conv_narrow.c - the convolution's two products over a lowered chunk
 * with few columns, stored transposed (conv.c), made here instead of by
 * OpenBLAS; with cols the lowered chunk (nr x kc):
 *     y  = cols @ w        (kc x cout weights, kc small)
 *     dw += cols^T @ dz
 * MNIST's 3x3 kernel over one channel lowers to 9 columns.  With so short
 * a sum the products are bound by memory, and OpenBLAS, given beta 0,
 * first zeroes y, then adds the product to it; here each row of y is made
 * in registers and written once, and dw's sums stay in registers over the
 * whole chunk.  Each output's sum runs in the order of the kernel's
 * columns (forward) or of the chunk's rows (filter), whatever the chunk.
 *
 * The loops use GCC's vector extension (which clang shares), NARROW_LANES
 * floats a vector: one 512-bit register where the CPU has them, pieces of
 * one where not; each is built per instruction set (cpu_isa.h), and every
 * variant gives the same bits. */
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/cpu_kernels.h"

#define NARROW_LANES 16
/* The widest lowered chunk taken.  Measured against OpenBLAS
 * (bench_cpu_conv, one thread, batch 32, 28x28 inputs): 9 columns (3x3
 * over one channel, 64 outputs) 1.30x its speed forward and 1.46-1.53x
 * for the filter; 18 columns (3x3 over two, 128 outputs) 1.05-1.12x and
 * 1.19-1.23x; 25 (5x5 over one) 1.04-1.05x and 0.99x. */
#define NARROW_MAX_KC 32
/* Output channels (vectors of accumulators per row) and rows per pass of
 * the forward product, and at most the lowered columns per pass of the
 * filter product (two vectors of accumulators each): both keep the
 * accumulators in registers. */
#define FORWARD_VECS 4
#define FORWARD_ROWS 4
#define FILTER_COLS 12

typedef float vec __attribute__((vector_size(4 * NARROW_LANES)));
typedef float vec_at __attribute__((vector_size(4 * NARROW_LANES), aligned(4), may_alias));

/* A vector at any float address (macros: a function passing a vector
 * would have a different calling convention per instruction set). */
#define LOAD(p) (*(const vec_at *)(p))
#define STORE(p, v) (*(vec_at *)(p) = (v))

/* Rows [r, r + R) of y, channels [c0, c0 + V * NARROW_LANES): each output
 * sum_p cols[p][row] w[p][c], in order of p. */
static inline __attribute__((always_inline)) void
narrow_forward_rows(int R, int V, int64_t r, int64_t c0, int64_t kc, int64_t cout,
                    const float *restrict cols, int64_t ld, const float *restrict w,
                    float *restrict y) {
    vec acc[FORWARD_ROWS][FORWARD_VECS] = {{{0}}};
    for (int64_t p = 0; p < kc; p++)
        for (int v = 0; v < V; v++) {
            vec wv = LOAD(w + p * cout + c0 + v * NARROW_LANES);
            for (int i = 0; i < R; i++)
                acc[i][v] += wv * cols[p * ld + r + i];
        }
    for (int i = 0; i < R; i++)
        for (int v = 0; v < V; v++)
            STORE(y + (r + i) * cout + c0 + v * NARROW_LANES, acc[i][v]);
}

/* All nr rows of y for channels [c0, c0 + V * NARROW_LANES),
 * FORWARD_ROWS rows at a time. */
static inline __attribute__((always_inline)) void
narrow_forward_channels(int V, int64_t nr, int64_t c0, int64_t kc, int64_t cout,
                        const float *restrict cols, int64_t ld, const float *restrict w,
                        float *restrict y) {
    int64_t r = 0;
    for (; r + FORWARD_ROWS <= nr; r += FORWARD_ROWS)
        narrow_forward_rows(FORWARD_ROWS, V, r, c0, kc, cout, cols, ld, w, y);
    for (; r < nr; r++)
        narrow_forward_rows(1, V, r, c0, kc, cout, cols, ld, w, y);
}

static inline __attribute__((always_inline)) void
narrow_forward_body(int64_t nr, int64_t kc, int64_t cout, const float *restrict cols, int64_t ld,
                    const float *restrict w, float *restrict y) {
    for (int64_t c0 = 0; c0 < cout; c0 += FORWARD_VECS * NARROW_LANES) {
        switch ((cout - c0) / NARROW_LANES) {
        case 1:
            narrow_forward_channels(1, nr, c0, kc, cout, cols, ld, w, y);
            break;
        case 2:
            narrow_forward_channels(2, nr, c0, kc, cout, cols, ld, w, y);
            break;
        case 3:
            narrow_forward_channels(3, nr, c0, kc, cout, cols, ld, w, y);
            break;
        default:
            narrow_forward_channels(4, nr, c0, kc, cout, cols, ld, w, y);
            break;
        }
    }
}

/* dw rows [p0, p0 + P), channels [c0, c0 + 2 NARROW_LANES): the sums over
 * the chunk's rows, in order, added to dw. */
static inline __attribute__((always_inline)) void
narrow_filter_block(int P, int64_t p0, int64_t c0, int64_t nr, int64_t cout,
                    const float *restrict cols, int64_t ld, const float *restrict dz,
                    float *restrict dw) {
    vec acc[FILTER_COLS][2] = {{{0}}};
    for (int64_t r = 0; r < nr; r++) {
        vec d0 = LOAD(dz + r * cout + c0), d1 = LOAD(dz + r * cout + c0 + NARROW_LANES);
        for (int p = 0; p < P; p++) {
            float a = cols[(p0 + p) * ld + r];
            acc[p][0] += d0 * a;
            acc[p][1] += d1 * a;
        }
    }
    for (int p = 0; p < P; p++)
        for (int v = 0; v < 2; v++) {
            float *out = dw + (p0 + p) * cout + c0 + v * NARROW_LANES;
            STORE(out, LOAD(out) + acc[p][v]);
        }
}

/* The filter's columns [p0, p0 + P) for a P known when compiled: the
 * columns of each pass are one case of a switch. */
#define FILTER_CASE(P)                                                                             \
    case P:                                                                                        \
        narrow_filter_block(P, p0, c0, nr, cout, cols, ld, dz, dw);                                \
        break;

static inline __attribute__((always_inline)) void
narrow_filter_body(int64_t nr, int64_t kc, int64_t cout, const float *restrict cols, int64_t ld,
                   const float *restrict dz, float *restrict dw) {
    for (int64_t c0 = 0; c0 < cout; c0 += 2 * NARROW_LANES)
        for (int64_t p0 = 0; p0 < kc; p0 += FILTER_COLS) {
            switch (kc - p0 < FILTER_COLS ? kc - p0 : FILTER_COLS) {
                FILTER_CASE(1)
                FILTER_CASE(2)
                FILTER_CASE(3)
                FILTER_CASE(4)
                FILTER_CASE(5)
                FILTER_CASE(6)
                FILTER_CASE(7)
                FILTER_CASE(8)
                FILTER_CASE(9)
                FILTER_CASE(10)
                FILTER_CASE(11)
                FILTER_CASE(12)
            }
        }
}

KURC_CPU_VARIANTS(narrow_forward,
                  (int64_t nr, int64_t kc, int64_t cout, const float *cols, int64_t ld,
                   const float *w, float *y),
                  (nr, kc, cout, cols, ld, w, y))
KURC_CPU_VARIANTS(narrow_filter,
                  (int64_t nr, int64_t kc, int64_t cout, const float *cols, int64_t ld,
                   const float *dz, float *dw),
                  (nr, kc, cout, cols, ld, dz, dw))

bool cpu_conv_narrow_fits(int64_t kc, int64_t cout) {
    return kc <= NARROW_MAX_KC && cout % (2 * NARROW_LANES) == 0;
}

void cpu_conv_narrow_forward(int64_t nr, int64_t kc, int64_t cout, const float *cols, int64_t ld,
                             const float *w, float *y) {
    narrow_forward_pick()(nr, kc, cout, cols, ld, w, y);
}

void cpu_conv_narrow_filter(int64_t nr, int64_t kc, int64_t cout, const float *cols, int64_t ld,
                            const float *dz, float *dw) {
    narrow_filter_pick()(nr, kc, cout, cols, ld, dz, dw);
}
