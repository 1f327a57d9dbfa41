/* sgd.c - stochastic gradient descent (Keras 2.0): with momentum mu,
 * v = mu v - lr g and p += v, or p += mu v - lr g with Nesterov momentum;
 * without momentum p -= lr g and no state.  `momentum` defaults to 0,
 * `nesterov` to no. */
#include "optim/optimizer.h"

struct sgd {
    float momentum;
    bool nesterov;
};

static void sgd_read(const struct kurc_value *spec, void *settings) {
    struct sgd *s = settings;
    s->momentum = kurc_optimizer_param(spec, "momentum", 0.0f);
    s->nesterov = kurc_param_flag(spec, "nesterov");
}

static void sgd_step(const struct kurc_optimizer *o, struct kurc_params *p, float lr) {
    const struct sgd *s = o->settings;
    o->be->ops->sgd_step(o->be, (int64_t)p->total, lr, s->momentum, s->nesterov, p->values,
                         p->grads, o->state[0]);
}

const struct kurc_optimizer_type kurc_optimizer_sgd = {
    .component = {"sgd",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS(KURC_OPTIMIZER_KEYS,
                                                {"learning_rate", &kurc_schema_number_or_null},
                                                {"momentum", &kurc_schema_number_or_null},
                                                {"decay", &kurc_schema_number_or_null},
                                                {"nesterov", &kurc_schema_flag}))},
    .n_state = 1,
    .learning_rate = 0.01f,
    .settings_size = sizeof(struct sgd),
    .read = sgd_read,
    .step = sgd_step,
};
