/* loss.c - loss entries to loss ops (see loss.h): one table row per loss
 * kind. */
#include "loss.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ops/ops.h"
#include "strbuf.h"
#include "xalloc.h"

typedef int (*emit_fn)(struct kurc_graph *g, int pred, int truth, float weight, const char *name,
                       struct kurc_err *err);

static const struct {
    const char *name;
    emit_fn emit;
} kinds[] = {
    {"categorical_crossentropy", kurc_emit_cce},
    {"mean_squared_error", kurc_emit_mse},
};

static const struct kurc_model_io *find_output(const struct kurc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_outputs; i++)
        if (strcmp(m->outputs[i].name, name) == 0)
            return &m->outputs[i];
    return NULL;
}

static enum kurc_status add_term(struct kurc_model *m, const struct kurc_value *entry,
                                 struct kurc_losses *out, struct kurc_err *err) {
    const struct kurc_value *target = kurc_map_get(entry, "target");
    const struct kurc_value *name = kurc_map_get(entry, "name");
    const struct kurc_value *weight = kurc_map_get(entry, "weight");
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
    emit_fn emit = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, name->u.str.s) == 0)
            emit = kinds[i].emit;
    if (!emit)
        return kurc_err_set(err, KURC_E_CONFIG, &name->loc,
                            "loss: '%s' is not available in this build of kurc", name->u.str.s);
    float w = 1.0f;
    if (weight && weight->kind != KURC_NULL)
        w = (float)(weight->kind == KURC_INT ? (double)weight->u.i : weight->u.f);
    int truth = kurc_graph_add_tensor(m->graph, KURC_TENSOR_INPUT,
                                      kurc_graph_shape(m->graph, output->tensor), -1, false,
                                      output->name);
    int value = emit(m->graph, output->tensor, truth, w, output->name, err);
    if (value < 0)
        return kurc_err_set(err, KURC_E_CONFIG, &entry->loc, "loss on '%s': %s", output->name,
                            err->msg);
    out->terms = kurc_xrealloc(out->terms, (out->n + 1) * sizeof *out->terms);
    out->terms[out->n++] =
        (struct kurc_loss_term){output->name, kurc_xstrdup(name->u.str.s), w, truth, value};
    return KURC_OK;
}

enum kurc_status kurc_losses_build(struct kurc_model *m, const struct kurc_value *section,
                                   struct kurc_losses *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; section && section->kind == KURC_LIST && i < section->u.list.len && !st;
         i++)
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
    for (size_t i = 0; i < losses->n; i++)
        free((char *)losses->terms[i].name);
    free(losses->terms);
    memset(losses, 0, sizeof *losses);
}
