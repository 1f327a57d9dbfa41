/* eval_result.h - what the trainer gives the evaluation hooks: the
 * outputs (and truths) of the samples a test, validation or evaluation
 * ran, gathered from every rank (struct kurc_eval_result, hooks/hooks.h),
 * and the hooks of Kur's validation and test runs on a first batch. */
#ifndef KURC_EVAL_RESULT_H
#define KURC_EVAL_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "comm/comm.h"
#include "hooks/hooks.h"

struct kurc_session;
struct kurc_provider;
struct kurc_bindings;
struct kurc_model;

void kurc_eval_result_init(struct kurc_eval_result *r, const struct kurc_model *m,
                           const struct kurc_dataset *data, bool truth, int64_t count);
/* Stores the executor's outputs for the samples indices[0..n), which are
 * results position..position+n. */
void kurc_eval_result_store(struct kurc_eval_result *r, const struct kurc_session *s,
                            const int64_t *indices, int64_t n, int64_t position);
/* Joins the ranks' stored slices (every rank then holds everything). */
enum kurc_status kurc_eval_result_join(struct kurc_eval_result *r, struct kurc_comm *comm,
                                       struct kurc_err *err);
void kurc_eval_result_release(struct kurc_eval_result *r);

/* Runs the evaluation hooks on the first batch of provider p (validation
 * and test, as Kur did); rank 0 prints.  warned (NULL: none) keeps the
 * warnings given across a run's validations. */
enum kurc_status kurc_hooks_first_batch(struct kurc_session *s, struct kurc_provider *p,
                                        struct kurc_bindings *b, const struct kurc_value *hooks,
                                        struct kurc_hook_warnings *warned, struct kurc_err *err);

#endif
