/* embedding.c - `embedding: {vocab_size, size}` (both at least 1): maps
 * each index of a 1-D input (T,) to a learned row, giving (T, size).  The
 * table (vocab_size, size) starts uniform in (-0.05, 0.05), as in Keras.
 * The indices are integer-valued floats from the data; kurc_emit_gather
 * trusts them to lie in [0, vocab_size), which the data layer checks when
 * it loads them, not the model. */
#include <stdlib.h>

#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"

struct embedding {
    int64_t vocab;
    int64_t size;
};

static const struct kurc_schema embedding_args = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"vocab_size", &(const struct kurc_schema){.types = KT_INT}, true},
            {"size", &(const struct kurc_schema){.types = KT_INT}, true},
            {NULL},
        },
};

static enum kurc_status embedding_parse(struct kurc_model *m, struct kurc_container *c,
                                        struct kurc_err *err) {
    (void)m;
    struct embedding *e = kurc_xcalloc(1, sizeof *e);
    c->priv = e;
    enum kurc_status st =
        kurc_arg_int(c, kurc_map_get(c->args, "vocab_size"), "vocab_size", 1, &e->vocab, err);
    return st ? st : kurc_arg_int(c, kurc_map_get(c->args, "size"), "size", 1, &e->size, err);
}

static enum kurc_status embedding_build(struct kurc_model *m, struct kurc_container *c,
                                        const int *inputs, int n_inputs, int *out,
                                        struct kurc_err *err) {
    const struct embedding *e = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "embedding takes one input, found %d", n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    if (xs->ndim != 1) {
        char have[96];
        kurc_shape_format(xs, have, sizeof have);
        return kurc_container_error(c, err,
                                    "the input must be a 1-D sequence of indices (T,), but it "
                                    "has shape %s",
                                    have);
    }
    struct kurc_shape ts = {.ndim = 2, .dim = {e->vocab, e->size}};
    int table =
        kurc_model_param(m, c, "embeddings", &ts, KURC_INIT_UNIFORM, 0.05f, e->vocab, e->size, err);
    if (table < 0)
        return err->status;
    *out = kurc_emit_gather(m->graph, inputs[0], table, c->name, err);
    return *out < 0 ? kurc_container_error(c, err, "%s", err->msg) : KURC_OK;
}

const struct kurc_container_type kurc_container_embedding = {
    .name = "embedding",
    .args = &embedding_args,
    .parse = embedding_parse,
    .build = embedding_build,
    .free_priv = free,
};
