/* test_exec_chunked.c - the executor pieces data parallelism rests on,
 * in one process: batch normalisation with statistics summed through
 * kurc_exec.reduce (what several ranks do) and chunked execution (what
 * deterministic mode does) against the fused single-batch kernels, and
 * the after_backward hook delivering each chunk's own weight gradients.
 *
 * Graph: x (6) -> dense (6 x 4, bias) -> batch norm -> dropout 0.3 ->
 * objective sum r.y, batch 10, chunks of 3 (3 + 3 + 3 + 1). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opgraph.h"

enum { BATCH = 10, CHUNK = 3, IN = 6, OUT = 4 };

struct model {
    struct og t;
    int x, w, b, gamma, beta, y;
};

static void build(struct model *m) {
    struct kurc_err err;
    og_init(&m->t);
    m->x = og_input(&m->t, "x", SHAPE(IN), true);
    m->w = og_param(&m->t, "w", SHAPE(IN, OUT), true);
    m->b = og_param(&m->t, "b", SHAPE(OUT), true);
    m->gamma = og_param(&m->t, "gamma", SHAPE(OUT), true);
    m->beta = og_param(&m->t, "beta", SHAPE(OUT), true);
    int h = kurc_emit_dense(m->t.g, m->x, m->w, m->b, "dense", &err);
    int n = kurc_emit_batchnorm(m->t.g, h, m->gamma, m->beta, -1, 1e-3f, "bn", &err);
    m->y = kurc_emit_dropout(m->t.g, n, 0.3f, 99, "drop");
    og_objective(&m->t, m->y);
    og_ready(&m->t, BATCH);
}

/* Inputs (they live in the executor) and weights. */
static void fill(struct model *m) {
    og_fill(&m->t, m->x, 11, -2.0f, 3.0f);
    og_fill(&m->t, m->t.r, 0xD07, -1.0f, 1.0f);
    og_fill(&m->t, m->w, 12, -1.0f, 1.0f);
    og_fill(&m->t, m->b, 13, -0.5f, 0.5f);
    og_fill(&m->t, m->gamma, 14, 0.5f, 1.5f);
    og_fill(&m->t, m->beta, 15, -0.5f, 0.5f);
}

/* A reduce over one process: the chunks' rows added in order. */
static int reduce_calls;
static void local_reduce(void *ctx, const double *partials, int64_t chunks, int64_t width,
                         double *out) {
    (void)ctx;
    reduce_calls++;
    for (int64_t j = 0; j < width; j++) {
        out[j] = 0;
        for (int64_t k = 0; k < chunks; k++)
            out[j] += partials[k * width + j];
    }
}

/* The hook: adds each op's weight gradients (one chunk's, in chunked mode)
 * into acc. */
static double acc[IN * OUT + 3 * OUT + 64];
static int hook_calls;
static void accumulate(void *ctx, struct kurc_exec *x, int op) {
    (void)ctx;
    hook_calls++;
    const struct kurc_op *o = &x->g->ops[op];
    for (int j = 0; j < o->n_in; j++) {
        const struct kurc_tensor *t = &x->g->tensors[o->in[j]];
        if (t->kind != KURC_TENSOR_PARAM || !x->params->items[t->param].trainable)
            continue;
        const struct kurc_param *q = &x->params->items[t->param];
        for (int64_t i = 0; i < q->numel; i++)
            acc[q->offset + (size_t)i] += x->params->grads[q->offset + (size_t)i];
    }
}

struct result {
    float y[BATCH * OUT];
    float dx[BATCH * IN];
    float grads[IN * OUT + 3 * OUT + 64];
    size_t n;
};

static void take(struct model *m, struct result *r, bool from_acc) {
    memcpy(r->y, og_value(&m->t, m->y), sizeof r->y);
    memcpy(r->dx, kurc_exec_grad(m->t.x, m->x), sizeof r->dx);
    r->n = m->t.p.total;
    assert_true(r->n <= sizeof r->grads / sizeof r->grads[0]);
    for (size_t i = 0; i < r->n; i++)
        r->grads[i] = from_acc ? (float)acc[i] : m->t.p.grads[i];
}

static void close_to(const float *a, const float *b, size_t n, double tol, const char *what) {
    double worst = 0, big = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
        big = fmax(big, fabs((double)a[i]));
    }
    if (worst > tol * fmax(big, 1e-3))
        fail_msg("%s: largest difference %g against a scale of %g", what, worst, big);
}

static void compare(const struct result *want, const struct result *got, const char *what) {
    char label[96];
    snprintf(label, sizeof label, "%s: output", what);
    close_to(want->y, got->y, BATCH * OUT, 1e-5, label);
    snprintf(label, sizeof label, "%s: input gradient", what);
    close_to(want->dx, got->dx, BATCH * IN, 1e-5, label);
    snprintf(label, sizeof label, "%s: weight gradients", what);
    close_to(want->grads, got->grads, want->n, 1e-5, label);
}

static void test_reduced_and_chunked(void **state) {
    (void)state;
    struct model m;
    build(&m);
    fill(&m);
    /* the fused kernels, the batch alone */
    struct result fused, reduced, chunked;
    og_backward(&m.t);
    take(&m, &fused, false);

    /* statistics through reduce, one piece */
    m.t.x->reduce = local_reduce;
    reduce_calls = 0;
    og_backward(&m.t);
    take(&m, &reduced, false);
    compare(&fused, &reduced, "reduced");
    assert_int_equal(reduce_calls, 3); /* mean, variance, backward sums */

    /* chunked: op by op over 4 chunks, each chunk's gradients to the hook */
    struct kurc_err err;
    kurc_exec_free(m.t.x);
    assert_int_equal(kurc_exec_create_chunked(m.t.be, m.t.g, &m.t.p, BATCH, CHUNK, &m.t.x, &err),
                     KURC_OK);
    m.t.x->batch = BATCH;
    m.t.x->training = true;
    m.t.x->loss_scale = 1.0f;
    m.t.x->reduce = local_reduce;
    m.t.x->after_backward = accumulate;
    fill(&m);
    assert_int_equal(kurc_exec_chunks(m.t.x), 4);
    memset(acc, 0, sizeof acc);
    hook_calls = 0;
    og_backward(&m.t);
    take(&m, &chunked, true);
    compare(&fused, &chunked, "chunked");
    assert_int_equal(hook_calls, 4 * (int)m.t.g->n_ops);
    /* the last call left the last chunk's own gradients, not the sum */
    int64_t row0, rows;
    kurc_exec_chunk_rows(m.t.x, 3, &row0, &rows);
    assert_int_equal(row0, 9);
    assert_int_equal(rows, 1);
    og_free(&m.t);
}

/* Chunks give the same bits whatever rows came before them: chunk k of a
 * run of 4 chunks equals chunk 0 of a run that starts at it. */
static void test_chunks_independent(void **state) {
    (void)state;
    struct model a, b;
    build(&a);
    build(&b);
    struct kurc_err err;
    kurc_exec_free(a.t.x);
    kurc_exec_free(b.t.x);
    assert_int_equal(kurc_exec_create_chunked(a.t.be, a.t.g, &a.t.p, BATCH, CHUNK, &a.t.x, &err),
                     KURC_OK);
    assert_int_equal(kurc_exec_create_chunked(b.t.be, b.t.g, &b.t.p, BATCH, CHUNK, &b.t.x, &err),
                     KURC_OK);
    fill(&a);
    fill(&b);
    /* b holds a's rows 6..9 as its rows 0..3, with the same sample numbers */
    for (int t = 0; t < 2; t++) {
        int tensor = t == 0 ? a.x : a.t.r;
        int64_t per = t == 0 ? IN : OUT;
        memcpy(og_value(&b.t, tensor), og_value(&a.t, tensor) + 6 * per,
               (size_t)(4 * per) * sizeof(float));
    }
    a.t.x->batch = BATCH;
    b.t.x->batch = 4;
    b.t.x->sample_base = 6;
    a.t.x->training = b.t.x->training = true;
    og_backward(&a.t);
    og_backward(&b.t);
    assert_memory_equal(og_value(&b.t, b.y), og_value(&a.t, a.y) + 6 * OUT,
                        4 * OUT * sizeof(float)); /* no reduce: each chunk's own statistics */
    og_free(&a.t);
    og_free(&b.t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduced_and_chunked),
        cmocka_unit_test(test_chunks_independent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
