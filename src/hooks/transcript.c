/* transcript.c - Kur's `transcript` evaluation hook (kur/model/hooks/
 * transcript.py): the greedy CTC decoding of the first sample of the
 * results, printed with its truth.
 *
 * The output decoded is `output` (default `asr`), a sequence of class
 * scores (T, C).  Per step the first largest class is taken, repeats are
 * collapsed and blanks dropped; the blank is the last class, C - 1 (Kur:
 * the vocabulary's size), or 0 with `warp: yes` (Warp-CTC's convention,
 * the vocabulary then starting at class 1).  Only the rows the sample's
 * batch computed are read (hooks.h: steps).  Classes map to the symbols
 * of the vocabulary of the data's `transcript` source (`<input>_transcript`
 * with `input`), joined with nothing, or with spaces for `word: yes`.  The
 * truth is that source's sample, decoded the same way.  Prints, as Kur:
 *
 *     Prediction: "..."
 *     Truth: "..."
 *
 * `passthrough` chose which of Kur's chained hook values to read; kurc
 * hooks all see the model's results, so it changes nothing.  Where Kur
 * logged a problem and went on (no such output, no vocabulary), kurc stops
 * with an error naming the hook.
 */
#include "hooks/hooks_impl.h"

#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"

/* Appends the symbol of class c (shifted by offset) to out. */
static void put_symbol(struct kurc_strbuf *out, const struct kurc_source *t, int64_t c,
                       int64_t offset, const char *sep, bool *first, int64_t *unknown) {
    int64_t i = c - offset;
    if (i < 0 || i >= (int64_t)t->n_vocab) {
        ++*unknown;
        return;
    }
    kurc_strbuf_printf(out, "%s%s", *first ? "" : sep, t->vocab[i]);
    *first = false;
}

static enum kurc_status transcript_evaluate(const struct kurc_eval_result *r,
                                            const struct kurc_value *params,
                                            const struct kurc_loc *loc, struct kurc_err *err) {
    const char *sep = kurc_param_flag(params, "word") ? " " : "";
    const char *name = kurc_param_str(params, "output");
    const char *input = kurc_param_str(params, "input");
    if (!name)
        name = "asr";
    char truth_name[256];
    snprintf(truth_name, sizeof truth_name, "%s%stranscript", input ? input : "",
             input ? "_" : "");

    size_t o = 0;
    while (o < r->n && strcmp(r->names[o], name) != 0)
        o++;
    if (o == r->n) {
        struct kurc_strbuf names = KURC_STRBUF_INIT;
        for (size_t i = 0; i < r->n; i++)
            kurc_strbuf_printf(&names, "%s'%s'", i ? ", " : "", r->names[i]);
        enum kurc_status st = kurc_err_set(err, KURC_E_CONFIG, loc,
                                           "the transcript hook: the model has no output '%s' "
                                           "(its outputs: %s)",
                                           name, names.len ? names.data : "none");
        kurc_strbuf_free(&names);
        return st;
    }
    const struct kurc_source *t = r->data ? kurc_dataset_find(r->data, truth_name) : NULL;
    if (!t || !t->vocab)
        return kurc_err_set(err, KURC_E_DATA, loc,
                            "the transcript hook needs the vocabulary of the data's '%s' source "
                            "(a speech_recognition supplier makes it)",
                            truth_name);
    if (r->count == 0) {
        kurc_hook_warn_once(r, loc, "the transcript hook: there are no results");
        return KURC_OK;
    }
    const struct kurc_shape *shape = &r->shapes[o];
    if (shape->ndim != 2)
        return kurc_err_set(err, KURC_E_CONFIG, loc,
                            "the transcript hook: the output '%s' must be a sequence of class "
                            "scores (steps, classes), not %d-dimensional",
                            name, shape->ndim);
    int64_t classes = shape->dim[1];
    int64_t steps = r->steps && r->steps[o] ? r->steps[o][0] : shape->dim[0];
    bool warped = kurc_param_flag(params, "warp");
    int64_t blank = warped ? 0 : (int64_t)t->n_vocab, offset = warped ? 1 : 0;

    struct kurc_strbuf prediction = KURC_STRBUF_INIT, truth = KURC_STRBUF_INIT;
    bool first = true;
    int64_t unknown = 0, prev = -1;
    for (int64_t s = 0; s < steps; s++) {
        int64_t c = kurc_hook_argmax(r->outputs[o] + s * classes, classes);
        if (c == prev)
            continue;
        if (c != blank)
            put_symbol(&prediction, t, c, offset, sep, &first, &unknown);
        prev = c;
    }
    if (unknown)
        kurc_hook_warn_once(
            r, loc,
            "the transcript hook: %lld predicted classes are outside the vocabulary of "
            "%zu symbols (the output has %lld classes)",
            (long long)unknown, t->n_vocab, (long long)classes);
    int64_t sample = r->indices ? r->indices[0] : 0, length;
    const float *ids = kurc_source_sample(t, sample, &length);
    first = true;
    for (int64_t i = 0; i < length; i++) {
        int64_t id = (int64_t)ids[i];
        if (id >= 0 && id < (int64_t)t->n_vocab) {
            kurc_strbuf_printf(&truth, "%s%s", first ? "" : sep, t->vocab[id]);
            first = false;
        }
    }
    printf("Prediction: \"%s\"\n", prediction.len ? prediction.data : "");
    printf("Truth: \"%s\"\n", truth.len ? truth.data : "");
    fflush(stdout);
    kurc_strbuf_free(&prediction);
    kurc_strbuf_free(&truth);
    return KURC_OK;
}

const struct kurc_hook_type kurc_evaluation_hook_transcript = {
    .component = {"transcript",
                  KURC_SCHEMA(.types = KT_MAP | KT_NULL,
                              .keys = KURC_KEYS({"word", &kurc_schema_flag},
                                                {"warp", &kurc_schema_flag},
                                                {"output", &kurc_schema_string_or_null},
                                                {"input", &kurc_schema_string_or_null},
                                                {"passthrough", &kurc_schema_flag}))},
    .evaluate = transcript_evaluate,
};
