/* op_embed.c - embedding lookup: rows of a table picked by integer-valued
 * indices; the backward scatters gradients into the picked rows. */
#include "ops/ops.h"

#include "ops/op_util.h"

/* in[0]: the indices; in[1]: the table (vocabulary rows x width). */
static void gather_forward(struct kurc_exec *x, const struct kurc_op *op) {
    OPS(x)->gather(BE(x), kurc_exec_count(x, op->in[0]), kurc_op_cols(x, op->out),
                   kurc_op_rows(x, op->in[1]), kurc_exec_value(x, op->in[0]),
                   kurc_exec_value(x, op->in[1]), kurc_exec_value(x, op->out));
}

static void gather_backward(struct kurc_exec *x, const struct kurc_op *op) {
    float *dtable = kurc_exec_grad(x, op->in[1]);
    if (dtable)
        OPS(x)->gather_backward(BE(x), kurc_exec_count(x, op->in[0]), kurc_op_cols(x, op->out),
                                kurc_op_rows(x, op->in[1]), kurc_exec_value(x, op->in[0]),
                                kurc_exec_grad(x, op->out), dtable);
}

static const struct kurc_op_def gather_def = {
    .name = "gather", .forward = gather_forward, .backward = gather_backward,
    .backward_unread = kurc_op_unread_output};

bool kurc_op_is_gather(const struct kurc_op *op) {
    return op->def == &gather_def;
}

int kurc_emit_gather(struct kurc_graph *g, int index, int table, const char *name,
                     struct kurc_err *err) {
    const struct kurc_shape *is = kurc_graph_shape(g, index), *ts = kurc_graph_shape(g, table);
    if (ts->ndim != 2 || is->ndim + 1 > KURC_MAX_DIMS)
        return kurc_op_shape_error(g, err, "embedding: the table must be (vocab, size)", index,
                                   table);
    struct kurc_shape out = *is;
    out.dim[out.ndim++] = ts->dim[1];
    return kurc_graph_add_op(g, &gather_def, (int[]){index, table}, 2, &out, NULL, name);
}
