/* dist.h - the data-parallel machinery of a session: the distributed
 * settings, the gradient reduction (buckets all-reduced while backward goes
 * on, or the fixed-order sum of deterministic mode), fixed-order sums of
 * small per-chunk values, and the start-up fingerprint.
 *
 * Buckets.  The gradient arena (params.h: reverse layer order) is cut into
 * buckets of `mb` MiB after a first one of `first_mb` MiB.  A parameter's
 * gradient is final once the earliest op (in forward order) that reads it
 * has run its backward, so each bucket has an op index after which it is
 * complete; the executor's after_backward hook starts MPI_Iallreduce on
 * every bucket that became complete (always in bucket order, the same on
 * every rank) and tests the ones in flight so that MPI makes progress.
 * Before the optimizer step the session waits for the rest: that wait is
 * the exposed communication time.  With a sharded optimizer (shard.h) the
 * buckets are reduce-scattered instead: each rank gets the sums of its
 * shard's part of every bucket, half the traffic of an all-reduce.
 *
 * Deterministic mode.  Every global batch is cut into chunks of `chunk`
 * samples (the last may be shorter); rank r takes chunks [K r/W, K(r+1)/W)
 * of the K chunks and runs the executor in chunked mode (exec.h), so each
 * chunk's gradient has the same bits on any number of ranks.  The chunk
 * gradients are summed along one fixed binary tree over the chunk indices
 * (node [i 2^j, (i+1) 2^j), a node whose right half is past the last chunk
 * equals its left half): each rank sums the whole subtrees inside its
 * range as the chunks come (a stack, as in pairwise summation), sends them
 * to rank 0, which finishes the tree and broadcasts the sum.  The tree does
 * not depend on the ranks, so neither does any bit of the result.  Small
 * values (losses, batch-norm statistics) are gathered per chunk and added in
 * chunk order on every rank.  With a sharded optimizer rank 0 sends each
 * rank the sums of its shard instead of broadcasting them all.
 */
#ifndef KURC_DIST_H
#define KURC_DIST_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "comm/comm.h"
#include "config/kurfile.h"
#include "core/backend.h"
#include "core/exec.h"
#include "data/dataset.h"
#include "model/model.h"

/* The Kurfile's settings for running on several ranks (README: Running
 * on several ranks). */
struct kurc_dist_settings {
    bool deterministic;  /* settings.deterministic (no) */
    int64_t chunk;       /* settings.deterministic_chunk (8) */
    bool buckets;        /* settings.buckets given as a mapping or yes (yes) */
    double first_mb;     /* settings.buckets.first_mb (1) */
    double mb;           /* settings.buckets.mb (25) */
    bool bn_per_rank;    /* settings.batch_norm: per_rank (global) */
    bool shard;          /* settings.shard_optimizer (no): see train/shard.h */
    double comm_timeout; /* settings.comm_timeout seconds (0 off; -1, the default:
                            automatic, see comm/stall.h) */
};

enum kurc_status kurc_dist_settings_read(const struct kurc_kurfile *kf,
                                         struct kurc_dist_settings *out, struct kurc_err *err);

/* Where the current global batch's chunks are (deterministic mode). */
struct kurc_dist_slice {
    int64_t n;      /* samples in the global batch */
    int64_t chunks; /* K */
    int64_t first;  /* this rank's first chunk */
    int64_t count;  /* and how many */
};

/* Rank r's chunks of K over W ranks. */
void kurc_dist_chunk_range(int64_t chunks, int rank, int size, int64_t *first, int64_t *count);

/* Sums `width` doubles over every chunk of every rank in chunk order (each
 * rank gives its `count` rows of `width`; out gets the sums, the same bits
 * on every rank). */
enum kurc_status kurc_dist_ordered_sum(struct kurc_comm *comm, const struct kurc_dist_slice *sl,
                                       const double *partials, int64_t width, double *out,
                                       struct kurc_err *err);

/* --- the gradient reduction ------------------------------------------------ */

struct kurc_grad_sync;

/* Plans the buckets (or the deterministic tree for global batches of up
 * to max_chunks chunks) for the parameters of graph g, and hooks the
 * executor.  Nothing to do on one rank without deterministic mode: *out is
 * then NULL and costs nothing. */
enum kurc_status kurc_grad_sync_create(struct kurc_comm *comm, struct kurc_backend *be,
                                       const struct kurc_graph *g, struct kurc_params *p,
                                       const struct kurc_dist_settings *ds, int64_t max_chunks,
                                       struct kurc_exec *x, struct kurc_grad_sync **out,
                                       struct kurc_err *err);
void kurc_grad_sync_free(struct kurc_grad_sync *gs);

/* Plans *gs again for graph g (the model rebuilt for a batch of other
 * sequence lengths: the same parameters, other ops), keeping its
 * statistics.  Nothing to do when *gs is NULL. */
enum kurc_status kurc_grad_sync_replan(struct kurc_grad_sync **gs, const struct kurc_graph *g,
                                       const struct kurc_dist_settings *ds,
                                       struct kurc_err *err);

/* Arms the hook for one backward pass (sl: the deterministic slice). */
void kurc_grad_sync_begin(struct kurc_grad_sync *gs, const struct kurc_dist_slice *sl);

/* Accumulation (train.accumulate): the backward pass about to run is one
 * part of the step kurc_grad_sync_begin armed, after `done` of this rank's
 * chunks ran in earlier parts.  In deterministic mode the tree goes on
 * from there (a rank's parts are consecutive chunks of its slice, so the
 * tree and its bits are those of one pass); otherwise the gradients stay
 * local until the last part, whose backward starts the buckets.  Nothing
 * is communicated before the last part. */
void kurc_grad_sync_part(struct kurc_grad_sync *gs, int64_t done, bool last);

/* After backward: completes the reduction, so every rank holds the sum of
 * the gradients. */
enum kurc_status kurc_grad_sync_finish(struct kurc_grad_sync *gs, struct kurc_err *err);

/* Time spent waiting for communication after backward, steps and bytes
 * reduced per step, since the last call (which resets them). */
struct kurc_grad_stats {
    double exposed; /* seconds */
    double total;   /* seconds from the first bucket's start to the last's end */
    int64_t steps;
    int64_t bytes; /* per step */
    int buckets;
};
void kurc_grad_sync_stats(struct kurc_grad_sync *gs, struct kurc_grad_stats *out);

/* One line describing the plan ("3 buckets: 1.0, 25.0, 4.2 MiB"). */
void kurc_grad_sync_describe(const struct kurc_grad_sync *gs, char *buf, size_t size);

/* --- the start-up fingerprint ------------------------------------------------- */

/* Compares across ranks a hash of the resolved Kurfile, of the model's
 * parameter names and shapes, of kurc's version and of the data's contents
 * (kurc_dataset_digest; data may be NULL); a
 * difference is an error naming the ranks that differ from rank 0 ("ranks
 * 1, 3 differ from rank 0 in the Kurfile"). */
enum kurc_status kurc_dist_fingerprint(struct kurc_comm *comm, const struct kurc_kurfile *kf,
                                       const struct kurc_params *p,
                                       const struct kurc_dataset *data, struct kurc_err *err);

#endif
