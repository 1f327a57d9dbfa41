/* liveness.c - lifetimes of values and gradients, and a first-fit
 * placement over them (see liveness.h). */
#include "core/liveness.h"

#include <stdlib.h>

#include "base/xalloc.h"

static void extend(struct kurc_live *l, long step) {
    if (step > l->end)
        l->end = step;
}

/* Makes l hold step, at either end. */
static void cover(struct kurc_live *l, long step) {
    if (step < l->start)
        l->start = step;
    extend(l, step);
}

/* Whether op's backward runs and may read value `which` (input i, the
 * output for -1; -2: whether it runs at all). */
static bool backward_reads(const struct kurc_graph *g, const struct kurc_op *op, int which) {
    if (!op->def->backward || !g->tensors[op->out].needs_grad)
        return false;
    if (which == -2)
        return true;
    unsigned unread = op->def->backward_unread ? op->def->backward_unread(op) : 0;
    return !(unread & (which < 0 ? KURC_UNREAD_OUTPUT : KURC_UNREAD_INPUT(which)));
}

/* Gives each view's lifetimes to the tensor whose memory it shares (the
 * first of a chain of views), and leaves the view no buffer. */
static void merge_views(const struct kurc_graph *g, const int *view_of, struct kurc_live *values,
                        struct kurc_live *grads) {
    for (size_t t = 0; t < g->n_tensors; t++) {
        int r = view_of[t];
        if (r < 0)
            continue;
        while (view_of[r] >= 0)
            r = view_of[r];
        /* the view's value is made with r's, its readers come later */
        if (values[t].floats && values[r].floats)
            extend(&values[r], values[t].end);
        values[t].floats = 0;
        /* the view's consumers add to r's gradient, from the first of all */
        if (grads[t].floats && grads[r].floats) {
            if (grads[t].start < grads[r].start)
                grads[r].start = grads[t].start;
            extend(&grads[r], grads[t].end);
        }
        grads[t].floats = 0;
    }
}

void kurc_liveness(const struct kurc_graph *g, bool backward, const size_t *floats,
                   const struct kurc_live_runs *runs, struct kurc_live *values,
                   struct kurc_live *grads) {
    long n = (long)g->n_ops, last = backward ? 2 * n - 1 : n - 1;
    for (size_t t = 0; t < g->n_tensors; t++) {
        const struct kurc_tensor *x = &g->tensors[t];
        bool has = kurc_tensor_batched(x);
        values[t] = (struct kurc_live){has ? floats[t] : 0, 0, 0};
        /* inputs and external tensors: filled before the passes or read after */
        if (x->kind == KURC_TENSOR_INPUT || x->external)
            values[t].end = last > 0 ? last : 0;
        /* gradients (none without ops): of inputs (none in models, but
         * tests ask for them) from the first backward step on */
        bool grad = backward && n > 0 && has && x->needs_grad;
        grads[t] = (struct kurc_live){grad ? floats[t] : 0, last, n};
        if (grad && x->kind != KURC_TENSOR_ACTIVATION)
            grads[t] = (struct kurc_live){floats[t], n, last};
    }
    for (long i = 0; i < n; i++) {
        const struct kurc_op *op = &g->ops[i];
        long back = 2 * n - 1 - i;
        if (runs->skipped[i]) /* a view, or run by the op before it */
            continue;
        /* a fused epilogue: op writes the epilogue's output, its own has no
         * value; its backward reads the epilogue's output and gradient */
        int made = op->out;
        if (runs->epilogue[i] >= 0) {
            made = g->ops[runs->epilogue[i]].out;
            values[op->out].floats = 0;
            if (backward && backward_reads(g, op, -2)) {
                extend(&values[made], back);
                cover(&grads[made], back);
            }
        }
        values[made].start = i;
        extend(&values[made], i);
        if (backward && backward_reads(g, op, -1))
            extend(&values[op->out], back);
        if (grads[op->out].floats)
            cover(&grads[op->out], back);
        for (int j = 0; j < op->n_in; j++) {
            int in = op->in[j];
            if (!kurc_tensor_batched(&g->tensors[in]))
                continue;
            extend(&values[in], i);
            if (backward && backward_reads(g, op, j))
                extend(&values[in], back);
            /* the last consumer's backward is the first to add to it */
            if (grads[in].floats && back < grads[in].start)
                grads[in].start = back;
        }
    }
    merge_views(g, runs->view_of, values, grads);
}

static int by_size(const void *a, const void *b) {
    const struct kurc_live *x = *(const struct kurc_live *const *)a;
    const struct kurc_live *y = *(const struct kurc_live *const *)b;
    if (x->floats != y->floats)
        return x->floats > y->floats ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x < y ? -1 : x > y;
}

struct range {
    size_t from, to;
};

static int by_from(const void *a, const void *b) {
    const struct range *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

static size_t aligned(size_t n) {
    return (n + 15) / 16 * 16;
}

size_t kurc_liveness_place(const struct kurc_live *items, size_t n, size_t *offsets) {
    const struct kurc_live **order = kurc_xcalloc(n ? n : 1, sizeof *order);
    struct range *busy = kurc_xcalloc(n ? n : 1, sizeof *busy);
    for (size_t i = 0; i < n; i++)
        order[i] = &items[i];
    qsort(order, n, sizeof *order, by_size);
    size_t arena = 0;
    for (size_t k = 0; k < n; k++) {
        const struct kurc_live *it = order[k];
        size_t i = (size_t)(it - items), size = aligned(it->floats), used = 0;
        offsets[i] = 0;
        if (!it->floats)
            continue;
        /* the placed buffers that live at the same time, by offset */
        for (size_t q = 0; q < k; q++) {
            const struct kurc_live *o = order[q];
            size_t j = (size_t)(o - items);
            if (o->floats && o->start <= it->end && it->start <= o->end)
                busy[used++] = (struct range){offsets[j], offsets[j] + aligned(o->floats)};
        }
        qsort(busy, used, sizeof *busy, by_from);
        size_t at = 0;
        for (size_t q = 0; q < used && busy[q].from < at + size; q++)
            if (busy[q].to > at)
                at = busy[q].to;
        offsets[i] = at;
        if (at + size > arena)
            arena = at + size;
    }
    free(busy);
    free(order);
    return arena;
}
