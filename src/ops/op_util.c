/* op_util.c - helpers shared by the op files. */
#include "ops/op_util.h"

int64_t kurc_op_cols(const struct kurc_exec *x, int tensor) {
    const struct kurc_shape *s = &x->g->tensors[tensor].shape;
    return s->ndim ? s->dim[s->ndim - 1] : 1;
}

int64_t kurc_op_rows(const struct kurc_exec *x, int tensor) {
    return kurc_exec_count(x, tensor) / kurc_op_cols(x, tensor);
}

int kurc_op_shape_error(const struct kurc_graph *g, struct kurc_err *err, const char *what,
                        int a, int b) {
    char sa[96], sb[96];
    kurc_shape_format(&g->tensors[a].shape, sa, sizeof sa);
    kurc_shape_format(&g->tensors[b].shape, sb, sizeof sb);
    kurc_err_set(err, KURC_E_CONFIG, NULL, "%s: '%s' has shape %s but '%s' has shape %s", what,
                 g->tensors[a].name, sa, g->tensors[b].name, sb);
    return -1;
}

void kurc_op_accumulate(struct kurc_exec *x, int64_t n, const float *src, float *dst) {
    OPS(x)->axpby(BE(x), n, 1.0f, src, 1.0f, dst);
}

unsigned kurc_op_unread_all(const struct kurc_op *op) {
    (void)op;
    return KURC_UNREAD_INPUTS | KURC_UNREAD_OUTPUT;
}

unsigned kurc_op_unread_output(const struct kurc_op *op) {
    (void)op;
    return KURC_UNREAD_OUTPUT;
}
