/* components.c - kurc's components, one table per kind (see components.h). */
#include "train/components.h"

#include "data/supplier.h"
#include "hooks/hooks.h"
#include "loss/loss.h"
#include "optim/optimizer.h"

const struct kurc_components *kurc_all_components(void) {
    static const struct kurc_components all = {
        .suppliers = kurc_supplier_table,
        .training_hooks = kurc_training_hook_table,
        .evaluation_hooks = kurc_evaluation_hook_table,
        .optimizers = kurc_optimizer_table,
        .losses = kurc_loss_table,
        .default_optimizer = KURC_OPTIMIZER_DEFAULT,
    };
    return &all;
}
