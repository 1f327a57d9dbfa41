/* loss.h - the Kurfile's `loss` section as loss ops on the model's
 * outputs.
 *
 * Each entry {target: OUTPUT, name: LOSS, weight: w} adds one per-sample
 * loss op on the output named OUTPUT, with a truth input of the same name
 * and shape (the data source the output is trained against).  The total is
 * the weighted sum (weight 1 by default; Kur documented the weight but
 * raised on it).  Loss kinds are a table (loss.c); ctc arrives with the
 * sequence models.
 */
#ifndef KURC_LOSS_H
#define KURC_LOSS_H

#include <stddef.h>

#include "model.h"
#include "status.h"

struct kurc_loss_term {
    const char *target; /* output name (borrowed from the model) */
    const char *name;   /* loss kind */
    float weight;
    int truth;  /* truth input tensor */
    int value;  /* per-sample loss tensor */
};

struct kurc_losses {
    struct kurc_loss_term *terms;
    size_t n;
};

/* Adds the loss ops of section (the parsed `loss` list) to m's graph (after
 * kurc_model_build).  Outputs without a loss stay outputs only; a loss on a
 * name that is not an output is an error. */
enum kurc_status kurc_losses_build(struct kurc_model *m, const struct kurc_value *section,
                                   struct kurc_losses *out, struct kurc_err *err);
void kurc_losses_release(struct kurc_losses *losses);

#endif
