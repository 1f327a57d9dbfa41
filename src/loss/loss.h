/* loss.h - the Kurfile's `loss` section as loss ops on the model's
 * outputs.
 *
 * Each entry {target: OUTPUT, name: LOSS, weight: w, ...} adds one
 * per-sample loss op on the output named OUTPUT.  Most losses compare it
 * with a truth input of the same name and shape (the data source the
 * output is trained against); others (ctc) read their own parameters and
 * feed other data sources.  The total is the weighted sum (weight 1 by
 * default; Kur documented the weight but raised on it).
 *
 * A loss is a struct kurc_loss_type in a file of its own under src/loss,
 * with the schema of its entry, named kurc_loss_NAME: defining it lists it
 * in the table of loss.c.
 */
#ifndef KURC_LOSS_H
#define KURC_LOSS_H

#include <stddef.h>

#include "base/status.h"
#include "config/component.h"
#include "model/model.h"

struct kurc_loss_term {
    const char *target; /* output name (borrowed from the model) */
    const char *name;   /* loss kind */
    float weight;
    int truth;  /* truth input tensor, named as the output (-1: none, ctc) */
    int value;  /* per-sample loss tensor */
    struct kurc_feed *feeds; /* other inputs fed from data sources (ctc) */
    size_t n_feeds;
};

struct kurc_losses {
    struct kurc_loss_term *terms;
    size_t n;
};

/* The keys every loss's schema starts with: target, name and weight. */
#define KURC_LOSS_KEYS                                                                           \
    {"target", &kurc_schema_string, true}, {"name", &kurc_schema_string, true},                  \
        {"weight", &kurc_schema_number_or_null}

/* One loss kind: exactly one of emit and build is set. */
struct kurc_loss_type {
    struct kurc_component component; /* name, schema of the entry */
    /* Emits the per-sample loss of pred against truth, an input of its
     * name and shape; returns the tensor, or -1 with err set. */
    int (*emit)(struct kurc_graph *g, int pred, int truth, float weight, const char *name,
                struct kurc_err *err);
    /* Builds a loss that needs more than a truth named as its output from
     * its entry: fills term->value and term->feeds (term->truth stays -1). */
    enum kurc_status (*build)(struct kurc_model *m, const struct kurc_value *entry,
                              const struct kurc_model_io *output, float weight,
                              struct kurc_loss_term *term, struct kurc_err *err);
};

/* Every loss's component, NULL-terminated (for the Kurfile's schema). */
extern const struct kurc_component *const kurc_loss_table[];

/* Adds the loss ops of section (the parsed `loss` list) to m's graph (after
 * kurc_model_build).  Outputs without a loss stay outputs only; a loss on a
 * name that is not an output is an error. */
enum kurc_status kurc_losses_build(struct kurc_model *m, const struct kurc_value *section,
                                   struct kurc_losses *out, struct kurc_err *err);
void kurc_losses_release(struct kurc_losses *losses);

#endif
