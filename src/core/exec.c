/* exec.c - memory planning and the forward/backward passes (see exec.h). */
#include "core/exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/memory.h"
#include "base/xalloc.h"
#include "core/liveness.h"

static size_t aligned(size_t n) {
    return (n + 15) / 16 * 16;
}

/* a * b and a + b, or SIZE_MAX when they overflow (a plan that large is
 * refused by the memory check before anything is allocated). */
static size_t sat_mul(size_t a, size_t b) {
    size_t r;
    return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

static size_t sat_add(size_t a, size_t b) {
    size_t r;
    return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

/* Rows of one chunk at most, and chunks of a batch of max_batch at most. */
static int64_t chunk_rows_max(const struct kurc_exec *x) {
    return x->chunk > 0 && x->chunk < x->max_batch ? x->chunk : x->max_batch;
}

static int64_t chunks_max(const struct kurc_exec *x) {
    return x->chunk > 0 ? (x->max_batch + x->chunk - 1) / x->chunk : 1;
}

/* Views and fused epilogues (see exec.h): the reshapes whose output shares
 * their input's memory, the ops of g that run the only reader of their
 * output, and those readers. */
static void plan_fusion(struct kurc_exec *x, const struct kurc_graph *g) {
    for (size_t i = 0; i < g->n_ops; i++) {
        x->epilogue[i] = -1;
        x->fused[i] = false;
    }
    for (size_t t = 0; t < g->n_tensors; t++) {
        x->grad_written[t] = false;
        x->view_of[t] = -1;
    }
    if (x->no_fusion)
        return;
    for (size_t i = 0; i < g->n_ops; i++) {
        const struct kurc_op *op = &g->ops[i];
        const struct kurc_tensor *in = &g->tensors[op->in[0]];
        if (op->def->view && kurc_tensor_batched(in) && in->fold == g->tensors[op->out].fold) {
            x->view_of[op->out] = op->in[0];
            x->fused[i] = true;
        }
    }
    int *readers = kurc_xcalloc(g->n_tensors + 1, sizeof *readers);
    int *reader = kurc_xcalloc(g->n_tensors + 1, sizeof *reader);
    for (size_t j = 0; j < g->n_ops; j++)
        for (int k = 0; k < g->ops[j].n_in; k++) {
            readers[g->ops[j].in[k]]++;
            reader[g->ops[j].in[k]] = (int)j;
        }
    for (size_t i = 0; i < g->n_ops; i++) {
        const struct kurc_op *op = &g->ops[i];
        int t = op->out;
        if (!op->def->fuses || g->tensors[t].external || readers[t] != 1)
            continue;
        const struct kurc_op *next = &g->ops[reader[t]];
        if (!op->def->fuses(x->be, op, next))
            continue;
        x->epilogue[i] = reader[t];
        x->fused[reader[t]] = true;
        x->grad_written[t] = true;
    }
    free(readers);
    free(reader);
}

/* The per-tensor and per-op tables for g, grown when they are too small. */
static void reserve_tables(struct kurc_exec *x, const struct kurc_graph *g) {
    if (g->n_tensors + 1 > x->tensor_capacity) {
        free(x->offsets);
        free(x->grad_offsets);
        free(x->lives);
        free(x->zero_list);
        free(x->grad_written);
        free(x->view_of);
        x->tensor_capacity = g->n_tensors + 1;
        x->offsets = kurc_xcalloc(x->tensor_capacity, sizeof *x->offsets);
        x->grad_offsets = kurc_xcalloc(x->tensor_capacity, sizeof *x->grad_offsets);
        x->lives = kurc_xcalloc(2 * x->tensor_capacity, sizeof *x->lives);
        x->zero_list = kurc_xcalloc(x->tensor_capacity, sizeof *x->zero_list);
        x->grad_written = kurc_xcalloc(x->tensor_capacity, sizeof *x->grad_written);
        x->view_of = kurc_xcalloc(x->tensor_capacity, sizeof *x->view_of);
    }
    if (g->n_ops + 1 > x->op_capacity) {
        free(x->saved_at);
        free(x->saved_stride);
        free(x->zero_first);
        free(x->epilogue);
        free(x->fused);
        x->op_capacity = g->n_ops + 1;
        x->saved_at = kurc_xcalloc(x->op_capacity, sizeof *x->saved_at);
        x->saved_stride = kurc_xcalloc(x->op_capacity, sizeof *x->saved_stride);
        x->zero_first = kurc_xcalloc(x->op_capacity, sizeof *x->zero_first);
        x->epilogue = kurc_xcalloc(x->op_capacity, sizeof *x->epilogue);
        x->fused = kurc_xcalloc(x->op_capacity, sizeof *x->fused);
    }
}

/* The gradients each op's backward zeroes before it runs: those whose
 * lifetime starts at its step (grads: the gradients' lifetimes; views
 * have none of their own, and a gradient that a fused epilogue's backward
 * writes whole is not zeroed), by a counting sort on that op. */
static void plan_zeroing(struct kurc_exec *x, const struct kurc_graph *g,
                         const struct kurc_live *grads) {
    long n = (long)g->n_ops;
    memset(x->zero_first, 0, ((size_t)n + 1) * sizeof *x->zero_first);
    for (size_t t = 0; t < g->n_tensors; t++)
        if (grads[t].floats && !x->grad_written[t])
            x->zero_first[2 * n - 1 - grads[t].start]++;
    for (long i = 1; i <= n; i++) /* each op's end */
        x->zero_first[i] += x->zero_first[i - 1];
    for (size_t t = g->n_tensors; t-- > 0;) /* moves each end to the start */
        if (grads[t].floats && !x->grad_written[t])
            x->zero_list[--x->zero_first[2 * n - 1 - grads[t].start]] = (int)t;
}

/* Gives each view (plan_fusion) the offsets of the tensor it shares,
 * which comes before it. */
static void share_views(struct kurc_exec *x, const struct kurc_graph *g) {
    for (size_t t = 0; t < g->n_tensors; t++)
        if (x->view_of[t] >= 0) {
            x->offsets[t] = x->offsets[x->view_of[t]];
            x->grad_offsets[t] = x->grad_offsets[x->view_of[t]];
        }
}

/* Places g's values and gradients (x->offsets, x->grad_offsets and the
 * arena sizes) by x->plan, views and fused epilogues (plan_fusion) as they
 * run.  A flat plan gives every other tensor a region of its own. */
static void plan_tensors(struct kurc_exec *x, const struct kurc_graph *g) {
    size_t n = g->n_tensors, *floats = kurc_xcalloc(n ? n : 1, sizeof *floats);
    x->flat_floats = 0;
    for (size_t t = 0; t < n; t++) {
        x->offsets[t] = 0;
        if (!kurc_tensor_batched(&g->tensors[t]))
            continue;
        floats[t] = sat_mul(sat_mul((size_t)x->max_batch, (size_t)g->tensors[t].fold),
                            (size_t)kurc_shape_numel(&g->tensors[t].shape));
        if (x->view_of[t] >= 0)
            continue;
        x->offsets[t] = x->flat_floats;
        x->flat_floats =
            sat_add(x->flat_floats, floats[t] < SIZE_MAX - 16 ? aligned(floats[t]) : SIZE_MAX);
    }
    struct kurc_live *values = x->lives, *grads = x->lives + x->tensor_capacity;
    struct kurc_live_runs runs = {x->epilogue, x->fused, x->view_of};
    kurc_liveness(g, x->plan != KURC_PLAN_FORWARD, floats, &runs, values, grads);
    plan_zeroing(x, g, grads);
    if (x->plan == KURC_PLAN_FLAT || x->flat_floats == SIZE_MAX) {
        memcpy(x->grad_offsets, x->offsets, n * sizeof *x->offsets);
        x->act_floats = x->grad_floats = x->flat_floats;
    } else {
        x->act_floats = kurc_liveness_place(values, n, x->offsets);
        x->grad_floats = kurc_liveness_place(grads, n, x->grad_offsets);
    }
    share_views(x, g);
    free(floats);
}

/* Lays out g's tensors and ops at x->max_batch: offsets, arena sizes, the
 * workspace and the host scratch (nothing is allocated but the offset
 * tables). */
static void plan(struct kurc_exec *x, const struct kurc_graph *g) {
    struct kurc_backend *be = x->be;
    int64_t max_batch = x->max_batch;
    x->g = g;
    reserve_tables(x, g);
    plan_fusion(x, g);
    x->saved_floats = x->workspace_bytes = x->host_doubles = 0;
    plan_tensors(x, g);
    int64_t rows = chunk_rows_max(x), chunks = chunks_max(x);
    for (size_t i = 0; i < g->n_ops; i++) {
        const struct kurc_op *op = &g->ops[i];
        int64_t batch = max_batch * g->tensors[op->out].fold;
        x->saved_at[i] = x->saved_floats;
        x->saved_stride[i] = 0;
        if (op->def->saved_floats) {
            x->saved_stride[i] =
                aligned(op->def->saved_floats(op, rows * g->tensors[op->out].fold));
            x->saved_floats += x->saved_stride[i] * (size_t)chunks;
        }
        if (op->def->host_doubles) {
            size_t h = op->def->host_doubles(op, chunks);
            if (h > x->host_doubles)
                x->host_doubles = h;
        }
        if (op->def->workspace_bytes) {
            size_t w = op->def->workspace_bytes(be, op, batch);
            if (w > x->workspace_bytes)
                x->workspace_bytes = w;
        }
    }
}

/* Allocates (again) the arenas that are smaller than the plan needs. */
static enum kurc_status grow(struct kurc_exec *x, struct kurc_err *err) {
    struct kurc_backend *be = x->be;
    size_t host = x->host_doubles ? x->host_doubles : 1;
    if (host > x->host_capacity) {
        free(x->host);
        x->host = kurc_xcalloc(host, sizeof *x->host);
        x->host_capacity = host;
    }
    size_t act = x->act_floats ? x->act_floats : 1;
    size_t grad = x->grad_floats ? x->grad_floats : 1;
    size_t saved = x->saved_floats ? x->saved_floats : 1;
    size_t work = x->workspace_bytes ? x->workspace_bytes : 1;
    /* host memory: refuse what cannot fit before allocating any of it */
    if (be->ops->memory == KURC_MEMORY_HOST) {
        size_t acts = sat_add(sat_mul(sat_add(act, grad), sizeof(float)),
                              sat_add(sat_mul(saved, sizeof(float)), work));
        size_t arenas = x->params ? 2 + (size_t)x->params->state_arenas : 0;
        size_t model = x->params ? sat_mul(x->params->total, arenas * sizeof(float)) : 0;
        char what[160];
        snprintf(what, sizeof what, "the model with a batch of %lld (%.3g GiB of activations)",
                 (long long)x->max_batch, (double)acts / 1073741824.0);
        enum kurc_status st = kurc_memory_check(sat_add(acts, model), KURC_E_CONFIG, what, err);
        if (st)
            return st;
    }
    bool ok = true;
    if (act > x->act_capacity) {
        be->ops->free(be, x->acts);
        x->acts = be->ops->alloc(be, act * sizeof(float));
        x->act_capacity = x->acts ? act : 0;
        ok = ok && x->acts;
    }
    if (grad > x->grad_capacity) {
        be->ops->free(be, x->grads);
        x->grads = be->ops->alloc(be, grad * sizeof(float));
        x->grad_capacity = x->grads ? grad : 0;
        ok = ok && x->grads;
    }
    if (saved > x->saved_capacity) {
        be->ops->free(be, x->saved);
        x->saved = be->ops->alloc(be, saved * sizeof(float));
        x->saved_capacity = x->saved ? saved : 0;
        ok = ok && x->saved;
    }
    if (work > x->workspace_capacity) {
        be->ops->free(be, x->workspace);
        x->workspace = be->ops->alloc(be, work);
        x->workspace_capacity = x->workspace ? work : 0;
        ok = ok && x->workspace;
    }
    if (ok)
        return KURC_OK;
    size_t total = (act + grad + saved) * sizeof(float) + work;
    struct kurc_err why; /* the backend's own account (CUDA: the free memory) */
    bool known = kurc_backend_check(be, &why) != KURC_OK;
    return kurc_err_set(err, KURC_E_BACKEND, NULL,
                        "cannot allocate %zu bytes of activations for a batch of %lld on the "
                        "%s backend%s%.1200s",
                        total, (long long)x->max_batch, be->ops->name, known ? ": " : "",
                        known ? why.msg : "");
}

enum kurc_status kurc_exec_create(struct kurc_backend *be, const struct kurc_graph *g,
                                  struct kurc_params *params, int64_t max_batch,
                                  struct kurc_exec **out, struct kurc_err *err) {
    return kurc_exec_create_chunked(be, g, params, max_batch, 0, out, err);
}

enum kurc_status kurc_exec_create_chunked(struct kurc_backend *be, const struct kurc_graph *g,
                                          struct kurc_params *params, int64_t max_batch,
                                          int64_t chunk, struct kurc_exec **out,
                                          struct kurc_err *err) {
    return kurc_exec_create_planned(be, g, params, max_batch, chunk, KURC_PLAN_FLAT, out, err);
}

/* A new executor, planned for g but with nothing allocated. */
static struct kurc_exec *planned(struct kurc_backend *be, const struct kurc_graph *g,
                                 struct kurc_params *params, int64_t max_batch, int64_t chunk,
                                 enum kurc_plan how) {
    struct kurc_exec *x = kurc_xcalloc(1, sizeof *x);
    x->be = be;
    x->params = params;
    x->max_batch = max_batch;
    x->batch = max_batch;
    x->loss_scale = 1.0f;
    x->chunk = chunk > 0 ? chunk : 0;
    x->chunk_index = -1;
    x->plan = how;
    plan(x, g);
    return x;
}

void kurc_exec_bytes(const struct kurc_exec *x, struct kurc_exec_bytes *out) {
    bool grads = x->plan != KURC_PLAN_FORWARD;
    *out = (struct kurc_exec_bytes){
        .values = sat_mul(x->act_floats, sizeof(float)),
        .grads = sat_mul(x->grad_floats, sizeof(float)),
        .saved = sat_mul(x->saved_floats, sizeof(float)),
        .workspace = x->workspace_bytes,
        .flat_values = sat_mul(x->flat_floats, sizeof(float)),
        .flat_grads = grads ? sat_mul(x->flat_floats, sizeof(float)) : 0,
    };
}

void kurc_exec_measure(struct kurc_backend *be, const struct kurc_graph *g, int64_t max_batch,
                       int64_t chunk, enum kurc_plan plan, struct kurc_exec_bytes *out) {
    struct kurc_exec *x = planned(be, g, NULL, max_batch, chunk, plan);
    kurc_exec_bytes(x, out);
    kurc_exec_free(x);
}

enum kurc_status kurc_exec_create_planned(struct kurc_backend *be, const struct kurc_graph *g,
                                          struct kurc_params *params, int64_t max_batch,
                                          int64_t chunk, enum kurc_plan plan,
                                          struct kurc_exec **out, struct kurc_err *err) {
    struct kurc_exec *x = planned(be, g, params, max_batch, chunk, plan);
    enum kurc_status st = grow(x, err);
    if (st) {
        kurc_exec_free(x);
        return st;
    }
    *out = x;
    return KURC_OK;
}

enum kurc_status kurc_exec_replan(struct kurc_exec *x, const struct kurc_graph *g,
                                  struct kurc_err *err) {
    plan(x, g);
    return grow(x, err);
}

void kurc_exec_free(struct kurc_exec *x) {
    if (!x)
        return;
    struct kurc_backend *be = x->be;
    be->ops->free(be, x->acts);
    be->ops->free(be, x->grads);
    be->ops->free(be, x->saved);
    be->ops->free(be, x->workspace);
    free(x->offsets);
    free(x->grad_written);
    free(x->view_of);
    free(x->grad_offsets);
    free(x->lives);
    free(x->zero_list);
    free(x->zero_first);
    free(x->saved_at);
    free(x->saved_stride);
    free(x->epilogue);
    free(x->fused);
    free(x->host);
    free(x);
}

/* Floats before row x->row0 of a batched tensor. */
static size_t row_offset(const struct kurc_exec *x, const struct kurc_tensor *t) {
    return x->row0 ? (size_t)(x->row0 * t->fold * kurc_shape_numel(&t->shape)) : 0;
}

float *kurc_exec_value(const struct kurc_exec *x, int tensor) {
    const struct kurc_tensor *t = &x->g->tensors[tensor];
    if (t->kind == KURC_TENSOR_PARAM)
        return x->params->values + x->params->items[t->param].offset;
    return x->acts + x->offsets[tensor] + row_offset(x, t);
}

/* Where parameter gradients go: chunk_grads' arena while it names one. */
static float *param_grads(const struct kurc_exec *x) {
    return x->param_grads ? x->param_grads : x->params->grads;
}

float *kurc_exec_grad(const struct kurc_exec *x, int tensor) {
    const struct kurc_tensor *t = &x->g->tensors[tensor];
    if (t->kind == KURC_TENSOR_PARAM) {
        const struct kurc_param *q = &x->params->items[t->param];
        return q->trainable ? param_grads(x) + q->offset : NULL;
    }
    if (!t->needs_grad || x->plan == KURC_PLAN_FORWARD)
        return NULL;
    return x->grads + x->grad_offsets[tensor] + row_offset(x, t);
}

const struct kurc_op *kurc_exec_epilogue(const struct kurc_exec *x, const struct kurc_op *op) {
    int next = x->epilogue[op->index];
    return next >= 0 ? &x->g->ops[next] : NULL;
}

int64_t kurc_exec_count(const struct kurc_exec *x, int tensor) {
    const struct kurc_tensor *t = &x->g->tensors[tensor];
    int64_t n = kurc_shape_numel(&t->shape);
    return kurc_tensor_batched(t) ? n * x->batch * t->fold : n;
}

int64_t kurc_exec_batch(const struct kurc_exec *x, int tensor) {
    return x->batch * x->g->tensors[tensor].fold;
}

float *kurc_exec_saved(const struct kurc_exec *x, const struct kurc_op *op) {
    size_t slot = x->chunk > 0 && x->chunk_index > 0 ? (size_t)x->chunk_index : 0;
    return x->saved + x->saved_at[op->index] + slot * x->saved_stride[op->index];
}

float *kurc_exec_saved_shared(const struct kurc_exec *x, const struct kurc_op *op) {
    return x->saved + x->saved_at[op->index];
}

int64_t kurc_exec_chunks(const struct kurc_exec *x) {
    return x->chunk > 0 ? (x->batch + x->chunk - 1) / x->chunk : 1;
}

void kurc_exec_chunk_rows(const struct kurc_exec *x, int64_t k, int64_t *row0, int64_t *rows) {
    if (x->chunk <= 0) {
        *row0 = 0;
        *rows = x->batch;
        return;
    }
    *row0 = k * x->chunk;
    *rows = x->batch - *row0 < x->chunk ? x->batch - *row0 : x->chunk;
}

/* Chunked runs: the state of one chunk, and back to all rows. */
struct whole {
    int64_t batch, max_batch;
    uint64_t sample_base;
};

static void enter_chunk(struct kurc_exec *x, struct whole w, int64_t k) {
    int64_t row0, rows;
    x->batch = w.batch;
    kurc_exec_chunk_rows(x, k, &row0, &rows);
    x->chunk_index = k;
    x->row0 = row0;
    x->batch = rows;
    x->sample_base = w.sample_base + (uint64_t)row0; /* dropout masks follow the sample */
    x->max_batch = x->chunk < w.max_batch ? x->chunk : w.max_batch; /* as planned */
}

static void leave_chunk(struct kurc_exec *x, struct whole w) {
    x->chunk_index = -1;
    x->row0 = 0;
    x->batch = w.batch;
    x->max_batch = w.max_batch;
    x->sample_base = w.sample_base;
}

/* Zeroes the gradients of the trainable parameters op reads. */
static void zero_param_grads(struct kurc_exec *x, const struct kurc_op *op) {
    for (int j = 0; j < op->n_in; j++) {
        const struct kurc_tensor *t = &x->g->tensors[op->in[j]];
        if (t->kind != KURC_TENSOR_PARAM)
            continue;
        const struct kurc_param *q = &x->params->items[t->param];
        if (q->trainable)
            x->be->ops->zero(x->be, param_grads(x) + q->offset, (size_t)q->numel * sizeof(float));
    }
}

/* --trace: op's span (forward or backward) from start to now, named
 * "dense+activation" when it runs a fused epilogue. */
static void trace_op(struct kurc_exec *x, enum kurc_trace_kind kind, const struct kurc_op *op,
                     int64_t start) {
    const struct kurc_op *epi = kurc_exec_epilogue(x, op);
    char name[96];
    snprintf(name, sizeof name, "%s%s%s", op->def->name, epi ? "+" : "",
             epi ? epi->def->name : "");
    kurc_trace_add(x->trace, kind, name, x->g->tensors[op->out].name, start, kurc_trace_now(),
                   -1);
}

void kurc_exec_forward(struct kurc_exec *x) {
    const struct kurc_graph *g = x->g;
    struct whole w = {x->batch, x->max_batch, x->sample_base};
    int64_t chunks = kurc_exec_chunks(x);
    int64_t pass = x->trace ? kurc_trace_now() : 0, start = 0;
    for (size_t i = 0; i < g->n_ops; i++) {
        const struct kurc_op *op = &g->ops[i];
        if (x->fused[i]) /* run by the op before it */
            continue;
        if (x->trace)
            start = kurc_trace_now();
        if (op->def->prepare_forward)
            op->def->prepare_forward(x, op);
        if (x->chunk <= 0) {
            op->def->forward(x, op);
        } else {
            for (int64_t k = 0; k < chunks; k++) {
                enter_chunk(x, w, k);
                op->def->forward(x, op);
            }
            leave_chunk(x, w);
        }
        if (x->trace)
            trace_op(x, KURC_TRACE_FORWARD, op, start);
    }
    if (x->trace)
        kurc_trace_add(x->trace, KURC_TRACE_PASS, "forward", NULL, pass, kurc_trace_now(), -1);
}

void kurc_exec_backward(struct kurc_exec *x) {
    const struct kurc_graph *g = x->g;
    int64_t pass = x->trace ? kurc_trace_now() : 0, start = 0;
    struct whole w = {x->batch, x->max_batch, x->sample_base};
    int64_t chunks = kurc_exec_chunks(x);
    for (size_t i = g->n_ops; i-- > 0;) {
        const struct kurc_op *op = &g->ops[i];
        bool run = !x->fused[i] && op->def->backward && g->tensors[op->out].needs_grad;
        if (x->trace)
            start = kurc_trace_now();
        for (size_t z = x->zero_first[i]; z < x->zero_first[i + 1]; z++)
            x->be->ops->zero(x->be, kurc_exec_grad(x, x->zero_list[z]),
                             (size_t)kurc_exec_count(x, x->zero_list[z]) * sizeof(float));
        if (run && op->def->prepare_backward)
            op->def->prepare_backward(x, op);
        if (x->chunk <= 0) {
            if (run)
                op->def->backward(x, op);
            /* the op's span ends before the hook starts the buckets it
             * completed (and records those that completed meanwhile) */
            if (run && x->trace)
                trace_op(x, KURC_TRACE_BACKWARD, op, start);
            if (x->after_backward && x->trace) {
                start = kurc_trace_now();
                x->after_backward(x->hook_ctx, x, (int)i);
                kurc_trace_add(x->trace, KURC_TRACE_HOOK, "gradient buckets", NULL, start,
                               kurc_trace_now(), -1);
            } else if (x->after_backward) {
                x->after_backward(x->hook_ctx, x, (int)i);
            }
            continue;
        }
        for (int64_t k = 0; k < chunks; k++) {
            enter_chunk(x, w, k);
            x->param_grads = x->chunk_grads ? x->chunk_grads(x->hook_ctx, x, (int)i) : NULL;
            zero_param_grads(x, op);
            if (run)
                op->def->backward(x, op);
            x->param_grads = NULL;
            if (x->after_backward)
                x->after_backward(x->hook_ctx, x, (int)i);
        }
        leave_chunk(x, w);
        if (run && x->trace)
            trace_op(x, KURC_TRACE_BACKWARD, op, start);
    }
    if (x->trace)
        kurc_trace_add(x->trace, KURC_TRACE_PASS, "backward", NULL, pass, kurc_trace_now(), -1);
}
