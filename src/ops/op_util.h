/* op_util.h - small helpers shared by the op files. */
#ifndef KURC_OP_UTIL_H
#define KURC_OP_UTIL_H

#include "base/status.h"
#include "core/exec.h"
#include "core/graph.h"

/* The backend's op table of an executor. */
#define BE(x) ((x)->be)
#define OPS(x) ((x)->be->ops)

/* Samples x leading per-sample axes (all but the last): the rows of a
 * tensor viewed as a matrix over its last axis. */
int64_t kurc_op_rows(const struct kurc_exec *x, int tensor);
/* Size of the last per-sample axis. */
int64_t kurc_op_cols(const struct kurc_exec *x, int tensor);

/* Reports that tensors a and b (named in the graph) have shapes that do
 * not fit, with both shapes; returns -1 for the emitters. */
int kurc_op_shape_error(const struct kurc_graph *g, struct kurc_err *err, const char *what,
                        int a, int b);

/* Fused epilogues (op_epilogue.c, core/exec.h).  fuses hook of the
 * convolution and dense ops: next is an activation whose derivative follows
 * from its output, and the backend has the fused kernels. */
bool kurc_op_fuses_activation(const struct kurc_backend *be, const struct kurc_op *op,
                              const struct kurc_op *next);
/* Whether op is an element-wise activation (its kind in op->attr.act). */
bool kurc_op_is_activation(const struct kurc_op *op);
/* Where op's forward writes: its fused epilogue's output, or its own. */
float *kurc_op_output(const struct kurc_exec *x, const struct kurc_op *op);
/* After op's product is in kurc_op_output: adds the bias (tensor, -1:
 * none) and applies the fused activation, in one pass. */
void kurc_op_bias_act(struct kurc_exec *x, const struct kurc_op *op, int bias);
/* Before op's backward: the gradient of op's own output, with its fused
 * activation's derivative applied (written in one pass that also adds the
 * bias gradient), or as it is (the bias gradient added from it). */
const float *kurc_op_output_grad(struct kurc_exec *x, const struct kurc_op *op, int bias);

/* dst += src over n elements (an accumulated identity gradient). */
void kurc_op_accumulate(struct kurc_exec *x, int64_t n, const float *src, float *dst);

/* kurc_op_def.backward_unread of ops whose backward reads no value (only
 * gradients and saved scratch), and of ops that read no value but inputs. */
unsigned kurc_op_unread_all(const struct kurc_op *op);
unsigned kurc_op_unread_output(const struct kurc_op *op);

#endif
