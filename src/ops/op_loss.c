/* op_loss.c - per-sample losses: categorical cross-entropy (Kur's Keras
 * 2.0 definition, see KURC_CCE_EPSILON) and mean squared error.
 *
 * pred and truth are (rows, classes) per sample; a sample's loss is the mean
 * of its row losses, so a batch mean of sample losses is Kur's mean over
 * batch and time.  The backward pass does not read an output gradient: it
 * seeds pred's gradient with weight * loss_scale / rows per row loss, since
 * the objective is sum_s loss_s * loss_scale * weight. */
#include "ops/ops.h"

#include "ops/op_util.h"

/* Saved scratch: the row losses, then `rows` ones for the per-sample mean. */
static size_t loss_saved(const struct kurc_op *op, int64_t batch) {
    return (size_t)(batch * op->attr.loss.rows + op->attr.loss.rows);
}

static void loss_forward(struct kurc_exec *x, const struct kurc_op *op, bool cce) {
    int64_t rows = kurc_op_rows(x, op->in[0]), cols = kurc_op_cols(x, op->in[0]);
    int64_t per = op->attr.loss.rows;
    const float *pred = kurc_exec_value(x, op->in[0]), *truth = kurc_exec_value(x, op->in[1]);
    float *out = kurc_exec_value(x, op->out);
    float *row_loss = per == 1 ? out : kurc_exec_saved(x, op);
    if (cce)
        OPS(x)->cce_forward(BE(x), rows, cols, pred, truth, row_loss);
    else
        OPS(x)->mse_forward(BE(x), rows, cols, pred, truth, row_loss);
    if (per == 1)
        return;
    /* after the row losses of max_batch x fold samples (see loss_saved) */
    float *ones = kurc_exec_saved(x, op) + x->max_batch * x->g->tensors[op->out].fold * per;
    OPS(x)->fill(BE(x), ones, per, 1.0f);
    OPS(x)->gemm(BE(x), false, false, kurc_exec_batch(x, op->out), 1, per, 1.0f / (float)per, row_loss, per, ones, 1,
                 0.0f, out, 1);
}

static void loss_backward(struct kurc_exec *x, const struct kurc_op *op, bool cce) {
    float *dpred = kurc_exec_grad(x, op->in[0]);
    if (!dpred)
        return;
    int64_t rows = kurc_op_rows(x, op->in[0]), cols = kurc_op_cols(x, op->in[0]);
    float scale = op->attr.loss.weight * x->loss_scale / (float)op->attr.loss.rows;
    const float *pred = kurc_exec_value(x, op->in[0]), *truth = kurc_exec_value(x, op->in[1]);
    if (cce)
        OPS(x)->cce_backward(BE(x), rows, cols, pred, truth, scale, dpred);
    else
        OPS(x)->mse_backward(BE(x), rows, cols, pred, truth, scale, dpred);
}

static void cce_forward(struct kurc_exec *x, const struct kurc_op *op) {
    loss_forward(x, op, true);
}
static void cce_backward(struct kurc_exec *x, const struct kurc_op *op) {
    loss_backward(x, op, true);
}
static void mse_forward(struct kurc_exec *x, const struct kurc_op *op) {
    loss_forward(x, op, false);
}
static void mse_backward(struct kurc_exec *x, const struct kurc_op *op) {
    loss_backward(x, op, false);
}

static const struct kurc_op_def cce_def = {"categorical_crossentropy", cce_forward, cce_backward,
                                           loss_saved, NULL};
static const struct kurc_op_def mse_def = {"mean_squared_error", mse_forward, mse_backward,
                                           loss_saved, NULL};

static int emit_loss(struct kurc_graph *g, const struct kurc_op_def *def, int pred, int truth,
                     float weight, const char *name, struct kurc_err *err) {
    const struct kurc_shape *ps = kurc_graph_shape(g, pred);
    if (!kurc_shape_equal(ps, kurc_graph_shape(g, truth)))
        return kurc_op_shape_error(g, err, def == &cce_def
                                               ? "categorical_crossentropy: the output and its "
                                                 "truth differ in shape"
                                               : "mean_squared_error: the output and its truth "
                                                 "differ in shape",
                                   pred, truth);
    union kurc_op_attr attr = {.loss = {weight, kurc_shape_numel(ps) /
                                                    (ps->ndim ? ps->dim[ps->ndim - 1] : 1)}};
    struct kurc_shape one = {.ndim = 1, .dim = {1}};
    return kurc_graph_add_op(g, def, (int[]){pred, truth}, 2, &one, &attr, name);
}

int kurc_emit_cce(struct kurc_graph *g, int pred, int truth, float weight, const char *name,
                  struct kurc_err *err) {
    return emit_loss(g, &cce_def, pred, truth, weight, name, err);
}

int kurc_emit_mse(struct kurc_graph *g, int pred, int truth, float weight, const char *name,
                  struct kurc_err *err) {
    return emit_loss(g, &mse_def, pred, truth, weight, name, err);
}
