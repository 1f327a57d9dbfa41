/* loss_pass.h - one pass of forward-only loss computation over a data set
 * (validation during training, and `kurc test`). */
#ifndef KURC_LOSS_PASS_H
#define KURC_LOSS_PASS_H

#include <stdbool.h>
#include <stdint.h>

#include "data/provider.h"
#include "train/binding.h"
#include "train/session.h"

/* Runs up to max_batches (-1: all) batches of provider p, ordered as epoch
 * `pass`, with dropout off, and sums each loss term's per-sample losses
 * and the samples over all ranks into sums[0..n_terms].  label (e.g.
 * "Validating") heads the progress bar rank 0 prints when show is true. */
enum kurc_status kurc_loss_pass(struct kurc_session *s, struct kurc_provider *p,
                                struct kurc_bindings *b, int64_t pass, int64_t max_batches,
                                const char *label, bool show, double *sums,
                                struct kurc_err *err);

/* The Kur-style loss of sums: the sum over terms of weight x mean. */
double kurc_loss_total(const struct kurc_session *s, const double *sums);

#endif
