/* adadelta.c - Adadelta (Zeiler 2012) as Keras 2.0 wrote it, with a
 * learning rate (default 1): a = rho a + (1 - rho) g^2;
 * u = g sqrt(d + eps) / sqrt(a + eps);  p -= lr u;  d = rho d + (1 - rho) u^2,
 * with rho 0.95 and eps 1e-8 (not a parameter in Kur). */
#include "optim/optimizer.h"

#define EPSILON 1e-8f

struct adadelta {
    float rho;
};

static void adadelta_read(const struct kurc_value *spec, void *settings) {
    struct adadelta *s = settings;
    s->rho = kurc_optimizer_param(spec, "rho", 0.95f);
}

static void adadelta_step(const struct kurc_optimizer *o, struct kurc_params *p, float lr) {
    const struct adadelta *s = o->settings;
    o->be->ops->adadelta_step(o->be, (int64_t)p->total, lr, s->rho, EPSILON, p->values, p->grads,
                              o->state[0], o->state[1]);
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
    .settings_size = sizeof(struct adadelta),
    .read = adadelta_read,
    .step = adadelta_step,
};
