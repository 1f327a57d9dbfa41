/* test_exec_alloc.c - training allocates nothing: the executor plans every
 * buffer in kurc_exec_create (exec.h) and the optimizer its state in
 * kurc_optimizer_create, so a training step (forward, backward, optimizer
 * update) must not call the allocator.
 *
 * This binary is linked with -Wl,--wrap for malloc, calloc, realloc,
 * aligned_alloc, posix_memalign and strdup: every call from kurc's code
 * (the static libraries linked in) goes through the counters below.
 * (Calls inside shared libraries, OpenBLAS's own buffer pool included,
 * are not seen: what is checked is that kurc itself allocates nothing.)
 * After one warm-up step, counting is switched on for three more steps and
 * must stay at zero, for a model built from a Kurfile with each optimizer,
 * and for a hand-built graph that uses every op emitter.  Repeated
 * forward/backward passes must also give bitwise-identical gradients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* after the headers it needs */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modeltest.h"
#include "opgraph.h"
#include "optim/optimizer.h"

/* --- the wrapped allocator --------------------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
char *__wrap_strdup(const char *s);

/* volatile: GCC assumes malloc changes no global the program can see, and
 * would otherwise fold a read of the counter after a malloc call. */
static volatile int counting;
static volatile long allocations;
static void *volatile first_caller;

static void note(void *caller) {
    if (!counting)
        return;
    if (allocations++ == 0)
        first_caller = caller;
}

void *__wrap_malloc(size_t size) {
    note(__builtin_return_address(0));
    return __real_malloc(size);
}
void *__wrap_calloc(size_t n, size_t size) {
    note(__builtin_return_address(0));
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t size) {
    note(__builtin_return_address(0));
    return __real_realloc(p, size);
}
void *__wrap_aligned_alloc(size_t align, size_t size) {
    note(__builtin_return_address(0));
    return __real_aligned_alloc(align, size);
}
int __wrap_posix_memalign(void **p, size_t align, size_t size) {
    note(__builtin_return_address(0));
    return __real_posix_memalign(p, align, size);
}
char *__wrap_strdup(const char *s) {
    note(__builtin_return_address(0));
    return __real_strdup(s);
}

/* --- training steps ------------------------------------------------------ */

static void train_step(struct kurc_exec *x, struct kurc_params *p, struct kurc_optimizer *o) {
    kurc_params_zero_grads(p);
    kurc_exec_forward(x);
    kurc_exec_backward(x);
    kurc_optimizer_step(o, p, 1.0f);
}

/* The wrapper itself must see allocations: one malloc while counting. */
static void test_wrapper_counts(void **state) {
    (void)state;
    allocations = 0;
    counting = 1;
    void *volatile p = malloc(16);
    counting = 0;
    free(p);
    assert_int_equal(allocations, 1);
}

/* One warm-up step, then three counted ones; gradients of two identical
 * passes compared first. */
static void check_no_allocation(struct kurc_exec *x, struct kurc_params *p,
                                struct kurc_optimizer *o, const char *what) {
    float *first = malloc(p->total * sizeof *first);
    assert_non_null(first);
    kurc_params_zero_grads(p);
    kurc_exec_forward(x);
    kurc_exec_backward(x);
    memcpy(first, p->grads, p->total * sizeof *first);
    kurc_params_zero_grads(p);
    kurc_exec_forward(x);
    kurc_exec_backward(x);
    assert_memory_equal(first, p->grads, p->total * sizeof *first);
    free(first);

    train_step(x, p, o);
    allocations = 0;
    counting = 1;
    for (int i = 0; i < 3; i++)
        train_step(x, p, o);
    counting = 0;
    if (allocations) {
        print_error("%s: %ld allocations in 3 training steps (first from %p)\n", what,
                    (long)allocations, first_caller);
        fail();
    }
}

static void kurfile_model(const char *optimizer) {
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "model:\n"
             "  - input: {shape: [7, 6, 2]}\n    name: images\n"
             "  - convolution: {kernels: 4, size: [3, 3], strides: [2, 1]}\n"
             "  - activation: relu\n"
             "  - convolution: {kernels: 3, size: [2, 2], border: valid}\n"
             "  - activation: tanh\n"
             "  - flatten:\n"
             "  - dense: [8, 4]\n"
             "  - activation: softmax\n    name: labels\n"
             "loss:\n  - target: labels\n    name: categorical_crossentropy\n"
             "train:\n  optimizer: %s\n",
             optimizer);
    struct mt_model t;
    struct kurc_err err;
    if (mt_load(&t, yaml, 5, &err)) {
        print_error("%s\n", err.msg);
        fail();
    }
    mt_fill_inputs(&t, 3, 0.1f, 1.0f);
    const struct kurc_value *train = kurc_kurfile_section(t.kf, "train");
    struct kurc_optimizer *o;
    assert_int_equal(
        kurc_optimizer_create(kurc_map_get(train, "optimizer"), &t.m->params, t.be, &o, &err),
        KURC_OK);
    check_no_allocation(t.x, &t.m->params, o, optimizer);
    kurc_optimizer_free(o);
    mt_free(&t);
}

static void test_kurfile_models(void **state) {
    (void)state;
    kurfile_model("adam");
    kurfile_model("{name: sgd, momentum: 0.9, nesterov: yes, clip: {norm: 0.5}}");
    kurfile_model("{name: rmsprop, clip: {abs: 0.1}, decay: 0.01}");
    kurfile_model("adadelta");
}

/* Every emitter of ops.h in one graph with three losses. */
static void test_every_op(void **state) {
    (void)state;
    struct kurc_err err;
    struct og t;
    og_init(&t);
    int x = og_input(&t, "x", SHAPE(6, 4), false);
    int h = kurc_emit_dense(t.g, x, og_param(&t, "w1", SHAPE(4, 5), true),
                            og_param(&t, "b1", SHAPE(5), true), "dense", &err);
    int gamma = og_param(&t, "gamma", SHAPE(5), true);
    h = kurc_emit_batchnorm(t.g, h, gamma, og_param(&t, "beta", SHAPE(5), true), -1, 1e-3f, "bn",
                            &err);
    h = kurc_emit_activation(t.g, h, KURC_ACT_RELU, 0, "relu");
    h = kurc_emit_dropout(t.g, h, 0.3f, 11, "dropout");
    h = kurc_emit_conv(t.g, h, og_param(&t, "cw", SHAPE(3, 5, 4), true),
                       og_param(&t, "cb", SHAPE(4), true), (int64_t[]){1}, true, "conv", &err);
    h = kurc_emit_conv_transpose(t.g, h, og_param(&t, "tw", SHAPE(2, 3, 4), true),
                                 og_param(&t, "tb", SHAPE(3), true), (int64_t[]){2}, true, "deconv",
                                 &err);
    int p1 =
        kurc_emit_pool(t.g, h, KURC_POOL_MAX, 1, (int64_t[]){2}, (int64_t[]){2}, true, "max", &err);
    int p2 = kurc_emit_pool(t.g, h, KURC_POOL_AVERAGE, 1, (int64_t[]){3}, (int64_t[]){2}, true,
                            "avg", &err);
    int s = kurc_emit_add(t.g, p1, p2, "add", &err);
    s = kurc_emit_scale(t.g, kurc_emit_mul(t.g, s, s, "mul", &err), 0.5f, "scale");
    s = kurc_emit_transpose(t.g, s, (int[]){1, 0}, "transpose", &err);
    struct kurc_shape flat = SHAPE(18);
    s = kurc_emit_reshape(t.g, s, &flat, "reshape", &err);
    s = kurc_emit_concat(t.g, (int[]){s, s}, 2, 0, "concat", &err);
    s = kurc_emit_slice(t.g, s, 0, 3, 20, "slice", &err);
    s = kurc_emit_repeat(t.g, s, 2, "repeat");
    int f = kurc_emit_fold(t.g, s, "fold", &err);
    t.g->fold = 2;
    f = kurc_emit_dense(t.g, f, og_param(&t, "w2", SHAPE(20, 6), true),
                        og_param(&t, "b2", SHAPE(6), true), "dense2", &err);
    f = kurc_emit_activation(t.g, f, KURC_ACT_ELU, 1.0f, "elu");
    t.g->fold = 1;
    int u = kurc_emit_unfold(t.g, f, 2, "unfold");
    int sm = kurc_emit_softmax(t.g, u, false, "softmax");
    int red = kurc_emit_reduce(t.g, u, true, "reduce");
    int idx = og_input(&t, "index", SHAPE(3), false);
    int e = kurc_emit_gather(t.g, idx, og_param(&t, "table", SHAPE(5, 6), true), "embed", &err);
    int t1 = og_input(&t, "t1", SHAPE(2, 6), false);
    int t2 = og_input(&t, "t2", SHAPE(2, 1), false);
    int t3 = og_input(&t, "t3", SHAPE(3, 6), false);
    og_loss(&t, kurc_emit_cce(t.g, sm, t1, 1.0f, "cce", &err));
    og_loss(&t, kurc_emit_mse(t.g, red, t2, 0.5f, "mse", &err));
    og_loss(&t, kurc_emit_mse(t.g, e, t3, 1.0f, "mse2", &err));
    og_ready(&t, 4);
    t.x->loss_scale = 0.25f;
    og_fill(&t, x, 1, -1, 1);
    og_fill(&t, t1, 2, 0, 1);
    og_fill(&t, t2, 3, 0, 1);
    og_fill(&t, t3, 4, 0, 1);
    for (int64_t i = 0; i < og_count(&t, idx); i++)
        og_value(&t, idx)[i] = (float)(i % 5);
    for (size_t i = 0; i < t.g->n_tensors; i++)
        if (t.g->tensors[i].kind == KURC_TENSOR_PARAM)
            og_fill(&t, (int)i, 10 + i, -0.5f, 0.5f);
    og_fill(&t, gamma, 5, 0.5f, 1.5f);

    struct kurc_optimizer *o;
    assert_int_equal(kurc_optimizer_create(NULL, &t.p, t.be, &o, &err), KURC_OK);
    check_no_allocation(t.x, &t.p, o, "every op");
    kurc_optimizer_free(o);
    og_free(&t);
}

/* The sequence ops: recurrent layers (masked GRU, reverse LSTM, plain
 * RNN) into a CTC loss. */
static void test_sequence_ops(void **state) {
    (void)state;
    struct kurc_err err;
    struct og t;
    og_init(&t);
    const int64_t T = 7, F = 3, H = 4, C = 5, L = 3;
    int x = og_input(&t, "x", SHAPE(T, F), false);
    int len = og_input(&t, "len", SHAPE(1), false);
    struct kurc_rnn_spec gru = {KURC_RNN_GRU, KURC_ACT_RELU, 0, KURC_ACT_HARD_SIGMOID, 0,
                                false,        true};
    struct kurc_rnn_spec lstm = {KURC_RNN_LSTM, KURC_ACT_TANH, 0, KURC_ACT_HARD_SIGMOID, 0,
                                 true,          true};
    struct kurc_rnn_spec rnn = {KURC_RNN_SIMPLE, KURC_ACT_TANH, 0, KURC_ACT_HARD_SIGMOID, 0,
                                false,           true};
    int h = kurc_emit_rnn(t.g, x, og_param(&t, "gw", SHAPE(F, 3 * H), true),
                          og_param(&t, "gu", SHAPE(H, 3 * H), true),
                          og_param(&t, "gb", SHAPE(3 * H), true), len, &gru, "gru", &err);
    h = kurc_emit_rnn(t.g, h, og_param(&t, "lw", SHAPE(H, 4 * H), true),
                      og_param(&t, "lu", SHAPE(H, 4 * H), true),
                      og_param(&t, "lb", SHAPE(4 * H), true), len, &lstm, "lstm", &err);
    h = kurc_emit_rnn(t.g, h, og_param(&t, "rw", SHAPE(H, C), true),
                      og_param(&t, "ru", SHAPE(C, C), true), og_param(&t, "rb", SHAPE(C), true), -1,
                      &rnn, "rnn", &err);
    h = kurc_emit_softmax(t.g, h, false, "softmax");
    int labels = og_input(&t, "labels", SHAPE(L), false);
    int label_len = og_input(&t, "label_len", SHAPE(1), false);
    struct kurc_ctc_spec spec = {1.0f, false, false};
    og_loss(&t, kurc_emit_ctc(t.g, h, labels, label_len, len, &spec, "ctc", &err));
    og_ready(&t, 4);
    t.x->loss_scale = 0.25f;
    og_fill(&t, x, 1, -1, 1);
    for (int64_t n = 0; n < 4; n++) {
        og_value(&t, len)[n] = (float)(T - n);
        og_value(&t, label_len)[n] = (float)(n % 3 + 1);
        for (int64_t j = 0; j < L; j++)
            og_value(&t, labels)[n * L + j] = (float)((n + j) % (C - 1));
    }
    for (size_t i = 0; i < t.g->n_tensors; i++)
        if (t.g->tensors[i].kind == KURC_TENSOR_PARAM)
            og_fill(&t, (int)i, 10 + i, -0.5f, 0.5f);
    struct kurc_optimizer *o;
    assert_int_equal(kurc_optimizer_create(NULL, &t.p, t.be, &o, &err), KURC_OK);
    check_no_allocation(t.x, &t.p, o, "sequence ops");
    kurc_optimizer_free(o);
    og_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrapper_counts),
        cmocka_unit_test(test_kurfile_models),
        cmocka_unit_test(test_every_op),
        cmocka_unit_test(test_sequence_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
