/* session.h - what running a Kurfile needs, set up once: the parsed
 * Kurfile, the model built for its data's shapes, the backend, the
 * communicator, parameters (initialised on rank 0 and broadcast), and an
 * executor big enough for the largest local batch.
 *
 * Batches are global: a provider's batch of B samples is cut into one
 * contiguous slice per rank (rank r takes samples [r B / W, (r+1) B / W)),
 * so every rank count trains on the same samples in the same order, and
 * gradients are divided by the global batch (exec.loss_scale).  In
 * deterministic mode the slices are whole chunks (dist.h).
 *
 * Distributed pieces (dist.h): the settings, the start-up fingerprint
 * (checked before anything else is exchanged), the gradient reduction the
 * trainer brackets backward with (kurc_session_backward_part), and the reduce
 * the executor's batch normalisation uses for global statistics.
 */
#ifndef KURC_SESSION_H
#define KURC_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "comm/comm.h"
#include "config/kurfile.h"
#include "core/backend.h"
#include "core/exec.h"
#include "data/dataset.h"
#include "loss/loss.h"
#include "model/model.h"
#include "optim/optimizer.h"
#include "train/dist.h"

struct kurc_bindings;
struct kurc_shard;

struct kurc_session {
    struct kurc_kurfile *kf;     /* borrowed */
    struct kurc_comm *comm;      /* borrowed */
    struct kurc_backend *be;     /* borrowed */
    struct kurc_model *model;
    struct kurc_losses losses;   /* empty when built without losses */
    struct kurc_exec *exec;
    uint64_t seed;
    bool step; /* --step: pause before each batch */
    bool with_losses;
    int64_t rebuilds; /* graph rebuilds for other input lengths */
    struct kurc_dist_settings dist;
    struct kurc_grad_sync *sync;   /* NULL: nothing to reduce (one rank) */
    struct kurc_shard *shard;      /* settings.shard_optimizer when training, else NULL */
    struct kurc_dist_slice slice;  /* the current global batch's chunks */
    double *partials;              /* per-chunk loss sums (deterministic) */
    int64_t parts; /* passes per rank of a training batch (train.accumulate) */
};

/* Parses the model, builds it for the per-sample shapes of `shapes` (a
 * dataset, or NULL for declared shapes), adds the losses when with_losses,
 * allocates and initialises the parameters (seed; rank 0's values are
 * broadcast) and an executor for max_global_batch samples split over the
 * ranks.  parts (train.accumulate, 1 otherwise): each rank runs its slice
 * of a training batch in that many passes (s->parts), so the executor is
 * sized for max_pass_batch, the largest global batch run in one pass;
 * but batch normalisation needs the statistics of the whole global batch
 * before any sample goes on, so a model with it runs its slice in one
 * pass (s->parts 1, the executor sized for max_global_batch).
 * state_arenas: the parameter-sized arenas of optimizer state that
 * training will add (kurc_optimizer_state_arenas, of which a sharded
 * optimizer keeps 1/N; 0 when not training),
 * counted when checking that the model fits in memory. */
enum kurc_status kurc_session_create(struct kurc_kurfile *kf, struct kurc_comm *comm,
                                     struct kurc_backend *be, const struct kurc_dataset *shapes,
                                     bool with_losses, int64_t max_global_batch,
                                     int64_t max_pass_batch, int64_t parts, int state_arenas,
                                     struct kurc_session **out, struct kurc_err *err);
void kurc_session_free(struct kurc_session *s);

/* Makes every rank hold rank 0's parameters and, when o is not NULL, its
 * optimizer state (after rank 0 loaded weights or a checkpoint). */
enum kurc_status kurc_session_sync(struct kurc_session *s, struct kurc_optimizer *o,
                                   struct kurc_err *err);

/* With --step, announces the next batch and waits for ENTER on rank 0. */
enum kurc_status kurc_session_step_pause(struct kurc_session *s, const char *what, int64_t batch,
                                         struct kurc_err *err);

/* Loads samples [first, first + count) of a global batch (batch[0..n),
 * from the provider) into the executor through the bindings b.  When b
 * has variable-length sources, each is padded to the longest sample of
 * the whole global batch (so every rank builds the same graph); when that
 * length differs from the graph's, the model's graph is rebuilt for the
 * batch's shapes (kurc_model_build: the same parameters), the losses are
 * added again and the executor replanned (kurc_exec_replan: its arenas
 * are reused while they are big enough).  The session is built for the
 * longest samples of its data, so training on that data never grows
 * them.  With fixed-length sources only, this is kurc_bind_load. */
enum kurc_status kurc_session_load(struct kurc_session *s, struct kurc_bindings *b,
                                   const int64_t *batch, int64_t n, int64_t first,
                                   int64_t count, struct kurc_err *err);

/* The seed a Kurfile asks for (settings.seed, default 0). */
uint64_t kurc_session_seed(const struct kurc_kurfile *kf);

/* The shuffling seed of the provider that serves `name` ("train", or a
 * validation data set's name: "default" for a list): the Kurfile's seed
 * derived with the name, so that each provider shuffles on its own and
 * `kurc data` shows the very batches training uses. */
uint64_t kurc_session_provider_seed(const struct kurc_kurfile *kf, const char *name);

/* This rank's slice [*first, *first + *count) of a global batch of n
 * (and, in deterministic mode, its chunks, kept in s->slice).  Every pass
 * calls it before loading a batch. */
void kurc_session_slice(struct kurc_session *s, int64_t n, int64_t *first, int64_t *count);

/* Backward with the gradients summed over the ranks: part `part` of
 * `parts` of a training step's backward (train.accumulate; 0 of 1
 * otherwise), `done` of this rank's chunks (deterministic mode) having run
 * in earlier parts.  The gradients stay on the rank until the last part,
 * whose backward overlaps the all-reduce of the gradient buckets (or the
 * chunks' fixed-order sum in deterministic mode); it returns once every
 * rank holds the sum (dist.h: kurc_grad_sync_part). */
enum kurc_status kurc_session_backward_part(struct kurc_session *s, int64_t part, int64_t parts,
                                            int64_t done, struct kurc_err *err);

/* Accumulation: adds the per-sample losses of the batch in the executor to
 * this rank's own sums (local: per term, then the sample count; zero them
 * first), `done` chunks into the rank's slice; nothing is communicated.
 * kurc_session_loss_reduce then gives the sums over every rank. */
void kurc_session_loss_part(struct kurc_session *s, int64_t done, double *local);
enum kurc_status kurc_session_loss_reduce(struct kurc_session *s, const double *local,
                                          double *sums, struct kurc_err *err);

/* Sums, over the ranks, each loss term's per-sample losses of the batch in
 * the executor and the number of samples: sums[i] for term i, sums[n] the
 * sample count.  (Kur's losses are sample-weighted means of these.) */
enum kurc_status kurc_session_loss_sums(struct kurc_session *s, double *sums,
                                        struct kurc_err *err);

#endif
