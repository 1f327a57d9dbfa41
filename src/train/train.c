/* train.c - `kurc train`: Kur's training loop (kur/model/executor.py) on
 * one or many ranks.
 *
 * Per batch: the provider's global batch is sliced across ranks, each rank
 * runs forward and backward on its slice with gradients scaled by
 * 1 / (global batch), the gradients are summed over ranks, and every rank
 * applies the same optimizer step.  With train.accumulate K the batch is
 * K x batch_size and each rank runs its slice in K passes, the gradients
 * summed on the rank until the last (session.h: parts).  The rate of each
 * step comes from the optimizer's schedule (optim/schedule.h).  The loss
 * shown and logged is the sample-weighted mean over the epoch of the
 * pre-update batch losses, as in Kur.  A non-finite loss stops training before the update, so the weights
 * kept are the last good ones.  After each epoch: best-training weights,
 * validation (best-validation weights), the log, the epoch checkpoint and
 * the timers.  Whatever ends training (success, an error, a stop signal),
 * the `last` weights are saved; unless it was an error, the checkpoint is
 * written too (batch-level triggers may not have fired at the end).
 * Checkpoints hold everything needed to continue exactly where they were
 * written; a run whose checkpoint file exists resumes from it.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/progress.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "config/value/json_dump.h"
#include "data/provider.h"
#include "data/supplier.h"
#include "io/io_util.h"
#include "io/logger.h"
#include "io/weights.h"
#include "train/binding.h"
#include "train/eval_result.h"
#include "train/loss_pass.h"
#include "train/run.h"
#include "train/session.h"
#include "train/shard.h"
#include "train/trace_file.h"
#include "train/train_spec.h"

/* A validation data set (Kur: a `validate.data` list is set "default", a
 * mapping names several). */
struct valid_set {
    const char *name;
    struct kurc_dataset data;
    struct kurc_provider *provider;
    struct kurc_bindings bind;
};

struct trainer {
    struct kurc_kurfile *kf;
    struct kurc_comm *comm;
    struct kurc_backend *be;
    const struct kurc_run_options *opt;
    struct kurc_train_spec spec;
    struct kurc_dataset data;
    struct kurc_provider *provider;
    struct kurc_bindings bind;
    struct valid_set *valid;
    struct kurc_hook_warnings warned; /* by the validation hooks, so far */
    size_t n_valid;
    int64_t valid_batches; /* validate.provider.num_batches handled by the provider */
    struct kurc_session *s;
    struct kurc_optimizer *optimizer;
    struct kurc_optimizer *loaded; /* rank 0's unsharded state read from a checkpoint */
    struct kurc_logger *log;
    struct kurc_train_state state;
    int64_t target_epochs; /* -1: none */
    double started;        /* kurc_now() at the session's start, less resumed clocks */
    double clock_mark;     /* the elapsed clock at the start (mode additional), or 0 */
    double last_checkpoint;
    int64_t checkpoint_epoch; /* the epoch count the last checkpoint holds */
    int64_t since_checkpoint_batches;
    int64_t since_checkpoint_samples;
    char *kurfile_json;   /* the resolved Kurfile, stored in checkpoints */
    int64_t sessions;     /* the log's session count, this one included */
    double rate;          /* the learning rate of the last step */
    bool rank0;
    struct kurc_trace *trace; /* --trace (NULL: none) */
};

/* --- set-up ------------------------------------------------------------- */

/* The validation sets' data lists (the `validate.data` list, or each
 * list of its mapping), or NULL. */
static const struct kurc_value *validation_data(const struct trainer *t) {
    const struct kurc_value *validate = kurc_kurfile_section(t->kf, "validate");
    const struct kurc_value *data = validate ? kurc_map_get(validate, "data") : NULL;
    return data && data->kind != KURC_NULL ? data : NULL;
}

static const struct kurc_value *validation_list(const struct kurc_value *data, size_t i) {
    return data->kind == KURC_LIST ? data : data->u.map.pairs[i].val;
}

/* The training data (the list `data`) and its provider. */
static enum kurc_status load_training(struct trainer *t, const struct kurc_value *data,
                                      struct kurc_err *err) {
    const struct kurc_value *train = kurc_kurfile_section(t->kf, "train");
    enum kurc_status st = kurc_data_load(data, &t->data, err);
    if (st == KURC_OK)
        st = kurc_provider_create(kurc_map_get(train, "provider"), &t->data,
                                  kurc_session_provider_seed(t->kf, "train"), true, &t->provider,
                                  err);
    return st;
}

/* Loads the training data (train_data) and the validation sets, with
 * their providers.  Each validation set loads on a thread of its own while
 * the training data loads when every supplier of both allows it, else
 * after the training data. */
static enum kurc_status load_data(struct trainer *t, const struct kurc_value *train_data,
                                  struct kurc_err *err) {
    const struct kurc_value *data = validation_data(t);
    size_t n = !data ? 0 : data->kind == KURC_LIST ? 1 : data->u.map.len;
    bool beside = n && kurc_data_concurrent(train_data);
    for (size_t i = 0; i < n && beside; i++)
        beside = kurc_data_concurrent(validation_list(data, i));
    t->valid = n ? kurc_xcalloc(n, sizeof *t->valid) : NULL;
    struct kurc_data_job **jobs = beside ? kurc_xcalloc(n, sizeof *jobs) : NULL;
    for (size_t i = 0; i < n; i++) {
        struct valid_set *v = &t->valid[t->n_valid++];
        v->name = data->kind == KURC_LIST ? "default" : data->u.map.pairs[i].key;
        kurc_dataset_init(&v->data);
        if (beside)
            jobs[i] = kurc_data_load_start(validation_list(data, i), &v->data);
    }
    /* the training data's error first, as when the sets load in turn */
    enum kurc_status st = load_training(t, train_data, err);
    for (size_t i = 0; i < n; i++) {
        struct valid_set *v = &t->valid[i];
        enum kurc_status vst =
            beside ? kurc_data_load_finish(jobs[i], st ? NULL : err)
            : st   ? KURC_OK
                   : kurc_data_load(validation_list(data, i), &v->data, err);
        if (st == KURC_OK && (st = vst) == KURC_OK)
            st = kurc_provider_create(kurc_map_get(kurc_kurfile_section(t->kf, "validate"),
                                                   "provider"),
                                      &v->data, kurc_session_provider_seed(t->kf, v->name), true,
                                      &v->provider, err);
    }
    free(jobs);
    return st;
}

static enum kurc_status bind_all(struct trainer *t, struct kurc_err *err) {
    int64_t rows = t->s->exec->max_batch;
    enum kurc_status st = kurc_bind(t->s->model, &t->s->losses, &t->data, rows, &t->bind, err);
    for (size_t i = 0; i < t->n_valid && st == KURC_OK; i++)
        st = kurc_bind(t->s->model, &t->s->losses, &t->valid[i].data, rows, &t->valid[i].bind,
                       err);
    return st;
}

/* Loads initial weights or resumes from the checkpoint (rank 0 reads, then
 * every rank gets its values). */
static enum kurc_status restore(struct trainer *t, struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    int resumed = 0;
    if (t->rank0) {
        if (t->spec.checkpoint && !t->opt->fresh && access(t->spec.checkpoint, F_OK) == 0) {
            /* a sharded optimizer's state comes through an unsharded one */
            struct kurc_optimizer *full = NULL;
            if (t->s->shard)
                st = kurc_shard_full_create(t->optimizer, &t->s->model->params, &full, err);
            if (st == KURC_OK)
                st = kurc_checkpoint_load(t->spec.checkpoint, &t->s->model->params,
                                          full ? full : t->optimizer, &t->state, NULL, err);
            t->loaded = full;
            int64_t per_epoch = kurc_provider_batches(t->provider);
            if (st == KURC_OK && t->state.batch > per_epoch)
                st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                                  "%s: the checkpoint is at batch %lld of an epoch, but an epoch "
                                  "of this data has %lld batches",
                                  t->spec.checkpoint, (long long)t->state.batch,
                                  (long long)per_epoch);
            if (st == KURC_OK) {
                resumed = 1;
                t->started = kurc_now() - t->state.clocks[0];
                kurc_log(KURC_LOG_WARNING,
                         "resuming from checkpoint %s (%lld epochs and %lld batches done)",
                         t->spec.checkpoint, (long long)t->state.epoch,
                         (long long)t->state.batch);
            }
        } else if (t->spec.initial && access(t->spec.initial, F_OK) == 0) {
            st = kurc_weights_load(t->spec.initial, &t->s->model->params, err);
            if (st == KURC_OK)
                kurc_log(KURC_LOG_INFO, "loaded initial weights from %s", t->spec.initial);
        } else if (t->spec.initial && t->spec.must_exist) {
            st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                              "the initial weights %s do not exist (train.weights.must_exist)",
                              t->spec.initial);
        }
    }
    double flag = st == KURC_OK ? 0 : 1;
    enum kurc_status cst = t->comm->ops->allreduce_double(t->comm, &flag, 1, err);
    if (st || cst)
        return st ? st : cst;
    if (flag > 0)
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "rank 0 could not load the weights");
    st = t->comm->ops->broadcast(t->comm, &t->state, sizeof t->state, 0, err);
    if (st == KURC_OK)
        st = t->comm->ops->broadcast(t->comm, &resumed, sizeof resumed, 0, err);
    if (st == KURC_OK)
        st = kurc_session_sync(t->s, resumed && !t->s->shard ? t->optimizer : NULL, err);
    if (st == KURC_OK && resumed && t->s->shard)
        st = kurc_shard_scatter_state(t->s->shard, t->loaded, t->optimizer, err);
    kurc_shard_full_free(t->loaded);
    t->loaded = NULL;
    return st;
}

/* --- saving --------------------------------------------------------------- */

static enum kurc_status save_weights(struct trainer *t, const char *path, const char *why,
                                     struct kurc_err *err) {
    if (!path || !t->rank0)
        return KURC_OK;
    int64_t began = kurc_trace_now();
    enum kurc_status st = kurc_weights_save(path, &t->s->model->params, err);
    kurc_trace_add(t->trace, KURC_TRACE_SAVE, "save weights", path, began, kurc_trace_now(), -1);
    if (st == KURC_OK)
        kurc_log(KURC_LOG_INFO, "saved %s weights to %s", why, path);
    return st;
}

static enum kurc_status save_checkpoint(struct trainer *t, struct kurc_err *err) {
    t->last_checkpoint = kurc_now();
    t->checkpoint_epoch = t->state.epoch;
    t->since_checkpoint_batches = t->since_checkpoint_samples = 0;
    struct kurc_optimizer *full = NULL; /* a sharded optimizer's state, on rank 0 */
    if (t->spec.checkpoint && t->s->shard) {
        enum kurc_status st =
            kurc_shard_gather_state(t->s->shard, t->optimizer, &t->s->model->params, &full, err);
        if (st)
            return st;
    }
    if (!t->spec.checkpoint || !t->rank0)
        return KURC_OK;
    t->state.clocks[0] = kurc_now() - t->started;
    int64_t began = kurc_trace_now();
    enum kurc_status st =
        kurc_checkpoint_save(t->spec.checkpoint, &t->s->model->params,
                             full ? full : t->optimizer, &t->state, t->kurfile_json, err);
    kurc_trace_add(t->trace, KURC_TRACE_SAVE, "save checkpoint", t->spec.checkpoint, began,
                   kurc_trace_now(), -1);
    kurc_shard_full_free(full);
    if (st == KURC_OK)
        kurc_log(KURC_LOG_INFO, "saved checkpoint %s", t->spec.checkpoint);
    return st;
}

/* --- one batch ------------------------------------------------------------ */

static enum kurc_status non_finite(const struct trainer *t, const double *sums,
                                   struct kurc_err *err) {
    for (size_t i = 0; i < t->s->losses.n; i++)
        if (!isfinite(sums[i]))
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "the loss of output '%s' became %s at epoch %lld, batch %lld; "
                                "training stopped before that update, so the weights kept are "
                                "the last good ones",
                                t->s->losses.terms[i].target, isnan(sums[i]) ? "NaN" : "infinite",
                                (long long)t->state.epoch + 1, (long long)t->state.batch + 1);
    return KURC_OK;
}

/* Rows [*first, *first + *count) of part `part` of this rank's slice of
 * the global batch (rows [first, first + count), s->slice its chunks), and
 * *done, the slice's chunks before it.  Deterministic parts are whole
 * chunks, so each chunk runs as it would in one pass. */
static void part_rows(const struct kurc_session *s, int64_t first, int64_t count, int64_t part,
                      int64_t *part_first, int64_t *part_count, int64_t *done) {
    int64_t k = s->parts, end = first + count;
    if (!s->dist.deterministic) {
        *done = 0;
        *part_first = first + count * part / k;
        *part_count = first + count * (part + 1) / k - *part_first;
        return;
    }
    int64_t c = s->slice.count, chunk = s->dist.chunk;
    *done = c * part / k;
    int64_t lo = first + *done * chunk, hi = first + c * (part + 1) / k * chunk;
    *part_first = lo < end ? lo : end;
    *part_count = (hi < end ? hi : end) - *part_first;
}

/* One optimizer step on a global batch, in s->parts passes per rank
 * (train.accumulate): gradients summed on the rank, loss sums and the
 * reduction over ranks with the last pass only. */
static enum kurc_status train_batch(struct trainer *t, int64_t b, double *sums,
                                    struct kurc_err *err) {
    struct kurc_session *s = t->s;
    struct kurc_exec *x = s->exec;
    const int64_t *idx;
    int64_t n, first, count;
    enum kurc_status st = kurc_session_step_pause(s, "Training", b, err);
    if (st)
        return st;
    int64_t began = t->trace ? kurc_trace_now() : 0, mark = 0;
    kurc_provider_batch(t->provider, b, &idx, &n);
    kurc_session_slice(s, n, &first, &count);
    kurc_params_zero_grads(&s->model->params);
    size_t terms = s->losses.n;
    double *local = kurc_xcalloc(terms + 1, sizeof *local);
    for (int64_t part = 0; part < s->parts && st == KURC_OK; part++) {
        int64_t part_first, part_count, done;
        part_rows(s, first, count, part, &part_first, &part_count, &done);
        if ((st = kurc_session_load(s, &t->bind, idx, n, part_first, part_count, err)))
            break;
        x->training = true;
        x->loss_scale = 1.0f / (float)n;
        x->sample_base = (uint64_t)(t->state.samples + part_first);
        kurc_exec_forward(x);
        kurc_session_loss_part(s, done, local);
        /* the step's losses, known with its last forward pass: a
         * non-finite one stops before the update */
        if (t->trace)
            mark = kurc_trace_now();
        if (part == s->parts - 1 &&
            ((st = kurc_session_loss_reduce(s, local, sums, err)) ||
             (st = non_finite(t, sums, err))))
            break;
        if (t->trace && part == s->parts - 1)
            kurc_trace_add(t->trace, KURC_TRACE_LOSS, "sum losses", NULL, mark, kurc_trace_now(),
                           -1);
        /* gradients summed over the ranks with the last part, buckets
         * overlapping its backward */
        st = kurc_session_backward_part(s, part, s->parts, done, err);
    }
    free(local);
    if (st)
        return st;
    struct kurc_params *p = &s->model->params;
    t->rate = kurc_optimizer_rate(t->optimizer);
    if (t->trace)
        mark = kurc_trace_now();
    if (s->shard)
        st = kurc_shard_step(s->shard, t->optimizer, p, 1.0f, err);
    else
        kurc_optimizer_step(t->optimizer, p, 1.0f);
    if (st)
        return st;
    if ((st = kurc_backend_check(t->be, err)))
        return st;
    t->state.batch++;
    t->state.batches++;
    if (t->trace) {
        int64_t end = kurc_trace_now();
        kurc_trace_add(t->trace, KURC_TRACE_OPTIMIZER, "optimizer step", NULL, mark, end,
                       t->state.batches);
        kurc_trace_add(t->trace, KURC_TRACE_STEP, "step", NULL, began, end, t->state.batches);
    }
    t->state.samples += n;
    kurc_comm_progress(t->comm, t->state.batches, false);
    t->since_checkpoint_batches++;
    t->since_checkpoint_samples += n;
    return KURC_OK;
}

/* --- logging ------------------------------------------------------------- */

static enum kurc_status log_losses(struct trainer *t, const char *type, const char *tag,
                                   const double *sums, struct kurc_err *err) {
    if (!t->log || !t->rank0)
        return KURC_OK;
    size_t n = t->s->losses.n;
    const char **names = kurc_xcalloc(n + 1, sizeof *names);
    double *values = kurc_xcalloc(n + 1, sizeof *values);
    for (size_t i = 0; i < n; i++) {
        names[i] = t->s->losses.terms[i].target;
        values[i] = sums[n] > 0 ? sums[i] / sums[n] : 0;
    }
    enum kurc_status st = kurc_logger_append(t->log, type, tag, names, values, n,
                                             t->state.batches, kurc_now() - t->started, err);
    free(names);
    free(values);
    return st;
}

/* The learning rate of the step just taken: column batch_optimizer_lr,
 * beside its batch counter (batch_optimizer_batch). */
static enum kurc_status log_rate(struct trainer *t, struct kurc_err *err) {
    if (!t->log || !t->rank0)
        return KURC_OK;
    return kurc_logger_append_value(t->log, "batch", "optimizer", "lr", t->rate, t->state.batches,
                                    err);
}

static enum kurc_status flush_log(struct trainer *t, struct kurc_err *err) {
    if (!t->log || !t->rank0)
        return KURC_OK;
    struct kurc_log_summary sum = {.epochs = t->state.epoch,
                                   .batches = t->state.batches,
                                   .samples = t->state.samples,
                                   .sessions = t->sessions};
    sum.clocks[0] = kurc_now() - t->started;
    for (int i = 1; i < 4; i++)
        sum.clocks[i] = t->state.clocks[i];
    return kurc_logger_flush(t->log, &sum, err);
}

/* Tells the training hooks (rank 0). */
static enum kurc_status notify(struct trainer *t, enum kurc_train_event_kind kind,
                               double train_loss, double valid_loss, const char *reason,
                               struct kurc_err *err) {
    if (!t->rank0)
        return KURC_OK;
    const struct kurc_value *hooks = kurc_map_get(kurc_kurfile_section(t->kf, "train"), "hooks");
    if (!hooks)
        return KURC_OK;
    struct kurc_train_event e = {kind,       t->state.epoch, t->target_epochs, train_loss,
                                 valid_loss, t->spec.log,    reason};
    return kurc_hooks_training(hooks, &e, err);
}

/* --- validation ----------------------------------------------------------- */

/* Validates on every set; *loss is the sample-weighted overall loss (Kur's
 * overall validation loss with several sets). */
static enum kurc_status validate(struct trainer *t, int64_t max_batches, double *loss,
                                 struct kurc_err *err) {
    size_t n = t->s->losses.n;
    double *sums = kurc_xcalloc(n + 1, sizeof *sums), *all = kurc_xcalloc(n + 1, sizeof *all);
    double began = kurc_now();
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < t->n_valid && st == KURC_OK; i++) {
        char label[96];
        snprintf(label, sizeof label, t->n_valid > 1 ? "Validating %s" : "Validating",
                 t->valid[i].name);
        int64_t mark = kurc_trace_now();
        st = kurc_loss_pass(t->s, t->valid[i].provider, &t->valid[i].bind, t->state.epoch,
                            max_batches, label, true, sums, err);
        kurc_trace_add(t->trace, KURC_TRACE_VALIDATION, "validate", t->valid[i].name, mark,
                       kurc_trace_now(), -1);
        for (size_t k = 0; k <= n && st == KURC_OK; k++)
            all[k] += sums[k];
        if (st == KURC_OK)
            st = log_losses(t, "validation", t->valid[i].name, sums, err);
        const struct kurc_value *hooks =
            kurc_map_get(kurc_kurfile_section(t->kf, "validate"), "hooks");
        if (st == KURC_OK && hooks)
            st = kurc_hooks_first_batch(t->s, t->valid[i].provider, &t->valid[i].bind, hooks,
                                        &t->warned, err);
    }
    /* the overall record too, also for one set: Kur always logged it, and
     * best-validation tracking across runs reads validation_loss_total */
    if (st == KURC_OK)
        st = log_losses(t, "validation", NULL, all, err);
    *loss = kurc_loss_total(t->s, all);
    t->state.clocks[2] += kurc_now() - began;
    free(sums);
    free(all);
    return st;
}

/* --- the loop ------------------------------------------------------------- */

/* The clock stop_when.elapsed reads, in seconds, history included. */
static double elapsed_clock(const struct trainer *t) {
    return t->spec.clock == KURC_CLOCK_ALL ? kurc_now() - t->started
                                           : t->state.clocks[t->spec.clock];
}

/* Mode total counts the time of every session (from the log or the
 * checkpoint), mode additional only this session's (Kur's clock mark). */
static bool out_of_time(const struct trainer *t) {
    if (t->spec.elapsed_seconds < 0)
        return false;
    return elapsed_clock(t) - t->clock_mark >= t->spec.elapsed_seconds;
}

/* Agrees across ranks whether to stop now: a signal on any rank, or rank
 * 0's clock past the time limit (one clock decides, so no rank goes on
 * alone into a collective). */
static enum kurc_status agree_stop(struct trainer *t, int *sig, bool *time_up,
                                   struct kurc_err *err) {
    /* one count per signal (a sum of signal numbers would name none) */
    static const int signals[] = {SIGINT, SIGTERM, SIGUSR1};
    int mine = kurc_run_stop_requested();
    double flags[4] = {mine == SIGINT, mine == SIGTERM, mine == SIGUSR1,
                       t->rank0 && out_of_time(t) ? 1 : 0};
    enum kurc_status st = t->comm->ops->allreduce_double(t->comm, flags, 4, err);
    *sig = 0;
    for (int i = 0; i < 3 && !*sig; i++)
        if (flags[i] > 0)
            *sig = signals[i];
    *time_up = flags[3] > 0;
    return st;
}

/* Kur's four timers, each counted over every session of the run (the
 * log's or the checkpoint's history included), with Kur's labels. */
static void print_timers(const struct trainer *t) {
    if (!t->rank0)
        return;
    char all[32], train[32], valid[32], batch[32];
    kurc_format_duration(kurc_now() - t->started, all, sizeof all);
    kurc_format_duration(t->state.clocks[1], train, sizeof train);
    kurc_format_duration(t->state.clocks[2], valid, sizeof valid);
    kurc_format_duration(t->state.clocks[3], batch, sizeof batch);
    fprintf(stderr, "     Total wall-clock time: %s\n  Training wall-clock time: %s\n", all, train);
    if (t->n_valid)
        fprintf(stderr, "Validation wall-clock time: %s\n", valid);
    fprintf(stderr, "     Batch wall-clock time: %s\n\n", batch);
}

/* The batch-level checkpoint triggers (Kur's run_checkpoint): when one is
 * due, the training clock (running since *train_mark) stops for the
 * checkpoint's validation and saving, and the timers are shown after it. */
static enum kurc_status batch_checkpoints(struct trainer *t, double *train_mark,
                                          struct kurc_err *err) {
    const struct kurc_train_spec *sp = &t->spec;
    /* counters agree on every rank; a clock does not, so rank 0's decides */
    double late = sp->checkpoint_minutes > 0 && t->rank0 &&
                  kurc_now() - t->last_checkpoint >= 60 * sp->checkpoint_minutes;
    if (sp->checkpoint_minutes > 0) {
        enum kurc_status st = t->comm->ops->allreduce_double(t->comm, &late, 1, err);
        if (st)
            return st;
    }
    bool due = (sp->checkpoint_batches > 0 &&
                t->since_checkpoint_batches >= sp->checkpoint_batches) ||
               (sp->checkpoint_samples > 0 &&
                t->since_checkpoint_samples >= sp->checkpoint_samples) ||
               late > 0;
    if (!due)
        return KURC_OK;
    kurc_comm_progress(t->comm, t->state.batches, true);
    t->state.clocks[1] += kurc_now() - *train_mark;
    enum kurc_status st = KURC_OK;
    if (sp->checkpoint_validation != 0 && t->n_valid) {
        double loss;
        st = validate(t, sp->checkpoint_validation > 0 ? sp->checkpoint_validation : -1, &loss,
                      err);
        if (st == KURC_OK && loss < t->state.best_valid_loss) {
            t->state.best_valid_loss = loss;
            st = save_weights(t, t->spec.best_valid, "best validation", err);
        }
        if (st == KURC_OK)
            st = notify(t, KURC_EVENT_VALIDATION_END, NAN, loss, "success", err);
    }
    if (st == KURC_OK && (st = save_checkpoint(t, err)) == KURC_OK)
        print_timers(t);
    *train_mark = kurc_now();
    return st;
}

/* The epoch's communication (rank 0, -v): how long the ranks waited for
 * gradients after backward (exposed) of the reduction's whole time. */
static void log_communication(struct trainer *t) {
    struct kurc_grad_stats g;
    kurc_grad_sync_stats(t->s->sync, &g);
    if (!t->rank0 || !t->s->sync || g.steps == 0)
        return;
    double mb = (double)g.bytes / 1048576.0;
    kurc_log(KURC_LOG_INFO,
             "communication: %.3f s exposed after backward over %lld steps (%.2f ms per step; "
             "%.2f ms per step from the first bucket's start), %.2f MiB of gradients per step",
             g.exposed, (long long)g.steps, 1e3 * g.exposed / (double)g.steps,
             1e3 * g.total / (double)g.steps, mb);
}

static enum kurc_status run_epoch(struct trainer *t, int *sig, struct kurc_err *err) {
    size_t n = t->s->losses.n;
    double *sums = kurc_xcalloc(n + 1, sizeof *sums), *epoch = kurc_xcalloc(n + 1, sizeof *epoch);
    double train_mark = kurc_now();
    kurc_provider_start_epoch(t->provider, t->state.epoch);
    int64_t batches = kurc_provider_batches(t->provider);
    char label[96];
    if (t->target_epochs >= 0)
        snprintf(label, sizeof label, "Epoch %lld/%lld", (long long)t->state.epoch + 1,
                 (long long)t->target_epochs);
    else /* Kur's `epochs or 'inf'` */
        snprintf(label, sizeof label, "Epoch %lld/inf", (long long)t->state.epoch + 1);
    struct kurc_progress bar;
    kurc_progress_start(&bar, label, KURC_PROGRESS_SAMPLES, kurc_provider_samples(t->provider),
                        t->rank0);
    enum kurc_status st = KURC_OK;
    bool time_up = false;
    while (t->state.batch < batches && st == KURC_OK) {
        if ((st = agree_stop(t, sig, &time_up, err)) || *sig || time_up)
            break;
        double began = kurc_now();
        if ((st = train_batch(t, t->state.batch, sums, err)))
            break;
        t->state.clocks[3] += kurc_now() - began;
        for (size_t k = 0; k <= n; k++)
            epoch[k] += sums[k];
        kurc_progress_update(&bar, (int64_t)epoch[n], kurc_loss_total(t->s, epoch));
        if ((st = log_losses(t, "batch", NULL, sums, err)) || (st = log_rate(t, err)) ||
            (st = batch_checkpoints(t, &train_mark, err)))
            break;
    }
    kurc_progress_finish(&bar);
    kurc_comm_progress(t->comm, t->state.batches, true);
    log_communication(t);
    t->state.clocks[1] += kurc_now() - train_mark;
    if (st || *sig || t->state.batch < batches) {
        free(sums);
        free(epoch);
        return st;
    }
    t->state.epoch++;
    t->state.batch = 0;
    double train_loss = kurc_loss_total(t->s, epoch);
    if (t->rank0)
        kurc_log(KURC_LOG_INFO, "epoch %lld: learning rate %.6g at optimizer step %lld",
                 (long long)t->state.epoch, (double)t->rate, (long long)t->optimizer->iterations);
    if ((st = log_losses(t, "training", NULL, epoch, err)) == KURC_OK &&
        train_loss < t->state.best_train_loss) {
        t->state.best_train_loss = train_loss;
        st = save_weights(t, t->spec.best_train, "best training", err);
    }
    double valid_loss = NAN;
    if (st == KURC_OK && t->n_valid) {
        st = validate(t, -1, &valid_loss, err);
        if (st == KURC_OK && valid_loss < t->state.best_valid_loss) {
            t->state.best_valid_loss = valid_loss;
            st = save_weights(t, t->spec.best_valid, "best validation", err);
        }
    }
    if (st == KURC_OK)
        st = flush_log(t, err);
    if (st == KURC_OK)
        st = notify(t, KURC_EVENT_EPOCH_END, train_loss, valid_loss, "success", err);
    if (st == KURC_OK && t->spec.checkpoint_epochs > 0 &&
        t->state.epoch % t->spec.checkpoint_epochs == 0)
        st = save_checkpoint(t, err);
    if (st == KURC_OK)
        print_timers(t);
    free(sums);
    free(epoch);
    return st;
}

static enum kurc_status finished(struct trainer *t, bool *done, int *sig, struct kurc_err *err) {
    bool time_up;
    enum kurc_status st = agree_stop(t, sig, &time_up, err);
    *done = time_up || (t->target_epochs >= 0 && t->state.epoch >= t->target_epochs);
    if (*done && time_up && t->rank0 && !*sig)
        fprintf(stderr, "Epoch stopping-criterion met.\n");
    return st;
}

/* --- set-up and tear-down --------------------------------------------------- */

static enum kurc_status open_log(struct trainer *t, struct kurc_err *err) {
    if (!t->spec.log || !t->rank0)
        return KURC_OK;
    struct kurc_log_summary summary;
    enum kurc_status st = kurc_logger_open(t->spec.log, &t->log, &summary, err);
    if (st)
        return st;
    t->sessions = summary.sessions;
    if (t->state.epoch == 0 && t->state.batches == 0) {
        /* a fresh start continues the log's history (Kur's resume) */
        t->state.epoch = summary.epochs;
        t->state.batches = summary.batches;
        t->state.samples = summary.samples;
        for (int i = 1; i < 4; i++)
            t->state.clocks[i] = summary.clocks[i];
        t->started -= summary.clocks[0];
        t->state.best_train_loss = kurc_logger_best(t->spec.log, "training_loss_total");
        t->state.best_valid_loss = kurc_logger_best(t->spec.log, "validation_loss_total");
    }
    /* as Kur did, the timers of earlier sessions before this one's */
    if (summary.sessions > 1)
        print_timers(t);
    return KURC_OK;
}

static void trainer_release(struct trainer *t) {
    kurc_logger_close(t->log);
    kurc_shard_full_free(t->loaded);
    kurc_optimizer_free(t->optimizer);
    kurc_bindings_release(&t->bind);
    for (size_t i = 0; i < t->n_valid; i++) {
        kurc_bindings_release(&t->valid[i].bind);
        kurc_provider_free(t->valid[i].provider);
        kurc_dataset_release(&t->valid[i].data);
    }
    free(t->valid);
    kurc_hook_warnings_release(&t->warned);
    kurc_session_free(t->s);
    kurc_provider_free(t->provider);
    kurc_dataset_release(&t->data);
    kurc_train_spec_release(&t->spec);
    free(t->kurfile_json);
}

static enum kurc_status set_up(struct trainer *t, struct kurc_err *err) {
    const struct kurc_value *train = kurc_kurfile_section(t->kf, "train");
    enum kurc_status st = kurc_train_spec_read(t->kf, &t->spec, err);
    if (st)
        return st;
    if ((st = kurc_hooks_check_training(kurc_map_get(train, "hooks"), t->spec.log != NULL,
                                        err)) ||
        (st = kurc_hooks_check(kurc_map_get(kurc_kurfile_section(t->kf, "validate"), "hooks"),
                               false, err)))
        return st;
    const struct kurc_value *data = kurc_map_get(train, "data");
    if (!data || data->kind != KURC_LIST)
        return kurc_err_set(err, KURC_E_CONFIG, &train->loc,
                            "train: there is no data to train on (give `train.data`)");
    kurc_dataset_init(&t->data);
    /* rank 0 loads first: a supplier that downloads writes its files once,
     * and the other ranks find them there */
    bool after = !t->rank0 && t->comm->size > 1;
    if (after && (st = t->comm->ops->barrier(t->comm, err)))
        return st;
    st = load_data(t, data, err);
    uint64_t seed = kurc_session_seed(t->kf);
    if (st == KURC_OK && t->rank0 && t->comm->size > 1)
        st = t->comm->ops->barrier(t->comm, err);
    if (st)
        return st;
    /* an optimizer step takes accumulate micro-batches: the provider's
     * batches are the steps' global batches */
    int64_t micro = kurc_provider_batch_size(train), k = t->spec.accumulate;
    t->provider->batch_size = micro * k;
    int64_t max_batch = micro * k, max_pass = micro;
    int64_t vb = kurc_provider_batch_size(kurc_kurfile_section(t->kf, "validate"));
    if (t->n_valid && vb > max_batch)
        max_batch = vb;
    if (t->n_valid && vb > max_pass)
        max_pass = vb;
    int arenas = kurc_optimizer_state_arenas(kurc_map_get(train, "optimizer"));
    if ((st = kurc_session_create(t->kf, t->comm, t->be, &t->data, true, max_batch, max_pass, k,
                                  arenas, &t->s, err)))
        return st;
    t->s->step = t->opt->step;
    t->s->exec->trace = t->trace;
    if (t->s->losses.n == 0)
        return kurc_err_set(err, KURC_E_CONFIG, &t->kf->raw->loc,
                            "there is nothing to minimise: the Kurfile has no `loss` section");
    size_t lo = 0, n = t->s->model->params.total;
    if (t->s->shard)
        kurc_shard_range(t->s->shard, &lo, &n);
    if ((st = bind_all(t, err)) ||
        (st = kurc_optimizer_create_shard(kurc_map_get(train, "optimizer"), lo, n, t->be,
                                          &t->optimizer, err)))
        return st;
    t->optimizer->block_norm = t->s->dist.deterministic; /* sharded or not: the same norm */
    struct kurc_schedule_context sc = {kurc_provider_batches(t->provider), t->spec.epochs,
                                       t->provider->batch_size};
    if ((st = kurc_schedule_read(kurc_map_get(train, "optimizer"), &sc, &t->optimizer->schedule,
                                 err)))
        return st;
    if (t->rank0 && k > 1)
        kurc_log(KURC_LOG_INFO,
                 "train.accumulate: %lld micro-batches of %lld per optimizer step (global batch "
                 "%lld), %s",
                 (long long)k, (long long)micro, (long long)(micro * k),
                 t->s->parts > 1 ? "one pass per micro-batch"
                                 : "in one pass per rank (batch normalisation needs the whole "
                                   "global batch's statistics)");
    struct kurc_strbuf json = KURC_STRBUF_INIT;
    kurc_json_dump(t->kf->data, 4, true, &json);
    t->kurfile_json = kurc_strbuf_take(&json);
    t->state.best_train_loss = t->state.best_valid_loss = INFINITY;
    t->state.seed = seed;
    t->started = kurc_now();
    /* what a run killed while saving left behind */
    const char *saved[] = {t->spec.best_train, t->spec.best_valid, t->spec.last,
                           t->spec.checkpoint};
    for (size_t i = 0; t->rank0 && i < sizeof saved / sizeof *saved; i++)
        kurc_io_clean_tmp(saved[i]);
    if ((st = restore(t, err)) || (st = open_log(t, err)))
        return st;
    /* the log's history is rank 0's: every rank needs the same counters */
    if ((st = t->comm->ops->broadcast(t->comm, &t->state, sizeof t->state, 0, err)))
        return st;
    if (t->rank0 && t->comm->size > 1) {
        char plan[1024];
        kurc_grad_sync_describe(t->s->sync, plan, sizeof plan);
        kurc_log(KURC_LOG_INFO, "%d ranks; gradients: %s", t->comm->size, plan);
    }
    if (t->rank0 && t->s->shard) {
        char plan[1024];
        kurc_shard_describe(t->s->shard, t->optimizer->type->n_state, plan, sizeof plan);
        kurc_log(KURC_LOG_INFO, "%s", plan);
    }
    t->target_epochs = t->spec.epochs < 0 ? -1
                       : t->spec.total_mode ? t->spec.epochs
                                            : t->state.epoch + t->spec.epochs;
    t->last_checkpoint = kurc_now();
    t->checkpoint_epoch = t->state.epoch;
    t->clock_mark = t->spec.total_mode ? 0 : elapsed_clock(t);
    return KURC_OK;
}

/* --trace: writes the trace of a run that ended well or was stopped by a
 * signal (every rank agreed), or, on one rank, whatever ended it; a
 * failed run of several ranks writes none.  A failure to write it fails
 * a run that had succeeded. */
static enum kurc_status close_trace(struct trainer *t, enum kurc_status st,
                                    struct kurc_err *err) {
    if (!t->trace)
        return st;
    if (t->s)
        t->s->exec->trace = NULL;
    bool keep = st == KURC_OK || st == KURC_E_INTERRUPTED || t->comm->size == 1;
    struct kurc_err why;
    enum kurc_status wst =
        kurc_trace_file_close(t->comm, t->opt->trace, t->trace, keep ? KURC_OK : st, &why);
    t->trace = NULL;
    if (keep && wst && st == KURC_OK) {
        *err = why;
        return wst;
    }
    if (keep && wst) {
        char line[2200];
        kurc_err_format(&why, line, sizeof line);
        kurc_log(KURC_LOG_WARNING, "the trace was not written: %s", line);
    }
    return st;
}

/* What a stop by a signal wrote (what the Kurfile configures: the last
 * weights, the checkpoint, the log), for its message. */
static void stop_saved(const struct kurc_train_spec *sp, char *buf, size_t size) {
    const char *what[] = {"the last weights to ", "the checkpoint to ", "the log to "};
    const char *path[] = {sp->last, sp->checkpoint, sp->log};
    size_t n = 0, written = 0;
    for (int i = 0; i < 3; i++)
        n += path[i] != NULL;
    if (n == 0) {
        snprintf(buf, size, "nothing was saved: the Kurfile configures no last weights "
                            "(train.weights.last), checkpoint (train.checkpoint) or log (train.log)");
        return;
    }
    int len = snprintf(buf, size, "saved");
    for (int i = 0; i < 3 && len >= 0 && (size_t)len < size; i++) {
        if (!path[i])
            continue;
        written++;
        const char *sep = written == 1 ? " " : written == n ? " and " : ", ";
        len += snprintf(buf + len, size - (size_t)len, "%s%s%s", sep, what[i], path[i]);
    }
}

enum kurc_status kurc_run_train(struct kurc_kurfile *kf, struct kurc_comm *comm,
                                struct kurc_backend *be, const struct kurc_run_options *opt,
                                struct kurc_err *err) {
    struct trainer t = {.kf = kf, .comm = comm, .be = be, .opt = opt, .rank0 = comm->rank == 0};
    /* a bad --trace path fails here, before anything is loaded */
    enum kurc_status st =
        opt->trace ? kurc_trace_file_open(comm, opt->trace, opt->trace_steps, &t.trace, err)
                   : KURC_OK;
    if (st)
        return st;
    int64_t began = kurc_trace_now();
    st = set_up(&t, err);
    kurc_trace_add(t.trace, KURC_TRACE_SETUP, "set up", NULL, began, kurc_trace_now(), -1);
    bool ready = st == KURC_OK; /* else nothing trained, and no weights are written */
    int sig = 0;
    bool done = false;
    int64_t first_batch = t.state.batches, first_epoch = t.state.epoch;
    while (st == KURC_OK && !sig && (st = finished(&t, &done, &sig, err)) == KURC_OK && !done &&
           !sig)
        st = run_epoch(&t, &sig, err);
    /* a finished run started again: nothing to train, save or tell (the
     * log still counts the session, as Kur's did) */
    if (st == KURC_OK && !sig && t.s && t.state.batches == first_batch &&
        t.state.epoch == first_epoch && t.state.epoch > 0) {
        if (t.rank0)
            fprintf(stderr, "Training is already finished: %lld epochs done. Nothing to do.\n",
                    (long long)t.state.epoch);
        st = close_trace(&t, flush_log(&t, err), err);
        trainer_release(&t);
        return st;
    }
    if (t.s) {
        if (st == KURC_OK && t.rank0 && !sig)
            fprintf(stderr, "Completed %lld epochs.\n", (long long)t.state.epoch);
        /* whatever ended training, keep its last state; the checkpoint
         * too, unless an error stopped it or nothing changed since the
         * last one, so that a rerun resumes where this run ended (a run
         * that failed to start, as on a refused checkpoint, keeps the
         * files it found) */
        struct kurc_err save_err;
        enum kurc_status saved =
            ready ? save_weights(&t, t.spec.last, "last", &save_err) : KURC_OK;
        if (ready && saved == KURC_OK &&
            (sig || (st == KURC_OK && (t.since_checkpoint_batches > 0 ||
                                       t.state.epoch != t.checkpoint_epoch))))
            saved = save_checkpoint(&t, &save_err);
        if (saved == KURC_OK && t.optimizer)
            saved = flush_log(&t, &save_err);
        if (saved == KURC_OK && t.optimizer)
            saved = notify(&t, KURC_EVENT_TRAINING_END, NAN, NAN,
                           st ? err->msg : sig ? "interrupted" : "success", &save_err);
        if (st == KURC_OK && saved != KURC_OK) {
            st = saved;
            *err = save_err;
        }
    }
    if (st == KURC_OK && sig) {
        char saved[1024];
        stop_saved(&t.spec, saved, sizeof saved);
        st = kurc_err_set(err, KURC_E_INTERRUPTED, NULL,
                          "stopped by signal %d after epoch %lld, batch %lld; %s", sig,
                          (long long)t.state.epoch + (t.state.batch ? 1 : 0),
                          (long long)t.state.batch, saved);
    }
    st = close_trace(&t, st, err);
    trainer_release(&t);
    return st;
}
