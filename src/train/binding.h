/* binding.h - which data source feeds which input of the graph.
 *
 * Every input tensor of a model's graph is bound to the data source of the
 * same name: a model input by any of its container's names (Kur's
 * aliases), a loss's truth by any name of the output it judges, and the
 * feeds (struct kurc_feed: sequence lengths, ctc labels) of the model and
 * of the losses by their source names; a feed needs a source with as many
 * values per sample as its tensor, and length feeds are mapped on the host
 * as they are loaded.  Sources the model does not use are ignored, as in
 * Kur.
 */
#ifndef KURC_BINDING_H
#define KURC_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "exec.h"
#include "loss/loss.h"
#include "model.h"
#include "status.h"

struct kurc_binding {
    int tensor;
    const struct kurc_source *source;
    const struct kurc_feed *feed; /* NULL: a model input or a truth */
};

struct kurc_bindings {
    struct kurc_binding *items;
    size_t n;
    float *staging;      /* host rows of one batch, for the largest tensor */
    size_t staging_size; /* floats */
};

/* Binds the model inputs (and, with losses, the truths) of m to sources of
 * d.  Every input must find a source of the same per-sample shape; the
 * error lists the sources there are.  losses may be NULL. */
enum kurc_status kurc_bind(const struct kurc_model *m, const struct kurc_losses *losses,
                           const struct kurc_dataset *d, int64_t max_rows,
                           struct kurc_bindings *out, struct kurc_err *err);
void kurc_bindings_release(struct kurc_bindings *b);

/* Copies the samples indices[0..n) of every bound source into its input
 * tensor of x (uploading to the backend) and sets x->batch to n. */
void kurc_bind_load(struct kurc_bindings *b, struct kurc_exec *x, const int64_t *indices,
                    int64_t n);

/* True when d has a source for every output of m (evaluation keeps the
 * truth only then, as Kur did). */
bool kurc_bind_has_truth(const struct kurc_model *m, const struct kurc_dataset *d);

#endif
