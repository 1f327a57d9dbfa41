/* dropout.c - `dropout`: inverted dropout while training, the identity in
 * evaluation.  `dropout: FRACTION` or `dropout: {fraction, independent}`
 * with 0 <= fraction < 1, as in Kur.  `independent: no` asked Kur's
 * PyTorch backend for spatial dropout; its Keras backend warned and used
 * independent dropout, and so does kurc.  The mask stream is seeded from
 * the model seed and the container's name. */
#include <stdlib.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "model/model.h"
#include "ops/ops.h"

struct dropout {
    float fraction;
};

static const struct kurc_schema fraction_schema = {.types = KT_NUM, .has_min = true, .min = 0};

static const struct kurc_schema dropout_args = {
    .types = KT_NUM | KT_MAP,
    .has_min = true,
    .min = 0,
    .keys =
        (const struct kurc_schema_key[]){
            {"fraction", &fraction_schema, true},
            {"independent", &(const struct kurc_schema){.types = KT_BOOL}},
            {NULL},
        },
};

static enum kurc_status dropout_parse(struct kurc_model *m, struct kurc_container *c,
                                      struct kurc_err *err) {
    (void)m;
    struct dropout *d = kurc_xcalloc(1, sizeof *d);
    c->priv = d;
    const struct kurc_value *fraction = c->args;
    if (c->args->kind == KURC_MAP) {
        fraction = kurc_map_get(c->args, "fraction");
        const struct kurc_value *independent = kurc_map_get(c->args, "independent");
        if (independent && !independent->u.b)
            kurc_log_at(KURC_LOG_WARNING, &independent->loc,
                        "%s (dropout): only independent dropout is supported; using it", c->name);
    }
    double f = fraction->kind == KURC_INT ? (double)fraction->u.i : fraction->u.f;
    if (!(f < 1))
        return kurc_container_error(c, err, "the fraction must be at least 0 and below 1, found %g",
                                    f);
    d->fraction = (float)f;
    return KURC_OK;
}

static enum kurc_status dropout_build(struct kurc_model *m, struct kurc_container *c,
                                      const int *inputs, int n_inputs, int *out,
                                      struct kurc_err *err) {
    const struct dropout *d = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "dropout takes one input, found %d", n_inputs);
    *out = kurc_emit_dropout(m->graph, inputs[0], d->fraction, kurc_model_seed(m, c), c->name);
    return KURC_OK;
}

const struct kurc_container_type kurc_container_dropout = {
    .name = "dropout",
    .args = &dropout_args,
    .parse = dropout_parse,
    .build = dropout_build,
    .free_priv = free,
};
