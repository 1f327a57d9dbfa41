/* activation.c - `activation: NAME`: an element-wise activation (Keras
 * names; none/null is the identity), or softmax over the last axis.
 * `activation: {type: leakyrelu, alpha: 0.1}` sets the parameter of elu
 * and leakyrelu. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"

struct activation {
    enum kurc_act act;
    bool softmax;
    float alpha;
};

static const struct kurc_schema activation_args = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .choices = kurc_activation_names,
    .keys =
        (const struct kurc_schema_key[]){
            {"type",
             &(const struct kurc_schema){.types = KT_STR | KT_NULL,
                                         .choices = kurc_activation_names}},
            {"alpha", &(const struct kurc_schema){.types = KT_NUM}},
            {NULL},
        },
};

static enum kurc_status activation_parse(struct kurc_model *m, struct kurc_container *c,
                                         struct kurc_err *err) {
    (void)m;
    (void)err;
    struct activation *a = kurc_xcalloc(1, sizeof *a);
    c->priv = a;
    const struct kurc_value *type = c->args;
    if (c->args && c->args->kind == KURC_MAP)
        type = kurc_map_get(c->args, "type");
    kurc_activation_lookup(type && type->kind == KURC_STR ? type->u.str.s : "linear", &a->act,
                           &a->softmax, &a->alpha);
    const struct kurc_value *alpha = c->args && c->args->kind == KURC_MAP
                                         ? kurc_map_get(c->args, "alpha")
                                         : NULL;
    if (alpha)
        a->alpha = (float)(alpha->kind == KURC_INT ? (double)alpha->u.i : alpha->u.f);
    return KURC_OK;
}

static enum kurc_status activation_build(struct kurc_model *m, struct kurc_container *c,
                                         const int *inputs, int n_inputs, int *out,
                                         struct kurc_err *err) {
    const struct activation *a = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "activation takes one input, found %d", n_inputs);
    *out = a->softmax ? kurc_emit_softmax(m->graph, inputs[0], false, c->name)
                      : kurc_emit_activation(m->graph, inputs[0], a->act, a->alpha, c->name);
    return KURC_OK;
}

const struct kurc_container_type kurc_container_activation = {
    .name = "activation",
    .anonymous = true,
    .args = &activation_args,
    .parse = activation_parse,
    .build = activation_build,
    .free_priv = free,
};
