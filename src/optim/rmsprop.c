/* rmsprop.c - RMSprop (Tieleman and Hinton 2012) as Keras 2.0 wrote it:
 * a = rho a + (1 - rho) g^2;  p -= lr g / (sqrt(a) + epsilon), with rho
 * 0.9 and epsilon 1e-8 by default. */
#include "optim/optimizer.h"

struct rmsprop {
    float rho;
    float epsilon;
};

static void rmsprop_read(const struct kurc_value *spec, void *settings) {
    struct rmsprop *s = settings;
    s->rho = kurc_optimizer_param(spec, "rho", 0.9f);
    s->epsilon = kurc_optimizer_param(spec, "epsilon", 1e-8f);
}

static void rmsprop_step(const struct kurc_optimizer *o, struct kurc_params *p, float lr) {
    const struct rmsprop *s = o->settings;
    o->be->ops->rmsprop_step(o->be, (int64_t)p->total, lr, s->rho, s->epsilon, p->values, p->grads,
                             o->state[0]);
}

const struct kurc_optimizer_type kurc_optimizer_rmsprop = {
    .component = {"rmsprop",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS(KURC_OPTIMIZER_KEYS,
                                                {"learning_rate", &kurc_schema_number_or_null},
                                                {"rho", &kurc_schema_number_or_null},
                                                {"epsilon", &kurc_schema_number_or_null},
                                                {"decay", &kurc_schema_number_or_null}))},
    .n_state = 1,
    .learning_rate = 0.001f,
    .settings_size = sizeof(struct rmsprop),
    .read = rmsprop_read,
    .step = rmsprop_step,
};
