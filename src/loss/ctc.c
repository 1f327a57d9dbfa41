/* ctc.c - the ctc loss {input_length, output_length, output, relative_to,
 * variant}: it reads no truth of the output's name.  Its labels (`output`,
 * padded integer labels per sample), label lengths (`output_length`) and
 * input lengths (`input_length`) are data sources of those names, fed to
 * the loss op (struct kurc_feed, model.h).  Input lengths count the
 * output's steps, or with relative_to, steps (frames) of that layer's
 * output: kurc maps them through the convolutions and poolings between
 * that layer and the output (src/ops/seqlen.h) on the host for every
 * batch, as Kur's derived source ctc_scaled_<input_length> did with its
 * shape functions.  variant: null, a name or a list of names; `warp`
 * (warp-ctc: the blank is class 0 and label k is class k + 1; kurc
 * computes it with its own kernel on the same probabilities), `loss_scale`
 * (times the batch's mean input length / 100); unknown names are ignored
 * with a warning, as in Kur.  The label width L comes from the data; a
 * bare build (no data) assumes the output's steps.
 */
#include "loss/loss.h"

#include <string.h>

#include "base/log.h"
#include "ops/ops.h"
#include "ops/seqlen.h"

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
