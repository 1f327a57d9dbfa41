/* test_varlen.c - training and evaluating on variable-length data through
 * the session (session.h: kurc_session_load): a model with a free time
 * axis (input shape [null, 3], a `parallel` dense) on ragged sources.
 *
 *  - training with sortagrad: losses finite and falling, the graph rebuilt
 *    exactly when a batch's padded length differs from the previous one,
 *    and no backend allocation at all (the session is planned for the
 *    longest samples of its data);
 *  - a second data set with longer samples grows the arenas once, then
 *    allocates nothing;
 *  - padded batches give every sample the output it has alone;
 *  - an input that declares a fixed first axis refuses ragged data with a
 *    message naming both shapes;
 *  - the fixed-length path neither rebuilds nor allocates.
 *
 * Backend allocations are counted by a copy of the CPU backend's op table
 * whose alloc counts calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "comm/comm.h"
#include "config/yaml_load.h"
#include "data/provider.h"
#include "kernels/cpu/cpu_backend.h"
#include "optim/optimizer.h"
#include "train/binding.h"
#include "train/components.h"
#include "train/eval_result.h"
#include "train/session.h"

/* --- a counting backend --------------------------------------------------- */

static struct kurc_backend_ops counting_ops;
static const struct kurc_backend_ops *real_ops;
static int allocations;

static void *counting_alloc(struct kurc_backend *be, size_t bytes) {
    allocations++;
    return real_ops->alloc(be, bytes);
}

static struct kurc_backend *counting_backend(void) {
    struct kurc_backend *be = kurc_cpu_backend_create(1);
    real_ops = be->ops;
    counting_ops = *be->ops;
    counting_ops.alloc = counting_alloc;
    be->ops = &counting_ops;
    return be;
}

static void free_backend(struct kurc_backend *be) {
    be->ops = real_ops;
    kurc_backend_release(be);
}

/* --- Kurfiles and data ---------------------------------------------------- */

static const char *const free_axis_model = "model:\n"
                                           "  - input: {shape: [null, 3]}\n"
                                           "    name: x\n"
                                           "  - parallel:\n"
                                           "      apply:\n"
                                           "        - dense: 2\n"
                                           "  - output: y\n"
                                           "loss:\n"
                                           "  - target: y\n"
                                           "    name: mean_squared_error\n"
                                           "train:\n"
                                           "  optimizer: {name: sgd, learning_rate: 0.05}\n";

static char kurfile_path[256];

static struct kurc_kurfile *load_kurfile(const char *text) {
    char dir[] = "/tmp/kurc-varlen-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(kurfile_path, sizeof kurfile_path, "%s/model.yml", dir);
    FILE *f = fopen(kurfile_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct kurc_kurfile *kf;
    struct kurc_err err;
    enum kurc_status st = kurc_kurfile_load(kurfile_path, &kf, &err);
    if (st == KURC_OK)
        st = kurc_kurfile_parse(kf, kurc_all_components(), &err);
    if (st)
        fail_msg("%s", err.msg);
    return kf;
}

static void free_kurfile(struct kurc_kurfile *kf) {
    kurc_kurfile_free(kf);
    unlink(kurfile_path);
    *strrchr(kurfile_path, '/') = '\0';
    rmdir(kurfile_path);
}

/* Ragged x (len, 3) and y (len, 2) with y = (x0 + x1, x1 - 2 x2) per step,
 * and n (1,) holding each length (to sort by). */
static void make_data(struct kurc_dataset *d, const int64_t *lens, int64_t count) {
    int64_t total = 0;
    for (int64_t i = 0; i < count; i++)
        total += lens[i];
    float *x = malloc((size_t)(3 * total + 1) * sizeof *x);
    float *y = malloc((size_t)(2 * total + 1) * sizeof *y);
    float *n = malloc((size_t)(count + 1) * sizeof *n);
    int64_t *lx = malloc((size_t)(count + 1) * sizeof *lx);
    int64_t *ly = malloc((size_t)(count + 1) * sizeof *ly);
    int64_t step = 0;
    for (int64_t i = 0; i < count; i++) {
        lx[i] = ly[i] = lens[i];
        n[i] = (float)lens[i];
        for (int64_t t = 0; t < lens[i]; t++, step++) {
            float *a = x + 3 * step, *b = y + 2 * step;
            a[0] = sinf((float)(step * 3 + 1));
            a[1] = cosf((float)(step * 5 + 2));
            a[2] = sinf((float)(step * 7 + 3)) * 0.5f;
            b[0] = a[0] + a[1];
            b[1] = a[1] - 2 * a[2];
        }
    }
    struct kurc_err err;
    kurc_dataset_init(d);
    const struct kurc_shape three = {.ndim = 1, .dim = {3}}, two = {.ndim = 1, .dim = {2}},
                            one = {.ndim = 1, .dim = {1}};
    struct kurc_source_extra ex = {.lengths = lx}, ey = {.lengths = ly};
    assert_int_equal(kurc_dataset_add_ex(d, "x", &three, count, x, &ex, "x", &err), KURC_OK);
    assert_int_equal(kurc_dataset_add_ex(d, "y", &two, count, y, &ey, "y", &err), KURC_OK);
    assert_int_equal(kurc_dataset_add(d, "n", &one, count, n, "n", &err), KURC_OK);
    assert_int_equal(kurc_dataset_seal(d, &err), KURC_OK);
}

static struct kurc_value *yaml(const char *text) {
    struct kurc_value *v;
    struct kurc_err err;
    if (kurc_load_buffer(text, strlen(text), KURC_FORMAT_YAML, "provider.yml", &v, &err))
        fail_msg("%s", err.msg);
    return v;
}

struct rig {
    struct kurc_kurfile *kf;
    struct kurc_comm *comm;
    struct kurc_backend *be;
    struct kurc_session *s;
    struct kurc_optimizer *o;
};

static void rig_open(struct rig *r, const char *model, const struct kurc_dataset *d, bool losses,
                     int64_t batch) {
    memset(r, 0, sizeof *r);
    r->kf = load_kurfile(model);
    r->comm = kurc_comm_self_create();
    r->be = counting_backend();
    struct kurc_err err;
    if (kurc_session_create(r->kf, r->comm, r->be, d, losses, batch, batch, 1, 0, &r->s, &err))
        fail_msg("%s", err.msg);
    if (losses &&
        kurc_optimizer_create(kurc_map_get(kurc_kurfile_section(r->kf, "train"), "optimizer"),
                              &r->s->model->params, r->be, &r->o, &err))
        fail_msg("%s", err.msg);
}

static void rig_close(struct rig *r) {
    kurc_optimizer_free(r->o);
    kurc_session_free(r->s);
    free_backend(r->be);
    kurc_comm_free(r->comm);
    free_kurfile(r->kf);
}

/* One training step on batch idx[0..n); returns the mean loss. */
static double train_step(struct rig *r, struct kurc_bindings *b, const int64_t *idx, int64_t n) {
    struct kurc_err err;
    struct kurc_session *s = r->s;
    kurc_params_zero_grads(&s->model->params);
    if (kurc_session_load(s, b, idx, n, 0, n, &err))
        fail_msg("%s", err.msg);
    s->exec->training = true;
    s->exec->loss_scale = 1.0f / (float)n;
    kurc_exec_forward(s->exec);
    double sums[2];
    assert_int_equal(kurc_session_loss_sums(s, sums, &err), KURC_OK);
    kurc_exec_backward(s->exec);
    kurc_optimizer_step(r->o, &s->model->params, 1.0f);
    return sums[0] / sums[1];
}

/* --- tests ------------------------------------------------------------------ */

static void test_train_sortagrad(void **state) {
    (void)state;
    const int64_t lens[] = {5, 2, 7, 3, 3, 6, 1, 4, 7, 2, 5, 4};
    struct kurc_dataset d;
    make_data(&d, lens, 12);
    struct rig r;
    rig_open(&r, free_axis_model, &d, true, 3);
    struct kurc_err err;
    /* the session is planned for the longest samples */
    assert_int_equal(kurc_graph_shape(r.s->model->graph, r.s->model->inputs[0].tensor)->dim[0], 7);
    struct kurc_bindings b;
    assert_int_equal(kurc_bind(r.s->model, &r.s->losses, &d, 3, &b, &err), KURC_OK);
    assert_true(b.ragged);
    struct kurc_provider *p;
    struct kurc_value *spec = yaml("{batch_size: 3, sortagrad: n}");
    assert_int_equal(kurc_provider_create(spec, &d, 7, true, &p, &err), KURC_OK);
    kurc_value_free(spec);
    allocations = 0;
    int64_t graph_length = 7, expected_rebuilds = 0;
    double first = NAN, last = NAN;
    for (int64_t epoch = 0; epoch < 40; epoch++) {
        kurc_provider_start_epoch(p, epoch);
        double sum = 0;
        for (int64_t i = 0; i < kurc_provider_batches(p); i++) {
            const int64_t *idx;
            int64_t n;
            kurc_provider_batch(p, i, &idx, &n);
            int64_t want = kurc_provider_length(kurc_dataset_find(&d, "x"), idx, n);
            if (epoch == 0 && i > 0) /* sortagrad: lengths never shrink in the first epoch */
                assert_true(want >= graph_length);
            expected_rebuilds += want != graph_length;
            graph_length = want;
            double loss = train_step(&r, &b, idx, n);
            assert_true(isfinite(loss));
            sum += loss;
            assert_int_equal(r.s->rebuilds, expected_rebuilds);
            assert_int_equal(
                kurc_graph_shape(r.s->model->graph, r.s->model->inputs[0].tensor)->dim[0], want);
        }
        if (epoch == 0)
            first = sum;
        last = sum;
    }
    assert_int_equal(allocations, 0);
    assert_true(expected_rebuilds > 4);
    printf("loss %g -> %g over 40 epochs, %lld rebuilds, %d allocations\n", first, last,
           (long long)r.s->rebuilds, allocations);
    assert_true(last < 0.1 * first);
    kurc_provider_free(p);
    kurc_bindings_release(&b);
    rig_close(&r);
    kurc_dataset_release(&d);
}

static void test_longer_data_grows_once(void **state) {
    (void)state;
    struct kurc_dataset small, big;
    make_data(&small, (const int64_t[]){1, 2, 3}, 3);
    make_data(&big, (const int64_t[]){9, 4, 12, 6}, 4);
    struct rig r;
    rig_open(&r, free_axis_model, &small, true, 2);
    struct kurc_err err;
    struct kurc_bindings b;
    assert_int_equal(kurc_bind(r.s->model, &r.s->losses, &big, 2, &b, &err), KURC_OK);
    allocations = 0;
    train_step(&r, &b, (const int64_t[]){0, 2}, 2); /* 12 steps: grows */
    int grown = allocations;
    assert_true(grown > 0);
    train_step(&r, &b, (const int64_t[]){1, 3}, 2);
    train_step(&r, &b, (const int64_t[]){2}, 1);
    train_step(&r, &b, (const int64_t[]){0}, 1);
    assert_int_equal(allocations, grown);
    kurc_bindings_release(&b);
    rig_close(&r);
    kurc_dataset_release(&small);
    kurc_dataset_release(&big);
}

/* Outputs of a padded batch equal each sample's output alone. */
static void test_padding_keeps_outputs(void **state) {
    (void)state;
    const int64_t lens[] = {2, 5, 3};
    struct kurc_dataset d;
    make_data(&d, lens, 3);
    struct rig r;
    rig_open(&r, free_axis_model, &d, false, 3);
    struct kurc_err err;
    struct kurc_bindings b;
    assert_int_equal(kurc_bind(r.s->model, NULL, &d, 3, &b, &err), KURC_OK);
    assert_int_equal(kurc_session_load(r.s, &b, (const int64_t[]){0, 1, 2}, 3, 0, 3, &err),
                     KURC_OK);
    kurc_exec_forward(r.s->exec);
    int out = r.s->model->outputs[0].tensor;
    assert_int_equal(kurc_graph_shape(r.s->model->graph, out)->dim[0], 5);
    float together[30];
    memcpy(together, kurc_exec_value(r.s->exec, out), sizeof together);
    for (int64_t i = 0; i < 3; i++) {
        assert_int_equal(kurc_session_load(r.s, &b, &i, 1, 0, 1, &err), KURC_OK);
        kurc_exec_forward(r.s->exec);
        out = r.s->model->outputs[0].tensor;
        assert_int_equal(kurc_graph_shape(r.s->model->graph, out)->dim[0], lens[i]);
        const float *alone = kurc_exec_value(r.s->exec, out);
        for (int64_t k = 0; k < 2 * lens[i]; k++)
            assert_float_equal(alone[k], together[i * 10 + k], 1e-6);
    }
    /* a rank's slice of a global batch is padded to the whole batch's length */
    assert_int_equal(kurc_session_load(r.s, &b, (const int64_t[]){0, 1}, 2, 0, 1, &err), KURC_OK);
    assert_int_equal(kurc_graph_shape(r.s->model->graph, r.s->model->inputs[0].tensor)->dim[0], 5);
    assert_int_equal(r.s->exec->batch, 1);
    kurc_bindings_release(&b);
    rig_close(&r);
    kurc_dataset_release(&d);
}

/* Evaluation results of batches of other lengths are stored zero-padded,
 * with the rows each batch computed, and the data sample of each. */
static void test_eval_results_padded(void **state) {
    (void)state;
    const int64_t lens[] = {2, 5, 3};
    struct kurc_dataset d;
    make_data(&d, lens, 3);
    struct rig r;
    rig_open(&r, free_axis_model, &d, false, 2);
    struct kurc_err err;
    struct kurc_bindings b;
    assert_int_equal(kurc_bind(r.s->model, NULL, &d, 2, &b, &err), KURC_OK);
    struct kurc_eval_result res;
    kurc_eval_result_init(&res, r.s->model, &d, true, 3);
    assert_int_equal(res.shapes[0].dim[0], 5);
    const int64_t order[] = {2, 0, 1};
    for (int64_t at = 0; at < 3; at += 2) {
        int64_t n = at == 0 ? 2 : 1;
        assert_int_equal(kurc_session_load(r.s, &b, order + at, n, 0, n, &err), KURC_OK);
        kurc_exec_forward(r.s->exec);
        kurc_eval_result_store(&res, r.s, order + at, n, at);
    }
    assert_int_equal(res.indices[0], 2);
    assert_int_equal(res.indices[2], 1);
    /* the first batch (samples 2 and 0) was padded to 3 rows, the second to 5 */
    assert_int_equal(res.steps[0][0], 3);
    assert_int_equal(res.steps[0][1], 3);
    assert_int_equal(res.steps[0][2], 5);
    for (int k = 6; k < 10; k++)
        assert_true(res.outputs[0][k] == 0.0f && res.outputs[0][10 + k] == 0.0f);
    assert_true(res.outputs[0][0] != 0.0f && res.outputs[0][20 + 9] != 0.0f);
    /* truths (ragged y) are padded to the result's length */
    assert_non_null(res.truths[0]);
    assert_true(res.truths[0][0] == kurc_dataset_find(&d, "y")->data[2 * (2 + 5)]);
    assert_true(res.truths[0][2 * 3] == 0.0f);
    kurc_eval_result_release(&res);
    kurc_bindings_release(&b);
    rig_close(&r);
    kurc_dataset_release(&d);
}

static void test_fixed_axis_refuses_ragged(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, (const int64_t[]){2, 4}, 2);
    struct kurc_kurfile *kf = load_kurfile("model:\n"
                                           "  - input: {shape: [3, 3]}\n"
                                           "    name: x\n"
                                           "  - parallel: {apply: [{dense: 2}]}\n"
                                           "  - output: y\n");
    struct kurc_comm *comm = kurc_comm_self_create();
    struct kurc_backend *be = counting_backend();
    struct kurc_session *s;
    struct kurc_err err;
    assert_int_equal(kurc_session_create(kf, comm, be, &d, false, 2, 2, 1, 0, &s, &err), KURC_E_CONFIG);
    printf("%s\n", err.msg);
    assert_non_null(strstr(err.msg, "the data has shape (4, 3) per sample, but the input declares "
                                    "(3, 3)"));
    free_backend(be);
    kurc_comm_free(comm);
    free_kurfile(kf);
    kurc_dataset_release(&d);
}

static void test_fixed_path(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    const struct kurc_shape xs = {.ndim = 2, .dim = {4, 3}}, ys = {.ndim = 2, .dim = {4, 2}};
    assert_int_equal(kurc_dataset_add(&d, "x", &xs, 4, kurc_xcalloc(48, sizeof(float)), "x", &err),
                     KURC_OK);
    assert_int_equal(kurc_dataset_add(&d, "y", &ys, 4, kurc_xcalloc(32, sizeof(float)), "y", &err),
                     KURC_OK);
    assert_int_equal(kurc_dataset_seal(&d, &err), KURC_OK);
    struct rig r;
    rig_open(&r, free_axis_model, &d, true, 2);
    struct kurc_bindings b;
    assert_int_equal(kurc_bind(r.s->model, &r.s->losses, &d, 2, &b, &err), KURC_OK);
    assert_false(b.ragged);
    allocations = 0;
    for (int64_t i = 0; i < 4; i += 2) {
        const int64_t idx[] = {i, i + 1};
        assert_true(isfinite(train_step(&r, &b, idx, 2)));
    }
    assert_int_equal(r.s->rebuilds, 0);
    assert_int_equal(allocations, 0);
    kurc_bindings_release(&b);
    rig_close(&r);
    kurc_dataset_release(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_sortagrad),
        cmocka_unit_test(test_longer_data_grows_once),
        cmocka_unit_test(test_padding_keeps_outputs),
        cmocka_unit_test(test_eval_results_padded),
        cmocka_unit_test(test_fixed_axis_refuses_ragged),
        cmocka_unit_test(test_fixed_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
