/* adam.c - Adam (Kingma and Ba 2015) as Keras 2.0 wrote it: beta1 0.9,
 * beta2 0.999, epsilon 1e-8, and the bias correction folded into the step
 * size: lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t) for step t = 1, 2, ... */
#include "optim/optimizer.h"

#include <math.h>

#define BETA1 0.9
#define BETA2 0.999
#define EPSILON 1e-8f

static void adam_step(const struct kurc_optimizer *o, struct kurc_params *p, float lr) {
    double t = (double)(o->iterations + 1);
    float lr_t = (float)(lr * sqrt(1.0 - pow(BETA2, t)) / (1.0 - pow(BETA1, t)));
    o->be->ops->adam_step(o->be, (int64_t)p->total, lr_t, (float)BETA1, (float)BETA2, EPSILON,
                          p->values, p->grads, o->state[0], o->state[1]);
}

const struct kurc_optimizer_type kurc_optimizer_adam = {
    .component = {"adam",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS(KURC_OPTIMIZER_KEYS,
                                                {"learning_rate", &kurc_schema_number_or_null},
                                                {"decay", &kurc_schema_number_or_null}))},
    .n_state = 2,
    .learning_rate = 0.001f,
    .step = adam_step,
};
