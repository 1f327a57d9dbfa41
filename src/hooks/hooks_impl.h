/* hooks_impl.h - what the hook runner (hooks.c) and the hooks (one file
 * each) share: every hook's entry points, the reading of a hook's
 * parameters and numpy's argmax.
 *
 * A hook's parameters are what its entry gives under its name: null, a
 * mapping, or the positional forms the schema accepts (a string, or a list,
 * filling the parameters in their documented order).  Checks run before
 * anything is trained or evaluated, so a bad entry fails at once; `loc` is
 * the entry's place in the Kurfile.
 */
#ifndef KURC_HOOKS_IMPL_H
#define KURC_HOOKS_IMPL_H

#include "hooks/hooks.h"

/* The parameter `name` of params: params[name] of a mapping, or the
 * positional value at `position` of a string (position 0) or a list.  NULL
 * when absent or null. */
const struct kurc_value *kurc_hook_param(const struct kurc_value *params, const char *name,
                                         size_t position);

/* numpy.argmax of a row of n scores: the first largest, or the first NaN. */
int64_t kurc_hook_argmax(const float *row, int64_t n);

/* mnist: prints the per-digit accuracy table of r to stdout. */
enum kurc_status kurc_hook_mnist(const struct kurc_eval_result *r, const struct kurc_value *params,
                                 const struct kurc_loc *loc, struct kurc_err *err);

/* transcript: prints the greedy CTC decoding of the first result and its
 * truth (transcript.c). */
enum kurc_status kurc_hook_transcript(const struct kurc_eval_result *r,
                                      const struct kurc_value *params, const struct kurc_loc *loc,
                                      struct kurc_err *err);

/* text: prints the first result's inputs, argmax-decoded outputs and
 * truths as text (text.c). */
enum kurc_status kurc_hook_text(const struct kurc_eval_result *r, const struct kurc_value *params,
                                const struct kurc_loc *loc, struct kurc_err *err);
/* output: writes r to params' path, as csv or through kurc_destination_write. */
enum kurc_status kurc_hook_output_check(const struct kurc_value *params, const struct kurc_loc *loc,
                                        struct kurc_err *err);
enum kurc_status kurc_hook_output(const struct kurc_eval_result *r, const struct kurc_value *params,
                                  const struct kurc_loc *loc, struct kurc_err *err);

/* plot: draws the loss curves of the training log e->log_dir. */
enum kurc_status kurc_hook_plot_check(const struct kurc_value *params, const struct kurc_loc *loc,
                                      struct kurc_err *err);
enum kurc_status kurc_hook_plot(const struct kurc_value *params, const struct kurc_train_event *e,
                                const struct kurc_loc *loc, struct kurc_err *err);

#endif
