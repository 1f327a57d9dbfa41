/* loss.c - the table of losses, and loss entries to loss ops (see
 * loss.h). */
#include "loss/loss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "ops/ops.h"
#include "ops/seqlen.h"

/* Every loss, one line each, in the order messages list them: loss `x` is
 * the struct kurc_loss_x below. */
#define KURC_LOSSES(X)          \
    X(categorical_crossentropy) \
    X(mean_squared_error)       \
    X(ctc)

#define DECLARE_LOSS(x) extern const struct kurc_loss_type kurc_loss_##x;
KURC_LOSSES(DECLARE_LOSS)

#define LOSS_ENTRY(x) &kurc_loss_##x.component,
const struct kurc_component *const kurc_loss_table[] = {KURC_LOSSES(LOSS_ENTRY) NULL};

static const struct kurc_model_io *find_output(const struct kurc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_outputs; i++)
        if (strcmp(m->outputs[i].name, name) == 0)
            return &m->outputs[i];
    return NULL;
}

/* "loss on 'OUTPUT': " before err's message, at the entry. */
static enum kurc_status wrap(struct kurc_err *err, enum kurc_status st,
                             const struct kurc_value *entry, const char *output) {
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return kurc_err_set(err, st, &entry->loc, "loss on '%s': %s", output, msg);
}

static enum kurc_status add_term(struct kurc_model *m, const struct kurc_value *entry,
                                 struct kurc_losses *out, struct kurc_err *err) {
    const struct kurc_value *target = kurc_param(entry, "target");
    const struct kurc_value *name = kurc_param(entry, "name");
    /* the schema's checks, for a Kurfile parsed without them */
    if (!target || target->kind != KURC_STR || !name || name->kind != KURC_STR)
        return kurc_err_set(err, KURC_E_CONFIG, &entry->loc,
                            "loss: an entry needs a `target` and a `name`, both strings");
    const struct kurc_model_io *output = find_output(m, target->u.str.s);
    if (!output) {
        struct kurc_strbuf names = KURC_STRBUF_INIT;
        for (size_t i = 0; i < m->n_outputs; i++)
            kurc_strbuf_printf(&names, "%s'%s'", i ? ", " : "", m->outputs[i].name);
        enum kurc_status st = kurc_err_set(err, KURC_E_CONFIG, &target->loc,
                                           "loss: the target '%s' is not a model output (the "
                                           "outputs are %s)",
                                           target->u.str.s, names.len ? names.data : "none");
        kurc_strbuf_free(&names);
        return st;
    }
    for (size_t i = 0; i < out->n; i++)
        if (strcmp(out->terms[i].target, output->name) == 0)
            return kurc_err_set(err, KURC_E_CONFIG, &target->loc,
                                "loss: the output '%s' already has a loss", output->name);
    /* the component is the type's first member */
    const struct kurc_loss_type *type =
        (const struct kurc_loss_type *)kurc_component_find(kurc_loss_table, name->u.str.s);
    if (!type)
        return kurc_err_set(err, KURC_E_CONFIG, &name->loc,
                            "loss: '%s' is not available in this build of kurc", name->u.str.s);
    float w = (float)kurc_param_number(entry, "weight", 1.0);
    struct kurc_loss_term term = {output->name, NULL, w, -1, -1, NULL, 0};
    if (type->build) {
        enum kurc_status st = type->build(m, entry, output, w, &term, err);
        if (st) {
            kurc_feeds_release(term.feeds, term.n_feeds);
            return wrap(err, st, entry, output->name);
        }
    } else {
        term.truth = kurc_graph_add_tensor(m->graph, KURC_TENSOR_INPUT,
                                           kurc_graph_shape(m->graph, output->tensor), -1, false,
                                           output->name);
        term.value = type->emit(m->graph, output->tensor, term.truth, w, output->name, err);
        if (term.value < 0)
            return wrap(err, KURC_E_CONFIG, entry, output->name);
    }
    term.name = kurc_xstrdup(name->u.str.s);
    out->terms = kurc_xrealloc(out->terms, (out->n + 1) * sizeof *out->terms);
    out->terms[out->n++] = term;
    return KURC_OK;
}

enum kurc_status kurc_losses_build(struct kurc_model *m, const struct kurc_value *section,
                                   struct kurc_losses *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; section && section->kind == KURC_LIST && i < section->u.list.len && !st; i++)
        st = add_term(m, section->u.list.items[i], out, err);
    if (st == KURC_OK) {
        for (size_t i = 0; i < m->n_outputs; i++) {
            bool has_loss = false;
            for (size_t k = 0; k < out->n && !has_loss; k++)
                has_loss = strcmp(out->terms[k].target, m->outputs[i].name) == 0;
            if (!has_loss)
                kurc_log(KURC_LOG_DEBUG, "output '%s' has no loss; it is an output only",
                         m->outputs[i].name);
        }
    }
    if (st)
        kurc_losses_release(out);
    return st;
}

void kurc_losses_release(struct kurc_losses *losses) {
    for (size_t i = 0; i < losses->n; i++) {
        free((char *)losses->terms[i].name);
        kurc_feeds_release(losses->terms[i].feeds, losses->terms[i].n_feeds);
    }
    free(losses->terms);
    memset(losses, 0, sizeof *losses);
}

const struct kurc_loss_type kurc_loss_categorical_crossentropy = {
    .component = {"categorical_crossentropy",
                  KURC_SCHEMA(.types = KT_MAP, .keys = KURC_KEYS(KURC_LOSS_KEYS))},
    .emit = kurc_emit_cce,
};

const struct kurc_loss_type kurc_loss_mean_squared_error = {
    .component = {"mean_squared_error",
                  KURC_SCHEMA(.types = KT_MAP, .keys = KURC_KEYS(KURC_LOSS_KEYS))},
    .emit = kurc_emit_mse,
};

/* --- ctc --------------------------------------------------------------- */

/* The variant's names: null, a string or a list of strings. */
static enum kurc_status ctc_variant(const struct kurc_value *v, struct kurc_ctc_spec *spec,
                                    struct kurc_err *err) {
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    size_t n = v->kind == KURC_LIST ? v->u.list.len : 1;
    for (size_t i = 0; i < n; i++) {
        const struct kurc_value *item = v->kind == KURC_LIST ? v->u.list.items[i] : v;
        if (item->kind == KURC_NULL)
            continue;
        if (item->kind != KURC_STR)
            return kurc_err_set(err, KURC_E_CONFIG, &item->loc,
                                "the ctc variant must be a name or a list of names (warp, "
                                "loss_scale)");
        if (strcmp(item->u.str.s, "warp") == 0)
            spec->warp = true;
        else if (strcmp(item->u.str.s, "loss_scale") == 0)
            spec->loss_scale = true;
        else
            kurc_log_at(KURC_LOG_WARNING, &item->loc,
                        "ignoring an unknown variant of the ctc loss: %s", item->u.str.s);
    }
    return KURC_OK;
}

/* The tensor of the model node named `name` (any of its names). */
static int node_tensor(const struct kurc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t k = 0; k < m->nodes[i].n_names; k++)
            if (strcmp(m->nodes[i].names[k], name) == 0)
                return m->nodes[i].value;
    return -1;
}

static enum kurc_status ctc_build(struct kurc_model *m, const struct kurc_value *entry,
                                  const struct kurc_model_io *output, float weight,
                                  struct kurc_loss_term *term, struct kurc_err *err) {
    struct kurc_graph *g = m->graph;
    const char *input_length = kurc_param_str(entry, "input_length");
    const char *output_length = kurc_param_str(entry, "output_length");
    const char *labels = kurc_param_str(entry, "output");
    const char *relative_to = kurc_param_str(entry, "relative_to");
    struct kurc_ctc_spec spec = {weight, false, false};
    enum kurc_status st = ctc_variant(kurc_map_get(entry, "variant"), &spec, err);
    if (st)
        return st;
    const struct kurc_shape *ps = kurc_graph_shape(g, output->tensor);
    if (ps->ndim != 2)
        return kurc_err_set(err, KURC_E_CONFIG, NULL,
                            "ctc needs an output of shape (time, classes), not %d axes", ps->ndim);
    /* the labels' width: the data's, else (a bare build) the output's steps */
    struct kurc_shape ls = {.ndim = 1, .dim = {ps->dim[0]}};
    if (m->shapes) {
        struct kurc_shape data;
        if (!kurc_model_data_shape(m, labels, &data))
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "the data has no source '%s' for the ctc labels (`output`)",
                                labels);
        ls.dim[0] = kurc_shape_numel(&data);
    }
    struct kurc_shape one = {.ndim = 1, .dim = {1}};
    struct kurc_length_map map = {0};
    if (relative_to) {
        int from = node_tensor(m, relative_to);
        if (from < 0)
            return kurc_err_set(err, KURC_E_CONFIG, NULL,
                                "relative_to: '%s' is not a layer of the model", relative_to);
        if (kurc_length_trace(g, from, output->tensor, "ctc relative_to", &map, err) < 0)
            return err->status;
    }
    int lab = kurc_model_feed(m, &term->feeds, &term->n_feeds, labels, &ls, NULL);
    struct kurc_length_map identity = {0};
    int lab_len = kurc_model_feed(m, &term->feeds, &term->n_feeds, output_length, &one, &identity);
    int in_len = kurc_model_feed(m, &term->feeds, &term->n_feeds, input_length, &one, &map);
    term->value = kurc_emit_ctc(g, output->tensor, lab, lab_len, in_len, &spec, output->name, err);
    return term->value < 0 ? err->status : KURC_OK;
}

const struct kurc_loss_type kurc_loss_ctc = {
    .component = {"ctc",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS(
                                  KURC_LOSS_KEYS, {"input_length", &kurc_schema_string, true},
                                  {"output_length", &kurc_schema_string, true},
                                  {"output", &kurc_schema_string, true},
                                  {"relative_to", &kurc_schema_string_or_null},
                                  {"variant", KURC_SCHEMA(.types = KT_STR | KT_LIST | KT_NULL)}))},
    .build = ctc_build,
};
