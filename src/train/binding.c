/* binding.c - data sources to graph inputs (see binding.h). */
#include "binding.h"

#include <stdio.h>
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

static enum kurc_status add(const struct kurc_model *m, int tensor, const struct kurc_source *s,
                            const struct kurc_feed *feed, int64_t max_rows,
                            struct kurc_bindings *out, struct kurc_err *err) {
    const struct kurc_shape *want = kurc_graph_shape(m->graph, tensor);
    if (feed ? kurc_shape_numel(want) != kurc_shape_numel(&s->shape)
             : !kurc_shape_equal(want, &s->shape)) {
        char a[96], b[96];
        kurc_shape_format(want, a, sizeof a);
        kurc_shape_format(&s->shape, b, sizeof b);
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "the data source '%s' (%s) has samples of shape %s, but the model "
                            "needs %s",
                            s->name, s->origin ? s->origin : "data", b, a);
    }
    out->items = kurc_xrealloc(out->items, (out->n + 1) * sizeof *out->items);
    out->items[out->n++] = (struct kurc_binding){tensor, s, feed};
    size_t need = (size_t)(max_rows * kurc_shape_numel(want));
    if (need > out->staging_size) {
        out->staging = kurc_xrealloc(out->staging, need * sizeof *out->staging);
        out->staging_size = need;
    }
    return KURC_OK;
}

/* A feed: the source of its name (for `what`: "sequence lengths", "ctc"). */
static enum kurc_status add_feed(const struct kurc_model *m, const struct kurc_feed *f,
                                 const char *what, const struct kurc_dataset *d, int64_t max_rows,
                                 struct kurc_bindings *out, struct kurc_err *err) {
    const struct kurc_source *s = kurc_dataset_find(d, f->source);
    if (!s) {
        char label[160];
        snprintf(label, sizeof label, "%s input", what);
        return missing(label, f->source, d, err);
    }
    return add(m, f->tensor, s, f, max_rows, out, err);
}

enum kurc_status kurc_bind(const struct kurc_model *m, const struct kurc_losses *losses,
                           const struct kurc_dataset *d, int64_t max_rows,
                           struct kurc_bindings *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < m->n_inputs && st == KURC_OK; i++) {
        const struct kurc_node *n = &m->nodes[m->inputs[i].node];
        const struct kurc_source *s = source_for(n, d);
        st = s ? add(m, m->inputs[i].tensor, s, NULL, max_rows, out, err)
               : missing("model input", m->inputs[i].name, d, err);
    }
    for (size_t i = 0; i < m->n_feeds && st == KURC_OK; i++)
        st = add_feed(m, &m->feeds[i], "sequence lengths", d, max_rows, out, err);
    for (size_t i = 0; losses && i < losses->n && st == KURC_OK; i++) {
        const struct kurc_loss_term *t = &losses->terms[i];
        for (size_t k = 0; k < t->n_feeds && st == KURC_OK; k++)
            st = add_feed(m, &t->feeds[k], t->name, d, max_rows, out, err);
        if (t->truth < 0 || st)
            continue;
        const struct kurc_source *s = NULL;
        for (size_t o = 0; o < m->n_outputs && !s; o++)
            if (strcmp(m->outputs[o].name, t->target) == 0)
                s = source_for(&m->nodes[m->outputs[o].node], d);
        st = s ? add(m, t->truth, s, NULL, max_rows, out, err)
               : missing("output", t->target, d, err);
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

void kurc_bind_load(struct kurc_bindings *b, struct kurc_exec *x, const int64_t *indices,
                    int64_t n) {
    x->batch = n;
    for (size_t i = 0; i < b->n; i++) {
        const struct kurc_source *s = b->items[i].source;
        kurc_provider_gather(s, indices, n, b->staging);
        if (b->items[i].feed)
            kurc_feed_lengths(b->items[i].feed, b->staging, n * kurc_shape_numel(&s->shape));
        x->be->ops->upload(x->be, kurc_exec_value(x, b->items[i].tensor), b->staging,
                           (size_t)(n * kurc_shape_numel(&s->shape)) * sizeof(float));
    }
}

bool kurc_bind_has_truth(const struct kurc_model *m, const struct kurc_dataset *d) {
    for (size_t o = 0; o < m->n_outputs; o++)
        if (!source_for(&m->nodes[m->outputs[o].node], d))
            return false;
    return true;
}
