/* first_batch.c - evaluation hooks on the first batch of a provider, as Kur
 * ran the test (and validation) hooks: the batch of epoch 0's order, a
 * forward pass with dropout off, each rank on its slice, the slices joined,
 * then the hooks on rank 0.  Rank 0 tells the other ranks whether the hooks
 * succeeded, so every rank returns an error when they did not.
 *
 * Kept apart from hooks.c because it needs the whole training pipeline
 * (session, bindings, provider, executor), which the hooks themselves do
 * not.
 */
#include "train/eval_result.h"

#include "core/exec.h"
#include "data/provider.h"
#include "train/binding.h"
#include "train/session.h"

enum kurc_status kurc_hooks_first_batch(struct kurc_session *s, struct kurc_provider *p,
                                        struct kurc_bindings *b, const struct kurc_value *hooks,
                                        struct kurc_hook_warnings *warned, struct kurc_err *err) {
    if (!kurc_hooks_any_evaluation(hooks))
        return KURC_OK;
    kurc_provider_start_epoch(p, 0);
    if (kurc_provider_batches(p) == 0)
        return KURC_OK;
    const int64_t *indices;
    int64_t n, first, count;
    kurc_provider_batch(p, 0, &indices, &n);
    kurc_session_slice(s, n, &first, &count);

    struct kurc_exec *x = s->exec;
    bool training = x->training;
    x->training = false;
    enum kurc_status st = kurc_session_load(s, b, indices, n, first, count, err);
    if (st == KURC_OK)
        kurc_exec_forward(x);
    x->training = training;
    if (st)
        return st;
    /* after the load: a rebuilt graph has the batch's output shapes */
    struct kurc_eval_result r;
    kurc_eval_result_init(&r, s->model, p->data, kurc_bind_has_truth(s->model, p->data), n);
    kurc_eval_result_store(&r, s, indices + first, count, first);
    r.warned = warned;

    st = kurc_eval_result_join(&r, s->comm, err);
    if (st == KURC_OK) {
        enum kurc_status hooks_st =
            s->comm->rank == 0 ? kurc_hooks_evaluate(&r, hooks, NULL, err) : KURC_OK;
        double failed = hooks_st != KURC_OK;
        struct kurc_err comm_err;
        st = s->comm->ops->allreduce_double(s->comm, &failed, 1, hooks_st ? &comm_err : err);
        if (hooks_st)
            st = hooks_st;
        else if (st == KURC_OK && failed > 0)
            st = kurc_err_set(err, KURC_E_COMM, NULL, "rank 0 could not run the evaluation hooks");
    }
    kurc_eval_result_release(&r);
    return st;
}
