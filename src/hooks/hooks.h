/* hooks.h - Kur's hooks: code that runs on results.
 *
 * Evaluation hooks (validate/test/evaluate `hooks:`) see the model's
 * outputs and, when the data has them, the truths: `mnist` prints the
 * per-digit accuracy table, `output` writes the results to a file (as
 * `evaluate.destination` does).  Training hooks (train `hooks:`) are told
 * when an epoch, a checkpoint validation or training ends: `plot` draws the
 * loss curves of the log as PNG or SVG.  An entry is `NAME` or
 * {NAME: params, when: EXPR}; `when` false skips it.  Each hook is one file
 * in src/hooks; defining it lists it in a table of hooks.c (hooks_impl.h).
 */
#ifndef KURC_HOOKS_H
#define KURC_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "config/component.h"
#include "config/value/value.h"
#include "core/tensor.h"
#include "data/dataset.h"

/* Outputs (and truths) of `count` samples, on the host. */
struct kurc_eval_result {
    size_t n;           /* outputs */
    int64_t count;      /* samples */
    const char **names; /* output names (borrowed from the model) */
    size_t n_inputs;
    const char **input_names;  /* the model's input names (borrowed) */
    struct kurc_shape *shapes; /* per sample */
    int *tensors;              /* graph tensors of the outputs */
    float **outputs;           /* count x numel each */
    float **truths;            /* NULL when there is no truth */
    const struct kurc_source **truth_sources;
    const struct kurc_dataset *data;   /* the data evaluated (borrowed) */
    int64_t *indices;                  /* count: the data sample each result is of */
    int64_t **steps;                   /* per output, count: first-axis rows computed */
    struct kurc_hook_warnings *warned; /* the run's warnings so far, or NULL */
};

/* The warnings the hooks gave during one run (one per hook entry and
 * kind), so that what every validation would repeat is said once.  Zero
 * it to start; a result without one gives every warning. */
struct kurc_hook_warnings {
    struct kurc_hook_warning *given;
    size_t n;
};
void kurc_hook_warnings_release(struct kurc_hook_warnings *w);

/* Outputs of variable length.  When the model is rebuilt per batch for
 * variable-length data (train/session.h), a batch's outputs may have fewer
 * rows on their first axis than shapes[i] (the outputs of the longest
 * data): they are stored zero-padded, and steps[i][k] tells how many rows
 * sample k's batch computed (shapes[i].dim[0] for fixed outputs; 1 for
 * scalar ones).  Hooks that decode sequences read only those rows.  The
 * trainer fills a result (train/eval_result.h). */

/* Every training hook's and every evaluation hook's component,
 * NULL-terminated (for the Kurfile's schema). */
extern const struct kurc_component *const kurc_training_hook_table[];
extern const struct kurc_component *const kurc_evaluation_hook_table[];

/* True when an evaluation hook of the list would run (or the list is
 * wrong, which running it reports). */
bool kurc_hooks_any_evaluation(const struct kurc_value *hooks);

/* Runs the evaluation hooks on r, then writes destination (NULL: none). */
enum kurc_status kurc_hooks_evaluate(const struct kurc_eval_result *r,
                                     const struct kurc_value *hooks,
                                     const struct kurc_value *destination, struct kurc_err *err);

enum kurc_train_event_kind {
    KURC_EVENT_EPOCH_END,
    KURC_EVENT_VALIDATION_END,
    KURC_EVENT_TRAINING_END,
};

struct kurc_train_event {
    enum kurc_train_event_kind kind;
    int64_t epoch;        /* epochs completed */
    int64_t total_epochs; /* -1: no limit */
    double train_loss;    /* NaN when not known */
    double valid_loss;
    const char *log_dir; /* the training log, or NULL */
    const char *reason;  /* TRAINING_END: "success" or what stopped it */
};

/* Runs the training hooks for an event (rank 0 only), checked before by
 * kurc_hooks_check_training. */
enum kurc_status kurc_hooks_training(const struct kurc_value *hooks,
                                     const struct kurc_train_event *e, struct kurc_err *err);

/* Checks every hook entry names a hook kurc can run, before training
 * starts (a hook that needs the network is refused here). */
enum kurc_status kurc_hooks_check(const struct kurc_value *hooks, bool training,
                                  struct kurc_err *err);

/* Checks the training hooks before training starts (kurc_hooks_check);
 * has_log: the training keeps a log, else each hook that draws from the
 * log gets a warning that it is ignored. */
enum kurc_status kurc_hooks_check_training(const struct kurc_value *hooks, bool has_log,
                                           struct kurc_err *err);

/* Checks evaluation hooks and a destination (NULL or null: none) before
 * testing or evaluating starts. */
enum kurc_status kurc_hooks_check_evaluation(const struct kurc_value *hooks,
                                             const struct kurc_value *destination,
                                             struct kurc_err *err);

#endif
