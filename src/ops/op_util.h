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

/* dst += src over n elements (an accumulated identity gradient). */
void kurc_op_accumulate(struct kurc_exec *x, int64_t n, const float *src, float *dst);

#endif
