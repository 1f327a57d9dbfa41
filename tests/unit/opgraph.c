/* opgraph.c - op-level test graphs on the CPU backend, checked against
 * finite differences and on every backend this machine can run (see
 * opgraph.h). */
#include "opgraph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "kernels/backends.h"
#include "kernels/cpu/cpu_backend.h"

/* --- the dot objective: out[s] = sum r.y over sample s ------------------- */

/* Written with backend kernels, so that the graph runs on any backend (J
 * itself is computed on the host from y and r: og_eval). */
static void dot_forward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t batch = kurc_exec_batch(x, op->out);
    int64_t n = kurc_exec_count(x, op->in[0]) / batch;
    const float *y = kurc_exec_value(x, op->in[0]), *r = kurc_exec_value(x, op->in[1]);
    float *out = kurc_exec_value(x, op->out);
    for (int64_t s = 0; s < batch; s++)
        x->be->ops->gemm(x->be, false, true, 1, 1, n, 1.0f, y + s * n, n, r + s * n, n, 0.0f,
                         out + s, 1);
}

/* dJ/dy = loss_scale r: the op seeds its input's gradient (like a loss). */
static void dot_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dy = kurc_exec_grad(x, op->in[0]);
    if (!dy)
        return;
    const float *r = kurc_exec_value(x, op->in[1]);
    x->be->ops->axpby(x->be, kurc_exec_count(x, op->in[0]), x->loss_scale, r, 1.0f, dy);
}

static const struct kurc_op_def dot_def = {"test_dot", dot_forward, dot_backward, NULL, NULL};

/* --- building ------------------------------------------------------------ */

static void die(const char *msg) {
    fprintf(stderr, "opgraph: %s\n", msg);
    abort();
}

void og_init(struct og *t) {
    memset(t, 0, sizeof *t);
    t->g = kurc_graph_create();
    kurc_params_init(&t->p);
    t->be = kurc_cpu_backend_create(1);
    t->y = t->r = t->dot = -1;
}

void og_free(struct og *t) {
    kurc_exec_free(t->x);
    kurc_params_release(&t->p);
    kurc_graph_free(t->g);
    kurc_backend_release(t->be);
    memset(t, 0, sizeof *t);
}

int og_input(struct og *t, const char *name, struct kurc_shape shape, bool needs_grad) {
    return kurc_graph_add_tensor(t->g, KURC_TENSOR_INPUT, &shape, -1, needs_grad, name);
}

int og_param(struct og *t, const char *name, struct kurc_shape shape, bool trainable) {
    int q = kurc_params_add(&t->p, name, "w", &shape, trainable, KURC_INIT_ZEROS, 0, 0, 0);
    return kurc_graph_add_tensor(t->g, KURC_TENSOR_PARAM, &shape, q, trainable, name);
}

void og_objective(struct og *t, int y) {
    if (y < 0)
        die("og_objective: no tensor (an emitter failed)");
    t->y = y;
    t->r = og_input(t, "objective weights", *kurc_graph_shape(t->g, y), false);
    struct kurc_shape one = {.ndim = 1, .dim = {1}};
    t->dot = kurc_graph_add_op(t->g, &dot_def, (int[]){y, t->r}, 2, &one, NULL, "objective");
}

void og_loss(struct og *t, int loss) {
    if (loss < 0 || t->n_losses == OG_MAX_LOSSES)
        die("og_loss: no loss tensor (an emitter failed) or too many");
    float w = 0;
    for (size_t i = 0; i < t->g->n_ops; i++)
        if (t->g->ops[i].out == loss)
            w = t->g->ops[i].attr.loss.weight;
    t->losses[t->n_losses] = loss;
    t->weights[t->n_losses++] = w;
}

void og_ready(struct og *t, int64_t batch) {
    struct kurc_err err;
    if (kurc_params_allocate(&t->p, t->be, &err) ||
        kurc_exec_create(t->be, t->g, &t->p, batch, &t->x, &err))
        die(err.msg);
    t->x->batch = batch;
    t->x->training = true;
    t->x->loss_scale = 1.0f;
    if (t->r >= 0)
        og_fill(t, t->r, 0xD07, -1.0f, 1.0f);
}

float *og_value(const struct og *t, int tensor) {
    return kurc_exec_value(t->x, tensor);
}

int64_t og_count(const struct og *t, int tensor) {
    return kurc_exec_count(t->x, tensor);
}

void og_fill(struct og *t, int tensor, uint64_t seed, float lo, float hi) {
    float *v = og_value(t, tensor);
    int64_t n = og_count(t, tensor);
    for (int64_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * kurc_rng_uniform(seed, (uint64_t)i);
}

void og_fill_away(struct og *t, int tensor, uint64_t seed, float lo, float hi, float gap) {
    og_fill(t, tensor, seed, lo, hi);
    float *v = og_value(t, tensor);
    int64_t n = og_count(t, tensor);
    for (int64_t i = 0; i < n; i++)
        if (fabsf(v[i]) < gap)
            v[i] = v[i] < 0 ? v[i] - gap : v[i] + gap;
}

void og_fill_distinct(struct og *t, int tensor, uint64_t seed, float step) {
    float *v = og_value(t, tensor);
    int64_t n = og_count(t, tensor);
    for (int64_t i = 0; i < n; i++)
        v[i] = ((float)i - 0.5f * (float)n) * step;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = (int64_t)(kurc_rng_u64(seed, (uint64_t)i) % (uint64_t)(i + 1));
        float s = v[i];
        v[i] = v[j];
        v[j] = s;
    }
}

int64_t og_rand_int(uint64_t seed, uint64_t i, int64_t lo, int64_t hi) {
    return lo + (int64_t)(kurc_rng_u64(seed, i) % (uint64_t)(hi - lo + 1));
}

/* --- running --------------------------------------------------------------- */

double og_eval(struct og *t) {
    kurc_exec_forward(t->x);
    double total = 0;
    if (t->y >= 0) {
        const float *y = og_value(t, t->y), *r = og_value(t, t->r);
        int64_t n = og_count(t, t->y);
        for (int64_t i = 0; i < n; i++)
            total += (double)y[i] * r[i];
    }
    for (int l = 0; l < t->n_losses; l++) {
        const float *v = og_value(t, t->losses[l]);
        int64_t n = og_count(t, t->losses[l]);
        double sum = 0;
        for (int64_t i = 0; i < n; i++)
            sum += v[i];
        total += t->weights[l] * sum;
    }
    return total * t->x->loss_scale;
}

void og_backward(struct og *t) {
    kurc_params_zero_grads(&t->p);
    kurc_exec_forward(t->x);
    kurc_exec_backward(t->x);
}

/* --- the same graph on every backend --------------------------------------- */

/* The backends op tests also run on: every one this build has and this
 * machine can run, the CPU's own included (a second instance, which must
 * give the same bits), made once per test program. */
static struct kurc_backend *const *other_backends(size_t *count) {
    static struct kurc_backend *made[8];
    static size_t n;
    static bool ready;
    if (!ready) {
        for (const struct kurc_backend_type *const *t = kurc_backend_types; *t && n < 8; t++) {
            char why[256];
            struct kurc_backend_options opt = {.threads = 1, .device = 0, .rank = -1};
            struct kurc_err err;
            if ((*t)->available(why, sizeof why) > 0 && (*t)->create(&opt, &made[n], &err) == 0)
                n++;
        }
        ready = true;
    }
    *count = n;
    return made;
}

/* Runs t's graph forward and backward on be with t's inputs and parameters
 * and returns a new host copy of the gradient of tensor (n floats). */
static float *gradient_on(const struct og *t, struct kurc_backend *be, int tensor, int64_t n) {
    struct kurc_params p;
    kurc_params_init(&p);
    for (size_t i = 0; i < t->p.n; i++) {
        const struct kurc_param *q = &t->p.items[i];
        kurc_params_add(&p, q->layer, q->weight, &q->shape, q->trainable, q->init, q->init_arg,
                        q->fan_in, q->fan_out);
    }
    struct kurc_exec *x;
    struct kurc_err err;
    if (kurc_params_allocate(&p, be, &err) || kurc_exec_create(be, t->g, &p, t->x->batch, &x, &err))
        die(err.msg);
    be->ops->upload(be, p.values, t->p.values, p.total * sizeof(float));
    for (size_t i = 0; i < t->g->n_tensors; i++)
        if (t->g->tensors[i].kind == KURC_TENSOR_INPUT)
            be->ops->upload(be, kurc_exec_value(x, (int)i), og_value(t, (int)i),
                            (size_t)og_count(t, (int)i) * sizeof(float));
    x->batch = t->x->batch;
    x->training = t->x->training;
    x->loss_scale = t->x->loss_scale;
    x->sample_base = t->x->sample_base;
    kurc_params_zero_grads(&p);
    kurc_exec_forward(x);
    kurc_exec_backward(x);
    float *got = malloc((size_t)n * sizeof *got);
    be->ops->download(be, got, kurc_exec_grad(x, tensor), (size_t)n * sizeof *got);
    if (kurc_backend_check(be, &err))
        die(err.msg);
    kurc_exec_free(x);
    kurc_params_release(&p);
    return got;
}

/* The worst relative difference, over every other backend, between its
 * gradient of tensor and the CPU's (want); prints offenders above tol. */
static double parity(const struct og *t, int tensor, const float *want, double floor, double tol,
                     const char *what) {
    size_t count;
    struct kurc_backend *const *backends = other_backends(&count);
    int64_t n = og_count(t, tensor);
    double worst = 0;
    for (size_t b = 0; b < count; b++) {
        float *got = gradient_on(t, backends[b], tensor, n);
        for (int64_t k = 0; k < n; k++) {
            double e = fabs((double)got[k] - want[k]) /
                       fmax(fmax(fabs((double)got[k]), fabs((double)want[k])), floor);
            if (isnan(e))
                e = INFINITY;
            if (e > tol)
                fprintf(stderr, "  %s[%lld]: %.7g on %s, %.7g on the reference CPU backend\n",
                        what, (long long)k, got[k], backends[b]->ops->name, want[k]);
            worst = fmax(worst, e);
        }
        free(got);
    }
    return worst;
}

double og_gradcheck(struct og *t, int tensor, int samples, double h0, double floor, double tol,
                    const char *what) {
    og_backward(t);
    const float *grad = kurc_exec_grad(t->x, tensor);
    if (!grad) {
        fprintf(stderr, "  %s: no gradient\n", what);
        return INFINITY;
    }
    int64_t n = og_count(t, tensor);
    float *g = malloc((size_t)n * sizeof *g);
    memcpy(g, grad, (size_t)n * sizeof *g);
    /* the same gradient on every backend */
    double worst = parity(t, tensor, g, floor, tol, what);
    int64_t worst_at = 0;
    float *v = og_value(t, tensor);
    for (int s = 0; s < samples && s < n; s++) {
        int64_t k = samples >= n ? s : (int64_t)(kurc_rng_u64(0xFD, (uint64_t)s) % (uint64_t)n);
        float saved = v[k];
        double h = h0 * fmax(1.0, fabs(saved));
        v[k] = (float)(saved + h);
        double up_h = (double)v[k] - saved;
        double up = og_eval(t);
        v[k] = (float)(saved - h);
        double down_h = saved - (double)v[k];
        double down = og_eval(t);
        v[k] = saved;
        double fd = (up - down) / (up_h + down_h);
        double e = fabs(g[k] - fd) / fmax(fmax(fabs(g[k]), fabs(fd)), floor);
        if (e > tol)
            fprintf(stderr, "  %s[%lld]: analytic %.7g, numeric %.7g, relative error %.3g\n", what,
                    (long long)k, g[k], fd, e);
        if (e > worst || isnan(e)) {
            worst = isnan(e) ? INFINITY : e;
            worst_at = k;
        }
    }
    if (getenv("OG_VERBOSE"))
        fprintf(stderr, "  %-40s %6lld elements, worst relative error %.2e at %lld\n", what,
                (long long)n, worst, (long long)worst_at);
    free(g);
    return worst;
}
