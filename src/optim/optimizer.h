/* optimizer.h - the Kurfile's `train.optimizer`: Keras 2.0 update rules
 * with Kur's defaults, gradient clipping, and the optimizer's state.
 *
 * `optimizer: NAME` or {name, learning_rate, decay, clip: {norm | abs},
 * ...the optimizer's own hyperparameters}; no name means adam
 * (KURC_OPTIMIZER_DEFAULT).  As in Kur, a parameter given as 0 falls back to its
 * default (Kur read them with `x or default`).  What every optimizer
 * shares is read here: the learning rate decays as lr / (1 + decay *
 * iterations); clipping acts on the gradient of the whole model (the
 * all-reduced one under MPI): `norm` rescales it when its global L2 norm
 * exceeds the limit, `abs` clamps every element.  Each optimizer reads its
 * own hyperparameters (momentum, rho, ...) into settings of its own.
 * State lives in flat arenas laid out like the parameters (params.h), so
 * a step is one kernel over all parameters.
 *
 * An optimizer is a struct kurc_optimizer_type in a file of its own under
 * src/optim, with the schema of its parameters; defining it lists it in
 * the table of optimizer.c.  Its step is a backend kernel
 * (core/backend.h).
 */
#ifndef KURC_OPTIMIZER_H
#define KURC_OPTIMIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "config/component.h"
#include "config/value/value.h"
#include "core/backend.h"
#include "core/params.h"
#include "optim/schedule.h"

enum kurc_clip {
    KURC_CLIP_NONE,
    KURC_CLIP_NORM,
    KURC_CLIP_ABS,
};

/* The optimizer of an `optimizer` that names none (Kur's default). */
#define KURC_OPTIMIZER_DEFAULT "adam"

struct kurc_optimizer;

/* The keys every optimizer's schema starts with: name, clip {norm | abs},
 * scale_rate and scale_mode (linear or sqrt), and the learning-rate
 * schedule's (optim/schedule.h). */
#define KURC_OPTIMIZER_KEYS                                                                      \
    {"name", &kurc_schema_string}, {"clip", &kurc_optimizer_clip},                               \
        {"scale_rate", &kurc_schema_string_or_null}, {"scale_mode", &kurc_optimizer_scale_mode}, \
        {"schedule", &kurc_schedule_schema}, {"scale_with_batch", &kurc_schema_flag},            \
        {"reference_batch", &kurc_optimizer_reference_batch}
extern const struct kurc_schema kurc_optimizer_clip;
extern const struct kurc_schema kurc_optimizer_scale_mode;
extern const struct kurc_schema kurc_optimizer_reference_batch;

/* One optimizer kind. */
struct kurc_optimizer_type {
    struct kurc_component component; /* name, parameter schema */
    int n_state;                     /* state arenas per parameter value */
    float learning_rate;             /* Kur's default */
    size_t settings_size;            /* bytes of its own settings (0: none) */
    /* Reads its own hyperparameters from spec (a mapping, or anything
     * else for none) into settings.  NULL: it has none. */
    void (*read)(const struct kurc_value *spec, void *settings);
    /* Applies one update with learning rate lr (decay already applied). */
    void (*step)(const struct kurc_optimizer *o, struct kurc_params *p, float lr);
};

struct kurc_optimizer {
    const struct kurc_optimizer_type *type;
    struct kurc_backend *be;
    float learning_rate;
    float decay;
    enum kurc_clip clip;
    float clip_value;
    void *settings;     /* the type's own hyperparameters, or NULL */
    int64_t iterations; /* updates applied so far: the schedule's position */
    struct kurc_schedule schedule; /* constant (scale 1) until kurc_schedule_read fills it */
    /* the part of the arenas it keeps state for and updates: floats
     * [lo, lo + n), all of them unless sharded (settings.shard_optimizer) */
    size_t lo, n;
    /* clipping by norm sums squares by blocks (kurc_optimizer_norm_block),
     * as a sharded optimizer does: set in deterministic mode, where both
     * must give the same bits */
    bool block_norm;
    float *state[2]; /* backend arenas of n floats, for floats lo.. of the parameters */
};

/* Every optimizer's component, NULL-terminated (for the Kurfile's schema). */
extern const struct kurc_component *const kurc_optimizer_table[];

/* A hyperparameter of spec: the number given, or fallback when it is
 * absent, null or 0 (Kur's `value or default`); a 0 given is warned about
 * at its place in the Kurfile. */
float kurc_optimizer_param(const struct kurc_value *spec, const char *key, float fallback);

/* The parameter-sized arenas of state the optimizer spec describes keeps
 * (adam 2, momentum sgd 1, ...); 2, the most any keeps, when it names no
 * known optimizer (kurc_optimizer_create reports that). */
int kurc_optimizer_state_arenas(const struct kurc_value *spec);

/* Builds the optimizer a `train.optimizer` value describes (NULL: adam
 * with defaults) for the parameters of p (allocated), with zeroed state. */
enum kurc_status kurc_optimizer_create(const struct kurc_value *spec, struct kurc_params *p,
                                       struct kurc_backend *be, struct kurc_optimizer **out,
                                       struct kurc_err *err);
void kurc_optimizer_free(struct kurc_optimizer *o);

/* The learning rate the next step will use: the schedule's rate at
 * iterations, with Keras' decay. */
float kurc_optimizer_rate(const struct kurc_optimizer *o);

/* As kurc_optimizer_create, with state only for floats [lo, lo + n) of
 * the parameters' arenas (a rank's shard). */
enum kurc_status kurc_optimizer_create_shard(const struct kurc_value *spec, size_t lo, size_t n,
                                             struct kurc_backend *be,
                                             struct kurc_optimizer **out, struct kurc_err *err);

/* Norm clipping by blocks (block_norm, and sharded) sums the squares of
 * the gradient in blocks of this many floats (for arenas of `total`
 * floats: a power of two, at least 256, at most 1024 blocks), each in
 * double, then adds the blocks' sums in block order; a sharded optimizer
 * whose shards are whole blocks gets the same bits as an unsharded one. */
size_t kurc_optimizer_norm_block(size_t total);

/* out[i]: the sum of squares of gradient block first + i, for the blocks
 * covering floats [lo, lo + n) (lo a block boundary). */
void kurc_optimizer_block_squares(const struct kurc_optimizer *o, const struct kurc_params *p,
                                  size_t lo, size_t n, double *out);

/* Clips gradient floats [lo, lo + n) given the whole gradient's L2 norm
 * (used by clip: norm only). */
void kurc_optimizer_clip_range(const struct kurc_optimizer *o, struct kurc_params *p, size_t lo,
                               size_t n, double norm);

/* Updates parameter floats [lo, lo + n) (inside the optimizer's own) with
 * the learning rate times lr_scale; the iteration is not counted. */
void kurc_optimizer_update(const struct kurc_optimizer *o, struct kurc_params *p, size_t lo,
                           size_t n, float lr_scale);

/* Clips the gradients of p, applies one update with the learning rate times
 * lr_scale, and counts the iteration.  Returns the gradient's global L2 norm
 * before clipping (computed when clipping by norm, else 0). */
double kurc_optimizer_step(struct kurc_optimizer *o, struct kurc_params *p, float lr_scale);

#endif
