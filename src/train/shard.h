/* shard.h - settings.shard_optimizer (ZeRO stage 1): each rank keeps the
 * optimizer state of one contiguous part of the parameter arena and
 * updates only that part.
 *
 * Shards.  The arena (params.h) is cut at the blocks of norm clipping
 * (kurc_optimizer_norm_block): rank r of W owns blocks [B r / W, B (r+1) / W)
 * of the B blocks, so shard boundaries are aligned (at least 256 floats)
 * and depend only on the model and W.  The gradient reduction (dist.c)
 * leaves each rank the sums of its shard (reduce-scatter by bucket; in
 * deterministic mode the whole sum, of which it uses its shard).
 *
 * The step.  Clipping by norm adds every block's sum of squares in block
 * order (each rank computes its blocks', then all are gathered), so the
 * norm has the bits of the unsharded one; every rank clips and updates its
 * shard piece by piece (pieces of settings.buckets.mb), and each updated
 * piece is all-gathered while the next is updated.  Every update is
 * elementwise, so the parameters have the bits of an unsharded run given
 * the same gradient sums.
 *
 * Checkpoints.  Rank 0 gathers the optimizer state into an unsharded
 * optimizer to write it (the file is the one an unsharded run writes) and
 * scatters the state it reads to the ranks' shards, so a run may resume on
 * any number of ranks, sharded or not.
 */
#ifndef KURC_SHARD_H
#define KURC_SHARD_H

#include <stddef.h>

#include "base/status.h"
#include "comm/comm.h"
#include "core/params.h"
#include "optim/optimizer.h"
#include "train/dist.h"

struct kurc_shard;

/* The boundaries of the shards of an arena of total floats over `size`
 * ranks: rank r owns floats [bounds[r], bounds[r + 1]) (size + 1 values). */
void kurc_shard_bounds(size_t total, int size, size_t *bounds);

/* How floats [lo, hi) of the arena fall on the shards: counts[r] of them
 * are rank r's, from displs[r] (relative to lo). */
void kurc_shard_split(const size_t *bounds, int size, size_t lo, size_t hi, int *counts,
                      int *displs);

/* Plans the shards of p for comm (the pieces of the gather from ds);
 * an error when the communicator cannot reduce-scatter and gather. */
enum kurc_status kurc_shard_create(struct kurc_comm *comm, const struct kurc_params *p,
                                   const struct kurc_dist_settings *ds, struct kurc_shard **out,
                                   struct kurc_err *err);
void kurc_shard_free(struct kurc_shard *sh);

/* This rank's shard: floats [*lo, *lo + *n). */
void kurc_shard_range(const struct kurc_shard *sh, size_t *lo, size_t *n);

/* One optimizer step of a sharded optimizer o (clip, update, iteration
 * counted) once the gradient reduction has finished, ending with every
 * rank holding all the parameters. */
enum kurc_status kurc_shard_step(struct kurc_shard *sh, struct kurc_optimizer *o,
                                 struct kurc_params *p, float lr_scale, struct kurc_err *err);

/* For checkpoints: on rank 0, *full gets an unsharded optimizer holding
 * every rank's state (the others get NULL); every rank calls it. */
enum kurc_status kurc_shard_gather_state(struct kurc_shard *sh, const struct kurc_optimizer *o,
                                         const struct kurc_params *p,
                                         struct kurc_optimizer **full, struct kurc_err *err);

/* An unsharded optimizer like o (state zeroed), for rank 0 to read a
 * checkpoint into. */
enum kurc_status kurc_shard_full_create(const struct kurc_optimizer *o,
                                        const struct kurc_params *p,
                                        struct kurc_optimizer **full, struct kurc_err *err);

/* Gives every rank its shard of rank 0's `full` (the others pass NULL) and
 * its iteration count; every rank calls it. */
enum kurc_status kurc_shard_scatter_state(struct kurc_shard *sh,
                                          const struct kurc_optimizer *full,
                                          struct kurc_optimizer *o, struct kurc_err *err);

/* Frees what kurc_shard_gather_state or kurc_shard_full_create made. */
void kurc_shard_full_free(struct kurc_optimizer *full);

/* One line for -v: the optimizer-state bytes this rank and every rank
 * holds, and what an unsharded optimizer would hold. */
void kurc_shard_describe(const struct kurc_shard *sh, int n_state, char *buf, size_t size);

#endif
