/* binding.c - data sources to graph inputs (see binding.h). */
#include "binding.h"

#include <stdlib.h>
#include <string.h>

#include "data/provider.h"
#include "strbuf.h"
#include "xalloc.h"

/* The source named by any of a node's names. */
static const struct kurc_source *source_for(const struct kurc_node *n,
                                            const struct kurc_dataset *d) {
    for (size_t k = 0; k < n->n_names; k++) {
        const struct kurc_source *s = kurc_dataset_find(d, n->names[k]);
        if (s)
            return s;
    }
    return NULL;
}

static enum kurc_status missing(const char *what, const char *name, const struct kurc_dataset *d,
                                struct kurc_err *err) {
    struct kurc_strbuf names = KURC_STRBUF_INIT;
    for (size_t i = 0; i < d->n; i++)
        kurc_strbuf_printf(&names, "%s'%s'", i ? ", " : "", d->sources[i].name);
    enum kurc_status st = kurc_err_set(err, KURC_E_DATA, NULL,
                                       "the %s '%s' has no data source of that name (the data "
                                       "has %s)",
                                       what, name, names.len ? names.data : "no sources");
    kurc_strbuf_free(&names);
    return st;
}

/* Whether a tensor of shape want can take the samples of s: the same
 * shape, or for a variable-length source the same axes after the first. */
static bool fits(const struct kurc_shape *want, const struct kurc_source *s) {
    if (!kurc_source_ragged(s))
        return kurc_shape_equal(want, &s->shape);
    if (want->ndim != s->shape.ndim)
        return false;
    for (int i = 1; i < want->ndim; i++)
        if (want->dim[i] != s->shape.dim[i])
            return false;
    return true;
}

static enum kurc_status mismatch(const struct kurc_shape *want, const struct kurc_source *s,
                                 struct kurc_err *err) {
    char a[96], b[96];
    kurc_shape_format(want, a, sizeof a);
    kurc_shape_format(&s->shape, b, sizeof b);
    return kurc_err_set(err, KURC_E_DATA, NULL,
                        "the data source '%s' (%s) has samples of shape %s%s, but the model "
                        "needs %s",
                        s->name, s->origin ? s->origin : "data", b,
                        kurc_source_ragged(s) ? " (the first axis varies)" : "", a);
}

/* Floats one sample of s can take once padded (bucket rounding included). */
static size_t padded_numel(const struct kurc_source *s) {
    if (!kurc_source_ragged(s))
        return (size_t)kurc_shape_numel(&s->shape);
    int64_t longest = s->shape.dim[0], b = s->bucket;
    if (b > 0)
        longest = (longest - 1) - (longest - 1) % b + b;
    return (size_t)(longest * kurc_source_inner(s));
}

static enum kurc_status add(const struct kurc_model *m, int tensor, const struct kurc_source *s,
                            enum kurc_binding_kind kind, size_t which, int64_t max_rows,
                            struct kurc_bindings *out, struct kurc_err *err) {
    const struct kurc_shape *want = kurc_graph_shape(m->graph, tensor);
    if (!fits(want, s))
        return mismatch(want, s, err);
    out->items = kurc_xrealloc(out->items, (out->n + 1) * sizeof *out->items);
    out->items[out->n++] = (struct kurc_binding){tensor, s, kind, which, 0};
    out->ragged = out->ragged || kurc_source_ragged(s);
    size_t need = (size_t)max_rows * padded_numel(s);
    if (need > out->staging_size) {
        out->staging = kurc_xrealloc(out->staging, need * sizeof *out->staging);
        out->staging_size = need;
    }
    return KURC_OK;
}

/* Whether graph input tensor t is a model input or a loss's truth. */
static bool known_input(const struct kurc_model *m, const struct kurc_losses *losses, int t) {
    for (size_t i = 0; i < m->n_inputs; i++)
        if (m->inputs[i].tensor == t)
            return true;
    for (size_t i = 0; losses && i < losses->n; i++)
        if (losses->terms[i].truth == t)
            return true;
    return false;
}

/* The index-th graph input that is neither a model input nor a truth
 * (those a loss adds by name), or -1. */
static int named_input(const struct kurc_model *m, const struct kurc_losses *losses, size_t index) {
    const struct kurc_graph *g = m->graph;
    for (size_t t = 0; t < g->n_tensors; t++) {
        if (g->tensors[t].kind != KURC_TENSOR_INPUT || known_input(m, losses, (int)t))
            continue;
        if (index-- == 0)
            return (int)t;
    }
    return -1;
}

enum kurc_status kurc_bind(const struct kurc_model *m, const struct kurc_losses *losses,
                           const struct kurc_dataset *d, int64_t max_rows,
                           struct kurc_bindings *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    out->data = d;
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < m->n_inputs && st == KURC_OK; i++) {
        const struct kurc_node *n = &m->nodes[m->inputs[i].node];
        const struct kurc_source *s = source_for(n, d);
        st = s ? add(m, m->inputs[i].tensor, s, KURC_BIND_INPUT, i, max_rows, out, err)
               : missing("model input", m->inputs[i].name, d, err);
    }
    for (size_t i = 0; losses && i < losses->n && st == KURC_OK; i++) {
        const struct kurc_loss_term *t = &losses->terms[i];
        if (t->truth < 0)
            continue;
        const struct kurc_source *s = NULL;
        for (size_t o = 0; o < m->n_outputs && !s; o++)
            if (strcmp(m->outputs[o].name, t->target) == 0)
                s = source_for(&m->nodes[m->outputs[o].node], d);
        st = s ? add(m, t->truth, s, KURC_BIND_TRUTH, i, max_rows, out, err)
               : missing("output", t->target, d, err);
    }
    for (size_t k = 0; st == KURC_OK; k++) {
        int t = named_input(m, losses, k);
        if (t < 0)
            break;
        const char *name = m->graph->tensors[t].name;
        const struct kurc_source *s = kurc_dataset_find(d, name);
        st = s ? add(m, t, s, KURC_BIND_NAMED, k, max_rows, out, err)
               : missing("loss input", name, d, err);
    }
    if (st)
        kurc_bindings_release(out);
    return st;
}

void kurc_bindings_release(struct kurc_bindings *b) {
    free(b->items);
    free(b->staging);
    memset(b, 0, sizeof *b);
}

enum kurc_status kurc_bind_refresh(struct kurc_bindings *b, const struct kurc_model *m,
                                   const struct kurc_losses *losses, struct kurc_err *err) {
    for (size_t i = 0; i < b->n; i++) {
        struct kurc_binding *it = &b->items[i];
        int t = -1;
        if (it->kind == KURC_BIND_INPUT && it->which < m->n_inputs)
            t = m->inputs[it->which].tensor;
        else if (it->kind == KURC_BIND_TRUTH && losses && it->which < losses->n)
            t = losses->terms[it->which].truth;
        else if (it->kind == KURC_BIND_NAMED)
            t = named_input(m, losses, it->which);
        if (t < 0 || (it->kind == KURC_BIND_NAMED &&
                      strcmp(m->graph->tensors[t].name, it->source->name) != 0))
            return kurc_err_set(err, KURC_E_INVALID, NULL,
                                "the rebuilt model has no input for the data source '%s'",
                                it->source->name);
        const struct kurc_shape *want = kurc_graph_shape(m->graph, t);
        if (!fits(want, it->source))
            return mismatch(want, it->source, err);
        it->tensor = t;
    }
    return KURC_OK;
}

void kurc_bind_load(struct kurc_bindings *b, struct kurc_exec *x, const int64_t *indices,
                    int64_t n) {
    x->batch = n;
    for (size_t i = 0; i < b->n; i++) {
        const struct kurc_source *s = b->items[i].source;
        int64_t length = kurc_provider_gather(s, indices, n, b->items[i].length, b->staging);
        size_t floats = kurc_source_ragged(s) ? (size_t)(n * length * kurc_source_inner(s))
                                              : (size_t)(n * kurc_shape_numel(&s->shape));
        x->be->ops->upload(x->be, kurc_exec_value(x, b->items[i].tensor), b->staging,
                           floats * sizeof(float));
    }
}

bool kurc_bind_has_truth(const struct kurc_model *m, const struct kurc_dataset *d) {
    for (size_t o = 0; o < m->n_outputs; o++)
        if (!source_for(&m->nodes[m->outputs[o].node], d))
            return false;
    return true;
}
