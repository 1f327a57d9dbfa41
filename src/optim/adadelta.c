/* adadelta.c - Adadelta (Zeiler 2012) as Keras 2.0 wrote it, with a
 * learning rate (default 1): a = rho a + (1 - rho) g^2;
 * u = g sqrt(d + eps) / sqrt(a + eps);  p -= lr u;  d = rho d + (1 - rho) u^2. */
#include "optim/optimizer.h"

static void adadelta_step(const struct kurc_optimizer *o, struct kurc_params *p, float lr) {
    o->be->ops->adadelta_step(o->be, (int64_t)p->total, lr, o->rho, o->epsilon, p->values,
                              p->grads, o->state[0], o->state[1]);
}

const struct kurc_optimizer_type kurc_optimizer_adadelta = {
    .component = {"adadelta",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS(KURC_OPTIMIZER_KEYS,
                                                {"learning_rate", &kurc_schema_number_or_null},
                                                {"rho", &kurc_schema_number_or_null},
                                                {"decay", &kurc_schema_number_or_null}))},
    .n_state = 2,
    .learning_rate = 1.0f,
    .rho = 0.95f,
    .epsilon = 1e-8f,
    .step = adadelta_step,
};
