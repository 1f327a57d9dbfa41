/* modeltest.c - model tests on the CPU backend (see modeltest.h). */
#include "modeltest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rng.h"
#include "kernels/cpu/cpu_backend.h"
#include "optim/optimizer.h"
#include "train/components.h"

enum kurc_status mt_load(struct mt_model *t, const char *yaml, int64_t batch,
                         struct kurc_err *err) {
    return mt_load_with(t, yaml, batch, NULL, err);
}

enum kurc_status mt_load_with(struct mt_model *t, const char *yaml, int64_t batch,
                              const struct kurc_shape_source *shapes, struct kurc_err *err) {
    memset(t, 0, sizeof *t);
    char dir[] = "/tmp/kurc-mt-XXXXXX";
    if (!mkdtemp(dir))
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot make a directory in /tmp");
    snprintf(t->path, sizeof t->path, "%s/model.yml", dir);
    FILE *f = fopen(t->path, "w");
    if (!f || fputs(yaml, f) < 0 || fclose(f) != 0)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot write %s", t->path);
    enum kurc_status st = kurc_kurfile_load(t->path, &t->kf, err);
    if (!st)
        st = kurc_kurfile_parse(t->kf, kurc_all_components(), err);
    if (!st)
        st = kurc_model_parse(t->kf, 1234, &t->m, err);
    if (!st)
        st = kurc_model_build(t->m, shapes, err);
    if (!st)
        st = kurc_losses_build(t->m, kurc_kurfile_section(t->kf, "loss"), &t->losses, err);
    if (st)
        return st;
    t->be = kurc_cpu_backend_create(1);
    if (!st)
        st = kurc_params_allocate(&t->m->params, t->be, err);
    if (!st)
        st = kurc_params_initialize(&t->m->params, 1234, err);
    if (!st)
        st = kurc_exec_create(t->be, t->m->graph, &t->m->params, batch, &t->x, err);
    if (!st) {
        t->x->batch = batch;
        t->x->training = true;
        t->x->loss_scale = 1.0f / (float)batch;
    }
    return st;
}

void mt_free(struct mt_model *t) {
    kurc_exec_free(t->x);
    kurc_losses_release(&t->losses);
    kurc_model_free(t->m);
    kurc_kurfile_free(t->kf);
    if (t->be)
        kurc_backend_release(t->be);
    if (t->path[0]) {
        unlink(t->path);
        *strrchr(t->path, '/') = '\0';
        rmdir(t->path);
    }
}

int mt_input_tensor(const struct kurc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_inputs; i++)
        if (strcmp(m->inputs[i].name, name) == 0)
            return m->inputs[i].tensor;
    fprintf(stderr, "no input named '%s'\n", name);
    abort();
}

int mt_output_tensor(const struct kurc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_outputs; i++)
        if (strcmp(m->outputs[i].name, name) == 0)
            return m->outputs[i].tensor;
    fprintf(stderr, "no output named '%s'\n", name);
    abort();
}

void mt_fill_inputs(struct mt_model *t, uint64_t seed, float lo, float hi) {
    const struct kurc_graph *g = t->m->graph;
    for (size_t i = 0; i < g->n_tensors; i++) {
        if (g->tensors[i].kind != KURC_TENSOR_INPUT)
            continue;
        float *v = kurc_exec_value(t->x, (int)i);
        int64_t n = kurc_exec_count(t->x, (int)i);
        for (int64_t k = 0; k < n; k++)
            v[k] = lo + (hi - lo) * kurc_rng_uniform(seed + i, (uint64_t)k);
    }
}

double mt_objective(struct mt_model *t) {
    kurc_exec_forward(t->x);
    double total = 0;
    for (size_t i = 0; i < t->losses.n; i++) {
        const float *v = kurc_exec_value(t->x, t->losses.terms[i].value);
        double sum = 0;
        for (int64_t k = 0; k < t->x->batch; k++)
            sum += v[k];
        total += t->losses.terms[i].weight * sum * t->x->loss_scale;
    }
    return total;
}

enum kurc_status mt_train(struct mt_model *t, int steps, bool fresh, double *first, double *last,
                          struct kurc_err *err) {
    struct kurc_optimizer *opt;
    enum kurc_status st = kurc_optimizer_create(NULL, &t->m->params, t->be, &opt, err);
    if (st)
        return st;
    for (int step = 0; step < steps; step++) {
        if (fresh)
            t->x->sample_base = (uint64_t)step * (uint64_t)t->x->batch;
        kurc_params_zero_grads(&t->m->params);
        double loss = mt_objective(t);
        if (!isfinite(loss)) {
            st =
                kurc_err_set(err, KURC_E_INVALID, NULL, "step %d: the objective is %g", step, loss);
            break;
        }
        kurc_exec_backward(t->x);
        kurc_optimizer_step(opt, &t->m->params, 1.0f);
        if (step == 0)
            *first = loss;
        *last = loss;
    }
    kurc_optimizer_free(opt);
    return st;
}

/* Finite difference of the objective along one float. */
static double numeric(struct mt_model *t, float *value) {
    float saved = *value;
    double h = 1e-3 * fmax(1.0, fabs(saved));
    *value = (float)(saved + h);
    double up_h = (double)*value - saved;
    double up = mt_objective(t);
    *value = (float)(saved - h);
    double down_h = saved - (double)*value;
    double down = mt_objective(t);
    *value = saved;
    return (up - down) / (up_h + down_h);
}

static double compare(const char *what, float *values, const float *grads, int64_t n,
                      int samples, uint64_t seed, struct mt_model *t, double floor, double tol) {
    double worst = 0;
    for (int s = 0; s < samples && s < n; s++) {
        int64_t k = samples >= n ? s : (int64_t)(kurc_rng_u64(seed, (uint64_t)s) % (uint64_t)n);
        double fd = numeric(t, &values[k]);
        double g = grads[k];
        double e = fabs(g - fd) / fmax(fmax(fabs(g), fabs(fd)), floor);
        if (e > tol)
            fprintf(stderr, "  %s[%lld]: analytic %.6g, numeric %.6g, relative error %.3g\n",
                    what, (long long)k, g, fd, e);
        if (e > worst || isnan(e))
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

double mt_gradcheck(struct mt_model *t, int samples, double floor, double tol) {
    struct kurc_params *p = &t->m->params;
    kurc_params_zero_grads(p);
    mt_objective(t);
    kurc_exec_backward(t->x);
    /* keep the analytic gradients: the finite differences rerun forward */
    float *grads = malloc(p->total * sizeof *grads);
    memcpy(grads, p->grads, p->total * sizeof *grads);
    double worst = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        if (!q->trainable)
            continue;
        char what[256];
        snprintf(what, sizeof what, "%s/%s", q->layer, q->weight);
        double e = compare(what, p->values + q->offset, grads + q->offset, q->numel, samples,
                           0x51ull + i, t, floor, tol);
        worst = fmax(worst, e);
    }
    free(grads);
    return worst;
}

double mt_gradcheck_direction(struct mt_model *t, uint64_t seed) {
    struct kurc_params *p = &t->m->params;
    kurc_params_zero_grads(p);
    mt_objective(t);
    kurc_exec_backward(t->x);
    float *saved = malloc(p->total * sizeof *saved);
    float *dir = calloc(p->total, sizeof *dir);
    memcpy(saved, p->values, p->total * sizeof *saved);
    double analytic = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        if (!q->trainable)
            continue;
        for (int64_t k = 0; k < q->numel; k++) {
            float v = 2.0f * kurc_rng_uniform(seed + i, (uint64_t)k) - 1.0f;
            dir[q->offset + k] = v;
            analytic += (double)v * p->grads[q->offset + k];
        }
    }
    const double h = 1e-4;
    double f[2];
    for (int side = 0; side < 2; side++) {
        for (size_t k = 0; k < p->total; k++)
            p->values[k] = (float)(saved[k] + (side ? -h : h) * dir[k]);
        f[side] = mt_objective(t);
    }
    memcpy(p->values, saved, p->total * sizeof *saved);
    free(saved);
    free(dir);
    double numeric = (f[0] - f[1]) / (2 * h);
    return fabs(analytic - numeric) / fmax(fmax(fabs(analytic), fabs(numeric)), 1e-12);
}
