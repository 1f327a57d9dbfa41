/* op_epilogue.c - fused epilogues of the convolution and dense ops: the
 * activation that alone reads their output runs inside their forward and
 * backward (see core/exec.h), through the backend's fused kernels. */
#include "ops/op_util.h"

bool kurc_op_fuses_activation(const struct kurc_backend *be, const struct kurc_op *op,
                              const struct kurc_op *next) {
    (void)op;
    return be->ops->bias_act_forward && be->ops->bias_act_backward &&
           kurc_op_is_activation(next) &&
           kurc_act_fusable(next->attr.act.act, next->attr.act.alpha);
}

float *kurc_op_output(const struct kurc_exec *x, const struct kurc_op *op) {
    const struct kurc_op *epi = kurc_exec_epilogue(x, op);
    return kurc_exec_value(x, epi ? epi->out : op->out);
}

void kurc_op_bias_act(struct kurc_exec *x, const struct kurc_op *op, int bias) {
    int64_t rows = kurc_op_rows(x, op->out), cols = kurc_op_cols(x, op->out);
    const float *b = bias >= 0 ? kurc_exec_value(x, bias) : NULL;
    const struct kurc_op *epi = kurc_exec_epilogue(x, op);
    if (epi)
        OPS(x)->bias_act_forward(BE(x), rows, cols, b, epi->attr.act.act, epi->attr.act.alpha,
                                 kurc_exec_value(x, epi->out));
    else if (b)
        OPS(x)->bias_add(BE(x), rows, cols, kurc_exec_value(x, op->out), b);
}

const float *kurc_op_output_grad(struct kurc_exec *x, const struct kurc_op *op, int bias) {
    int64_t rows = kurc_op_rows(x, op->out), cols = kurc_op_cols(x, op->out);
    float *dz = kurc_exec_grad(x, op->out);
    float *db = bias >= 0 ? kurc_exec_grad(x, bias) : NULL;
    const struct kurc_op *epi = kurc_exec_epilogue(x, op);
    if (epi)
        OPS(x)->bias_act_backward(BE(x), rows, cols, epi->attr.act.act, epi->attr.act.alpha,
                                  kurc_exec_value(x, epi->out), kurc_exec_grad(x, epi->out), dz,
                                  db);
    else if (db)
        OPS(x)->bias_backward(BE(x), rows, cols, dz, db);
    return dz;
}
