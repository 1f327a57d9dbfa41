/* op_ctc.c - the CTC loss, Kur's `ctc` on its Keras 2.0 backend
 * (K.ctc_batch_cost; see struct kurc_ctc_geom in backend.h for the maths).
 *
 *   pred      (T, C)  probabilities (a softmax output)
 *   labels    (L,)    integer-valued floats, padded
 *   label_len (1,)    labels used
 *   input_len (1,)    steps of pred used (optional: all T)
 *   -> the per-sample loss (1,)
 *
 * Like the other loss ops it seeds its own gradient in the backward pass:
 * pred's gradient gets weight * loss_scale * d(loss)/d(pred).  With Kur's
 * `loss_scale` variant every loss is multiplied by the batch's mean input
 * length / 100 (the mean of the rows this op sees: on several ranks, each
 * rank's share of the batch).
 *
 * A sample whose labels cannot be aligned with its steps gets an infinite
 * loss (and no gradient); the forward pass then logs which samples, from a
 * host-side check of the loss sum (one reduction per batch). */
#include <math.h>

#include "base/log.h"
#include "ops/ops.h"

#include "ops/op_util.h"

static struct kurc_ctc_geom geom_of(const struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_ctc_geom g = op->attr.ctc.geom;
    g.batch = kurc_exec_batch(x, op->out);
    return g;
}

static const float *input_len(const struct kurc_exec *x, const struct kurc_op *op) {
    return op->n_in > 3 ? kurc_exec_value(x, op->in[3]) : NULL;
}

/* 1, or the loss_scale variant's factor mean(input length) / 100. */
static float factor(const struct kurc_exec *x, const struct kurc_op *op, int64_t batch) {
    if (!op->attr.ctc.loss_scale || batch == 0)
        return 1.0f;
    const float *len = input_len(x, op);
    if (!len)
        return (float)op->attr.ctc.geom.steps / 100.0f;
    double sum = 0;
    OPS(x)->sum(BE(x), batch, len, &sum);
    return (float)(sum / (double)batch / 100.0);
}

static void report_infeasible(struct kurc_exec *x, const struct kurc_op *op,
                              const struct kurc_ctc_geom *g) {
    const float *loss = kurc_exec_value(x, op->out);
    const float *label_len = kurc_exec_value(x, op->in[2]);
    const float *in_len = input_len(x, op);
    int reported = 0;
    for (int64_t b = 0; b < g->batch && reported < 3; b++) {
        float v, m, n = (float)g->steps;
        OPS(x)->download(BE(x), &v, loss + b, sizeof v);
        if (isfinite(v))
            continue;
        OPS(x)->download(BE(x), &m, label_len + b, sizeof m);
        if (in_len)
            OPS(x)->download(BE(x), &n, in_len + b, sizeof n);
        kurc_log(KURC_LOG_WARNING,
                 "ctc loss on '%s': sample %lld of the batch has %g labels (plus a blank between "
                 "repeated ones) for %g output steps (of %lld), or a label outside [0, %lld); no "
                 "alignment exists, so its loss is infinite",
                 x->g->tensors[op->in[0]].name, (long long)b, (double)m, (double)n,
                 (long long)g->steps, (long long)(g->classes - 1));
        reported++;
    }
}

static size_t ctc_workspace(struct kurc_backend *be, const struct kurc_op *op, int64_t batch) {
    struct kurc_ctc_geom g = op->attr.ctc.geom;
    g.batch = batch;
    return be->ops->ctc_workspace(be, &g);
}

static void ctc_forward(struct kurc_exec *x, const struct kurc_op *op) {
    struct kurc_ctc_geom g = geom_of(x, op);
    float *loss = kurc_exec_value(x, op->out);
    OPS(x)->ctc_forward(BE(x), &g, kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->in[1]),
                        kurc_exec_value(x, op->in[2]), input_len(x, op), factor(x, op, g.batch),
                        loss, x->workspace);
    double total = 0;
    if (g.batch > 0)
        OPS(x)->sum(BE(x), g.batch, loss, &total);
    if (!isfinite(total))
        report_infeasible(x, op, &g);
}

static void ctc_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dpred = kurc_exec_grad(x, op->in[0]);
    if (!dpred)
        return;
    struct kurc_ctc_geom g = geom_of(x, op);
    float scale = op->attr.ctc.weight * x->loss_scale * factor(x, op, g.batch);
    OPS(x)->ctc_backward(BE(x), &g, kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->in[1]),
                         kurc_exec_value(x, op->in[2]), input_len(x, op), scale, dpred,
                         x->workspace);
}

static const struct kurc_op_def ctc_def = {"ctc", ctc_forward, ctc_backward, NULL, ctc_workspace};

int kurc_emit_ctc(struct kurc_graph *g, int pred, int labels, int label_len, int in_len,
                  const struct kurc_ctc_spec *spec, const char *name, struct kurc_err *err) {
    const struct kurc_shape *ps = kurc_graph_shape(g, pred), *ls = kurc_graph_shape(g, labels);
    if (ps->ndim != 2 || ps->dim[1] < 2) {
        char have[96];
        kurc_shape_format(ps, have, sizeof have);
        kurc_err_set(err, KURC_E_CONFIG, NULL,
                     "ctc: the output must be (time, classes) with a blank among at least 2 "
                     "classes, but '%s' has shape %s",
                     g->tensors[pred].name, have);
        return -1;
    }
    if (ls->ndim != 1)
        return kurc_op_shape_error(g, err,
                                   "ctc: the labels must be one padded row (max labels,) "
                                   "per sample",
                                   labels, pred);
    if (kurc_shape_numel(kurc_graph_shape(g, label_len)) != 1)
        return kurc_op_shape_error(g, err, "ctc: the label length must be one number per sample",
                                   label_len, labels);
    if (in_len >= 0 && kurc_shape_numel(kurc_graph_shape(g, in_len)) != 1)
        return kurc_op_shape_error(g, err, "ctc: the input length must be one number per sample",
                                   in_len, pred);
    int ins[4] = {pred, labels, label_len, in_len};
    for (int i = 0; i < 4; i++)
        if (ins[i] >= 0 && g->tensors[ins[i]].fold != 1)
            return kurc_op_shape_error(g, err, "ctc: the loss cannot be inside a parallel", ins[i],
                                       pred);
    int64_t C = ps->dim[1];
    union kurc_op_attr attr = {.ctc = {.weight = spec->weight,
                                       .loss_scale = spec->loss_scale,
                                       .geom = {.steps = ps->dim[0],
                                                .classes = C,
                                                .max_labels = ls->dim[0],
                                                .blank = spec->warp ? 0 : C - 1,
                                                .label_shift = spec->warp ? 1 : 0}}};
    struct kurc_shape one = {.ndim = 1, .dim = {1}};
    return kurc_graph_add_op(g, &ctc_def, ins, in_len >= 0 ? 4 : 3, &one, &attr, name);
}
