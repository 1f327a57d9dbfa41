/* dist.c - distributed settings, gradient reduction, ordered sums and the
 * start-up fingerprint (see dist.h). */
#include "train/dist.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/kurc_config.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "config/value/json_dump.h"
#include "train/shard.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* --- settings ---------------------------------------------------------------- */

static double number(const struct kurc_value *v, double fallback) {
    if (v && v->kind == KURC_INT)
        return (double)v->u.i;
    if (v && v->kind == KURC_FLOAT)
        return v->u.f;
    return fallback;
}

enum kurc_status kurc_dist_settings_read(const struct kurc_kurfile *kf,
                                         struct kurc_dist_settings *out, struct kurc_err *err) {
    const struct kurc_value *s = kurc_kurfile_section(kf, "settings");
    if (s && s->kind != KURC_MAP)
        s = NULL;
    *out = (struct kurc_dist_settings){
        .chunk = 8, .buckets = true, .first_mb = 1, .mb = 25, .comm_timeout = -1};
    const struct kurc_value *v = s ? kurc_map_get(s, "deterministic") : NULL;
    out->deterministic = v && v->kind == KURC_BOOL && v->u.b;
    v = s ? kurc_map_get(s, "deterministic_chunk") : NULL;
    if (v && v->kind == KURC_INT)
        out->chunk = v->u.i;
    v = s ? kurc_map_get(s, "buckets") : NULL;
    if (v && v->kind == KURC_BOOL)
        out->buckets = v->u.b;
    if (v && v->kind == KURC_MAP) {
        out->first_mb = number(kurc_map_get(v, "first_mb"), out->first_mb);
        out->mb = number(kurc_map_get(v, "mb"), out->mb);
    }
    v = s ? kurc_map_get(s, "batch_norm") : NULL;
    out->bn_per_rank = v && v->kind == KURC_STR && strcmp(v->u.str.s, "per_rank") == 0;
    v = s ? kurc_map_get(s, "shard_optimizer") : NULL;
    out->shard = v && v->kind == KURC_BOOL && v->u.b;
    v = s ? kurc_map_get(s, "comm_timeout") : NULL;
    out->comm_timeout = number(v, out->comm_timeout);
    if (out->chunk < 1 || out->first_mb <= 0 || out->mb <= 0 || (out->comm_timeout < 0 && number(v, 0) < 0))
        return kurc_err_set(err, KURC_E_CONFIG, v ? &v->loc : NULL,
                            "settings: deterministic_chunk, buckets.first_mb and buckets.mb must "
                            "be positive and comm_timeout not negative");
    return KURC_OK;
}

/* --- ordered sums of small values ------------------------------------------------ */

void kurc_dist_chunk_range(int64_t chunks, int rank, int size, int64_t *first, int64_t *count) {
    int64_t lo = chunks * rank / size, hi = chunks * (rank + 1) / size;
    *first = lo;
    *count = hi - lo;
}

enum kurc_status kurc_dist_ordered_sum(struct kurc_comm *comm, const struct kurc_dist_slice *sl,
                                       const double *partials, int64_t width, double *out,
                                       struct kurc_err *err) {
    size_t row = (size_t)width * sizeof(double);
    size_t *counts = kurc_xcalloc((size_t)comm->size, sizeof *counts);
    for (int r = 0; r < comm->size; r++) {
        int64_t first, count;
        kurc_dist_chunk_range(sl->chunks, r, comm->size, &first, &count);
        counts[r] = (size_t)count * row;
    }
    double *all =
        kurc_xcalloc((size_t)(sl->chunks > 0 ? sl->chunks : 1) * (size_t)width, sizeof *all);
    enum kurc_status st;
    if (comm->size == 1) {
        memcpy(all, partials, (size_t)sl->count * row);
        st = KURC_OK;
    } else if (!comm->ops->allgatherv) {
        st = kurc_err_set(err, KURC_E_UNSUPPORTED, NULL,
                          "settings.deterministic: the %s communicator cannot gather",
                          comm->ops->name);
    } else {
        st = comm->ops->allgatherv(comm, partials, (size_t)sl->count * row, all, counts, err);
    }
    for (int64_t j = 0; j < width; j++)
        out[j] = 0;
    for (int64_t k = 0; k < sl->chunks && st == KURC_OK; k++)
        for (int64_t j = 0; j < width; j++)
            out[j] += all[k * width + j];
    free(all);
    free(counts);
    return st;
}

/* --- the fixed tree over chunks --------------------------------------------------- */

/* A node of the tree: chunks [lo, lo + size) (cut at the last chunk). */
struct node {
    int64_t lo;
    int64_t size;
};

/* Pushing one node on a stack of nodes: the merges and promotions it
 * causes (the same rules on every rank and at rank 0). */
static int settle(struct node *stack, int *depth, int64_t chunks, int64_t root) {
    int merges = 0;
    for (;;) {
        struct node *top = &stack[*depth - 1];
        /* a left half whose right half is past the last chunk is its parent */
        while (top->size < root && top->lo % (2 * top->size) == 0 && top->lo + top->size >= chunks)
            top->size *= 2;
        if (*depth < 2)
            break;
        struct node *left = &stack[*depth - 2];
        if (left->size != top->size || left->lo % (2 * left->size) != 0 ||
            left->lo + left->size != top->lo)
            break;
        left->size *= 2;
        (*depth)--;
        merges++;
    }
    return merges;
}

static int64_t root_size(int64_t chunks) {
    int64_t r = 1;
    while (r < chunks)
        r *= 2;
    return r;
}

struct leaf {
    size_t grad; /* offset of the weight's gradient */
    size_t at;   /* its region in the extended arena */
    int64_t numel;
};

struct bucket {
    size_t lo, hi; /* floats of the arena */
    int ready;     /* after the backward of this op index (INT_MAX: at once) */
    struct kurc_comm_req req;
    int *counts, *displs; /* sharded: each rank's part of the bucket */
    char name[24];
    int64_t began; /* --trace: when it was started */
};

struct kurc_grad_sync {
    struct kurc_comm *comm;
    struct kurc_backend *be;
    const struct kurc_graph *g;
    struct kurc_params *p;
    struct kurc_exec *x;
    bool deterministic;
    bool shard; /* buckets reduce-scattered to the optimizer's shards */
    size_t *bounds; /* a sharded optimizer's shards (shard.h), or NULL */
    bool armed;
    enum kurc_status st; /* the first failure inside the hook */
    struct kurc_err err;

    /* buckets */
    struct bucket *buckets;
    int n_buckets;
    int launched;       /* buckets started */
    int completed;      /* buckets [0, completed) are known complete */
    bool overlap;       /* false: one all-reduce after backward */
    double first_start; /* when the first bucket started */

    /* deterministic tree, over an extended arena: the gradient arena, then
     * one more region per extra use of a shared weight (each use's chunk
     * gradients get their own tree; rank 0 adds the uses in op order) */
    struct leaf *leaves; /* per op, its weights' regions */
    size_t *op_leaves;   /* op i's leaves are [op_leaves[i], op_leaves[i + 1]) */
    bool *in_place;      /* per op: it has leaves, each where its gradient is (at == grad) */
    const float **chain; /* scratch for add_chain: n_slots partial sums */
    size_t extended;     /* floats of the extended arena */
    struct kurc_dist_slice slice;
    int64_t done;  /* chunks of this rank's slice that earlier parts pushed */
    int64_t max_chunks;
    float **slots; /* stack of partial sums, backend memory */
    int n_slots;
    int *push_pos;      /* per local chunk: where its leaf goes */
    int *push_merges;   /* and the merges it causes */
    struct node *stack; /* scratch for the schedule */
    float *host;        /* staging, total floats */

    /* statistics */
    double exposed, total;
    int64_t steps;
};

/* The order each rank's blocks come in: simulates pushing chunks
 * [first, first + count) of K; returns the final depth (the blocks are
 * stack[0..depth)). */
static int schedule(struct node *stack, int64_t first, int64_t count, int64_t chunks, int *pos,
                    int *merges) {
    int depth = 0;
    int64_t root = root_size(chunks);
    for (int64_t m = 0; m < count; m++) {
        stack[depth++] = (struct node){first + m, 1};
        if (pos)
            pos[m] = depth - 1;
        int k = settle(stack, &depth, chunks, root);
        if (merges)
            merges[m] = k;
    }
    return depth;
}

static void fail(struct kurc_grad_sync *gs, enum kurc_status st) {
    if (gs->st == KURC_OK && st != KURC_OK)
        gs->st = st;
}

/* The executor's chunk_grads: a chunk that merges nothing (its leaf is a
 * partial sum of its own) computes an in-place op's gradients straight
 * into that partial sum, which push_leaf then leaves alone. */
static float *chunk_grads(void *ctx, struct kurc_exec *x, int op) {
    struct kurc_grad_sync *gs = ctx;
    if (!gs->armed || gs->st != KURC_OK || !gs->in_place[op])
        return NULL;
    int64_t m = gs->done + x->chunk_index;
    return gs->push_merges[m] == 0 ? gs->slots[gs->push_pos[m]] : NULL;
}

/* Leaves of one op's parameters for the chunk that just ran: the leaf
 * becomes a partial sum, or is added to the partial sums it completes,
 * innermost first (slots[pos - 1] + leaf, then slots[pos - 2] + that, ...),
 * in one pass where the backend has add_chain. */
static void push_leaf(struct kurc_grad_sync *gs, int op, int64_t m) {
    struct kurc_backend *be = gs->be;
    int pos = gs->push_pos[m], merges = gs->push_merges[m];
    if (merges == 0 && gs->in_place[op]) /* computed there (chunk_grads) */
        return;
    for (size_t l = gs->op_leaves[op]; l < gs->op_leaves[op + 1]; l++) {
        const struct leaf *f = &gs->leaves[l];
        const float *leaf = gs->p->grads + f->grad;
        size_t at = f->at;
        if (merges == 0) {
            be->ops->copy(be, gs->slots[pos] + at, leaf, (size_t)f->numel * sizeof(float));
        } else if (be->ops->add_chain) {
            for (int k = 0; k < merges; k++)
                gs->chain[k] = gs->slots[pos - 1 - k] + at;
            be->ops->add_chain(be, f->numel, gs->chain, merges, leaf, gs->slots[pos - merges] + at);
        } else {
            be->ops->add(be, f->numel, gs->slots[pos - 1] + at, leaf, gs->slots[pos - 1] + at);
            for (int k = 1; k < merges; k++)
                be->ops->add(be, f->numel, gs->slots[pos - 1 - k] + at, gs->slots[pos - k] + at,
                             gs->slots[pos - 1 - k] + at);
        }
    }
}

/* --trace: bucket b's all-reduce, from its start to now, when it was
 * found complete. */
static void trace_bucket(struct kurc_grad_sync *gs, int b) {
    const struct bucket *k = &gs->buckets[b];
    kurc_trace_add(gs->x->trace, KURC_TRACE_ALLREDUCE, gs->shard ? "reduce-scatter" : "all-reduce",
                   k->name, k->began, kurc_trace_now(), (int64_t)((k->hi - k->lo) * sizeof(float)));
}

static void launch(struct kurc_grad_sync *gs, int b) {
    struct bucket *k = &gs->buckets[b];
    if (b == 0)
        gs->first_start = now();
    k->began = gs->x->trace ? kurc_trace_now() : 0;
    if (gs->shard)
        fail(gs, kurc_comm_ireduce_scatter_float(gs->comm, gs->p->grads + k->lo, k->counts,
                                                 k->displs, k->name, &k->req, &gs->err));
    else
        fail(gs, kurc_comm_iallreduce_float(gs->comm, gs->p->grads + k->lo,
                                            (int64_t)(k->hi - k->lo), k->name, &k->req,
                                            &gs->err));
    if (gs->x->trace && !k->req.active) /* done at once */
        trace_bucket(gs, b);
}

static void progress(struct kurc_grad_sync *gs) {
    for (int b = gs->completed; b < gs->launched && gs->st == KURC_OK; b++) {
        bool done, active = gs->buckets[b].req.active;
        fail(gs, kurc_comm_test(gs->comm, &gs->buckets[b].req, &done, &gs->err));
        if (done && active && gs->x->trace)
            trace_bucket(gs, b);
        if (done && b == gs->completed)
            gs->completed++;
    }
}

static void after_backward(void *ctx, struct kurc_exec *x, int op) {
    struct kurc_grad_sync *gs = ctx;
    if (!gs->armed || gs->st != KURC_OK)
        return;
    if (gs->deterministic) {
        push_leaf(gs, op, gs->done + x->chunk_index);
        return;
    }
    if (!gs->overlap)
        return;
    while (gs->launched < gs->n_buckets && gs->buckets[gs->launched].ready >= op &&
           gs->st == KURC_OK)
        launch(gs, gs->launched++);
    progress(gs);
}

/* Cuts the arena into buckets and finds when each is complete. */
static void plan_buckets(struct kurc_grad_sync *gs, const struct kurc_dist_settings *ds) {
    const struct kurc_params *p = gs->p;
    int *final = kurc_xcalloc(p->n ? p->n : 1, sizeof *final);
    for (size_t i = 0; i < p->n; i++)
        final[i] = INT_MAX;
    for (size_t i = 0; i < gs->g->n_ops; i++) {
        const struct kurc_op *op = &gs->g->ops[i];
        for (int j = 0; j < op->n_in; j++) {
            const struct kurc_tensor *t = &gs->g->tensors[op->in[j]];
            if (t->kind == KURC_TENSOR_PARAM && p->items[t->param].trainable &&
                final[t->param] == INT_MAX)
                final[t->param] = (int)i;
        }
    }
    size_t first = (size_t)(ds->first_mb * 1048576.0 / sizeof(float));
    size_t rest = (size_t)(ds->mb * 1048576.0 / sizeof(float));
    first = (first + 15) / 16 * 16;
    rest = (rest + 15) / 16 * 16;
    if (first < 16)
        first = 16;
    if (rest < 16)
        rest = 16;
    for (size_t lo = 0; lo < p->total;) {
        size_t hi = lo + (gs->n_buckets == 0 ? first : rest);
        if (hi > p->total || !gs->overlap)
            hi = p->total;
        gs->buckets = kurc_xrealloc(gs->buckets, (size_t)(gs->n_buckets + 1) * sizeof *gs->buckets);
        struct bucket *b = &gs->buckets[gs->n_buckets];
        memset(b, 0, sizeof *b);
        b->lo = lo;
        b->hi = hi;
        b->ready = INT_MAX;
        snprintf(b->name, sizeof b->name, "bucket %d", gs->n_buckets);
        if (gs->shard) {
            int w = gs->comm->size;
            b->counts = kurc_xcalloc(2 * (size_t)w, sizeof *b->counts);
            b->displs = b->counts + w;
            kurc_shard_split(gs->bounds, w, lo, hi, b->counts, b->displs);
        }
        for (size_t i = 0; i < p->n; i++) {
            const struct kurc_param *q = &p->items[i];
            if (q->offset < hi && q->offset + (size_t)q->numel > lo && final[i] < b->ready)
                b->ready = final[i];
        }
        gs->n_buckets++;
        lo = hi;
    }
    free(final);
}

/* The regions of the extended arena: each op's trainable weights, the
 * first use of a weight (in backward order) in place, later uses after
 * the arena. */
static void plan_leaves(struct kurc_grad_sync *gs) {
    const struct kurc_graph *g = gs->g;
    const struct kurc_params *p = gs->p;
    bool *seen = kurc_xcalloc(p->n ? p->n : 1, sizeof *seen);
    gs->op_leaves = kurc_xcalloc(g->n_ops + 1, sizeof *gs->op_leaves);
    size_t n = 0, cap = 0;
    gs->extended = p->total;
    /* backward order, so that op_leaves is filled from the last op down;
     * the index array is then built by counting */
    size_t *count = kurc_xcalloc(g->n_ops + 1, sizeof *count);
    struct leaf *tmp = NULL;
    int *owner = NULL;
    for (size_t i = g->n_ops; i-- > 0;) {
        const struct kurc_op *op = &g->ops[i];
        for (int j = 0; j < op->n_in; j++) {
            const struct kurc_tensor *t = &g->tensors[op->in[j]];
            if (t->kind != KURC_TENSOR_PARAM || !p->items[t->param].trainable)
                continue;
            bool again = false; /* the same weight twice in one op: one leaf */
            for (int k = 0; k < j; k++)
                again = again || op->in[k] == op->in[j];
            if (again)
                continue;
            const struct kurc_param *q = &p->items[t->param];
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                tmp = kurc_xrealloc(tmp, cap * sizeof *tmp);
                owner = kurc_xrealloc(owner, cap * sizeof *owner);
            }
            size_t at = q->offset;
            if (seen[t->param]) {
                at = gs->extended;
                gs->extended += ((size_t)q->numel + 15) / 16 * 16;
            }
            seen[t->param] = true;
            tmp[n] = (struct leaf){q->offset, at, q->numel};
            owner[n++] = (int)i;
            count[i]++;
        }
    }
    for (size_t i = 0; i < g->n_ops; i++)
        gs->op_leaves[i + 1] = gs->op_leaves[i] + count[i];
    gs->leaves = kurc_xcalloc(n ? n : 1, sizeof *gs->leaves);
    memset(count, 0, (g->n_ops + 1) * sizeof *count);
    for (size_t l = 0; l < n; l++)
        gs->leaves[gs->op_leaves[owner[l]] + count[owner[l]]++] = tmp[l];
    gs->in_place = kurc_xcalloc(g->n_ops ? g->n_ops : 1, sizeof *gs->in_place);
    for (size_t i = 0; i < g->n_ops; i++) {
        gs->in_place[i] = gs->op_leaves[i + 1] > gs->op_leaves[i];
        for (size_t l = gs->op_leaves[i]; l < gs->op_leaves[i + 1]; l++)
            gs->in_place[i] = gs->in_place[i] && gs->leaves[l].at == gs->leaves[l].grad;
    }
    free(tmp);
    free(owner);
    free(count);
    free(seen);
}

enum kurc_status kurc_grad_sync_create(struct kurc_comm *comm, struct kurc_backend *be,
                                       const struct kurc_graph *g, struct kurc_params *p,
                                       const struct kurc_dist_settings *ds, int64_t max_chunks,
                                       struct kurc_exec *x, struct kurc_grad_sync **out,
                                       struct kurc_err *err) {
    *out = NULL;
    if (comm->size == 1 && !ds->deterministic)
        return KURC_OK;
    struct kurc_grad_sync *gs = kurc_xcalloc(1, sizeof *gs);
    gs->comm = comm;
    gs->be = be;
    gs->g = g;
    gs->p = p;
    gs->x = x;
    gs->deterministic = ds->deterministic;
    gs->shard = ds->shard && !ds->deterministic;
    if (ds->shard) {
        gs->bounds = kurc_xcalloc((size_t)comm->size + 1, sizeof *gs->bounds);
        kurc_shard_bounds(p->total, comm->size, gs->bounds);
    }
    gs->overlap = ds->buckets && (gs->shard || comm->ops->iallreduce_float);
    enum kurc_status st = KURC_OK;
    if (gs->deterministic) {
        if (!kurc_comm_has_p2p(comm))
            st = kurc_err_set(err, KURC_E_UNSUPPORTED, NULL,
                              "settings.deterministic: the %s communicator cannot send between "
                              "ranks",
                              comm->ops->name);
        plan_leaves(gs);
        gs->max_chunks = max_chunks > 0 ? max_chunks : 1;
        int64_t root = root_size(gs->max_chunks);
        int levels = 0;
        while (((int64_t)1 << levels) < root)
            levels++;
        gs->n_slots = 2 * levels + 3;
        gs->slots = kurc_xcalloc((size_t)gs->n_slots, sizeof *gs->slots);
        gs->chain = kurc_xcalloc((size_t)gs->n_slots, sizeof *gs->chain);
        size_t bytes = (gs->extended ? gs->extended : 1) * sizeof(float);
        for (int i = 0; i < gs->n_slots && st == KURC_OK; i++) {
            gs->slots[i] = be->ops->alloc(be, bytes);
            if (!gs->slots[i])
                st = kurc_err_set(err, KURC_E_BACKEND, NULL,
                                  "settings.deterministic: cannot allocate %d partial sums of "
                                  "%zu bytes (a larger deterministic_chunk needs fewer)",
                                  gs->n_slots, bytes);
        }
        gs->push_pos = kurc_xcalloc((size_t)gs->max_chunks, sizeof *gs->push_pos);
        gs->push_merges = kurc_xcalloc((size_t)gs->max_chunks, sizeof *gs->push_merges);
        gs->stack = kurc_xcalloc((size_t)gs->n_slots + 2, sizeof *gs->stack);
        gs->host = kurc_xcalloc(gs->extended ? gs->extended : 1, sizeof *gs->host);
    } else {
        plan_buckets(gs, ds);
    }
    if (st) {
        kurc_grad_sync_free(gs);
        return st;
    }
    x->after_backward = after_backward;
    x->chunk_grads = gs->deterministic ? chunk_grads : NULL;
    x->hook_ctx = gs;
    *out = gs;
    return KURC_OK;
}

void kurc_grad_sync_free(struct kurc_grad_sync *gs) {
    if (!gs)
        return;
    if (gs->x && gs->x->hook_ctx == gs) {
        gs->x->after_backward = NULL;
        gs->x->chunk_grads = NULL;
        gs->x->hook_ctx = NULL;
    }
    for (int i = 0; gs->slots && i < gs->n_slots; i++)
        if (gs->slots[i])
            gs->be->ops->free(gs->be, gs->slots[i]);
    free(gs->slots);
    free(gs->chain);
    free(gs->in_place);
    free(gs->push_pos);
    free(gs->push_merges);
    free(gs->stack);
    free(gs->host);
    free(gs->leaves);
    free(gs->op_leaves);
    for (int b = 0; b < gs->n_buckets; b++)
        free(gs->buckets[b].counts);
    free(gs->bounds);
    free(gs->buckets);
    free(gs);
}

enum kurc_status kurc_grad_sync_replan(struct kurc_grad_sync **gs, const struct kurc_graph *g,
                                       const struct kurc_dist_settings *ds,
                                       struct kurc_err *err) {
    struct kurc_grad_sync *old = *gs, *fresh;
    if (!old)
        return KURC_OK;
    enum kurc_status st = kurc_grad_sync_create(old->comm, old->be, g, old->p, ds,
                                                old->max_chunks, old->x, &fresh, err);
    if (st)
        return st;
    fresh->exposed = old->exposed;
    fresh->total = old->total;
    fresh->steps = old->steps;
    kurc_grad_sync_free(old); /* the executor's hook is fresh's now */
    *gs = fresh;
    return KURC_OK;
}

void kurc_grad_sync_begin(struct kurc_grad_sync *gs, const struct kurc_dist_slice *sl) {
    if (!gs)
        return;
    gs->armed = true;
    gs->st = KURC_OK;
    gs->done = 0;
    gs->launched = gs->completed = 0;
    if (gs->deterministic) {
        gs->slice = *sl;
        schedule(gs->stack, sl->first, sl->count, sl->chunks, gs->push_pos, gs->push_merges);
    }
}

void kurc_grad_sync_part(struct kurc_grad_sync *gs, int64_t done, bool last) {
    if (!gs)
        return;
    gs->done = done;
    if (!gs->deterministic)
        gs->armed = last;
}

/* Rank 0 finishes the tree with every other rank's blocks; everyone gets
 * the root. */
static enum kurc_status finish_tree(struct kurc_grad_sync *gs, struct kurc_err *err) {
    struct kurc_comm *c = gs->comm;
    struct kurc_backend *be = gs->be;
    const struct kurc_dist_slice *sl = &gs->slice;
    size_t n = gs->extended, bytes = n * sizeof(float);
    int64_t root = root_size(sl->chunks);
    enum kurc_status st = KURC_OK;
    if (c->rank != 0) {
        int depth = schedule(gs->stack, sl->first, sl->count, sl->chunks, NULL, NULL);
        for (int i = 0; i < depth && st == KURC_OK; i++) {
            be->ops->download(be, gs->host, gs->slots[i], bytes);
            st = c->ops->send(c, gs->host, bytes, 0, err);
        }
    } else {
        int depth = schedule(gs->stack, sl->first, sl->count, sl->chunks, NULL, NULL);
        struct node *blocks = kurc_xcalloc((size_t)gs->n_slots + 2, sizeof *blocks);
        for (int r = 1; r < c->size && st == KURC_OK; r++) {
            int64_t first, count;
            kurc_dist_chunk_range(sl->chunks, r, c->size, &first, &count);
            int theirs = schedule(blocks, first, count, sl->chunks, NULL, NULL);
            for (int i = 0; i < theirs && st == KURC_OK; i++) {
                st = c->ops->recv(c, gs->host, bytes, r, err);
                if (st)
                    break;
                be->ops->upload(be, gs->slots[depth], gs->host, bytes);
                gs->stack[depth++] = blocks[i];
                int before = depth;
                int merges = settle(gs->stack, &depth, sl->chunks, root);
                for (int k = 0; k < merges; k++)
                    be->ops->add(be, (int64_t)n, gs->slots[before - 2 - k],
                                 gs->slots[before - 1 - k], gs->slots[before - 2 - k]);
            }
        }
        free(blocks);
        if (st == KURC_OK && depth != 1)
            st =
                kurc_err_set(err, KURC_E_COMM, NULL,
                             "deterministic reduction: %d partial sums left instead of one", depth);
        if (st == KURC_OK) {
            /* the sum of a shared weight's uses, in backward order */
            float *sum = gs->slots[0];
            for (size_t l = 0; l < gs->op_leaves[gs->g->n_ops]; l++)
                if (gs->leaves[l].at != gs->leaves[l].grad)
                    be->ops->add(be, gs->leaves[l].numel, sum + gs->leaves[l].grad,
                                 sum + gs->leaves[l].at, sum + gs->leaves[l].grad);
            be->ops->copy(be, gs->p->grads, sum, gs->p->total * sizeof(float));
            if (c->size > 1)
                be->ops->download(be, gs->host, sum, gs->p->total * sizeof(float));
        }
    }
    if (st == KURC_OK && c->size > 1 && gs->bounds) {
        /* a sharded optimizer: each rank gets the sums of its shard only */
        const size_t *b = gs->bounds;
        for (int r = 1; r < c->size && st == KURC_OK && c->rank == 0; r++)
            st = c->ops->send(c, gs->host + b[r], (b[r + 1] - b[r]) * sizeof(float), r, err);
        size_t lo = b[c->rank], mine = (b[c->rank + 1] - lo) * sizeof(float);
        if (st == KURC_OK && c->rank != 0)
            st = c->ops->recv(c, gs->host, mine, 0, err);
        if (st == KURC_OK && c->rank != 0)
            be->ops->upload(be, gs->p->grads + lo, gs->host, mine);
    } else if (st == KURC_OK && c->size > 1) {
        st = c->ops->broadcast(c, gs->host, gs->p->total * sizeof(float), 0, err);
        if (st == KURC_OK && c->rank != 0)
            be->ops->upload(be, gs->p->grads, gs->host, gs->p->total * sizeof(float));
    }
    return st;
}

enum kurc_status kurc_grad_sync_finish(struct kurc_grad_sync *gs, struct kurc_err *err) {
    if (!gs)
        return KURC_OK;
    gs->armed = false;
    if (gs->st) {
        *err = gs->err;
        return gs->st;
    }
    double began = now();
    int64_t traced = gs->x->trace ? kurc_trace_now() : 0;
    enum kurc_status st = KURC_OK;
    if (gs->deterministic) {
        st = finish_tree(gs, err);
        gs->first_start = began;
    } else if (!gs->overlap && !gs->shard) {
        /* one blocking all-reduce of the whole arena */
        gs->first_start = began;
        st = gs->comm->ops->allreduce_float(gs->comm, gs->p->grads, (int64_t)gs->p->total, err);
    } else {
        if (gs->launched == 0)
            gs->first_start = began;
        while (gs->launched < gs->n_buckets && st == KURC_OK) {
            launch(gs, gs->launched++);
            st = gs->st;
        }
        for (int b = 0; b < gs->n_buckets && st == KURC_OK; b++) {
            bool active = gs->buckets[b].req.active;
            st = kurc_comm_wait(gs->comm, &gs->buckets[b].req, err);
            if (active && gs->x->trace)
                trace_bucket(gs, b);
        }
        if (st == KURC_OK && gs->st) {
            *err = gs->err;
            st = gs->st;
        }
    }
    double ended = now();
    if (gs->x->trace) {
        int64_t t = kurc_trace_now();
        if (gs->deterministic || !gs->overlap) /* the whole reduction, after backward */
            kurc_trace_add(gs->x->trace, KURC_TRACE_ALLREDUCE,
                           gs->deterministic ? "fixed-tree sum" : "all-reduce", "gradients",
                           traced, t, (int64_t)(gs->p->total * sizeof(float)));
        kurc_trace_add(gs->x->trace, KURC_TRACE_WAIT, "wait for gradients", NULL, traced, t, -1);
    }
    gs->exposed += ended - began;
    gs->total += ended - gs->first_start;
    gs->steps++;
    return st;
}

void kurc_grad_sync_stats(struct kurc_grad_sync *gs, struct kurc_grad_stats *out) {
    memset(out, 0, sizeof *out);
    if (!gs)
        return;
    out->exposed = gs->exposed;
    out->total = gs->total;
    out->steps = gs->steps;
    out->bytes = (int64_t)(gs->p->total * sizeof(float));
    out->buckets = gs->deterministic ? 0 : gs->n_buckets;
    gs->exposed = gs->total = 0;
    gs->steps = 0;
}

void kurc_grad_sync_describe(const struct kurc_grad_sync *gs, char *buf, size_t size) {
    if (!gs) {
        snprintf(buf, size, "no gradient reduction (one rank)");
        return;
    }
    if (gs->deterministic) {
        snprintf(buf, size,
                 "deterministic: chunks summed along a fixed tree (%d partial sums of %.2f MiB)",
                 gs->n_slots, (double)gs->p->total * sizeof(float) / 1048576.0);
        return;
    }
    int at = snprintf(buf, size, "%d bucket%s %s %s backward:", gs->n_buckets,
                      gs->n_buckets == 1 ? "" : "s",
                      gs->shard ? "reduce-scattered" : "all-reduced",
                      gs->overlap ? "during" : "after");
    for (int b = 0; b < gs->n_buckets && at > 0 && (size_t)at < size; b++)
        at += snprintf(buf + at, size - (size_t)at, "%s %.2f MiB (%zu floats)", b ? "," : "",
                       (double)(gs->buckets[b].hi - gs->buckets[b].lo) * sizeof(float) / 1048576.0,
                       gs->buckets[b].hi - gs->buckets[b].lo);
}

/* --- the fingerprint ---------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

#define FNV0 0xcbf29ce484222325ull

enum { FP_KURFILE, FP_MODEL, FP_VERSION, FP_DATA, FP_COUNT };

enum kurc_status kurc_dist_fingerprint(struct kurc_comm *comm, const struct kurc_kurfile *kf,
                                       const struct kurc_params *p,
                                       const struct kurc_dataset *data, struct kurc_err *err) {
    if (comm->size == 1)
        return KURC_OK;
    uint64_t mine[FP_COUNT];
    struct kurc_strbuf json = KURC_STRBUF_INIT;
    kurc_json_dump(kf->data, 0, true, &json);
    mine[FP_KURFILE] = fnv(FNV0, json.data ? json.data : "", json.len);
    kurc_strbuf_free(&json);
    uint64_t h = FNV0;
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        h = fnv(h, q->layer, strlen(q->layer) + 1);
        h = fnv(h, q->weight, strlen(q->weight) + 1);
        h = fnv(h, &q->shape.ndim, sizeof q->shape.ndim);
        h = fnv(h, q->shape.dim, (size_t)q->shape.ndim * sizeof q->shape.dim[0]);
        h = fnv(h, &q->trainable, sizeof q->trainable);
    }
    mine[FP_MODEL] = h;
    mine[FP_VERSION] = fnv(FNV0, KURC_VERSION, strlen(KURC_VERSION));
    mine[FP_DATA] = kurc_dataset_digest(data);
    uint64_t *all = kurc_xcalloc((size_t)comm->size * FP_COUNT, sizeof *all);
    size_t *counts = kurc_xcalloc((size_t)comm->size, sizeof *counts);
    for (int r = 0; r < comm->size; r++)
        counts[r] = sizeof mine;
    enum kurc_status st;
    if (comm->ops->allgatherv) {
        st = comm->ops->allgatherv(comm, mine, sizeof mine, all, counts, err);
    } else {
        /* without a gather: rank 0's values, compared by each rank */
        memcpy(all, mine, sizeof mine);
        st = comm->ops->broadcast(comm, all, sizeof mine, 0, err);
        for (int r = 1; r < comm->size; r++)
            memcpy(all + r * FP_COUNT, r == comm->rank ? mine : all, sizeof mine);
    }
    free(counts);
    if (st) {
        free(all);
        return st;
    }
    static const char *const what[FP_COUNT] = {"the Kurfile",
                                               "the model's weights (names and shapes)",
                                               "kurc's version",
                                               "the data (a digest of its contents)"};
    struct kurc_strbuf msg = KURC_STRBUF_INIT;
    for (int f = 0; f < FP_COUNT; f++) {
        int differ = 0;
        struct kurc_strbuf ranks = KURC_STRBUF_INIT;
        for (int r = 1; r < comm->size; r++)
            if (all[r * FP_COUNT + f] != all[f]) {
                kurc_strbuf_printf(&ranks, "%s%d", differ ? ", " : "", r);
                differ++;
            }
        if (differ)
            kurc_strbuf_printf(&msg, "%s%s %s differ%s from rank 0 in %s", msg.len ? "; " : "",
                               differ == 1 ? "rank" : "ranks", ranks.data, differ == 1 ? "s" : "",
                               what[f]);
        kurc_strbuf_free(&ranks);
    }
    free(all);
    if (msg.len == 0) {
        kurc_strbuf_free(&msg);
        return KURC_OK;
    }
    st = kurc_err_set(err, KURC_E_CONFIG, NULL,
                      "%s: every rank must run the same Kurfile, model, kurc and data", msg.data);
    kurc_strbuf_free(&msg);
    if (comm->rank != 0) {
        /* rank 0 reports it and ends the job; the others wait for that */
        struct kurc_err ignored;
        comm->ops->barrier(comm, &ignored);
    }
    return st;
}
