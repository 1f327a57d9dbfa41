/* test_liveness.c - the executor's liveness plans (exec.h, core/liveness.h):
 * on a small network (dense, relu, dense, tanh, a skip connection by add,
 * dense, reshape, mean squared error) the arenas are smaller than a flat
 * plan's, no two buffers that live at the same time share memory, the
 * lifetimes are the hand-derived ones, with the CPU engine's fused
 * epilogues (dense+relu, dense+tanh) and view (the reshape) and without
 * them (no_fusion), and forward and backward give bitwise the same losses
 * and parameter gradients as with the flat plan without fusion, whole
 * batches and chunked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* after the headers it needs */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/liveness.h"
#include "opgraph.h"

enum { BATCH = 8, ROWS = 7, IN = 16, HID = 24, OUT = 6 };

/* The network's tensors. */
struct net {
    struct og t;
    int x, truth, h1, a1, h2, a2, s, h3, y, loss;
    int params[6];
};

static void build(struct net *n) {
    struct og *t = &n->t;
    struct kurc_err err;
    og_init(t);
    n->x = og_input(t, "x", SHAPE(IN), false);
    n->truth = og_input(t, "truth", SHAPE(2, OUT / 2), false);
    const struct kurc_shape ps[6] = {SHAPE(IN, HID), SHAPE(HID), SHAPE(HID, HID), SHAPE(HID),
                                     SHAPE(HID, OUT), SHAPE(OUT)};
    for (int i = 0; i < 6; i++)
        n->params[i] = og_param(t, "w", ps[i], true);
    n->h1 = kurc_emit_dense(t->g, n->x, n->params[0], n->params[1], "h1", &err);
    n->a1 = kurc_emit_activation(t->g, n->h1, KURC_ACT_RELU, 0, "a1");
    n->h2 = kurc_emit_dense(t->g, n->a1, n->params[2], n->params[3], "h2", &err);
    n->a2 = kurc_emit_activation(t->g, n->h2, KURC_ACT_TANH, 0, "a2");
    n->s = kurc_emit_add(t->g, n->a1, n->a2, "s", &err); /* a1 has two consumers */
    n->h3 = kurc_emit_dense(t->g, n->s, n->params[4], n->params[5], "h3", &err);
    struct kurc_shape pair = SHAPE(2, OUT / 2);
    n->y = kurc_emit_reshape(t->g, n->h3, &pair, "y", &err);
    n->loss = kurc_emit_mse(t->g, n->y, n->truth, 1.0f, "loss", &err);
    assert_true(n->loss >= 0);
    t->g->tensors[n->loss].external = true;
    struct kurc_err e;
    assert_int_equal(kurc_params_allocate(&t->p, t->be, &e), KURC_OK);
}

static struct kurc_exec *executor(struct net *n, int64_t chunk, enum kurc_plan plan,
                                  bool fusion) {
    struct kurc_exec *x;
    struct kurc_err err;
    assert_int_equal(kurc_exec_create_planned(n->t.be, n->t.g, &n->t.p, BATCH, chunk, plan, &x,
                                              &err),
                     KURC_OK);
    if (!fusion) {
        x->no_fusion = true;
        assert_int_equal(kurc_exec_replan(x, n->t.g, &err), KURC_OK);
    }
    x->batch = ROWS;
    x->training = true;
    x->loss_scale = 1.0f / ROWS;
    return x;
}

/* Fills the parameters and x's inputs from fixed seeds. */
static void fill(struct net *n, struct kurc_exec *x) {
    n->t.x = x;
    for (int i = 0; i < 6; i++)
        og_fill(&n->t, n->params[i], 100 + (uint64_t)i, -0.5f, 0.5f);
    og_fill(&n->t, n->x, 7, -1.0f, 1.0f);
    og_fill(&n->t, n->truth, 8, -1.0f, 1.0f);
    n->t.x = NULL;
}

/* One step: the losses, then every parameter gradient, into out. */
static void step(struct net *n, struct kurc_exec *x, bool backward, float *out) {
    fill(n, x);
    kurc_params_zero_grads(&n->t.p);
    kurc_exec_forward(x);
    memcpy(out, kurc_exec_value(x, n->loss), ROWS * sizeof *out);
    if (!backward)
        return;
    kurc_exec_backward(x);
    memcpy(out + ROWS, n->t.p.grads, (size_t)n->t.p.total * sizeof *out);
}

/* No two buffers of one arena that live at the same time overlap. */
static void check_disjoint(const struct kurc_live *lives, const size_t *offsets, size_t n,
                           size_t arena) {
    for (size_t i = 0; i < n; i++) {
        if (!lives[i].floats)
            continue;
        assert_true(offsets[i] + lives[i].floats <= arena);
        for (size_t j = i + 1; j < n; j++) {
            if (!lives[j].floats || lives[i].end < lives[j].start || lives[j].end < lives[i].start)
                continue;
            bool apart = offsets[i] + lives[i].floats <= offsets[j] ||
                         offsets[j] + lives[j].floats <= offsets[i];
            if (!apart)
                fail_msg("tensors %zu and %zu live at once and overlap", i, j);
        }
    }
}

/* Without fusion: every op runs on its own. */
static void test_lifetimes(void **state) {
    (void)state;
    struct net n;
    build(&n);
    struct kurc_exec *x = executor(&n, 0, KURC_PLAN_TRAIN, false);
    const struct kurc_live *v = x->lives, *g = x->lives + x->tensor_capacity;
    /* ops: 0 h1, 1 a1, 2 h2, 3 a2, 4 s, 5 h3, 6 y, 7 loss; backward of
     * op i at step 15 - i */
    assert_int_equal(n.t.g->n_ops, 8);
    /* relu's backward reads its input, tanh's its output, dense's its
     * input, add's and reshape's nothing */
    assert_int_equal(v[n.h1].start, 0);
    assert_int_equal(v[n.h1].end, 15 - 1);
    assert_int_equal(v[n.a1].end, 15 - 2);
    assert_int_equal(v[n.h2].start, 2);
    assert_int_equal(v[n.h2].end, 3);
    assert_int_equal(v[n.a2].end, 15 - 3);
    assert_int_equal(v[n.s].end, 15 - 5);
    assert_int_equal(v[n.h3].end, 6);
    assert_int_equal(v[n.y].end, 15 - 7); /* the loss's backward reads it */
    assert_int_equal(v[n.loss].end, 15);  /* external */
    assert_int_equal(v[n.x].start, 0);    /* inputs: the whole pass */
    assert_int_equal(v[n.x].end, 15);
    /* a gradient: from its last consumer's backward to its producer's */
    assert_int_equal(g[n.a1].start, 15 - 4);
    assert_int_equal(g[n.a1].end, 15 - 1);
    assert_int_equal(g[n.h3].start, 15 - 6);
    assert_int_equal(g[n.h3].end, 15 - 5);
    assert_int_equal(g[n.x].floats, 0); /* no gradient */
    check_disjoint(v, x->offsets, n.t.g->n_tensors, x->act_floats);
    check_disjoint(g, x->grad_offsets, n.t.g->n_tensors, x->grad_floats);
    /* smaller than a flat plan: h2 and h3 share with others, and the
     * gradients of a chain need two or three buffers at a time */
    struct kurc_exec_bytes b;
    kurc_exec_bytes(x, &b);
    assert_true(b.values < b.flat_values);
    assert_true(b.grads < b.flat_grads);
    /* forward alone: no gradients, and values die at their last forward use */
    struct kurc_exec *f = executor(&n, 0, KURC_PLAN_FORWARD, false);
    assert_int_equal(f->lives[n.h1].end, 1);
    assert_true(f->act_floats < x->act_floats);
    assert_int_equal(f->grad_floats, 0);
    assert_null(kurc_exec_grad(f, n.h1));
    check_disjoint(f->lives, f->offsets, n.t.g->n_tensors, f->act_floats);
    kurc_exec_free(f);
    kurc_exec_free(x);
    og_free(&n.t);
}

/* As the CPU engine runs them: dense h1 runs relu a1 as its epilogue (op 1
 * skipped), dense h2 runs tanh a2 (op 3 skipped), y is a view of h3 (op 6
 * skipped). */
static void test_fused_lifetimes(void **state) {
    (void)state;
    struct net n;
    build(&n);
    struct kurc_exec *x = executor(&n, 0, KURC_PLAN_TRAIN, true);
    const struct kurc_live *v = x->lives, *g = x->lives + x->tensor_capacity;
    assert_int_equal(x->epilogue[0], 1);
    assert_int_equal(x->epilogue[2], 3);
    assert_int_equal(x->view_of[n.y], n.h3);
    /* the products of fused ops have no value; a view no buffer of its own */
    assert_int_equal(v[n.h1].floats, 0);
    assert_int_equal(v[n.h2].floats, 0);
    assert_int_equal(v[n.y].floats, 0);
    assert_int_equal(g[n.y].floats, 0);
    /* an epilogue's output is made by the fused op, and read by its
     * backward (the activation's derivative from it): a1 by h1's at step
     * 15, a2 by h2's at 13 */
    assert_int_equal(v[n.a1].start, 0);
    assert_int_equal(v[n.a1].end, 15);
    assert_int_equal(v[n.a2].start, 2);
    assert_int_equal(v[n.a2].end, 15 - 2);
    assert_int_equal(v[n.s].end, 15 - 5);
    /* h3 and its view y: made at 5, y read by the loss's backward at 8 */
    assert_int_equal(v[n.h3].start, 5);
    assert_int_equal(v[n.h3].end, 15 - 7);
    assert_int_equal(v[n.loss].end, 15);
    /* gradients: an epilogue's output's from its last consumer's backward
     * to the fused op's; the product's written whole by the fused backward
     * and read by it alone, never zeroed; h3's from the loss's backward
     * (into y, the same memory) to h3's */
    assert_int_equal(g[n.a1].start, 15 - 4);
    assert_int_equal(g[n.a1].end, 15);
    assert_int_equal(g[n.a2].start, 15 - 4);
    assert_int_equal(g[n.a2].end, 15 - 2);
    assert_int_equal(g[n.h1].start, 15);
    assert_int_equal(g[n.h1].end, 15);
    assert_int_equal(g[n.h2].start, 15 - 2);
    assert_int_equal(g[n.h2].end, 15 - 2);
    assert_int_equal(g[n.h3].start, 15 - 7);
    assert_int_equal(g[n.h3].end, 15 - 5);
    for (size_t z = x->zero_first[0]; z < x->zero_first[n.t.g->n_ops]; z++)
        assert_true(x->zero_list[z] != n.h1 && x->zero_list[z] != n.h2 && x->zero_list[z] != n.y);
    check_disjoint(v, x->offsets, n.t.g->n_tensors, x->act_floats);
    check_disjoint(g, x->grad_offsets, n.t.g->n_tensors, x->grad_floats);
    assert_int_equal(x->offsets[n.y], x->offsets[n.h3]);
    assert_int_equal(x->grad_offsets[n.y], x->grad_offsets[n.h3]);
    struct kurc_exec_bytes b;
    kurc_exec_bytes(x, &b);
    assert_true(b.values < b.flat_values);
    assert_true(b.grads < b.flat_grads);
    struct kurc_exec_bytes m;
    kurc_exec_measure(n.t.be, n.t.g, BATCH, 0, KURC_PLAN_TRAIN, &m);
    assert_memory_equal(&m, &b, sizeof m);
    /* forward alone: a1 dies at s (op 4), a2 too */
    struct kurc_exec *f = executor(&n, 0, KURC_PLAN_FORWARD, true);
    assert_int_equal(f->lives[n.a1].end, 4);
    assert_int_equal(f->lives[n.a2].start, 2);
    assert_int_equal(f->lives[n.h2].floats, 0);
    check_disjoint(f->lives, f->offsets, n.t.g->n_tensors, f->act_floats);
    kurc_exec_free(f);
    kurc_exec_free(x);
    og_free(&n.t);
}

/* The same bits with and without sharing, fused or not, chunked or not,
 * over two steps (the second finds the first's leftovers in shared
 * memory); the reference is the flat plan without fusion. */
static void test_same_bits(void **state) {
    (void)state;
    struct net n;
    build(&n);
    size_t floats = ROWS + (size_t)n.t.p.total;
    float *flat = calloc(floats, sizeof *flat), *live = calloc(floats, sizeof *live);
    for (int64_t chunk = 0; chunk <= 3; chunk += 3)
        for (int fusion = 0; fusion < 2; fusion++) {
            struct kurc_exec *a = executor(&n, chunk, KURC_PLAN_FLAT, false);
            struct kurc_exec *b = executor(&n, chunk, KURC_PLAN_TRAIN, fusion);
            struct kurc_exec *c = executor(&n, chunk, KURC_PLAN_FORWARD, fusion);
            assert_true(b->act_floats < a->act_floats);
            for (int round = 0; round < 2; round++) {
                step(&n, a, true, flat);
                step(&n, b, true, live);
                assert_memory_equal(flat, live, floats * sizeof *flat);
                step(&n, c, false, live);
                assert_memory_equal(flat, live, ROWS * sizeof *flat);
            }
            /* a real test: the gradients are not all zero */
            bool nonzero = false;
            for (size_t i = ROWS; i < floats; i++)
                nonzero = nonzero || flat[i] != 0.0f;
            assert_true(nonzero);
            kurc_exec_free(a);
            kurc_exec_free(b);
            kurc_exec_free(c);
        }
    free(flat);
    free(live);
    og_free(&n.t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifetimes),
        cmocka_unit_test(test_fused_lifetimes),
        cmocka_unit_test(test_same_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
