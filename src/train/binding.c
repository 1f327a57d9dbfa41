/* binding.c - data sources to graph inputs (see binding.h). */
#include "train/binding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "data/provider.h"
#include "ops/ops.h"

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
 * shape (for a feed, as many values), or for a variable-length source the
 * same axes after the first. */
static bool fits(const struct kurc_shape *want, const struct kurc_source *s, bool feed) {
    if (!kurc_source_ragged(s))
        return feed ? kurc_shape_numel(want) == kurc_shape_numel(&s->shape)
                    : kurc_shape_equal(want, &s->shape);
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

/* The first value of s that is not a row of a table with `rows` rows
 * (after truncation to an integer, as Keras's cast), or -1 when all are. */
static int64_t bad_index(const struct kurc_source *s, int64_t rows, int64_t *sample) {
    for (int64_t i = 0; i < s->count; i++) {
        int64_t length;
        const float *x = kurc_source_sample(s, i, &length);
        int64_t n = kurc_source_ragged(s) ? length * kurc_source_inner(s)
                                          : kurc_shape_numel(&s->shape);
        for (int64_t k = 0; k < n; k++) {
            if (!(x[k] > -1.0f && x[k] < (float)rows)) {
                *sample = i;
                return k;
            }
        }
    }
    return -1;
}

/* Embedding indices fed straight from s must pick rows of the table: the
 * kernels trust them, so the whole source is checked once, here. */
static enum kurc_status check_indices(const struct kurc_model *m, int tensor,
                                      const struct kurc_source *s, struct kurc_err *err) {
    const struct kurc_graph *g = m->graph;
    for (size_t o = 0; o < g->n_ops; o++) {
        const struct kurc_op *op = &g->ops[o];
        if (!kurc_op_is_gather(op) || op->in[0] != tensor)
            continue;
        int64_t rows = kurc_graph_shape(g, op->in[1])->dim[0], sample = 0;
        int64_t k = bad_index(s, rows, &sample);
        if (k < 0)
            continue;
        int64_t length;
        float value = kurc_source_sample(s, sample, &length)[k];
        const char *layer = op->owner >= 0 ? m->nodes[op->owner].c->name : "?";
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "the data source '%s' (%s) has the value %g in sample %lld (from 0), but the "
                            "embedding '%s' looks up rows 0 to %lld of its table",
                            s->name, s->origin ? s->origin : "data", (double)value,
                            (long long)sample, layer, (long long)rows - 1);
    }
    return KURC_OK;
}

static enum kurc_status add(const struct kurc_model *m, struct kurc_binding item,
                            int64_t max_rows, struct kurc_bindings *out, struct kurc_err *err) {
    const struct kurc_source *s = item.source;
    const struct kurc_shape *want = kurc_graph_shape(m->graph, item.tensor);
    if (!fits(want, s, item.feed != NULL))
        return mismatch(want, s, err);
    enum kurc_status st = check_indices(m, item.tensor, s, err);
    if (st)
        return st;
    out->items = kurc_xrealloc(out->items, (out->n + 1) * sizeof *out->items);
    out->items[out->n++] = item;
    out->ragged = out->ragged || kurc_source_ragged(s);
    size_t need = (size_t)max_rows * padded_numel(s);
    if (need > out->staging_size) {
        out->staging = kurc_xrealloc(out->staging, need * sizeof *out->staging);
        out->staging_size = need;
    }
    return KURC_OK;
}

/* A feed: the source of its name (for `what`: "sequence lengths", "ctc"). */
static enum kurc_status add_feed(const struct kurc_model *m, const struct kurc_feed *f,
                                 const char *what, struct kurc_binding item,
                                 const struct kurc_dataset *d, int64_t max_rows,
                                 struct kurc_bindings *out, struct kurc_err *err) {
    item.source = kurc_dataset_find(d, f->source);
    if (!item.source) {
        char label[160];
        snprintf(label, sizeof label, "%s input", what);
        return missing(label, f->source, d, err);
    }
    item.tensor = f->tensor;
    item.feed = f;
    return add(m, item, max_rows, out, err);
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
        struct kurc_binding item = {.tensor = m->inputs[i].tensor, .source = s,
                                    .kind = KURC_BIND_INPUT, .which = i};
        st = s ? add(m, item, max_rows, out, err)
               : missing("model input", m->inputs[i].name, d, err);
    }
    for (size_t i = 0; i < m->n_feeds && st == KURC_OK; i++) {
        struct kurc_binding item = {.kind = KURC_BIND_FEED, .which = i};
        st = add_feed(m, &m->feeds[i], "sequence lengths", item, d, max_rows, out, err);
    }
    for (size_t i = 0; losses && i < losses->n && st == KURC_OK; i++) {
        const struct kurc_loss_term *t = &losses->terms[i];
        for (size_t k = 0; k < t->n_feeds && st == KURC_OK; k++) {
            struct kurc_binding item = {.kind = KURC_BIND_LOSS_FEED, .which = i, .sub = k};
            st = add_feed(m, &t->feeds[k], t->name, item, d, max_rows, out, err);
        }
        if (t->truth < 0 || st)
            continue;
        const struct kurc_source *s = NULL;
        for (size_t o = 0; o < m->n_outputs && !s; o++)
            if (strcmp(m->outputs[o].name, t->target) == 0)
                s = source_for(&m->nodes[m->outputs[o].node], d);
        struct kurc_binding item = {.tensor = t->truth, .source = s, .kind = KURC_BIND_TRUTH,
                                    .which = i};
        st = s ? add(m, item, max_rows, out, err) : missing("output", t->target, d, err);
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

/* The feed a binding of kind FEED or LOSS_FEED names in m's current graph. */
static const struct kurc_feed *current_feed(const struct kurc_binding *it,
                                            const struct kurc_model *m,
                                            const struct kurc_losses *losses) {
    if (it->kind == KURC_BIND_FEED)
        return it->which < m->n_feeds ? &m->feeds[it->which] : NULL;
    if (!losses || it->which >= losses->n || it->sub >= losses->terms[it->which].n_feeds)
        return NULL;
    return &losses->terms[it->which].feeds[it->sub];
}

enum kurc_status kurc_bind_refresh(struct kurc_bindings *b, const struct kurc_model *m,
                                   const struct kurc_losses *losses, struct kurc_err *err) {
    for (size_t i = 0; i < b->n; i++) {
        struct kurc_binding *it = &b->items[i];
        int t = -1;
        const struct kurc_feed *feed = NULL;
        if (it->kind == KURC_BIND_INPUT && it->which < m->n_inputs) {
            t = m->inputs[it->which].tensor;
        } else if (it->kind == KURC_BIND_TRUTH && losses && it->which < losses->n) {
            t = losses->terms[it->which].truth;
        } else if (it->kind == KURC_BIND_FEED || it->kind == KURC_BIND_LOSS_FEED) {
            feed = current_feed(it, m, losses);
            if (feed && strcmp(feed->source, it->source->name) == 0)
                t = feed->tensor;
        }
        if (t < 0)
            return kurc_err_set(err, KURC_E_INVALID, NULL,
                                "the rebuilt model has no input for the data source '%s'",
                                it->source->name);
        const struct kurc_shape *want = kurc_graph_shape(m->graph, t);
        if (!fits(want, it->source, feed != NULL))
            return mismatch(want, it->source, err);
        it->tensor = t;
        it->feed = feed;
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
        if (b->items[i].feed)
            kurc_feed_lengths(b->items[i].feed, b->staging, (int64_t)floats);
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
