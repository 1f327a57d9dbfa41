/* loss.c - the table of losses, and loss entries to loss ops (see
 * loss.h). */
#include "loss/loss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

/* Every loss: loss `x` is the struct kurc_loss_x defined in x.c.
 * loss/losses.def lists those definitions, sorted; the build generates it
 * (kurc_registry, CMakeLists.txt), so a loss is registered by being
 * defined. */
#define KURC_REGISTER(x) extern const struct kurc_loss_type kurc_loss_##x;
#include "loss/losses.def"
#undef KURC_REGISTER
#define KURC_REGISTER(x) &kurc_loss_##x.component,
const struct kurc_component *const kurc_loss_table[] = {
#include "loss/losses.def"
    NULL};
#undef KURC_REGISTER

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
    m->graph->tensors[term.value].external = true; /* summed after the forward pass */
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
