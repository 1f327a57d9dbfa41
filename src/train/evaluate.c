/* evaluate.c - `kurc test` and `kurc evaluate` (Kur's executor test and
 * evaluate): forward passes with shuffling off and dropout off, on the
 * weights the section names.
 *
 * test: the loss over every test data set (several are reported one by one
 * and then overall), with the evaluation hooks on the first batch of each.
 * evaluate: the model's outputs for every sample, in data order, with the
 * truth when the data has a source for every output (as Kur did); the hooks
 * run on all of it, then `destination` is written.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/progress.h"
#include "base/xalloc.h"
#include "data/provider.h"
#include "data/supplier.h"
#include "io/destination.h"
#include "io/weights.h"
#include "train/binding.h"
#include "train/eval_result.h"
#include "train/loss_pass.h"
#include "train/run.h"
#include "train/session.h"
#include "train/trace_file.h"
#include "train/train_spec.h"

/* Loads the section's weights on rank 0 and shares them; weights that are
 * named but missing are an error (Kur logged one and went on with random
 * weights). */
static enum kurc_status load_section_weights(struct kurc_session *s,
                                             const struct kurc_value *section, const char *what,
                                             struct kurc_err *err) {
    bool must_exist;
    char *path = kurc_section_weights(section, &must_exist);
    enum kurc_status st = KURC_OK;
    if (!path) {
        kurc_log(KURC_LOG_WARNING, "%s: no weights given, so the model has its initial weights",
                 what);
        return KURC_OK;
    }
    if (s->comm->rank == 0) {
        if (access(path, F_OK) != 0)
            st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: the weights %s do not exist",
                              what, path);
        else
            st = kurc_weights_load(path, &s->model->params, err);
    }
    free(path);
    double failed = st != KURC_OK;
    enum kurc_status cst = s->comm->ops->allreduce_double(s->comm, &failed, 1, err);
    if (st || cst)
        return st ? st : cst;
    if (failed > 0)
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "rank 0 could not load the weights");
    return kurc_session_sync(s, NULL, err);
}

/* A data section's sets: a list is the set "default", a mapping names
 * several. */
static size_t data_sets(const struct kurc_value *data, const char **name,
                        const struct kurc_value **list, size_t i) {
    if (data->kind == KURC_LIST) {
        *name = "default";
        *list = data;
        return 1;
    }
    *name = data->u.map.pairs[i].key;
    *list = data->u.map.pairs[i].val;
    return data->u.map.len;
}

static const struct kurc_value *section_data(const struct kurc_kurfile *kf, const char *section,
                                             const struct kurc_value **sec, struct kurc_err *err,
                                             enum kurc_status *st) {
    *sec = kurc_kurfile_section(kf, section);
    const struct kurc_value *data = *sec ? kurc_map_get(*sec, "data") : NULL;
    if (!data || data->kind == KURC_NULL ||
        (data->kind == KURC_MAP && data->u.map.len == 0)) {
        *st = kurc_err_set(err, KURC_E_CONFIG, *sec ? &(*sec)->loc : &kf->raw->loc,
                           "there is no data to %s: give `%s.data`", section, section);
        return NULL;
    }
    *st = KURC_OK;
    return data;
}

enum kurc_status kurc_run_test(struct kurc_kurfile *kf, struct kurc_comm *comm,
                               struct kurc_backend *be, const struct kurc_run_options *opt,
                               struct kurc_err *err) {
    const struct kurc_value *sec;
    enum kurc_status st;
    const struct kurc_value *data = section_data(kf, "test", &sec, err, &st);
    if (!data)
        return st;
    /* a mistake in the hooks fails now, not after the work */
    if ((st = kurc_hooks_check_evaluation(kurc_map_get(sec, "hooks"), NULL, err)))
        return st;
    struct kurc_trace *trace = NULL; /* --trace */
    if (opt->trace && (st = kurc_trace_file_open(comm, opt->trace, 0, &trace, err)))
        return st;
    size_t n_sets = data->kind == KURC_LIST ? 1 : data->u.map.len;
    struct kurc_dataset *sets = kurc_xcalloc(n_sets, sizeof *sets);
    struct kurc_session *s = NULL;
    double *sums = NULL, *all = NULL;
    for (size_t i = 0; i < n_sets && st == KURC_OK; i++) {
        const char *name;
        const struct kurc_value *list;
        data_sets(data, &name, &list, i);
        kurc_dataset_init(&sets[i]);
        st = kurc_data_load(list, &sets[i], err);
    }
    if (st == KURC_OK)
        st = kurc_session_create(kf, comm, be, &sets[0], true, kurc_provider_batch_size(sec),
                                 kurc_provider_batch_size(sec), 1, 0, &s, err);
    if (st == KURC_OK) {
        s->step = opt->step;
        s->exec->trace = trace;
    }
    if (st == KURC_OK && s->losses.n == 0)
        st = kurc_err_set(err, KURC_E_CONFIG, &kf->raw->loc,
                          "there is nothing to test: the Kurfile has no `loss` section");
    if (st == KURC_OK)
        st = load_section_weights(s, sec, "test", err);
    if (st == KURC_OK) {
        sums = kurc_xcalloc(s->losses.n + 1, sizeof *sums);
        all = kurc_xcalloc(s->losses.n + 1, sizeof *all);
    }
    for (size_t i = 0; i < n_sets && st == KURC_OK; i++) {
        const char *name;
        const struct kurc_value *list;
        data_sets(data, &name, &list, i);
        struct kurc_provider *p = NULL;
        struct kurc_bindings b;
        st = kurc_provider_create(kurc_map_get(sec, "provider"), &sets[i], s->seed, false, &p,
                                  err);
        if (st == KURC_OK)
            st = kurc_bind(s->model, &s->losses, &sets[i], s->exec->max_batch, &b, err);
        if (st == KURC_OK) {
            char label[96];
            snprintf(label, sizeof label, n_sets > 1 ? "Testing %s" : "Testing", name);
            st = kurc_loss_pass(s, p, &b, 0, -1, label, true, sums, err);
            if (st == KURC_OK)
                st = kurc_hooks_first_batch(s, p, &b, kurc_map_get(sec, "hooks"), NULL, err);
            kurc_bindings_release(&b);
        }
        kurc_provider_free(p);
        for (size_t k = 0; st == KURC_OK && k <= s->losses.n; k++)
            all[k] += sums[k];
    }
    if (st == KURC_OK && comm->rank == 0) {
        if (n_sets > 1)
            fprintf(stderr, "Overall test loss: %.3f\n", kurc_loss_total(s, all));
        else
            fprintf(stderr, "Test loss: %.3f\n", kurc_loss_total(s, all));
    }
    free(sums);
    free(all);
    st = kurc_trace_file_close(comm, opt->trace, trace, st, err);
    kurc_session_free(s);
    for (size_t i = 0; i < n_sets; i++)
        kurc_dataset_release(&sets[i]);
    free(sets);
    return st;
}

/* Every output (and its truth) for all samples, in data order, on every
 * rank's host: each rank writes its slices, the sum over ranks joins them. */
static enum kurc_status collect(struct kurc_session *s, const struct kurc_dataset *set,
                                struct kurc_provider *p, struct kurc_bindings *b, bool truth,
                                struct kurc_eval_result *r, struct kurc_err *err) {
    struct kurc_exec *x = s->exec;
    int64_t total = kurc_provider_samples(p);
    kurc_eval_result_init(r, s->model, set, truth, total);
    kurc_provider_start_epoch(p, 0);
    struct kurc_progress bar;
    kurc_progress_start(&bar, "Evaluating", KURC_PROGRESS_SAMPLES, total, s->comm->rank == 0);
    int64_t done = 0;
    x->training = false;
    for (int64_t i = 0; i < kurc_provider_batches(p); i++) {
        const int64_t *idx;
        int64_t n, first, count;
        enum kurc_status st = kurc_session_step_pause(s, "Evaluating", i, err);
        if (st)
            return st;
        kurc_provider_batch(p, i, &idx, &n);
        kurc_session_slice(s, n, &first, &count);
        if ((st = kurc_session_load(s, b, idx, n, first, count, err)))
            return st;
        kurc_exec_forward(x);
        kurc_eval_result_store(r, s, idx + first, count, done + first);
        if ((st = kurc_backend_check(s->be, err)))
            return st;
        done += n;
        kurc_progress_update(&bar, done, NAN);
    }
    kurc_progress_finish(&bar);
    return kurc_eval_result_join(r, s->comm, err);
}

enum kurc_status kurc_run_evaluate(struct kurc_kurfile *kf, struct kurc_comm *comm,
                                   struct kurc_backend *be, const struct kurc_run_options *opt,
                                   struct kurc_err *err) {
    const struct kurc_value *sec;
    enum kurc_status st;
    const struct kurc_value *data = section_data(kf, "evaluate", &sec, err, &st);
    if (!data)
        return st;
    struct kurc_dataset set;
    kurc_dataset_init(&set);
    struct kurc_session *s = NULL;
    struct kurc_provider *p = NULL;
    struct kurc_bindings b = {0};
    struct kurc_eval_result r = {0};
    struct kurc_trace *trace = NULL; /* --trace */
    st = kurc_hooks_check_evaluation(kurc_map_get(sec, "hooks"), kurc_map_get(sec, "destination"),
                                     err);
    if (st == KURC_OK && opt->trace)
        st = kurc_trace_file_open(comm, opt->trace, 0, &trace, err);
    if (st == KURC_OK)
        st = kurc_data_load(data, &set, err);
    if (st == KURC_OK)
        st = kurc_session_create(kf, comm, be, &set, false, kurc_provider_batch_size(sec),
                                 kurc_provider_batch_size(sec), 1, 0, &s, err);
    if (st == KURC_OK) {
        s->step = opt->step;
        s->exec->trace = trace;
    }
    if (st == KURC_OK)
        st = load_section_weights(s, sec, "evaluate", err);
    if (st == KURC_OK)
        st = kurc_provider_create(kurc_map_get(sec, "provider"), &set, s->seed, false, &p, err);
    if (st == KURC_OK)
        st = kurc_bind(s->model, NULL, &set, s->exec->max_batch, &b, err);
    bool truth = st == KURC_OK && kurc_bind_has_truth(s->model, &set);
    if (st == KURC_OK)
        st = collect(s, &set, p, &b, truth, &r, err);
    if (st == KURC_OK && comm->rank == 0)
        st = kurc_hooks_evaluate(&r, kurc_map_get(sec, "hooks"), kurc_map_get(sec, "destination"),
                                 err);
    st = kurc_trace_file_close(comm, opt->trace, trace, st, err);
    kurc_eval_result_release(&r);
    kurc_bindings_release(&b);
    kurc_provider_free(p);
    kurc_session_free(s);
    kurc_dataset_release(&set);
    return st;
}
