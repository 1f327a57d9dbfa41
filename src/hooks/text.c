/* text.c - Kur's `text` evaluation hook (kur/model/hooks/text_hook.py):
 * the first result of a model trained on the text supplier's sources,
 * printed as text.  As Kur, it prints
 *
 *     Input:
 *     in_seq: "the raw text of every model input"
 *     Prediction:
 *     out_char: "each output decoded: per step its first largest class"
 *     Truth:
 *     out_char: "the raw text of every output's data source"
 *
 * The prediction is not collapsed (unlike transcript's CTC decoding): one
 * symbol of the output's vocabulary per step the sample's batch computed,
 * joined with nothing.  The raw texts and vocabularies are those the text
 * supplier keeps with its sources (a list value's symbols are spaced).
 * Where Kur raised a KeyError (no such source, no raw text), kurc stops
 * with an error naming the hook and the source.
 */
#include "hooks/hooks_impl.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/strbuf.h"
#include "base/xalloc.h"

/* The data source `name` with its raw text (and, for `need_vocab`, its
 * vocabulary), or an error naming it. */
static enum kurc_status text_source(const struct kurc_eval_result *r, const char *name,
                                    bool need_vocab, const struct kurc_loc *loc,
                                    const struct kurc_source **out, struct kurc_err *err) {
    const struct kurc_source *s = r->data ? kurc_dataset_find(r->data, name) : NULL;
    *out = s;
    if (s && s->text && (s->vocab || !need_vocab))
        return KURC_OK;
    return kurc_err_set(err, KURC_E_DATA, loc,
                        "the text hook needs the raw text%s of the data's '%s' source (a text "
                        "supplier makes %s)",
                        need_vocab ? " and the vocabulary" : "", name, need_vocab ? "them" : "it");
}

/* Output o of result 0 decoded: per computed step the symbol of the first
 * largest score; classes beyond the vocabulary are counted in *unknown. */
static void decode(const struct kurc_eval_result *r, size_t o, const struct kurc_source *s,
                   struct kurc_strbuf *out, int64_t *unknown) {
    const struct kurc_shape *shape = &r->shapes[o];
    int64_t classes = shape->ndim ? shape->dim[shape->ndim - 1] : 1;
    int64_t steps = kurc_shape_numel(shape) / (classes ? classes : 1);
    if (r->steps && r->steps[o] && shape->ndim == 2)
        steps = r->steps[o][0];
    for (int64_t t = 0; t < steps; t++) {
        int64_t c = kurc_hook_argmax(r->outputs[o] + t * classes, classes);
        if (c < (int64_t)s->n_vocab)
            kurc_strbuf_printf(out, "%s", s->vocab[c]);
        else
            ++*unknown;
    }
}

static enum kurc_status text_evaluate(const struct kurc_eval_result *r,
                                      const struct kurc_value *params, const struct kurc_loc *loc,
                                      struct kurc_err *err) {
    (void)params;
    const struct kurc_source **in = kurc_xcalloc(r->n_inputs + 1, sizeof *in);
    const struct kurc_source **truth = kurc_xcalloc(r->n + 1, sizeof *truth);
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < r->n_inputs && st == KURC_OK; i++)
        st = text_source(r, r->input_names[i], false, loc, &in[i], err);
    for (size_t o = 0; o < r->n && st == KURC_OK; o++)
        st = text_source(r, r->names[o], true, loc, &truth[o], err);
    if (st == KURC_OK && r->count == 0)
        kurc_hook_warn_once(r, loc, "the text hook: there are no results");
    if (st != KURC_OK || r->count == 0) {
        free(in);
        free(truth);
        return st;
    }
    int64_t sample = r->indices ? r->indices[0] : 0, unknown = 0;
    printf("Input:\n");
    for (size_t i = 0; i < r->n_inputs; i++)
        printf("%s: \"%s\"\n", r->input_names[i], in[i]->text[sample] ? in[i]->text[sample] : "");
    printf("Prediction:\n");
    for (size_t o = 0; o < r->n; o++) {
        struct kurc_strbuf p = KURC_STRBUF_INIT;
        decode(r, o, truth[o], &p, &unknown);
        printf("%s: \"%s\"\n", r->names[o], p.len ? p.data : "");
        kurc_strbuf_free(&p);
    }
    printf("Truth:\n");
    for (size_t o = 0; o < r->n; o++)
        printf("%s: \"%s\"\n", r->names[o], truth[o]->text[sample] ? truth[o]->text[sample] : "");
    fflush(stdout);
    if (unknown)
        kurc_hook_warn_once(r, loc,
                            "the text hook: %lld predicted classes are outside the vocabulary",
                            (long long)unknown);
    free(in);
    free(truth);
    return KURC_OK;
}

const struct kurc_hook_type kurc_evaluation_hook_text = {
    .component = {"text", KURC_SCHEMA(.types = KT_NULL)},
    .evaluate = text_evaluate,
};
