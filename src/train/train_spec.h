/* train_spec.h - what the `train` and `validate` sections ask of a training
 * run, read once from the parsed Kurfile with Kur's rules:
 *
 *  - stopping: `epochs: N` or {number, mode} (legacy) folded into
 *    `stop_when: {epochs, elapsed, mode}`, stop_when winning; epochs may be
 *    inf/all/infinite/infinity; elapsed is minutes or {days, hours,
 *    minutes, clock: all|train|validate|batch}; mode additional (default:
 *    N more epochs) or total (counted from the log);
 *  - weights: `train.weights: PATH` loads PATH and saves the best training
 *    loss there unless validate.weights is given; {initial, must_exist,
 *    best, last}; `validate.weights: PATH` or {best: PATH} saves the best
 *    validation loss; paths get ~ and $VAR expanded;
 *  - checkpoint: `PATH` (every epoch) or {path (default "checkpoint"),
 *    epochs, batches, samples, minutes, validation}; with no trigger, every
 *    epoch;
 *  - log: `PATH` or {path, ...};
 *  - accumulate: K micro-batches of provider.batch_size per optimizer
 *    step (1).
 */
#ifndef KURC_TRAIN_SPEC_H
#define KURC_TRAIN_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "config/kurfile.h"

enum kurc_clock {
    KURC_CLOCK_ALL,
    KURC_CLOCK_TRAIN,
    KURC_CLOCK_VALIDATE,
    KURC_CLOCK_BATCH,
};

struct kurc_train_spec {
    int64_t epochs;         /* -1: no limit */
    double elapsed_seconds; /* < 0: no limit */
    enum kurc_clock clock;
    bool total_mode;
    char *initial;          /* weights to start from, or NULL */
    bool must_exist;
    char *best_train;       /* NULLs: not saved */
    char *best_valid;
    char *last;
    char *checkpoint;       /* checkpoint file, or NULL */
    int64_t checkpoint_epochs;
    int64_t checkpoint_batches;
    int64_t checkpoint_samples;
    double checkpoint_minutes;
    int64_t checkpoint_validation; /* 0 none, -1 all, N batches per data set */
    char *log;              /* log directory, or NULL */
    int64_t accumulate;     /* micro-batches per optimizer step */
};

enum kurc_status kurc_train_spec_read(const struct kurc_kurfile *kf, struct kurc_train_spec *out,
                                      struct kurc_err *err);
void kurc_train_spec_release(struct kurc_train_spec *s);

/* A weights path of a `test` or `evaluate` section (`weights: PATH` or
 * {initial: PATH}), expanded, or NULL; *must_exist from the section. */
char *kurc_section_weights(const struct kurc_value *section, bool *must_exist);

#endif
