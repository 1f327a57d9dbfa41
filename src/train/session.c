/* session.c - setting up a model for running (see session.h). */
#include "train/session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/rng.h"
#include "base/xalloc.h"
#include "data/provider.h"
#include "train/binding.h"
#include "train/shard.h"

uint64_t kurc_session_seed(const struct kurc_kurfile *kf) {
    const struct kurc_value *settings = kurc_kurfile_section(kf, "settings");
    const struct kurc_value *seed = settings ? kurc_map_get(settings, "seed") : NULL;
    return seed && seed->kind == KURC_INT ? (uint64_t)seed->u.i : 0;
}

uint64_t kurc_session_provider_seed(const struct kurc_kurfile *kf, const char *name) {
    uint64_t tag = 0xcbf29ce484222325ull; /* FNV-1a of the name */
    for (; *name; name++)
        tag = (tag ^ (unsigned char)*name) * 0x100000001b3ull;
    return kurc_rng_derive(kurc_session_seed(kf), tag);
}

void kurc_session_slice(struct kurc_session *s, int64_t n, int64_t *first, int64_t *count) {
    const struct kurc_comm *c = s->comm;
    if (!s->dist.deterministic) {
        int64_t lo = n * c->rank / c->size, hi = n * (c->rank + 1) / c->size;
        *first = lo;
        *count = hi - lo;
        return;
    }
    int64_t chunk = s->dist.chunk;
    struct kurc_dist_slice *sl = &s->slice;
    sl->n = n;
    sl->chunks = (n + chunk - 1) / chunk;
    kurc_dist_chunk_range(sl->chunks, c->rank, c->size, &sl->first, &sl->count);
    int64_t lo = sl->first * chunk, hi = (sl->first + sl->count) * chunk;
    *first = lo < n ? lo : n;
    *count = (hi < n ? hi : n) - *first;
}

/* The executor's reduce (exec.h): batch-normalisation statistics over
 * every rank, in chunk order in deterministic mode.  A failure here cannot
 * be returned through the op, and the other ranks are inside the same
 * collective: it ends the job. */
static void session_reduce(void *ctx, const double *partials, int64_t chunks, int64_t width,
                           double *out) {
    struct kurc_session *s = ctx;
    struct kurc_err err;
    enum kurc_status st;
    if (s->dist.deterministic) {
        st = kurc_dist_ordered_sum(s->comm, &s->slice, partials, width, out, &err);
    } else {
        for (int64_t j = 0; j < width; j++)
            out[j] = chunks > 0 ? partials[j] : 0.0;
        st = s->comm->ops->allreduce_double(s->comm, out, width, &err);
    }
    if (st == KURC_OK)
        return;
    char line[2200];
    kurc_err_format(&err, line, sizeof line);
    fprintf(stderr, "kurc: rank %d of %d: batch normalisation statistics: %s\n", s->comm->rank,
            s->comm->size, line);
    fflush(stderr);
    s->comm->ops->abort(s->comm, kurc_status_exit_code(st));
}

static bool has_op(const struct kurc_graph *g, const char *name) {
    for (size_t i = 0; i < g->n_ops; i++)
        if (strcmp(g->ops[i].def->name, name) == 0)
            return true;
    return false;
}

/* Sets the executor up for the ranks: the statistics reduce and the
 * gradient reduction. */
static enum kurc_status set_up_dist(struct kurc_session *s, bool training, int64_t max_chunks,
                                    struct kurc_err *err) {
    struct kurc_exec *x = s->exec;
    bool global_bn = s->dist.deterministic || (s->comm->size > 1 && !s->dist.bn_per_rank);
    if (global_bn && has_op(s->model->graph, "batchnorm")) {
        if (!s->be->ops->batchnorm_sums || !s->be->ops->batchnorm_affine)
            return kurc_err_set(err, KURC_E_UNSUPPORTED, NULL,
                                "the %s backend cannot share batch-normalisation statistics "
                                "between ranks; set settings.batch_norm: per_rank%s",
                                s->be->ops->name,
                                s->dist.deterministic ? " and settings.deterministic: no" : "");
        x->reduce = session_reduce;
        x->reduce_ctx = s;
    }
    if (!training)
        return KURC_OK;
    enum kurc_status st =
        s->dist.shard ? kurc_shard_create(s->comm, &s->model->params, &s->dist, &s->shard, err)
                      : KURC_OK;
    if (st)
        return st;
    return kurc_grad_sync_create(s->comm, s->be, s->model->graph, &s->model->params, &s->dist,
                                 max_chunks, x, &s->sync, err);
}

enum kurc_status kurc_session_backward_part(struct kurc_session *s, int64_t part, int64_t parts,
                                            int64_t done, struct kurc_err *err) {
    if (part == 0)
        kurc_grad_sync_begin(s->sync, &s->slice);
    kurc_grad_sync_part(s->sync, done, part == parts - 1);
    kurc_exec_backward(s->exec);
    return part == parts - 1 ? kurc_grad_sync_finish(s->sync, err) : KURC_OK;
}


static bool dataset_shape(void *ctx, const char *name, struct kurc_shape *shape) {
    const struct kurc_source *s = kurc_dataset_find(ctx, name);
    if (s)
        *shape = s->shape;
    return s != NULL;
}

/* Copies an arena of n floats in backend memory from rank 0 to all. */
static enum kurc_status broadcast_arena(struct kurc_session *s, float *arena, size_t n,
                                        struct kurc_err *err) {
    float *host = kurc_xmalloc((n ? n : 1) * sizeof *host);
    s->be->ops->download(s->be, host, arena, n * sizeof *host);
    enum kurc_status st = s->comm->ops->broadcast(s->comm, host, n * sizeof *host, 0, err);
    if (st == KURC_OK)
        s->be->ops->upload(s->be, arena, host, n * sizeof *host);
    free(host);
    return st;
}

static enum kurc_status broadcast_params(struct kurc_session *s, struct kurc_err *err) {
    if (s->comm->size == 1)
        return KURC_OK;
    return broadcast_arena(s, s->model->params.values, s->model->params.total, err);
}

enum kurc_status kurc_session_sync(struct kurc_session *s, struct kurc_optimizer *o,
                                   struct kurc_err *err) {
    if (s->comm->size == 1)
        return KURC_OK;
    enum kurc_status st = broadcast_params(s, err);
    for (int i = 0; o && i < o->type->n_state && st == KURC_OK; i++)
        st = broadcast_arena(s, o->state[i], s->model->params.total, err);
    if (o && st == KURC_OK)
        st = s->comm->ops->broadcast(s->comm, &o->iterations, sizeof o->iterations, 0, err);
    return st;
}

enum kurc_status kurc_session_create(struct kurc_kurfile *kf, struct kurc_comm *comm,
                                     struct kurc_backend *be, const struct kurc_dataset *shapes,
                                     bool with_losses, int64_t max_global_batch,
                                     int64_t max_pass_batch, int64_t parts, int state_arenas,
                                     struct kurc_session **out, struct kurc_err *err) {
    struct kurc_session *s = kurc_xcalloc(1, sizeof *s);
    s->kf = kf;
    s->comm = comm;
    s->be = be;
    s->seed = kurc_session_seed(kf);
    s->with_losses = with_losses;
    *out = NULL;
    struct kurc_shape_source source = {dataset_shape, (void *)shapes};
    enum kurc_status st = kurc_dist_settings_read(kf, &s->dist, err);
    if (!st)
        kurc_comm_set_timeout(comm, s->dist.comm_timeout);
    if (!st)
        st = kurc_model_parse(kf, s->seed, &s->model, err);
    if (!st)
        st = kurc_model_build(s->model, shapes ? &source : NULL, err);
    if (!st && with_losses)
        st = kurc_losses_build(s->model, kurc_kurfile_section(kf, "loss"), &s->losses, err);
    /* before anything else goes between ranks: are they running the same? */
    if (!st)
        st = kurc_dist_fingerprint(comm, kf, &s->model->params, shapes, err);
    if (!st) {
        /* a sharded optimizer keeps 1/N of each arena (counted rounded up) */
        int ranks = s->dist.shard ? comm->size : 1;
        s->model->params.state_arenas = (state_arenas + ranks - 1) / ranks;
        st = kurc_params_allocate(&s->model->params, be, err);
    }
    if (!st)
        st = kurc_params_initialize(&s->model->params, s->seed, err);
    if (!st)
        st = broadcast_params(s, err);
    if (!st)
        st = kurc_backend_check(be, err);
    /* rows per rank: a share of the largest batch run in one pass, or
     * whole chunks of it */
    s->parts = parts > 1 && !(s->model && has_op(s->model->graph, "batchnorm")) ? parts : 1;
    int64_t pass = s->parts > 1 ? max_pass_batch : max_global_batch;
    int64_t chunk = s->dist.deterministic ? s->dist.chunk : 0;
    int64_t max_chunks = chunk ? (max_global_batch + chunk - 1) / chunk : 0;
    int64_t pass_chunks = chunk ? (pass + chunk - 1) / chunk : 0;
    int64_t local = chunk ? (pass_chunks + comm->size - 1) / comm->size * chunk
                          : (pass + comm->size - 1) / comm->size;
    if (!st) /* memory shared by liveness; evaluation runs no backward pass */
        st = kurc_exec_create_planned(be, s->model->graph, &s->model->params,
                                      local > 0 ? local : 1, chunk,
                                      with_losses ? KURC_PLAN_TRAIN : KURC_PLAN_FORWARD, &s->exec,
                                      err);
    if (!st)
        st = set_up_dist(s, with_losses, max_chunks, err);
    if (!st && chunk) /* a row per chunk of the rank's slice of the largest batch */
        s->partials = kurc_xcalloc((size_t)((max_chunks + comm->size - 1) / comm->size + 1) *
                                       (s->losses.n + 1),
                                   sizeof *s->partials);
    if (!st && s->dist.deterministic && comm->rank == 0)
        kurc_log(KURC_LOG_INFO,
                 "settings.deterministic: chunks of %lld samples summed in a fixed order, one "
                 "BLAS thread",
                 (long long)chunk);
    if (st) {
        kurc_session_free(s);
        return st;
    }
    *out = s;
    return KURC_OK;
}

void kurc_session_free(struct kurc_session *s) {
    if (!s)
        return;
    kurc_grad_sync_free(s->sync);
    kurc_shard_free(s->shard);
    kurc_exec_free(s->exec);
    free(s->partials);
    kurc_losses_release(&s->losses);
    kurc_model_free(s->model);
    free(s);
}

/* Deterministic mode: each chunk's sums, rows done.. of s->partials (their
 * sum in chunk order is kurc_session_loss_reduce's). */
static void chunk_loss_sums(struct kurc_session *s, int64_t done) {
    struct kurc_exec *x = s->exec;
    size_t n = s->losses.n;
    int64_t chunks = kurc_exec_chunks(x), row0, rows;
    for (int64_t k = 0; k < chunks; k++) {
        double *row = s->partials + (size_t)(done + k) * (n + 1);
        kurc_exec_chunk_rows(x, k, &row0, &rows);
        x->row0 = row0;
        for (size_t i = 0; i < n; i++) {
            row[i] = 0;
            if (rows > 0)
                s->be->ops->sum(s->be, rows, kurc_exec_value(x, s->losses.terms[i].value), &row[i]);
        }
        x->row0 = 0;
        row[n] = (double)rows;
    }
}

void kurc_session_loss_part(struct kurc_session *s, int64_t done, double *local) {
    struct kurc_exec *x = s->exec;
    size_t n = s->losses.n;
    if (s->dist.deterministic) {
        chunk_loss_sums(s, done);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        if (x->batch > 0)
            s->be->ops->sum(s->be, x->batch, kurc_exec_value(x, s->losses.terms[i].value), &sum);
        local[i] += sum;
    }
    local[n] += (double)x->batch;
}

enum kurc_status kurc_session_loss_reduce(struct kurc_session *s, const double *local,
                                          double *sums, struct kurc_err *err) {
    size_t n = s->losses.n;
    if (s->dist.deterministic)
        return kurc_dist_ordered_sum(s->comm, &s->slice, s->partials, (int64_t)n + 1, sums,
                                     err);
    memcpy(sums, local, (n + 1) * sizeof *sums);
    /* a device failure of this batch's forward pass (or the last step) */
    enum kurc_status st = kurc_backend_check(s->be, err);
    if (st)
        return st;
    return s->comm->ops->allreduce_double(s->comm, sums, (int64_t)n + 1, err);
}

enum kurc_status kurc_session_loss_sums(struct kurc_session *s, double *sums,
                                        struct kurc_err *err) {
    size_t n = s->losses.n;
    for (size_t i = 0; i <= n; i++)
        sums[i] = 0;
    kurc_session_loss_part(s, 0, sums);
    return kurc_session_loss_reduce(s, sums, sums, err);
}

/* The shapes of one batch: a variable-length source's first axis is the
 * batch's padded length; other sources have their own shapes. */
struct batch_shapes {
    const struct kurc_dataset *data;
    const int64_t *batch;
    int64_t n;
};

static bool batch_shape(void *ctx, const char *name, struct kurc_shape *shape) {
    const struct batch_shapes *b = ctx;
    const struct kurc_source *s = kurc_dataset_find(b->data, name);
    if (!s)
        return false;
    *shape = s->shape;
    if (kurc_source_ragged(s))
        shape->dim[0] = kurc_provider_length(s, b->batch, b->n);
    return true;
}

/* Builds the graph again for the shapes of a batch. */
static enum kurc_status rebuild(struct kurc_session *s, struct kurc_bindings *b,
                                const int64_t *batch, int64_t n, struct kurc_err *err) {
    struct batch_shapes ctx = {b->data, batch, n};
    struct kurc_shape_source source = {batch_shape, &ctx};
    enum kurc_status st = kurc_model_build(s->model, &source, err);
    if (st == KURC_OK && s->with_losses) {
        kurc_losses_release(&s->losses);
        st = kurc_losses_build(s->model, kurc_kurfile_section(s->kf, "loss"), &s->losses, err);
    }
    if (st == KURC_OK)
        st = kurc_exec_replan(s->exec, s->model->graph, err);
    if (st == KURC_OK)
        st = kurc_grad_sync_replan(&s->sync, s->model->graph, &s->dist, err);
    if (st == KURC_OK)
        st = kurc_bind_refresh(b, s->model, s->with_losses ? &s->losses : NULL, err);
    s->rebuilds++;
    if (st) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return kurc_err_set(err, st, NULL,
                            "rebuilding the model for a batch of other sequence lengths: %s", msg);
    }
    if (kurc_log_enabled(KURC_LOG_DEBUG)) {
        for (size_t i = 0; i < b->n; i++)
            if (kurc_source_ragged(b->items[i].source))
                kurc_log(KURC_LOG_DEBUG, "rebuilt the model for '%s' padded to %lld",
                         b->items[i].source->name, (long long)b->items[i].length);
    }
    return KURC_OK;
}

enum kurc_status kurc_session_load(struct kurc_session *s, struct kurc_bindings *b,
                                   const int64_t *batch, int64_t n, int64_t first, int64_t count,
                                   struct kurc_err *err) {
    const struct kurc_losses *losses = s->with_losses ? &s->losses : NULL;
    int64_t began = s->exec->trace ? kurc_trace_now() : 0;
    enum kurc_status st = kurc_bind_refresh(b, s->model, losses, err);
    if (st == KURC_OK && b->ragged) {
        bool changed = false;
        for (size_t i = 0; i < b->n; i++) {
            struct kurc_binding *it = &b->items[i];
            if (!kurc_source_ragged(it->source))
                continue;
            it->length = kurc_provider_length(it->source, batch, n);
            changed =
                changed || kurc_graph_shape(s->model->graph, it->tensor)->dim[0] != it->length;
        }
        if (changed)
            st = rebuild(s, b, batch, n, err);
    }
    if (st == KURC_OK)
        kurc_bind_load(b, s->exec, batch + first, count);
    if (s->exec->trace)
        kurc_trace_add(s->exec->trace, KURC_TRACE_DATA, "load batch", NULL, began,
                       kurc_trace_now(), count);
    return st;
}
