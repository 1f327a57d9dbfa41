/* cli_torch_py.c - the state_dict names of a model's parameters and the
 * model.py that `kurc export --pytorch` writes (see cli_torch.h): one
 * line of PyTorch per op of the model's graph, in the graph's order, over
 * helpers that compute what kurc's kernels compute (the prelude,
 * torch_prelude.py.inc).  Tensors carry the batch (times the slices a
 * `parallel` folded into it) as their first axis and kurc's per-sample
 * shapes after it; lengths that follow the data are left to the tensors. */
#include "cli/cli_torch.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"

/* Python's keywords, and names a torch.nn.Module already has (attributes
 * and methods that a sub-module may not shadow). */
static const char *const reserved[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if",
    "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try",
    "while", "with", "yield",
    "training", "forward", "train", "eval", "cuda", "cpu", "float", "double", "half", "to",
    "type", "apply", "state_dict", "load_state_dict", "parameters", "named_parameters",
    "buffers", "named_buffers", "children", "named_children", "modules", "named_modules",
    "zero_grad", "register_buffer", "register_parameter", "add_module", "get_parameter",
    "get_submodule", "get_buffer", "requires_grad_", "share_memory", "extra_repr", "inputs",
    "outputs", "dump_patches", "call_super_init", "bfloat16", "ipu", "xpu", "register_module",
    "register_forward_hook", "register_forward_pre_hook", "register_backward_hook",
    "register_full_backward_hook", "set_extra_state", "get_extra_state", "to_empty", NULL};

static char *identifier(const char *name) {
    size_t n = strlen(name);
    char *s = kurc_xmalloc(n + 3);
    /* a leading '_' would be mangled inside the class ("__dense_0") */
    bool prefix = n == 0 || isdigit((unsigned char)name[0]) || !isalnum((unsigned char)name[0]);
    for (const char *const *r = reserved; *r && !prefix; r++)
        prefix = strcmp(*r, name) == 0;
    size_t j = 0;
    if (prefix) {
        s[j++] = 'l';
        s[j++] = '_';
    }
    for (size_t i = 0; i < n; i++)
        s[j++] = isalnum((unsigned char)name[i]) || name[i] == '_' ? name[i] : '_';
    s[j] = '\0';
    return s;
}

/* The graph tensor of parameter p, or -1. */
static int param_tensor(const struct kurc_graph *g, size_t p) {
    for (size_t t = 0; t < g->n_tensors; t++)
        if (g->tensors[t].kind == KURC_TENSOR_PARAM && g->tensors[t].param == (int)p)
            return (int)t;
    return -1;
}

static void identity(int ndim, int *perm) {
    for (int i = 0; i < ndim; i++)
        perm[i] = i;
}

/* The layout an op wants of its input k (a permutation of kurc's axes, as
 * in struct kurc_torch_entry), for an input of ndim axes. */
static void wanted_layout(const struct kurc_op *op, int k, int ndim, int *perm) {
    identity(ndim, perm);
    const char *name = op->def->name;
    if (k != 1)
        return;
    if (strcmp(name, "dense") == 0 && ndim == 2) {
        perm[0] = 1;
        perm[1] = 0;
    } else if (strcmp(name, "conv") == 0) {
        int nd = ndim - 2;
        perm[0] = nd + 1;
        perm[1] = nd;
        for (int i = 0; i < nd; i++)
            perm[2 + i] = i;
    }
}

struct kurc_torch_entry *kurc_torch_entries(const struct kurc_model *m) {
    const struct kurc_graph *g = m->graph;
    struct kurc_torch_entry *e = kurc_xcalloc(m->params.n + 1, sizeof *e);
    for (size_t i = 0; i < m->params.n; i++) {
        const struct kurc_param *q = &m->params.items[i];
        /* the module: the same as an earlier parameter's of this layer */
        for (size_t j = 0; j < i && !e[i].module; j++)
            if (strcmp(m->params.items[j].layer, q->layer) == 0)
                e[i].module = kurc_xstrdup(e[j].module);
        if (!e[i].module) {
            char *base = identifier(q->layer), *name = kurc_xstrdup(base);
            for (int n = 2;; n++) {
                bool taken = false;
                for (size_t j = 0; j < i && !taken; j++)
                    taken = strcmp(e[j].module, name) == 0;
                if (!taken)
                    break;
                free(name);
                name = kurc_xasprintf("%s_%d", base, n);
            }
            free(base);
            e[i].module = name;
        }
        char *weight = identifier(q->weight);
        e[i].key = kurc_xasprintf("%s.%s", e[i].module, weight);
        free(weight);
        /* the layout: that of the first op that reads it */
        int t = param_tensor(g, i);
        identity(q->shape.ndim, e[i].perm);
        for (size_t o = 0; t >= 0 && o < g->n_ops; o++) {
            const struct kurc_op *op = &g->ops[o];
            int k = 0;
            while (k < op->n_in && op->in[k] != t)
                k++;
            if (k < op->n_in) {
                wanted_layout(op, k, q->shape.ndim, e[i].perm);
                break;
            }
        }
        e[i].shape.ndim = q->shape.ndim;
        for (int d = 0; d < q->shape.ndim; d++)
            e[i].shape.dim[d] = q->shape.dim[e[i].perm[d]];
    }
    return e;
}

void kurc_torch_entries_free(struct kurc_torch_entry *e, size_t n) {
    for (size_t i = 0; e && i < n; i++) {
        free(e[i].module);
        free(e[i].key);
    }
    free(e);
}

static const char prelude[] =
#include "cli/torch_prelude.py.inc"
    ;

static const char *act_name(enum kurc_act a) {
    static const char *const names[] = {"linear",       "relu",     "tanh",     "sigmoid",
                                        "hard_sigmoid", "softplus", "softsign", "elu",
                                        "selu",         "leaky_relu"};
    return a >= 0 && a < KURC_ACT_COUNT ? names[a] : "linear";
}

/* A Python string literal of s. */
static void put_literal(struct kurc_strbuf *b, const char *s) {
    kurc_strbuf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            kurc_strbuf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            kurc_strbuf_printf(b, "\\x%02x", *p);
        else
            kurc_strbuf_putc(b, (char)*p);
    }
    kurc_strbuf_putc(b, '"');
}

static void put_ints(struct kurc_strbuf *b, const int64_t *v, int n) {
    kurc_strbuf_putc(b, '(');
    for (int i = 0; i < n; i++)
        kurc_strbuf_printf(b, "%s%lld", i ? ", " : "", (long long)v[i]);
    kurc_strbuf_puts(b, n == 1 ? ",)" : ")");
}

struct writer {
    const struct kurc_model *m, *probe;
    const struct kurc_torch_entry *entries;
    struct kurc_strbuf b;
    int folds[16]; /* the open folds' ops (their batch variables) */
    int n_folds;
};

/* Appends the expression of tensor t as op's input k. */
static void put_tensor(struct writer *w, const struct kurc_op *op, int k) {
    int t = op->in[k];
    const struct kurc_tensor *x = &w->m->graph->tensors[t];
    if (x->kind != KURC_TENSOR_PARAM) {
        kurc_strbuf_printf(&w->b, "t%d", t);
        return;
    }
    const struct kurc_torch_entry *e = &w->entries[x->param];
    const struct kurc_param *q = &w->m->params.items[x->param];
    kurc_strbuf_printf(&w->b, "self.%s.%s", e->module, e->key + strlen(e->module) + 1);
    int want[KURC_MAX_DIMS], q_perm[KURC_MAX_DIMS];
    bool identity = true;
    wanted_layout(op, k, q->shape.ndim, want);
    for (int j = 0; j < q->shape.ndim; j++) {
        int i = 0;
        while (e->perm[i] != want[j])
            i++;
        q_perm[j] = i;
        identity = identity && i == j;
    }
    if (!identity) {
        kurc_strbuf_puts(&w->b, ".permute");
        int64_t p[KURC_MAX_DIMS];
        for (int j = 0; j < q->shape.ndim; j++)
            p[j] = q_perm[j];
        put_ints(&w->b, p, q->shape.ndim);
    }
}

/* Appends op's inputs first to end - 1, separated by commas. */
static void put_tensors(struct writer *w, const struct kurc_op *op, int first, int end) {
    for (int k = first; k < end; k++) {
        kurc_strbuf_puts(&w->b, k > first ? ", " : "");
        put_tensor(w, op, k);
    }
}

/* Appends op's input k, or None where op has no input k (an optional one). */
static void put_optional(struct writer *w, const struct kurc_op *op, int k) {
    if (k < op->n_in)
        put_tensor(w, op, k);
    else
        kurc_strbuf_puts(&w->b, "None");
}

/* Whether axis d of tensor t follows the data (differs in the probe). */
static bool free_axis(const struct writer *w, int t, int d) {
    if (!w->probe || w->probe->graph->n_tensors != w->m->graph->n_tensors)
        return false;
    const struct kurc_shape *a = kurc_graph_shape(w->m->graph, t),
                            *b = kurc_graph_shape(w->probe->graph, t);
    return a->ndim != b->ndim || a->dim[d] != b->dim[d];
}

static enum kurc_status unsupported(const char *path, const struct kurc_op *op,
                                    const struct kurc_model *m, const char *why,
                                    struct kurc_err *err) {
    return kurc_err_set(err, KURC_E_UNSUPPORTED, NULL,
                        "%s: cannot export op %s of %s to PyTorch: %s", path, op->def->name,
                        m->graph->tensors[op->out].name, why);
}

/* The batch-norm axis (of the per-sample shape) of op. */
static int norm_axis(const struct kurc_shape *s, const struct kurc_op *op) {
    int64_t outer = 1;
    for (int k = 0; k < s->ndim; k++) {
        if (outer == op->attr.norm.outer && s->dim[k] == op->attr.norm.channels)
            return k;
        outer *= s->dim[k];
    }
    return s->ndim - 1;
}

static enum kurc_status put_op(struct writer *w, const char *path, const struct kurc_op *op,
                               struct kurc_err *err) {
    struct kurc_strbuf *b = &w->b;
    const char *name = op->def->name;
    const struct kurc_shape *os = kurc_graph_shape(w->m->graph, op->out);
    const struct kurc_shape *is = kurc_graph_shape(w->m->graph, op->in[0]);
    kurc_strbuf_printf(b, "        t%d = ", op->out);
    if (strcmp(name, "dense") == 0) {
        kurc_strbuf_puts(b, "F.linear(");
        put_tensors(w, op, 0, op->n_in);
        kurc_strbuf_puts(b, ")");
    } else if (strcmp(name, "conv") == 0) {
        kurc_strbuf_puts(b, "_conv(");
        put_tensors(w, op, 0, 2);
        kurc_strbuf_puts(b, ", ");
        put_optional(w, op, 2);
        kurc_strbuf_puts(b, ", ");
        put_ints(b, op->attr.conv.stride, op->attr.conv.ndim);
        kurc_strbuf_printf(b, ", %s)", op->attr.conv.same ? "True" : "False");
    } else if (strcmp(name, "pool") == 0) {
        kurc_strbuf_puts(b, "_pool(");
        put_tensor(w, op, 0);
        kurc_strbuf_printf(b, ", \"%s\", ", op->attr.pool.type == KURC_POOL_MAX ? "max" : "average");
        put_ints(b, op->attr.pool.size, op->attr.pool.ndim);
        kurc_strbuf_puts(b, ", ");
        put_ints(b, op->attr.pool.stride, op->attr.pool.ndim);
        kurc_strbuf_printf(b, ", %s)", op->attr.pool.same ? "True" : "False");
    } else if (strcmp(name, "activation") == 0) {
        kurc_strbuf_puts(b, "_act(");
        put_tensor(w, op, 0);
        kurc_strbuf_printf(b, ", \"%s\", %.9g)", act_name(op->attr.act.act),
                           (double)op->attr.act.alpha);
    } else if (strcmp(name, "softmax") == 0) {
        kurc_strbuf_puts(b, op->attr.log_softmax ? "torch.log_softmax(" : "torch.softmax(");
        put_tensor(w, op, 0);
        kurc_strbuf_puts(b, ", -1)");
    } else if (strcmp(name, "add") == 0 || strcmp(name, "mul") == 0) {
        put_tensor(w, op, 0);
        kurc_strbuf_puts(b, name[0] == 'a' ? " + " : " * ");
        put_tensor(w, op, 1);
    } else if (strcmp(name, "scale") == 0) {
        put_tensor(w, op, 0);
        kurc_strbuf_printf(b, " * %.9g", (double)op->attr.scale);
    } else if (strcmp(name, "dropout") == 0) {
        put_tensor(w, op, 0); /* off outside training */
    } else if (strcmp(name, "batchnorm") == 0) {
        kurc_strbuf_puts(b, "_batchnorm(");
        put_tensors(w, op, 0, 3);
        kurc_strbuf_printf(b, ", %d, %.17g)", norm_axis(is, op) + 1, (double)op->attr.norm.eps);
    } else if (strcmp(name, "gather") == 0) {
        kurc_strbuf_puts(b, "_gather(");
        put_tensors(w, op, 0, 2);
        kurc_strbuf_puts(b, ")");
    } else if (strcmp(name, "rnn") == 0) {
        static const char *const cells[] = {"simple", "gru", "lstm"};
        kurc_strbuf_puts(b, "_rnn(");
        put_tensor(w, op, 0);
        kurc_strbuf_puts(b, ", ");
        put_optional(w, op, 4);
        kurc_strbuf_puts(b, ", ");
        put_tensors(w, op, 1, 4);
        kurc_strbuf_printf(b, ", \"%s\", \"%s\", %.9g, \"%s\", %.9g, %s, %s)",
                           cells[op->attr.rnn.cell], act_name(op->attr.rnn.act),
                           (double)op->attr.rnn.act_alpha, act_name(op->attr.rnn.gate),
                           (double)op->attr.rnn.gate_alpha, op->attr.rnn.reverse ? "True" : "False",
                           op->attr.rnn.sequence ? "True" : "False");
    } else if (strcmp(name, "reshape") == 0) {
        int n_free = 0;
        for (int d = 0; d < os->ndim; d++)
            n_free += free_axis(w, op->out, d);
        if (n_free > 1 && os->ndim > 1)
            return unsupported(path, op, w->m, "a reshape to two axes that follow the data", err);
        put_tensor(w, op, 0);
        if (n_free || os->ndim == 1)
            kurc_strbuf_printf(b, ".reshape(t%d.shape[0]", op->in[0]);
        else
            kurc_strbuf_puts(b, ".reshape(-1");
        for (int d = 0; d < os->ndim; d++) {
            if (os->ndim == 1 || free_axis(w, op->out, d))
                kurc_strbuf_puts(b, ", -1");
            else
                kurc_strbuf_printf(b, ", %lld", (long long)os->dim[d]);
        }
        kurc_strbuf_puts(b, ")");
    } else if (strcmp(name, "transpose") == 0) {
        put_tensor(w, op, 0);
        kurc_strbuf_puts(b, ".permute(0");
        for (int d = 0; d < os->ndim; d++)
            kurc_strbuf_printf(b, ", %d", op->attr.transpose.perm[d] + 1);
        kurc_strbuf_puts(b, ")");
    } else if (strcmp(name, "concat") == 0) {
        kurc_strbuf_puts(b, "torch.cat([");
        put_tensors(w, op, 0, op->n_in);
        kurc_strbuf_printf(b, "], %d)", op->attr.axis.axis + 1);
    } else if (strcmp(name, "repeat") == 0) {
        put_tensor(w, op, 0);
        kurc_strbuf_printf(b, ".unsqueeze(1).repeat(1, %lld", (long long)op->attr.repeat.count);
        for (int d = 0; d < is->ndim; d++)
            kurc_strbuf_puts(b, ", 1");
        kurc_strbuf_puts(b, ")");
    } else if (strcmp(name, "fold") == 0) {
        if (w->n_folds == 16)
            return unsupported(path, op, w->m, "more than 16 nested parallel containers", err);
        w->folds[w->n_folds++] = op->out;
        put_tensor(w, op, 0);
        kurc_strbuf_puts(b, ".flatten(0, 1)\n");
        kurc_strbuf_printf(b, "        b%d = t%d.shape[0]", op->out, op->in[0]);
    } else if (strcmp(name, "unfold") == 0) {
        if (!w->n_folds)
            return unsupported(path, op, w->m, "an unfold without its fold", err);
        put_tensor(w, op, 0);
        kurc_strbuf_printf(b, ".reshape((b%d, -1) + tuple(t%d.shape[1:]))",
                           w->folds[--w->n_folds], op->in[0]);
    } else {
        return unsupported(path, op, w->m, "no PyTorch equivalent is written for it", err);
    }
    kurc_strbuf_putc(b, '\n');
    return KURC_OK;
}

/* Where graph tensor t comes from when it is a feed of the data. */
static const struct kurc_feed *feed_of(const struct kurc_model *m, int t) {
    for (size_t i = 0; i < m->n_feeds; i++)
        if (m->feeds[i].tensor == t)
            return &m->feeds[i];
    return NULL;
}

static void put_header(struct writer *w, const char *kurfile) {
    struct kurc_strbuf *b = &w->b;
    kurc_strbuf_puts(b, "\"\"\"model.py - the model of ");
    for (const char *p = kurfile; *p; p++)
        kurc_strbuf_putc(b, *p == '"' || *p == '\\' || *p == '\n' ? '_' : *p);
    kurc_strbuf_puts(
        b, " as a plain torch.nn.Module, written by `kurc export --pytorch`.\n\n"
           "    model = Model()\n"
           "    model.load_state_dict(torch.load(\"weights.pt\"))\n"
           "    outputs = model(**data)\n\n"
           "forward takes the model's inputs (and the sequence lengths its recurrent layers\n"
           "mask with) by the names of their data sources, as kurc's data gives them: float32,\n"
           "batch first, channels last. It returns {output name: tensor}, what `kurc evaluate`\n"
           "writes under `result`. Dropout is off, as in evaluate; batch normalisation uses the\n"
           "statistics of the batch it is given, as kurc does, so give it evaluate's batches.\n"
           "\"\"\"\n");
    kurc_strbuf_puts(b, prelude);
}

enum kurc_status kurc_torch_write_model(FILE *f, const char *path, const struct kurc_model *m,
                                        const struct kurc_model *probe,
                                        const struct kurc_torch_entry *entries,
                                        const char *kurfile, struct kurc_err *err) {
    struct writer w = {.m = m, .probe = probe, .entries = entries, .b = KURC_STRBUF_INIT};
    struct kurc_strbuf *b = &w.b;
    const struct kurc_graph *g = m->graph;
    put_header(&w, kurfile);
    kurc_strbuf_puts(b, "class Model(torch.nn.Module):\n    inputs = [");
    for (size_t i = 0; i < m->n_inputs; i++) {
        kurc_strbuf_puts(b, i ? ", " : "");
        put_literal(b, m->inputs[i].name);
    }
    kurc_strbuf_puts(b, "]\n    outputs = [");
    for (size_t i = 0; i < m->n_outputs; i++) {
        kurc_strbuf_puts(b, i ? ", " : "");
        put_literal(b, m->outputs[i].name);
    }
    kurc_strbuf_puts(b, "]\n\n    def __init__(self):\n        super().__init__()\n");
    for (size_t i = 0; i < m->params.n; i++) {
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(entries[j].module, entries[i].module) != 0;
        if (!first)
            continue;
        kurc_strbuf_printf(b, "        self.add_module(\"%s\", _Layer({", entries[i].module);
        for (size_t j = i, n = 0; j < m->params.n; j++) {
            if (strcmp(entries[j].module, entries[i].module) != 0)
                continue;
            kurc_strbuf_printf(b, "%s\"%s\": ", n++ ? ", " : "",
                               entries[j].key + strlen(entries[j].module) + 1);
            put_ints(b, entries[j].shape.dim, entries[j].shape.ndim);
        }
        kurc_strbuf_puts(b, "}))\n");
    }
    kurc_strbuf_puts(b, "\n    def forward(self, **data):\n");
    for (size_t t = 0; t < g->n_tensors; t++) {
        if (g->tensors[t].kind != KURC_TENSOR_INPUT)
            continue;
        const struct kurc_feed *fd = feed_of(m, (int)t);
        const char *source = g->tensors[t].name;
        for (size_t i = 0; i < m->n_inputs; i++)
            if (m->inputs[i].tensor == (int)t)
                source = m->inputs[i].name;
        kurc_strbuf_printf(b, "        t%zu = ", t);
        if (fd && fd->length) {
            kurc_strbuf_puts(b, "_lengths(data[");
            put_literal(b, fd->source);
            kurc_strbuf_puts(b, "], [");
            for (int s = 0; s < fd->map.n; s++) {
                const struct kurc_length_step *st = &fd->map.steps[s];
                kurc_strbuf_printf(b, "%s(%s, %s, %lld, %lld)", s ? ", " : "",
                                   st->upsample ? "True" : "False", st->same ? "True" : "False",
                                   (long long)st->size, (long long)st->stride);
            }
            kurc_strbuf_puts(b, "])\n");
        } else {
            kurc_strbuf_puts(b, "torch.as_tensor(data[");
            put_literal(b, fd ? fd->source : source);
            kurc_strbuf_puts(b, "], dtype=torch.float32)\n");
        }
    }
    enum kurc_status st = KURC_OK;
    for (size_t o = 0; o < g->n_ops && st == KURC_OK; o++)
        st = put_op(&w, path, &g->ops[o], err);
    kurc_strbuf_puts(b, "        return {");
    for (size_t i = 0; i < m->n_outputs; i++) {
        kurc_strbuf_puts(b, i ? ", " : "");
        put_literal(b, m->outputs[i].name);
        kurc_strbuf_printf(b, ": t%d", m->outputs[i].tensor);
    }
    kurc_strbuf_puts(b, "}\n");
    if (st == KURC_OK && fwrite(b->data, 1, b->len, f) != b->len)
        st = kurc_err_set(err, KURC_E_IO, NULL, "%s: cannot write", path);
    kurc_strbuf_free(b);
    return st;
}
