/* exec.c - memory planning and the forward/backward passes (see exec.h). */
#include "exec.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static size_t aligned(size_t n) {
    return (n + 15) / 16 * 16;
}

static bool batched(const struct kurc_tensor *t) {
    return t->kind != KURC_TENSOR_PARAM;
}

/* Lays out g's tensors and ops at x->max_batch: offsets, arena sizes and
 * the workspace (nothing is allocated but the offset tables). */
static void plan(struct kurc_exec *x, const struct kurc_graph *g) {
    struct kurc_backend *be = x->be;
    int64_t max_batch = x->max_batch;
    x->g = g;
    if (g->n_tensors + 1 > x->tensor_capacity) {
        free(x->offsets);
        x->tensor_capacity = g->n_tensors + 1;
        x->offsets = kurc_xcalloc(x->tensor_capacity, sizeof *x->offsets);
    }
    if (g->n_ops + 1 > x->op_capacity) {
        free(x->saved_at);
        x->op_capacity = g->n_ops + 1;
        x->saved_at = kurc_xcalloc(x->op_capacity, sizeof *x->saved_at);
    }
    x->act_floats = x->saved_floats = x->workspace_bytes = 0;
    for (size_t t = 0; t < g->n_tensors; t++) {
        x->offsets[t] = 0;
        if (!batched(&g->tensors[t]))
            continue;
        x->offsets[t] = x->act_floats;
        x->act_floats += aligned((size_t)(max_batch * g->tensors[t].fold *
                                          kurc_shape_numel(&g->tensors[t].shape)));
    }
    for (size_t i = 0; i < g->n_ops; i++) {
        const struct kurc_op *op = &g->ops[i];
        int64_t batch = max_batch * g->tensors[op->out].fold;
        x->saved_at[i] = x->saved_floats;
        if (op->def->saved_floats)
            x->saved_floats += aligned(op->def->saved_floats(op, batch));
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
    size_t act = x->act_floats ? x->act_floats : 1;
    size_t saved = x->saved_floats ? x->saved_floats : 1;
    size_t work = x->workspace_bytes ? x->workspace_bytes : 1;
    bool ok = true;
    if (act > x->act_capacity) {
        be->ops->free(be, x->acts);
        be->ops->free(be, x->grads);
        x->acts = be->ops->alloc(be, act * sizeof(float));
        x->grads = be->ops->alloc(be, act * sizeof(float));
        x->act_capacity = x->acts && x->grads ? act : 0;
        ok = ok && x->act_capacity;
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
    size_t total = 2 * act * sizeof(float) + saved * sizeof(float) + work;
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
    struct kurc_exec *x = kurc_xcalloc(1, sizeof *x);
    x->be = be;
    x->params = params;
    x->max_batch = max_batch;
    x->batch = max_batch;
    x->loss_scale = 1.0f;
    plan(x, g);
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
    free(x->saved_at);
    free(x);
}

float *kurc_exec_value(const struct kurc_exec *x, int tensor) {
    const struct kurc_tensor *t = &x->g->tensors[tensor];
    if (t->kind == KURC_TENSOR_PARAM)
        return x->params->values + x->params->items[t->param].offset;
    return x->acts + x->offsets[tensor];
}

float *kurc_exec_grad(const struct kurc_exec *x, int tensor) {
    const struct kurc_tensor *t = &x->g->tensors[tensor];
    if (t->kind == KURC_TENSOR_PARAM) {
        const struct kurc_param *q = &x->params->items[t->param];
        return q->trainable ? x->params->grads + q->offset : NULL;
    }
    return t->needs_grad ? x->grads + x->offsets[tensor] : NULL;
}

int64_t kurc_exec_count(const struct kurc_exec *x, int tensor) {
    const struct kurc_tensor *t = &x->g->tensors[tensor];
    int64_t n = kurc_shape_numel(&t->shape);
    return batched(t) ? n * x->batch * t->fold : n;
}

int64_t kurc_exec_batch(const struct kurc_exec *x, int tensor) {
    return x->batch * x->g->tensors[tensor].fold;
}

float *kurc_exec_saved(const struct kurc_exec *x, const struct kurc_op *op) {
    return x->saved + x->saved_at[op->index];
}

void kurc_exec_forward(struct kurc_exec *x) {
    const struct kurc_graph *g = x->g;
    for (size_t i = 0; i < g->n_ops; i++)
        g->ops[i].def->forward(x, &g->ops[i]);
}

void kurc_exec_backward(struct kurc_exec *x) {
    const struct kurc_graph *g = x->g;
    for (size_t t = 0; t < g->n_tensors; t++)
        if (batched(&g->tensors[t]) && g->tensors[t].needs_grad)
            x->be->ops->zero(x->be, kurc_exec_grad(x, (int)t),
                             (size_t)kurc_exec_count(x, (int)t) * sizeof(float));
    for (size_t i = g->n_ops; i-- > 0;) {
        const struct kurc_op *op = &g->ops[i];
        if (op->def->backward && g->tensors[op->out].needs_grad)
            op->def->backward(x, op);
    }
}
