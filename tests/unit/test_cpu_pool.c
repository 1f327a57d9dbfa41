/* test_cpu_pool.c - the CPU pooling kernels (cpu_pool_*) against a direct
 * loop reference, finite differences and hand-computed answers.
 *
 * Conventions under test: windows count only the input cells inside the
 * input (TensorFlow 'SAME' pooling: padding is never a maximum and never
 * averaged), and max pooling's gradient goes to the first maximum of each
 * window in window order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kerneltest.h"

/* Kernel against reference: max pooling copies values, so both agree
 * exactly; averages of at most 64 cells differ by float32 rounding:
 * |got - want| / max(|got|, |want|, 1) <= 1e-6. */
#define REF_TOL 1e-6
/* Finite differences of sum(y * r): inputs are distinct multiples of 0.005,
 * so h = 1e-3 never crosses a tie of a max window; average pooling is
 * linear and takes h = 1e-2.  Errors are float32 rounding of y over 2h:
 * |fd - grad| / max(|fd|, |grad|, 0.1) <= 2e-3. */
#define FD_TOL 2e-3
#define RANDOM_CASES 240
#define FD_CASES 30

static int64_t x_size(const struct kurc_pool_geom *g) {
    return g->batch * kt_prod(g->in, g->ndim) * g->channels;
}

static int64_t y_size(const struct kurc_pool_geom *g) {
    return g->batch * kt_prod(g->out, g->ndim) * g->channels;
}

/* Geometry number `index`: ndim, border (valid, TensorFlow same, explicit
 * padding smaller than the window) and pooling type cycle; sizes 1 to 4,
 * strides 1 to 3, channels 1 to 7 (every tenth geometry 65 to 70, past the
 * kernel's channel block). */
static struct kurc_pool_geom random_geom(uint64_t index, int64_t max_batch) {
    struct kt_dice d = {0xB00C + index, 0};
    struct kurc_pool_geom g = {0};
    g.ndim = 1 + (int)(index % 3);
    int border = (int)(index / 3 % 3);
    g.type = index / 9 % 2 ? KURC_POOL_AVERAGE : KURC_POOL_MAX;
    g.batch = kt_roll(&d, 1, max_batch);
    g.channels = index % 10 == 7 ? kt_roll(&d, 65, 70) : kt_roll(&d, 1, 7);
    int64_t max_in = g.ndim == 3 ? 6 : 9;
    for (int i = 0; i < g.ndim; i++) {
        int64_t k = kt_roll(&d, 1, 4), s = kt_roll(&d, 1, 3);
        g.size[i] = k;
        g.stride[i] = s;
        if (border == 0) {
            g.in[i] = kt_roll(&d, k, k + max_in - 4);
            g.out[i] = (g.in[i] - k) / s + 1;
        } else if (border == 1) {
            g.in[i] = kt_roll(&d, 1, max_in);
            g.out[i] = (g.in[i] + s - 1) / s;
            int64_t total = (g.out[i] - 1) * s + k - g.in[i];
            g.pad_before[i] = total > 0 ? total / 2 : 0;
        } else {
            int64_t before = kt_roll(&d, 0, k - 1), after = kt_roll(&d, 0, k - 1);
            int64_t least = k - before - after > 1 ? k - before - after : 1;
            g.in[i] = kt_roll(&d, least, least + max_in - 4);
            g.pad_before[i] = before;
            g.out[i] = (g.in[i] + before + after - k) / s + 1;
        }
    }
    return g;
}

/* The offsets (in floats, channel 0) of the input cells inside the window
 * of output pixel po of sample n, in window order; returns their count. */
static int64_t window_cells(const struct kurc_pool_geom *g, int64_t n, int64_t po, int64_t *cells) {
    int64_t o[3], rem = po, count = 0;
    for (int d = g->ndim - 1; d >= 0; d--) {
        o[d] = rem % g->out[d];
        rem /= g->out[d];
    }
    for (int64_t pk = 0; pk < kt_prod(g->size, g->ndim); pk++) {
        int64_t k[3], rem_k = pk;
        for (int d = g->ndim - 1; d >= 0; d--) {
            k[d] = rem_k % g->size[d];
            rem_k /= g->size[d];
        }
        bool inside = true;
        int64_t flat = 0;
        for (int d = 0; d < g->ndim; d++) {
            int64_t i = o[d] * g->stride[d] - g->pad_before[d] + k[d];
            inside = inside && i >= 0 && i < g->in[d];
            flat = flat * g->in[d] + i;
        }
        if (inside)
            cells[count++] = (n * kt_prod(g->in, g->ndim) + flat) * g->channels;
    }
    return count;
}

/* Reference forward, and backward adding into dx. */
static void ref_pool(const struct kurc_pool_geom *g, const float *x, float *y, const float *dy,
                     float *dx) {
    int64_t out_px = kt_prod(g->out, g->ndim);
    int64_t *cells = malloc((size_t)kt_prod(g->size, g->ndim) * sizeof *cells);
    assert_non_null(cells);
    for (int64_t n = 0; n < g->batch; n++)
        for (int64_t po = 0; po < out_px; po++) {
            int64_t count = window_cells(g, n, po, cells);
            assert_true(count > 0);
            for (int64_t c = 0; c < g->channels; c++) {
                int64_t yi = (n * out_px + po) * g->channels + c;
                if (g->type == KURC_POOL_MAX) {
                    int64_t best = cells[0] + c;
                    for (int64_t j = 1; j < count; j++)
                        if (x[cells[j] + c] > x[best])
                            best = cells[j] + c;
                    if (y)
                        y[yi] = x[best];
                    if (dx)
                        dx[best] += dy[yi];
                } else {
                    double s = 0;
                    for (int64_t j = 0; j < count; j++)
                        s += x[cells[j] + c];
                    if (y)
                        y[yi] = (float)(s / (double)count);
                    for (int64_t j = 0; dx && j < count; j++)
                        dx[cells[j] + c] += (float)(dy[yi] / (double)count);
                }
            }
        }
    free(cells);
}

/* x of n distinct values: a random permutation of multiples of 0.005. */
static void fill_distinct(float *x, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(kurc_rng_u64(seed, (uint64_t)i) % (uint64_t)(i + 1));
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
    for (int64_t i = 0; i < n; i++)
        x[i] = (x[i] - (float)(n / 2)) * 0.005f;
}

static void test_random_geometries(void **state) {
    (void)state;
    for (uint64_t k = 0; k < RANDOM_CASES; k++) {
        struct kurc_pool_geom g = random_geom(k, 5);
        int64_t nx = x_size(&g), ny = y_size(&g);
        float *x = kt_alloc_floats(nx), *y = kt_alloc_floats(ny), *y_ref = kt_alloc_floats(ny);
        float *dy = kt_alloc_floats(ny), *dx = kt_alloc_floats(nx), *dx_ref = kt_alloc_floats(nx);
        /* Every fourth case draws from 8 values only: many ties. */
        tu_fill_uniform(x, nx, 3 * k, -1, 1);
        if (k % 4 == 0)
            for (int64_t i = 0; i < nx; i++)
                x[i] = floorf(x[i] * 4);
        tu_fill_uniform(dy, ny, 3 * k + 1, -1, 1);
        tu_fill_uniform(dx, nx, 3 * k + 2, -1, 1);
        memcpy(dx_ref, dx, (size_t)nx * sizeof(float));
        for (int64_t i = 0; i < ny; i++)
            y[i] = NAN;
        cpu_pool_forward(NULL, &g, x, y);
        cpu_pool_backward(NULL, &g, x, y, dy, dx);
        ref_pool(&g, x, y_ref, dy, dx_ref);
        assert_true(tu_max_rel_err(y, y_ref, ny, 1.0) <= REF_TOL);
        assert_true(tu_max_rel_err(dx, dx_ref, nx, 1.0) <= REF_TOL);
        free(x);
        free(y);
        free(y_ref);
        free(dy);
        free(dx);
        free(dx_ref);
    }
}

struct fd_ctx {
    const struct kurc_pool_geom *g;
    const float *r;
    float *y;
};

static double pool_loss(const float *x, void *arg) {
    struct fd_ctx *c = arg;
    cpu_pool_forward(NULL, c->g, x, c->y);
    double s = 0;
    for (int64_t i = 0; i < y_size(c->g); i++)
        s += (double)c->y[i] * c->r[i];
    return s;
}

static void test_finite_differences(void **state) {
    (void)state;
    for (uint64_t k = 0; k < FD_CASES; k++) {
        struct kurc_pool_geom g = random_geom(7000 + k, 2);
        int64_t nx = x_size(&g), ny = y_size(&g);
        float *x = kt_alloc_floats(nx), *y = kt_alloc_floats(ny), *r = kt_alloc_floats(ny);
        float *dx = kt_alloc_floats(nx), *fd = kt_alloc_floats(nx);
        fill_distinct(x, nx, k);
        tu_fill_uniform(r, ny, 100 + k, -1, 1);
        memset(dx, 0, (size_t)nx * sizeof(float));
        cpu_pool_forward(NULL, &g, x, y);
        cpu_pool_backward(NULL, &g, x, y, r, dx);
        struct fd_ctx c = {&g, r, y};
        double h = g.type == KURC_POOL_MAX ? 1e-3 : 1e-2;
        for (int64_t i = 0; i < nx; i++)
            fd[i] = (float)tu_finite_difference(x, i, h, pool_loss, &c);
        assert_true(tu_max_rel_err(fd, dx, nx, 0.1) <= FD_TOL);
        free(x);
        free(y);
        free(r);
        free(dx);
        free(fd);
    }
}

/* 3x3 input, one channel, by hand:
 *   x = 3 1 2
 *       9 5 4
 *       6 8 7
 * (a) 2x2 windows, stride 2, 'same': out 2x2, pad 0 before and 1 after.
 *     Windows {3,1,9,5} {2,4} {6,8} {7}: max 9 4 8 7, average 4.5 3 7 7.
 *     Average gradient of dy = 1: 1/4 on the first window's cells, 1/2 on
 *     the two-cell windows', 1 on the last cell.
 * (b) 3x3 windows, stride 1, 'same': pad 1 before and after.
 *     max     = 9 9 5 / 9 9 8 / 9 9 8
 *     average = 18/4 24/6 12/4 / 32/6 45/9 27/6 / 28/4 39/6 24/4
 *             = 4.5 4 3 / 5.333 5 4.5 / 7 6.5 6
 *     Max gradient of dy = 1: the 9 collects six windows, the 5 one (top
 *     right window), the 8 two. */
static void test_known_answer(void **state) {
    (void)state;
    const float x[9] = {3, 1, 2, 9, 5, 4, 6, 8, 7};
    const float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    float y[9], dx[9];
    struct kurc_pool_geom g = {.ndim = 2,
                               .type = KURC_POOL_MAX,
                               .batch = 1,
                               .in = {3, 3},
                               .out = {2, 2},
                               .size = {2, 2},
                               .stride = {2, 2},
                               .channels = 1};
    cpu_pool_forward(NULL, &g, x, y);
    const float max_a[4] = {9, 4, 8, 7};
    assert_memory_equal(y, max_a, sizeof max_a);
    g.type = KURC_POOL_AVERAGE;
    cpu_pool_forward(NULL, &g, x, y);
    const float avg_a[4] = {4.5f, 3, 7, 7};
    assert_memory_equal(y, avg_a, sizeof avg_a);
    memset(dx, 0, sizeof dx);
    cpu_pool_backward(NULL, &g, x, y, ones, dx);
    const float davg_a[9] = {0.25f, 0.25f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f, 0.5f, 1};
    assert_memory_equal(dx, davg_a, sizeof davg_a);

    g.out[0] = g.out[1] = 3;
    g.size[0] = g.size[1] = 3;
    g.stride[0] = g.stride[1] = 1;
    g.pad_before[0] = g.pad_before[1] = 1;
    cpu_pool_forward(NULL, &g, x, y);
    const float avg_b[9] = {4.5f, 4, 3, 32.0f / 6, 5, 4.5f, 7, 6.5f, 6};
    assert_true(tu_max_rel_err(y, avg_b, 9, 1.0) <= 1e-6);
    g.type = KURC_POOL_MAX;
    cpu_pool_forward(NULL, &g, x, y);
    const float max_b[9] = {9, 9, 5, 9, 9, 8, 9, 9, 8};
    assert_memory_equal(y, max_b, sizeof max_b);
    memset(dx, 0, sizeof dx);
    cpu_pool_backward(NULL, &g, x, y, ones, dx);
    const float dmax_b[9] = {0, 0, 0, 6, 1, 0, 0, 2, 0};
    assert_memory_equal(dx, dmax_b, sizeof dmax_b);
}

/* Ties: the first maximum in window order takes the whole gradient, and
 * the gradient adds to what dx held.  1-D, two channels, windows of 3 with
 * stride 2: channel 0 is all 1 (first cell of each window wins), channel 1
 * is 0 2 2 2 2 (the first 2 of each window). */
static void test_ties_and_accumulation(void **state) {
    (void)state;
    const float x[10] = {1, 0, 1, 2, 1, 2, 1, 2, 1, 2};
    const float dy[4] = {10, 20, 30, 40};
    float y[4], dx[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    struct kurc_pool_geom g = {.ndim = 1,
                               .type = KURC_POOL_MAX,
                               .batch = 1,
                               .in = {5},
                               .out = {2},
                               .size = {3},
                               .stride = {2},
                               .channels = 2};
    cpu_pool_forward(NULL, &g, x, y);
    const float y_want[4] = {1, 2, 1, 2};
    assert_memory_equal(y, y_want, sizeof y_want);
    cpu_pool_backward(NULL, &g, x, y, dy, dx);
    /* Windows cover cells 0-2 and 2-4. */
    const float dx_want[10] = {11, 1, 1, 21, 31, 41, 1, 1, 1, 1};
    assert_memory_equal(dx, dx_want, sizeof dx_want);
}

/* Windows with no cell inside (padding wider than the window) give 0 and
 * pass no gradient.  x = 5 7 (1-D, one channel):
 * (a) size 2, stride 1, 2 cells of padding before: windows start at -2, -1
 *     and 0: {} {5} {5, 7}, so max 0 5 7 and average 0 5 6; with dy = 1
 *     the max gradient is 1 1 and the average gradient 1.5 0.5.
 * (b) size 1, stride 3, 3 cells of padding after: windows {5} and {} (it
 *     starts at 3, past the end): y = 5 0 both ways, gradient 1 0. */
static void test_empty_windows(void **state) {
    (void)state;
    const float x[2] = {5, 7}, ones[3] = {1, 1, 1};
    float y[3], dx[2];
    struct kurc_pool_geom g = {.ndim = 1,
                               .type = KURC_POOL_MAX,
                               .batch = 1,
                               .in = {2},
                               .out = {3},
                               .size = {2},
                               .stride = {1},
                               .pad_before = {2},
                               .channels = 1};
    const float max_a[3] = {0, 5, 7}, avg_a[3] = {0, 5, 6};
    const float dmax_a[2] = {1, 1}, davg_a[2] = {1.5f, 0.5f};
    for (int avg = 0; avg < 2; avg++) {
        g.type = avg ? KURC_POOL_AVERAGE : KURC_POOL_MAX;
        cpu_pool_forward(NULL, &g, x, y);
        assert_memory_equal(y, avg ? avg_a : max_a, sizeof max_a);
        memset(dx, 0, sizeof dx);
        cpu_pool_backward(NULL, &g, x, y, ones, dx);
        assert_memory_equal(dx, avg ? davg_a : dmax_a, sizeof dmax_a);
    }

    g.out[0] = 2;
    g.size[0] = 1;
    g.stride[0] = 3;
    g.pad_before[0] = 0;
    const float y_b[2] = {5, 0}, dx_b[2] = {1, 0};
    for (int avg = 0; avg < 2; avg++) {
        g.type = avg ? KURC_POOL_AVERAGE : KURC_POOL_MAX;
        cpu_pool_forward(NULL, &g, x, y);
        assert_memory_equal(y, y_b, sizeof y_b);
        memset(dx, 0, sizeof dx);
        cpu_pool_backward(NULL, &g, x, y, ones, dx);
        assert_memory_equal(dx, dx_b, sizeof dx_b);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),       cmocka_unit_test(test_ties_and_accumulation),
        cmocka_unit_test(test_empty_windows),      cmocka_unit_test(test_random_geometries),
        cmocka_unit_test(test_finite_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
