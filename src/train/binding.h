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
 *
 * Variable-length sources (dataset.h) bind to inputs whose first axis is
 * free: the per-sample shapes must agree on every other axis, and each
 * batch is padded to its own length; kurc_session_load (session.h)
 * rebuilds the graph when that length changes.
 */
#ifndef KURC_BINDING_H
#define KURC_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "core/exec.h"
#include "data/dataset.h"
#include "loss/loss.h"
#include "model/model.h"

enum kurc_binding_kind {
    KURC_BIND_INPUT,     /* model input `which` */
    KURC_BIND_TRUTH,     /* the truth of loss term `which` */
    KURC_BIND_FEED,      /* the model's feed `which` (sequence lengths) */
    KURC_BIND_LOSS_FEED, /* feed `sub` of loss term `which` (ctc) */
};

struct kurc_binding {
    int tensor;
    const struct kurc_source *source;
    const struct kurc_feed *feed; /* NULL: a model input or a truth */
    enum kurc_binding_kind kind;
    size_t which, sub;
    int64_t length; /* variable-length source: the padded length of the batch loaded */
};

struct kurc_bindings {
    struct kurc_binding *items;
    size_t n;
    const struct kurc_dataset *data; /* borrowed */
    bool ragged;                     /* some bound source has variable lengths */
    float *staging;                  /* host rows of one batch, for the largest tensor */
    size_t staging_size;             /* floats */
};

/* Binds the model inputs (and, with losses, the truths and the losses'
 * feeds) of m to sources of d.  Every input must find a source of
 * the same per-sample shape (but the first axis of a variable-length one);
 * the error lists the sources there are.  losses may be NULL. */
enum kurc_status kurc_bind(const struct kurc_model *m, const struct kurc_losses *losses,
                           const struct kurc_dataset *d, int64_t max_rows,
                           struct kurc_bindings *out, struct kurc_err *err);
void kurc_bindings_release(struct kurc_bindings *b);

/* Finds the bound tensors again in m's current graph (after a rebuild).
 * Fails when a tensor has gone or its shape no longer fits its source. */
enum kurc_status kurc_bind_refresh(struct kurc_bindings *b, const struct kurc_model *m,
                                   const struct kurc_losses *losses, struct kurc_err *err);

/* Copies the samples indices[0..n) of every bound source into its input
 * tensor of x (uploading to the backend) and sets x->batch to n;
 * variable-length sources are padded to their binding's length. */
void kurc_bind_load(struct kurc_bindings *b, struct kurc_exec *x, const int64_t *indices,
                    int64_t n);

/* True when d has a source for every output of m (evaluation keeps the
 * truth only then, as Kur did). */
bool kurc_bind_has_truth(const struct kurc_model *m, const struct kurc_dataset *d);

#endif
