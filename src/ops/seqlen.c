/* seqlen.c - tracing sequence lengths through the graph (see seqlen.h). */
#include "ops/seqlen.h"

#include <string.h>

/* The op that made tensor t, or NULL for inputs and parameters. */
static const struct kurc_op *producer(const struct kurc_graph *g, int t) {
    for (size_t i = g->n_ops; i-- > 0;)
        if (g->ops[i].out == t)
            return &g->ops[i];
    return NULL;
}

static bool named(const struct kurc_op *op, const char *name) {
    return strcmp(op->def->name, name) == 0;
}

/* Whether op keeps axis 0 of its first input as axis 0 of its output
 * (the identity on lengths); the window ops are handled by the caller. */
static bool keeps_time(const struct kurc_graph *g, const struct kurc_op *op) {
    static const char *const identity[] = {
        "dense", "activation", "softmax", "dropout", "batchnorm",
        "add",   "mul",        "scale",   "gather",  NULL,
    };
    for (int i = 0; identity[i]; i++)
        if (named(op, identity[i]))
            return true;
    const struct kurc_tensor *in = &g->tensors[op->in[0]], *out = &g->tensors[op->out];
    if (in->fold != out->fold || in->shape.ndim < 1 || out->shape.ndim < 1)
        return false;
    if (named(op, "rnn"))
        return op->attr.rnn.sequence;
    if (named(op, "reshape") || named(op, "reduce"))
        return in->shape.ndim >= 2 && out->shape.ndim >= 2 && in->shape.dim[0] == out->shape.dim[0];
    if (named(op, "transpose"))
        return op->attr.transpose.perm[0] == 0;
    if (named(op, "concat") || named(op, "slice"))
        return op->attr.axis.axis != 0;
    return false;
}

/* The input of the fold that the unfold op undoes (nested pairs skipped),
 * or -1 when the chain of first inputs has none. */
static int matching_fold(const struct kurc_graph *g, const struct kurc_op *unfold) {
    int depth = 0;
    for (const struct kurc_op *p = producer(g, unfold->in[0]); p; p = producer(g, p->in[0])) {
        if (named(p, "unfold"))
            depth++;
        else if (named(p, "fold") && depth-- == 0)
            return p->in[0];
    }
    return -1;
}

int kurc_length_trace(const struct kurc_graph *g, int from, int to, const char *what,
                      struct kurc_length_map *map, struct kurc_err *err) {
    struct kurc_length_step rev[KURC_LENGTH_MAP_MAX];
    int n = 0;
    int t = to;
    for (;;) {
        if (t == from)
            break;
        const struct kurc_op *op = producer(g, t);
        if (!op) {
            if (from < 0)
                break;
            kurc_err_set(err, KURC_E_CONFIG, NULL,
                         "%s: '%s' does not come from '%s' through its first inputs, so lengths "
                         "cannot be mapped between them",
                         what, g->tensors[to].name, g->tensors[from].name);
            return -1;
        }
        if (named(op, "unfold")) {
            /* the unfold of a time-distributed `parallel`: its slices are
             * the steps, whatever the ops inside do to each slice; go on
             * from the input of the matching fold */
            int fold = matching_fold(g, op);
            if (fold >= 0) {
                t = fold;
                continue;
            }
        }
        struct kurc_length_step step = {0};
        bool window = false;
        if (named(op, "conv") || named(op, "conv_transpose")) {
            step = (struct kurc_length_step){named(op, "conv_transpose"), op->attr.conv.same,
                                             op->attr.conv.kernel[0], op->attr.conv.stride[0]};
            window = true;
        } else if (named(op, "pool")) {
            step = (struct kurc_length_step){false, op->attr.pool.same, op->attr.pool.size[0],
                                             op->attr.pool.stride[0]};
            window = true;
        } else if (!keeps_time(g, op)) {
            kurc_err_set(err, KURC_E_CONFIG, NULL,
                         "%s: the sequence lengths cannot follow the time axis (axis 0) of "
                         "'%s' back through its '%s' op (from '%s'): it does not keep that axis",
                         what, g->tensors[to].name, op->def->name, g->tensors[op->in[0]].name);
            return -1;
        }
        if (window) {
            if (n == KURC_LENGTH_MAP_MAX) {
                kurc_err_set(err, KURC_E_CONFIG, NULL,
                             "%s: more than %d convolutions or poolings change the length of "
                             "'%s'",
                             what, KURC_LENGTH_MAP_MAX, g->tensors[to].name);
                return -1;
            }
            rev[n++] = step;
        }
        t = op->in[0];
    }
    map->n = n;
    for (int i = 0; i < n; i++)
        map->steps[i] = rev[n - 1 - i];
    return t;
}

int64_t kurc_length_map_apply(const struct kurc_length_map *map, int64_t length) {
    int64_t len = length > 0 ? length : 0;
    for (int i = 0; i < map->n; i++) {
        const struct kurc_length_step *s = &map->steps[i];
        int64_t k = s->size, st = s->stride > 0 ? s->stride : 1;
        if (s->upsample)
            len = s->same ? len * st : (len > 0 ? (len - 1) * st + k : 0);
        else
            len = s->same ? (len + st - 1) / st : (len < k ? 0 : (len - k) / st + 1);
    }
    return len;
}

bool kurc_length_map_equal(const struct kurc_length_map *a, const struct kurc_length_map *b) {
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->steps[i].upsample != b->steps[i].upsample || a->steps[i].same != b->steps[i].same ||
            a->steps[i].size != b->steps[i].size || a->steps[i].stride != b->steps[i].stride)
            return false;
    return true;
}
