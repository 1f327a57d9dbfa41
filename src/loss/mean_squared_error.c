/* mean_squared_error.c - Kur's mean_squared_error loss: the squared error
 * of the output's rows against the truth's, per sample (kurc_emit_mse,
 * ops/ops.h). */
#include "loss/loss.h"

#include "ops/ops.h"

const struct kurc_loss_type kurc_loss_mean_squared_error = {
    .component = {"mean_squared_error",
                  KURC_SCHEMA(.types = KT_MAP, .keys = KURC_KEYS(KURC_LOSS_KEYS))},
    .emit = kurc_emit_mse,
};
