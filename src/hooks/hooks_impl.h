/* hooks_impl.h - what the hook runner (hooks.c) and the hooks share: the
 * type of a hook and numpy's argmax.
 *
 * A hook is a struct kurc_hook_type in a file of its own under src/hooks,
 * with the schema of its parameters, named kurc_training_hook_NAME or
 * kurc_evaluation_hook_NAME (both, for a hook that is both): defining it
 * lists it in the table of hooks.c.  The
 * runner hands a hook its parameters in their mapping form: an entry's
 * null, string or list fills the hook's positional parameters
 * (kurc_component_params).  Checks run before anything is trained or
 * evaluated, so a bad entry fails at once; `loc` is the entry's place in
 * the Kurfile.
 */
#ifndef KURC_HOOKS_IMPL_H
#define KURC_HOOKS_IMPL_H

#include "config/component.h"
#include "hooks/hooks.h"

struct kurc_hook_type {
    struct kurc_component component; /* name, parameter schema, positional names */
    /* Why kurc does not run this hook of Kur's ("posts to the network,
     * ..."), or NULL.  Such a hook has no functions (unavailable.c). */
    const char *refused;
    /* A training hook that reads the training log (`train.log`); without
     * one it is ignored with a warning at set-up, as Kur warned. */
    bool needs_log;
    /* Checks the parameters before anything runs; NULL: nothing to check. */
    enum kurc_status (*check)(const struct kurc_value *params, const struct kurc_loc *loc,
                              struct kurc_err *err);
    /* An evaluation hook: runs on the results r. */
    enum kurc_status (*evaluate)(const struct kurc_eval_result *r, const struct kurc_value *params,
                                 const struct kurc_loc *loc, struct kurc_err *err);
    /* A training hook: runs on the event e. */
    enum kurc_status (*train)(const struct kurc_value *params, const struct kurc_train_event *e,
                              const struct kurc_loc *loc, struct kurc_err *err);
};

/* Logs a warning at the hook entry loc, unless r's run already had this
 * one (the same entry and fmt) from it. */
void kurc_hook_warn_once(const struct kurc_eval_result *r, const struct kurc_loc *loc,
                         const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* numpy.argmax of a row of n scores: the first largest, or the first NaN. */
int64_t kurc_hook_argmax(const float *row, int64_t n);

#endif
