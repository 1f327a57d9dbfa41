/* provider.h - Kur's batch provider: which samples make each batch.
 *
 * A provider orders a dataset's samples for each epoch and cuts the order
 * into global batches.  Keys (Kur's): batch_size (32), num_batches (all),
 * randomize (yes; forced off for test and evaluate), sort_by, sortagrad
 * (= sort_by + shuffle_after: 1), shuffle_after (0), reverse,
 * force_batch_size (drop a short last batch).
 *
 * Shuffling is reproducible: the order of epoch e is a permutation drawn
 * from (seed, e) with the counter-based RNG, whatever the number of ranks
 * that will share the batches.  Epochs before shuffle_after keep the sorted
 * (or file) order.  With num_batches each epoch stops after that many
 * batches (a random subset when shuffling).
 */
#ifndef KURC_PROVIDER_H
#define KURC_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "config/value/value.h"
#include "data/dataset.h"

struct kurc_provider {
    const struct kurc_dataset *data; /* borrowed */
    int64_t batch_size;
    int64_t num_batches; /* -1: all */
    bool randomize;
    bool force_batch_size;
    bool reverse;
    int64_t shuffle_after;
    char *sort_by;        /* source name or NULL */
    uint64_t seed;
    int64_t *order;       /* the current epoch's sample order */
    int64_t *sorted;      /* the sorted order (sort_by), or NULL */
};

/* The batch size a section's provider asks for: Kur's `batch_size or 32`
 * (absent, null and 0 all mean 32). */
int64_t kurc_provider_batch_size(const struct kurc_value *section);

/* Reads a `provider` value (NULL: defaults) for data.  shuffle false
 * forces randomize off (test, evaluate). */
enum kurc_status kurc_provider_create(const struct kurc_value *spec,
                                      const struct kurc_dataset *data, uint64_t seed, bool shuffle,
                                      struct kurc_provider **out, struct kurc_err *err);
void kurc_provider_free(struct kurc_provider *p);

/* Sets the order of epoch `epoch` (0-based). */
void kurc_provider_start_epoch(struct kurc_provider *p, int64_t epoch);

/* Batches in an epoch, and samples in all of them. */
int64_t kurc_provider_batches(const struct kurc_provider *p);
int64_t kurc_provider_samples(const struct kurc_provider *p);

/* The global sample indices of batch b of the current epoch. */
void kurc_provider_batch(const struct kurc_provider *p, int64_t b, const int64_t **indices,
                         int64_t *n);

/* The padded length of a batch of a variable-length source: its longest
 * sample among indices[0..n) (at least 1), rounded up to a multiple of the
 * source's bucket as Kur did ((L - 1) - (L - 1) % bucket + bucket).  For a
 * fixed source, shape.dim[0] (1 for a scalar shape). */
int64_t kurc_provider_length(const struct kurc_source *source, const int64_t *indices,
                             int64_t n);

/* Copies the samples `indices[0..n)` of source into out and returns the
 * first-axis length of each copied sample.  A fixed source gives n x
 * numel(shape) floats (length is ignored).  A variable-length source gives
 * n x length x inner floats, each sample padded (zeros, or repeated for
 * `fill: loop`) or cut to length; length <= 0 means
 * kurc_provider_length(source, indices, n).  Ranks that share a global
 * batch pass its length so that their slices agree. */
int64_t kurc_provider_gather(const struct kurc_source *source, const int64_t *indices,
                             int64_t n, int64_t length, float *out);

#endif
