/* schedule.h - the learning-rate schedule of `train.optimizer`: the linear
 * scaling rule (scale_with_batch), a linear warm-up and a decay, all
 * counted in optimizer steps.
 *
 *   optimizer:
 *     learning_rate: 0.1
 *     scale_with_batch: yes     # lr x global batch / reference_batch
 *     reference_batch: 256      # required with scale_with_batch
 *     schedule:
 *       warmup_steps: 500       # or warmup_epochs: 2 (steps = epochs x steps per epoch)
 *       decay: cosine           # none (default), step, exponential, cosine, linear
 *       gamma: 0.1              # step, exponential: the factor
 *       every_steps: 1000       # step: how often (or every_epochs)
 *       total_steps: 20000      # cosine, linear: where the decay ends (or total_epochs;
 *                               # default: train.epochs x steps per epoch)
 *       final_lr: 0             # cosine, linear: the rate at total_steps (absolute)
 *
 * With peak = learning_rate x scale, optimizer step t (0-based: t steps
 * were applied before it) uses peak (t + 1) / W during a warm-up of W
 * steps; afterwards s = t - W and: none peak; step peak gamma^floor(s / E);
 * exponential peak gamma^s; cosine final + (peak - final)(1 + cos(pi u)) / 2
 * and linear peak + (final - peak) u, with u = min(s, T) / T and
 * T = total_steps - W.  The position is the optimizer's iteration count,
 * which checkpoints keep, so a resumed run continues the schedule exactly.
 * Keras' `decay` (lr / (1 + decay t)) applies on top.
 */
#ifndef KURC_SCHEDULE_H
#define KURC_SCHEDULE_H

#include <stdint.h>

#include "base/status.h"
#include "config/schema.h"
#include "config/value/value.h"

enum kurc_decay {
    KURC_DECAY_NONE,
    KURC_DECAY_STEP,
    KURC_DECAY_EXPONENTIAL,
    KURC_DECAY_COSINE,
    KURC_DECAY_LINEAR,
};

struct kurc_schedule {
    double scale;   /* global batch / reference batch (1 without scale_with_batch) */
    int64_t warmup; /* steps of linear warm-up (0: none) */
    enum kurc_decay decay;
    double gamma;
    int64_t every;   /* step decay: steps between factors */
    int64_t total;   /* cosine, linear: the step the decay ends at */
    double final_lr; /* cosine, linear: the rate from then on */
};

/* What the epoch-counted keys and the scaling rule need. */
struct kurc_schedule_context {
    int64_t steps_per_epoch; /* optimizer steps per epoch */
    int64_t epochs;          /* train.epochs (-1: not given) */
    int64_t global_batch;    /* samples per optimizer step */
};

/* The schema of `optimizer.schedule` (KURC_OPTIMIZER_KEYS). */
extern const struct kurc_schema kurc_schedule_schema;

/* Reads the schedule of an optimizer spec (NULL or no schedule keys: a
 * constant rate, scale 1); an inconsistent one is an error at the key's
 * location. */
enum kurc_status kurc_schedule_read(const struct kurc_value *optimizer,
                                    const struct kurc_schedule_context *ctx,
                                    struct kurc_schedule *out, struct kurc_err *err);

/* The learning rate of optimizer step `step` (0-based) for base rate lr. */
double kurc_schedule_rate(const struct kurc_schedule *s, double lr, int64_t step);

#endif
