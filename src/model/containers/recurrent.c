/* recurrent.c - `recurrent`: Kur's recurrent layers, as its Keras 2.0
 * backend built them, on kurc's rnn op (src/ops/op_rnn.c).
 *
 *   recurrent: {size (required), type: gru | lstm | rnn, sequence: yes,
 *               bidirectional: no, merge: average, outer_activation: relu}
 *
 * type      gru (Kur's default), lstm, or rnn (a plain Keras SimpleRNN,
 *           which Kur did not offer; a kurc addition).  sru was PyTorch-only
 *           in Kur (the external sru package): an error here.
 * sequence  yes: the output is (T, size), every step; no: (size,), the
 *           state after the last step.
 * outer_activation
 *           the cell activation (Keras' `activation`), relu by default as on
 *           Kur's Keras path (not Keras' tanh); the gates use Keras 2.0's
 *           hard_sigmoid.  Any activation of the `activation` container but
 *           softmax.
 * bidirectional, merge
 *           a forward and a backward layer on the same input, merged by
 *           multiply, add, concat or average.  merge is allowed only with
 *           bidirectional (as in Kur) and defaults to average: Kur's code
 *           did so (its documentation said concat), and Kurfiles written
 *           for Kur relied on the code.  With concat each direction gets
 *           size / 2 units so that the output has `size`; an odd size is
 *           reduced by one with a warning, as Kur did.
 *           FIXED Kur bug: Kur's backward layer was a Keras go_backwards
 *           layer whose sequence output stays in reversed time, so the two
 *           directions were merged misaligned (step t of one with step T-1-t
 *           of the other).  Here the backward layer's outputs are written at
 *           the steps they belong to; without `sequence` both directions
 *           give their final states, as in Kur.
 *
 * Cells are Keras 2.0's (see enum kurc_rnn_cell in backend.h): gate order
 * LSTM i, f, c, o and GRU z, r, h; the GRU applies the reset gate to the
 * previous state before its product with the recurrent kernel (Keras 2.0,
 * "reset_after = false"); the initial state is zero.
 *
 * Weights: kernel (input features, G size), recurrent_kernel (size, G
 * size), bias (G size), with G = 1 (rnn), 3 (gru), 4 (lstm); bidirectional
 * layers have kernel_fwd, recurrent_kernel_fwd, bias_fwd and the same with
 * _rev (Kur's Keras sub-layers were named NAME_fwd and NAME_rev).
 * Initialisation as Keras 2.0: kernel Glorot-uniform, recurrent kernel
 * orthogonal (one orthogonal block per gate), bias zeros except the LSTM
 * forget gate's ones (unit_forget_bias).
 *
 * Masking by sequence length (kurc's rule; Kur's Keras backend did not
 * mask): the layer's input is followed back through the graph (first
 * inputs) to the model input it comes from; when the data has a source
 * named `<that input's name>_length` (any of the input's names; Kur's
 * speech supplier gives `utterance_length` for `utterance`), that source's
 * per-sample lengths, in frames of the input, are mapped through the
 * convolutions and poolings on the way to this layer's time steps (see
 * src/ops/seqlen.h) and steps at or beyond a sample's length are masked:
 * the state is kept and the output is zero.  So a sequence: no layer gives
 * the state after the sample's last real step, and a backward layer starts
 * at that step.  Without such a source (or without data, a bare build),
 * every step counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"
#include "ops/seqlen.h"

enum merge_mode { MERGE_MULTIPLY, MERGE_ADD, MERGE_CONCAT, MERGE_AVERAGE };
static const char *const merge_names[] = {"multiply", "add", "concat", "average", NULL};

static const char *const type_names[] = {"rnn", "gru", "lstm", NULL};

struct recurrent {
    int64_t size; /* units of each direction */
    int64_t out;  /* the output's size */
    enum kurc_rnn_cell cell;
    bool sequence;
    bool bidirectional;
    enum merge_mode merge;
    enum kurc_act act;
    float alpha;
};

static const struct kurc_schema recurrent_args = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"size", &(const struct kurc_schema){.types = KT_INT}, true},
            {"type", &(const struct kurc_schema){.types = KT_STR | KT_NULL}},
            {"sequence", &(const struct kurc_schema){.types = KT_BOOL}},
            {"bidirectional", &(const struct kurc_schema){.types = KT_BOOL}},
            {"merge", &(const struct kurc_schema){.types = KT_STR | KT_NULL}},
            {"outer_activation", &(const struct kurc_schema){.types = KT_STR | KT_NULL}},
            {NULL},
        },
};

static bool flag(const struct kurc_value *args, const char *key, bool def) {
    const struct kurc_value *v = kurc_map_get(args, key);
    return v && v->kind == KURC_BOOL ? v->u.b : def;
}

static int pick(const char *const *names, const char *s) {
    for (int i = 0; names[i]; i++)
        if (strcasecmp(names[i], s) == 0)
            return i;
    return -1;
}

static enum kurc_status recurrent_parse(struct kurc_model *m, struct kurc_container *c,
                                        struct kurc_err *err) {
    (void)m;
    struct recurrent *r = kurc_xcalloc(1, sizeof *r);
    c->priv = r;
    enum kurc_status st = kurc_arg_int(c, kurc_map_get(c->args, "size"), "size", 1, &r->size, err);
    if (st)
        return st;
    r->out = r->size;
    r->sequence = flag(c->args, "sequence", true);
    r->bidirectional = flag(c->args, "bidirectional", false);

    r->cell = KURC_RNN_GRU;
    const struct kurc_value *type = kurc_map_get(c->args, "type");
    if (type && type->kind == KURC_STR) {
        if (strcasecmp(type->u.str.s, "sru") == 0)
            return kurc_container_error(c, err,
                                        "sru recurrent layers were PyTorch-only in Kur (the "
                                        "external sru package) and are not supported; use gru, "
                                        "lstm or rnn");
        int i = pick(type_names, type->u.str.s);
        if (i < 0)
            return kurc_container_error(
                c, err, "unknown recurrent type '%s' (use gru, lstm or rnn)", type->u.str.s);
        r->cell = (enum kurc_rnn_cell)i; /* type_names follows enum kurc_rnn_cell */
    }

    const struct kurc_value *merge = kurc_map_get(c->args, "merge");
    bool has_merge = merge && merge->kind == KURC_STR;
    if (has_merge && !r->bidirectional)
        return kurc_container_error(c, err,
                                    "a `merge` strategy only makes sense for bidirectional "
                                    "recurrent layers");
    r->merge = MERGE_AVERAGE;
    if (has_merge) {
        int i = pick(merge_names, merge->u.str.s);
        if (i < 0)
            return kurc_container_error(c, err,
                                        "unknown merge '%s' for a bidirectional recurrent layer "
                                        "(use multiply, add, concat or average)",
                                        merge->u.str.s);
        r->merge = (enum merge_mode)i;
    }
    if (r->bidirectional && r->merge == MERGE_CONCAT) {
        if (r->size % 2) {
            kurc_log_at(KURC_LOG_WARNING, &c->loc,
                        "%s (recurrent): size %lld is odd, but the concat merge gives each "
                        "direction half of it; the size is reduced by one to %lld (as Kur did)",
                        c->name, (long long)r->size, (long long)(r->size - 1));
            r->out = r->size - 1;
        }
        r->size /= 2;
        if (r->size < 1)
            return kurc_container_error(c, err,
                                        "size %lld is too small for a concat merge of two "
                                        "directions",
                                        (long long)(r->out ? r->out : 1));
    }

    r->act = KURC_ACT_RELU;
    const struct kurc_value *act = kurc_map_get(c->args, "outer_activation");
    if (act && act->kind == KURC_STR) {
        bool softmax = false;
        if (!kurc_activation_lookup(act->u.str.s, &r->act, &softmax, &r->alpha))
            return kurc_container_error(c, err, "unknown outer_activation '%s'", act->u.str.s);
        if (softmax)
            return kurc_container_error(c, err,
                                        "softmax cannot be a recurrent cell's outer_activation");
    }
    return KURC_OK;
}

/* The lengths to mask x's steps with: a feed of `<input>_length` mapped to
 * x's steps, or -1 when the data has none (see the file comment). */
static enum kurc_status find_lengths(struct kurc_model *m, struct kurc_container *c, int x,
                                     int *len, struct kurc_err *err) {
    struct kurc_graph *g = m->graph;
    *len = -1;
    if (!m->shapes || g->fold != 1 || g->tensors[x].fold != 1)
        return KURC_OK;
    /* the model input x comes from, by first inputs */
    int origin = x;
    for (bool moved = true; moved;) {
        moved = false;
        for (size_t i = g->n_ops; i-- > 0;)
            if (g->ops[i].out == origin) {
                origin = g->ops[i].in[0];
                moved = true;
                break;
            }
    }
    const struct kurc_node *node = NULL;
    for (size_t i = 0; i < m->n_inputs && !node; i++)
        if (m->inputs[i].tensor == origin)
            node = &m->nodes[m->inputs[i].node];
    if (!node)
        return KURC_OK;
    char source[512];
    struct kurc_shape shape;
    bool found = false;
    for (size_t k = 0; k < node->n_names && !found; k++) {
        snprintf(source, sizeof source, "%s_length", node->names[k]);
        found = kurc_model_data_shape(m, source, &shape);
    }
    if (!found)
        return KURC_OK;
    if (kurc_shape_numel(&shape) != 1) {
        char have[96];
        kurc_shape_format(&shape, have, sizeof have);
        return kurc_container_error(c, err,
                                    "the data source '%s' (the lengths of input '%s') has shape "
                                    "%s per sample; it must hold one length",
                                    source, node->names[0], have);
    }
    struct kurc_length_map map;
    if (kurc_length_trace(g, origin, x, "recurrent", &map, err) < 0)
        return kurc_container_error(c, err,
                                    "the data gives sequence lengths ('%s'), but they cannot be "
                                    "mapped to this layer's steps: %s",
                                    source, err->msg);
    struct kurc_shape one = {.ndim = 1, .dim = {1}};
    *len = kurc_model_feed(m, &m->feeds, &m->n_feeds, source, &one, &map);
    return KURC_OK;
}

static int direction(struct kurc_model *m, struct kurc_container *c, int x, int len, bool reverse,
                     const char *suffix, struct kurc_err *err) {
    const struct recurrent *r = c->priv;
    int64_t in = kurc_graph_shape(m->graph, x)->dim[1];
    int64_t G = r->cell == KURC_RNN_LSTM ? 4 : r->cell == KURC_RNN_GRU ? 3 : 1;
    int64_t H = r->size;
    char kname[64], uname[64], bname[64];
    snprintf(kname, sizeof kname, "kernel%s", suffix);
    snprintf(uname, sizeof uname, "recurrent_kernel%s", suffix);
    snprintf(bname, sizeof bname, "bias%s", suffix);
    struct kurc_shape ks = {.ndim = 2, .dim = {in, G * H}};
    struct kurc_shape us = {.ndim = 2, .dim = {H, G * H}};
    struct kurc_shape bs = {.ndim = 1, .dim = {G * H}};
    int w = kurc_model_param(m, c, kname, &ks, KURC_INIT_GLOROT_UNIFORM, 0, in, G * H, err);
    int u = w < 0 ? -1 : kurc_model_param(m, c, uname, &us, KURC_INIT_ORTHOGONAL, 0, H, G * H, err);
    int b =
        u < 0 ? -1
              : kurc_model_param(m, c, bname, &bs,
                                 r->cell == KURC_RNN_LSTM ? KURC_INIT_FORGET_BIAS : KURC_INIT_ZEROS,
                                 0, 0, 0, err);
    if (b < 0)
        return -1;
    struct kurc_rnn_spec spec = {r->cell, r->act,  r->alpha,   KURC_ACT_HARD_SIGMOID,
                                 0.0f,    reverse, r->sequence};
    int y = kurc_emit_rnn(m->graph, x, w, u, b, len, &spec, c->name, err);
    if (y < 0)
        kurc_container_error(c, err, "%s", err->msg);
    return y;
}

static enum kurc_status recurrent_build(struct kurc_model *m, struct kurc_container *c,
                                        const int *inputs, int n_inputs, int *out,
                                        struct kurc_err *err) {
    const struct recurrent *r = c->priv;
    struct kurc_graph *g = m->graph;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "recurrent takes one input, found %d", n_inputs);
    int x = inputs[0];
    const struct kurc_shape *xs = kurc_graph_shape(g, x);
    if (xs->ndim != 2) {
        char have[96];
        kurc_shape_format(xs, have, sizeof have);
        return kurc_container_error(c, err,
                                    "a recurrent layer needs a sequence (time, features) as its "
                                    "input, but '%s' has shape %s",
                                    g->tensors[x].name, have);
    }
    int len;
    enum kurc_status st = find_lengths(m, c, x, &len, err);
    if (st)
        return st;
    if (!r->bidirectional) {
        int y = direction(m, c, x, len, false, "", err);
        if (y < 0)
            return err->status;
        *out = y;
        return KURC_OK;
    }
    int fwd = direction(m, c, x, len, false, "_fwd", err);
    int rev = fwd < 0 ? -1 : direction(m, c, x, len, true, "_rev", err);
    if (rev < 0)
        return err->status;
    int y;
    switch (r->merge) {
    case MERGE_CONCAT:
        y = kurc_emit_concat(g, (int[]){fwd, rev}, 2, -1, c->name, err);
        break;
    case MERGE_MULTIPLY:
        y = kurc_emit_mul(g, fwd, rev, c->name, err);
        break;
    case MERGE_ADD:
        y = kurc_emit_add(g, fwd, rev, c->name, err);
        break;
    case MERGE_AVERAGE:
    default:
        y = kurc_emit_add(g, fwd, rev, c->name, err);
        if (y >= 0)
            y = kurc_emit_scale(g, y, 0.5f, c->name);
        break;
    }
    if (y < 0)
        return kurc_container_error(c, err, "%s", err->msg);
    *out = y;
    return KURC_OK;
}

const struct kurc_container_type kurc_container_recurrent = {
    .name = "recurrent",
    .args = &recurrent_args,
    .parse = recurrent_parse,
    .build = recurrent_build,
    .free_priv = free,
};
