/* categorical_crossentropy.c - Kur's categorical_crossentropy loss: the
 * cross-entropy of the output's rows against the truth's, per sample
 * (kurc_emit_cce, ops/ops.h). */
#include "loss/loss.h"

#include "ops/ops.h"

const struct kurc_loss_type kurc_loss_categorical_crossentropy = {
    .component = {"categorical_crossentropy",
                  KURC_SCHEMA(.types = KT_MAP, .keys = KURC_KEYS(KURC_LOSS_KEYS))},
    .emit = kurc_emit_cce,
};
