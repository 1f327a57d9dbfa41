/* test_cuda_models.c - whole models on the CUDA backend against the CPU
 * backend: the same Kurfile built on both, the same seed (so the same
 * initial weights) and the same inputs, then one training step compared
 * stage by stage:
 *   1. forward: every activation of the graph, in order (the first that
 *      differs names the op at fault), and the per-sample losses;
 *   2. backward: the gradient of every parameter;
 *   3. one optimizer step: every parameter after it.
 * Errors are measured norm-wise, max |cuda - cpu| / max |cpu| per tensor:
 * element-wise ratios mean nothing where a relu or a max-pool kink flips
 * between two roundings.  Tolerances: 1e-4 for activations and losses,
 * 1e-3 for gradients (they pass back through every layer), 1e-5 for the
 * parameters after the step.  Dropout masks must agree exactly (the same
 * Philox draw), which these tolerances would not forgive otherwise.
 * Models: Kur's MNIST example (convolution, relu, dense, softmax, cce,
 * adam), a dense network (tanh, relu, mse, sgd with nesterov momentum), a
 * convolution net with batch normalisation, max pooling and dropout
 * (rmsprop), and Kur's "uber model" (every container: transposes, concat,
 * repeat, embedding-free reshapes...; adam), one cmocka test each.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/rng.h"
#include "config/kurfile.h"
#include "core/exec.h"
#include "cudatest.h"
#include "kernels/cpu/cpu_backend.h"
#include "loss/loss.h"
#include "model/model.h"
#include "optim/optimizer.h"
#include "train/components.h"

#ifndef KURC_TEST_KURFILES
#error "KURC_TEST_KURFILES must name tests/kurfiles"
#endif

/* One model on one backend. */
struct side {
    struct kurc_backend *be;
    struct kurc_kurfile *kf;
    struct kurc_model *m;
    struct kurc_losses losses;
    struct kurc_exec *x;
    struct kurc_optimizer *opt;
};

static enum kurc_status side_load(struct side *s, const char *path, struct kurc_backend *be,
                                  int64_t batch, struct kurc_err *err) {
    memset(s, 0, sizeof *s);
    s->be = be;
    enum kurc_status st = kurc_kurfile_load(path, &s->kf, err);
    if (!st)
        st = kurc_kurfile_parse(s->kf, kurc_all_components(), err);
    if (!st)
        st = kurc_model_parse(s->kf, 1234, &s->m, err);
    if (!st)
        st = kurc_model_build(s->m, NULL, err);
    if (!st)
        st = kurc_losses_build(s->m, kurc_kurfile_section(s->kf, "loss"), &s->losses, err);
    if (!st)
        st = kurc_params_allocate(&s->m->params, be, err);
    if (!st)
        st = kurc_params_initialize(&s->m->params, 1234, err);
    if (!st)
        st = kurc_exec_create(be, s->m->graph, &s->m->params, batch, &s->x, err);
    const struct kurc_value *train = s->kf ? kurc_kurfile_section(s->kf, "train") : NULL;
    if (!st)
        st = kurc_optimizer_create(train ? kurc_map_get(train, "optimizer") : NULL, &s->m->params,
                                   be, &s->opt, err);
    if (!st)
        st = kurc_backend_check(be, err);
    if (!st) {
        s->x->batch = batch;
        s->x->training = true;
        s->x->sample_base = 1000;
        s->x->loss_scale = 1.0f / (float)batch;
    }
    return st;
}

static void side_free(struct side *s) {
    kurc_optimizer_free(s->opt);
    kurc_exec_free(s->x);
    kurc_losses_release(&s->losses);
    kurc_model_free(s->m);
    kurc_kurfile_free(s->kf);
}

/* n floats of backend memory, on the host. */
static float *fetch(struct side *s, const float *p, int64_t n) {
    float *h = calloc((size_t)(n > 0 ? n : 1), sizeof *h);
    if (n > 0)
        s->be->ops->download(s->be, h, p, (size_t)n * sizeof *h);
    return h;
}

/* max |got - want| / max |want| must be at most tol. */
static void normwise(const char *what, const float *want, const float *got, int64_t n, double tol) {
    double diff = 0, scale = 0;
    int64_t at = 0;
    bool nan = false;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (isnan(got[i]) || isnan(want[i]))
            nan = true;
        if (d > diff) {
            diff = d;
            at = i;
        }
        scale = fmax(scale, fabs((double)want[i]));
    }
    double e = nan ? INFINITY : diff / fmax(scale, 1e-20);
    if (e > tol)
        fail_msg("%s: n=%lld norm-wise %.2e (tol %.0e), worst at %lld: cpu %.9g cuda %.9g", what,
                 (long long)n, e, tol, (long long)at, n ? want[at] : 0.0, n ? got[at] : 0.0);
    print_message("ok   %-52s n=%-8lld %.2e (tol %.0e)\n", what, (long long)n, e, tol);
}

/* The first differing tensor fails the test: later ones inherit the
 * difference. */
static void compare(const char *what, struct side *cpu, const float *pc, struct side *gpu,
                    const float *pg, int64_t n, double tol) {
    float *a = fetch(cpu, pc, n), *b = fetch(gpu, pg, n);
    ct_backend_ok(gpu->be, what);
    normwise(what, a, b, n, tol);
    free(a);
    free(b);
}

/* Fills the model's inputs (data and truth) on both sides alike. */
static void fill_inputs(struct side *a, struct side *b, uint64_t seed, float lo, float hi) {
    const struct kurc_graph *g = a->m->graph;
    for (size_t i = 0; i < g->n_tensors; i++) {
        if (g->tensors[i].kind != KURC_TENSOR_INPUT)
            continue;
        int64_t n = kurc_exec_count(a->x, (int)i);
        float *h = malloc((size_t)(n > 0 ? n : 1) * sizeof *h);
        for (int64_t k = 0; k < n; k++)
            h[k] = lo + (hi - lo) * kurc_rng_uniform(seed + i, (uint64_t)k);
        a->be->ops->upload(a->be, kurc_exec_value(a->x, (int)i), h, (size_t)n * sizeof *h);
        b->be->ops->upload(b->be, kurc_exec_value(b->x, (int)i), h, (size_t)n * sizeof *h);
        free(h);
    }
}

static void run_model(const char *name, const char *path, int64_t batch, float lo, float hi,
                      struct kurc_backend *cpu_be, struct kurc_backend *gpu_be) {
    print_message("-- %s (batch %lld)\n", name, (long long)batch);
    struct side c, g;
    struct kurc_err err;
    if (side_load(&c, path, cpu_be, batch, &err) || side_load(&g, path, gpu_be, batch, &err))
        fail_msg("%s: %s", name, err.msg);
    struct kurc_params *pc = &c.m->params, *pg = &g.m->params;
    char what[256];
    snprintf(what, sizeof what, "%s: initial parameters", name);
    compare(what, &c, pc->values, &g, pg->values, (int64_t)pc->total, 0);

    fill_inputs(&c, &g, 77, lo, hi);
    kurc_exec_forward(c.x);
    kurc_exec_forward(g.x);
    const struct kurc_graph *gr = c.m->graph;
    for (size_t t = 0; t < gr->n_tensors; t++) {
        if (gr->tensors[t].kind == KURC_TENSOR_PARAM)
            continue;
        snprintf(what, sizeof what, "%s: forward %s", name, gr->tensors[t].name);
        compare(what, &c, kurc_exec_value(c.x, (int)t), &g, kurc_exec_value(g.x, (int)t),
                kurc_exec_count(c.x, (int)t), 1e-4);
    }
    for (size_t i = 0; i < c.losses.n; i++) {
        snprintf(what, sizeof what, "%s: loss of %s", name, c.losses.terms[i].target);
        compare(what, &c, kurc_exec_value(c.x, c.losses.terms[i].value), &g,
                kurc_exec_value(g.x, g.losses.terms[i].value), batch, 1e-4);
    }

    kurc_params_zero_grads(pc);
    kurc_params_zero_grads(pg);
    kurc_exec_backward(c.x);
    kurc_exec_backward(g.x);
    for (size_t i = 0; i < pc->n; i++) {
        const struct kurc_param *q = &pc->items[i];
        if (!q->trainable)
            continue;
        snprintf(what, sizeof what, "%s: gradient %s/%s", name, q->layer, q->weight);
        compare(what, &c, pc->grads + q->offset, &g, pg->grads + q->offset, q->numel, 1e-3);
    }

    kurc_optimizer_step(c.opt, pc, 1.0f);
    kurc_optimizer_step(g.opt, pg, 1.0f);
    for (size_t i = 0; i < pc->n; i++) {
        const struct kurc_param *q = &pc->items[i];
        snprintf(what, sizeof what, "%s: after a step %s/%s", name, q->layer, q->weight);
        compare(what, &c, pc->values + q->offset, &g, pg->values + q->offset, q->numel, 1e-5);
    }
    ct_backend_ok(gpu_be, name);
    side_free(&c);
    side_free(&g);
}

/* Writes text to a fresh file under /tmp; returns its path (static). */
static const char *write_kurfile(const char *text) {
    static char path[256];
    char dir[] = "/tmp/kurc-cuda-models-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(path, sizeof path, "%s/model.yml", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    return path;
}

static void remove_kurfile(const char *path) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s", path);
    unlink(path);
    *strrchr(dir, '/') = '\0';
    rmdir(dir);
}

static const char mnist[] = "model:\n"
                            "  - input: {shape: [28, 28, 1]}\n    name: images\n"
                            "  - convolution: {kernels: 64, size: [3, 3]}\n"
                            "  - activation: relu\n"
                            "  - flatten:\n"
                            "  - dense: 10\n"
                            "  - activation: softmax\n    name: labels\n"
                            "loss:\n  - target: labels\n    name: categorical_crossentropy\n"
                            "train:\n  optimizer: {name: adam, learning_rate: 0.001}\n";

static const char dense[] = "model:\n"
                            "  - input: {shape: [100]}\n    name: x\n"
                            "  - dense: 64\n"
                            "  - activation: tanh\n"
                            "  - dense: 32\n"
                            "  - activation: relu\n"
                            "  - dense: 5\n    name: y\n"
                            "loss:\n  - target: y\n    name: mean_squared_error\n"
                            "train:\n  optimizer: {name: sgd, learning_rate: 0.05, momentum: 0.9, "
                            "nesterov: true}\n";

static const char norm_dropout[] = "model:\n"
                                   "  - input: {shape: [20, 20, 3]}\n    name: images\n"
                                   "  - convolution: {kernels: 8, size: [3, 3], strides: [2, 2]}\n"
                                   "  - batch_normalization:\n"
                                   "  - activation: relu\n"
                                   "  - pool: {size: [2, 2], strides: [2, 2], border: same}\n"
                                   "  - dropout: 0.5\n"
                                   "  - flatten:\n"
                                   "  - dense: 16\n"
                                   "  - batch_normalization:\n"
                                   "  - activation: elu\n"
                                   "  - dropout: 0.25\n"
                                   "  - dense: 4\n"
                                   "  - activation: softmax\n    name: labels\n"
                                   "loss:\n  - target: labels\n    name: categorical_crossentropy\n"
                                   "train:\n  optimizer: {name: rmsprop, learning_rate: 0.001}\n";

static struct kurc_backend *cpu_be, *gpu_be;

/* Trains one step of the model in text (a Kurfile) on both backends. */
static void run_text(const char *name, const char *text, int64_t batch, float lo, float hi) {
    const char *path = write_kurfile(text);
    run_model(name, path, batch, lo, hi, cpu_be, gpu_be);
    remove_kurfile(path);
}

static void test_mnist(void **state) {
    (void)state;
    run_text("mnist", mnist, 16, 0.0f, 1.0f);
}

static void test_dense(void **state) {
    (void)state;
    run_text("dense", dense, 37, -1.0f, 1.0f);
}

static void test_norm_dropout(void **state) {
    (void)state;
    run_text("batch norm + dropout", norm_dropout, 24, 0.0f, 1.0f);
}

static void test_uber(void **state) {
    (void)state;
    /* the environment's KURC_TEST_KURFILES where the sources are elsewhere
     * (the GPU kit, tests/gpu/pack.sh) */
    const char *dir = getenv("KURC_TEST_KURFILES");
    char path[4096];
    snprintf(path, sizeof path, "%s/models/uber.yml", dir && *dir ? dir : KURC_TEST_KURFILES);
    run_model("uber", path, 4, -1.0f, 1.0f, cpu_be, gpu_be);
}

int main(void) {
    ct_require_gpu();
    cpu_be = kurc_cpu_backend_create(1);
    gpu_be = ct_gpu_backend();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mnist),
        cmocka_unit_test(test_dense),
        cmocka_unit_test(test_norm_dropout),
        cmocka_unit_test(test_uber),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    kurc_backend_release(gpu_be);
    kurc_backend_release(cpu_be);
    return rc;
}
