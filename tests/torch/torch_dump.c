/* torch_dump.c - runs small Kurfile models through kurc (CPU backend) and
 * writes everything a PyTorch re-implementation needs to check them:
 * weights, inputs, truths, outputs, the loss and every parameter gradient.
 *
 *   torch_dump DIR        writes DIR/NAME.txt for each model below
 *
 * check_torch.py reads the files, builds the same models in PyTorch
 * (float64) and compares.  Weights are U(-0.5, 0.5) and biases U(-0.1,
 * 0.1) from fixed Philox streams, inputs U(-1, 1); cce truths are positive
 * weights U(0.05, 1) per class (not one-hot, so every class contributes),
 * mse truths U(-1, 1).  The loss is kurc's objective: the batch mean of
 * the per-sample losses (loss_scale 1 / batch), and the gradients are
 * those of that mean.
 *
 * File format (text, one record per line, a tensor's values on the line
 * after its header):
 *   model NAME
 *   batch N
 *   lossfn OUTPUT LOSS                   for each loss term
 *   tensor KIND NAME NDIM D0 D1 ...      KIND: param, input, truth, output,
 *   V0 V1 ...                            grad; batched tensors list the
 *   loss VALUE                           batch as D0.  Values are %.9g, so
 *                                        float32 values round-trip; params
 *                                        and grads come in declaration
 *                                        order (layer/weight names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "modeltest.h"

struct model_case {
    const char *name;
    const char *yaml;
};

static const struct model_case cases[] = {
    {"dense", "model:\n"
              "  - input: {shape: [6]}\n    name: x\n"
              "  - dense: 5\n"
              "  - activation: relu\n"
              "  - dense: 4\n"
              "  - activation: softmax\n    name: y\n"
              "loss:\n  - target: y\n    name: categorical_crossentropy\n"},
    {"conv2d_same", "model:\n"
                    "  - input: {shape: [5, 5, 2]}\n    name: x\n"
                    "  - convolution: {kernels: 3, size: [3, 3], strides: 1, border: same}\n"
                    "  - activation: relu\n"
                    "  - flatten:\n"
                    "  - dense: 3\n"
                    "  - activation: softmax\n    name: y\n"
                    "loss:\n  - target: y\n    name: categorical_crossentropy\n"},
    {"conv2d_valid_stride2",
     "model:\n"
     "  - input: {shape: [5, 5, 2]}\n    name: x\n"
     "  - convolution: {kernels: 3, size: [3, 3], strides: 2, border: valid}\n"
     "  - activation: relu\n"
     "  - flatten:\n"
     "  - dense: 3\n"
     "  - activation: softmax\n    name: y\n"
     "loss:\n  - target: y\n    name: categorical_crossentropy\n"},
    {"conv1d_mse", "model:\n"
                   "  - input: {shape: [9, 3]}\n    name: x\n"
                   "  - convolution: {kernels: 4, size: 3, strides: 2, border: same}\n"
                   "  - activation: tanh\n"
                   "  - dense: 2\n    name: y\n"
                   "loss:\n  - target: y\n    name: mean_squared_error\n"},
};

#define BATCH 3

static void write_values(FILE *f, const float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        fprintf(f, "%s%.9g", i ? " " : "", v[i]);
    fputc('\n', f);
}

/* A tensor record; batched tensors get the batch as their first axis. */
static void write_tensor(FILE *f, const char *kind, const char *name, const struct kurc_shape *s,
                         int64_t batch, const float *v) {
    fprintf(f, "tensor %s %s %d", kind, name, s->ndim + (batch > 0));
    if (batch > 0)
        fprintf(f, " %lld", (long long)batch);
    for (int i = 0; i < s->ndim; i++)
        fprintf(f, " %lld", (long long)s->dim[i]);
    fputc('\n', f);
    write_values(f, v, kurc_shape_numel(s) * (batch > 0 ? batch : 1));
}

static void fill(float *v, int64_t n, uint64_t seed, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * kurc_rng_uniform(seed, (uint64_t)i);
}

static int dump(const struct model_case *c, const char *dir) {
    struct mt_model t;
    struct kurc_err err;
    if (mt_load(&t, c->yaml, BATCH, &err)) {
        fprintf(stderr, "torch_dump: %s: %s\n", c->name, err.msg);
        return 1;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.txt", dir, c->name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "torch_dump: cannot write %s\n", path);
        mt_free(&t);
        return 1;
    }
    fprintf(f, "model %s\nbatch %d\n", c->name, BATCH);

    /* deterministic weights: kernels U(-0.5, 0.5), biases U(-0.1, 0.1) */
    struct kurc_params *p = &t.m->params;
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        float *v = malloc((size_t)q->numel * sizeof *v);
        bool bias = strncmp(q->weight, "bias", 4) == 0;
        fill(v, q->numel, 1000 + i, bias ? -0.1f : -0.5f, bias ? 0.1f : 0.5f);
        kurc_params_upload(p, i, v);
        char name[256];
        snprintf(name, sizeof name, "%s/%s", q->layer, q->weight);
        write_tensor(f, "param", name, &q->shape, 0, v);
        free(v);
    }
    const struct kurc_graph *g = t.m->graph;
    for (size_t i = 0; i < t.m->n_inputs; i++) {
        int x = t.m->inputs[i].tensor;
        fill(kurc_exec_value(t.x, x), kurc_exec_count(t.x, x), 2000 + i, -1, 1);
        write_tensor(f, "input", t.m->inputs[i].name, &g->tensors[x].shape, BATCH,
                     kurc_exec_value(t.x, x));
    }
    for (size_t i = 0; i < t.losses.n; i++) {
        int truth = t.losses.terms[i].truth;
        bool cce = strcmp(t.losses.terms[i].name, "categorical_crossentropy") == 0;
        fill(kurc_exec_value(t.x, truth), kurc_exec_count(t.x, truth), 3000 + i,
             cce ? 0.05f : -1.0f, 1.0f);
        fprintf(f, "lossfn %s %s\n", t.losses.terms[i].target, t.losses.terms[i].name);
        write_tensor(f, "truth", t.losses.terms[i].target, &g->tensors[truth].shape, BATCH,
                     kurc_exec_value(t.x, truth));
    }

    kurc_params_zero_grads(p);
    double loss = mt_objective(&t);
    kurc_exec_backward(t.x);
    for (size_t i = 0; i < t.m->n_outputs; i++) {
        int y = t.m->outputs[i].tensor;
        write_tensor(f, "output", t.m->outputs[i].name, &g->tensors[y].shape, BATCH,
                     kurc_exec_value(t.x, y));
    }
    fprintf(f, "loss %.17g\n", loss);
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        char name[256];
        snprintf(name, sizeof name, "%s/%s", q->layer, q->weight);
        write_tensor(f, "grad", name, &q->shape, 0, p->grads + q->offset);
    }
    int rc = fclose(f) == 0 ? 0 : 1;
    mt_free(&t);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: torch_dump DIR\n");
        return 2;
    }
    int rc = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        rc |= dump(&cases[i], argv[1]);
    return rc;
}
