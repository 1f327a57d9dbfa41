/* op_norm.c - batch normalisation with the batch's own statistics (Kur's
 * semantics: Keras 2.0 never used running averages here).  x is viewed as
 * (batch * outer, channels, inner) for the normalised axis.
 *
 * With one rank's batch alone (kurc_exec.reduce NULL) the backend's fused
 * kernels do everything.  With a reduce (several ranks, or deterministic
 * chunks) the statistics are those of the GLOBAL batch: the prepare
 * functions sum per-chunk partial sums over every rank, so the result does
 * not depend on how the batch was split:
 *   forward   sum x and the count, then sum (x - mean) and (x - mean)^2
 *             (two passes: the squares of deviations do not cancel);
 *   backward  sum dy and sum dy (x - mean), which the input gradient needs
 *             over the whole batch.
 * gamma's and beta's gradients are the rank's (the chunk's) own sums: the
 * gradient all-reduce adds them up like every other parameter's.
 *
 * Saved scratch, channels c floats each (the chunks share the first
 * chunk's; the fused kernels keep mean and invstd per chunk in HI, LO):
 *   hi lo  the mean as a float and its rounding error
 *   inv    1 / sqrt(var + eps)
 *   fk     gamma inv (forward scale)
 *   a b bk backward coefficients: dx += a dy + b + bk ((x - hi) - lo)
 *   tg tb  one chunk's gamma and beta gradients, for the add
 * Host scratch (kurc_exec.host): per-chunk partial rows of 2c + 1 doubles,
 * the reduced row, the mean in double and host copies of the floats. */
#include "ops/ops.h"

#include <math.h>
#include <stdio.h>

#include "ops/op_util.h"

enum { HI, LO, INV, FK, A, B, BK, TG, TB, N_SAVED };

static size_t norm_saved(const struct kurc_op *op, int64_t batch) {
    (void)batch;
    return (size_t)(N_SAVED * op->attr.norm.channels);
}

static size_t norm_host(const struct kurc_op *op, int64_t chunks) {
    int64_t c = op->attr.norm.channels;
    return (size_t)((chunks + 1) * (2 * c + 1) + 8 * c + 8);
}

/* The host scratch's pieces: fixed ones first, so that a call for one
 * chunk finds them where the prepare function left them. */
struct host {
    double *total;    /* 2c + 1 */
    double *mean;     /* c */
    float *f;         /* 4c floats: host copies of hi, lo, inv, gamma */
    float *t;         /* 2c floats: values to upload */
    double *partials; /* chunks x (2c + 1) */
};

static struct host host_of(struct kurc_exec *x, int64_t c) {
    struct host h;
    h.total = x->host;
    h.mean = h.total + 2 * c + 1;
    h.f = (float *)(h.mean + c);
    h.t = (float *)(h.mean + 3 * c);
    h.partials = h.mean + 4 * c;
    return h;
}

/* Each chunk's sums (dy NULL: of x around center) into its row of
 * partials, the count last. */
static void chunk_sums(struct kurc_exec *x, const struct kurc_op *op, bool backward,
                       const double *center, double *partials) {
    int64_t c = op->attr.norm.channels, w = 2 * c + 1;
    int64_t chunks = kurc_exec_chunks(x), row0, rows;
    int64_t fold = x->g->tensors[op->out].fold;
    for (int64_t k = 0; k < chunks; k++) {
        double *row = partials + k * w;
        kurc_exec_chunk_rows(x, k, &row0, &rows);
        int64_t outer = rows * fold * op->attr.norm.outer;
        row[2 * c] = (double)outer * (double)op->attr.norm.inner;
        if (outer == 0) {
            for (int64_t j = 0; j < 2 * c; j++)
                row[j] = 0;
            continue;
        }
        x->row0 = row0;
        const float *xv = kurc_exec_value(x, op->in[0]);
        const float *dy = backward ? kurc_exec_grad(x, op->out) : NULL;
        x->row0 = 0;
        OPS(x)->batchnorm_sums(BE(x), outer, c, op->attr.norm.inner, xv, dy, center, row, row + c);
    }
}

static void upload(struct kurc_exec *x, float *dst, const float *src, int64_t n) {
    OPS(x)->upload(BE(x), dst, src, (size_t)n * sizeof(float));
}

static void norm_prepare_forward(struct kurc_exec *x, const struct kurc_op *op) {
    if (!x->reduce)
        return;
    int64_t c = op->attr.norm.channels, chunks = kurc_exec_chunks(x);
    struct host h = host_of(x, c);
    float *saved = kurc_exec_saved_shared(x, op);
    chunk_sums(x, op, false, NULL, h.partials);
    x->reduce(x->reduce_ctx, h.partials, chunks, 2 * c + 1, h.total);
    double n = h.total[2 * c];
    for (int64_t j = 0; j < c; j++)
        h.mean[j] = n > 0 ? h.total[j] / n : 0.0;
    chunk_sums(x, op, false, h.mean, h.partials);
    x->reduce(x->reduce_ctx, h.partials, chunks, 2 * c + 1, h.total);
    float *hi = h.f, *lo = h.f + c, *inv = h.f + 2 * c, *gamma = h.f + 3 * c;
    OPS(x)->download(BE(x), gamma, kurc_exec_value(x, op->in[1]), (size_t)c * sizeof(float));
    for (int64_t j = 0; j < c; j++) {
        double d = n > 0 ? h.total[j] / n : 0.0;
        double var = n > 0 ? h.total[c + j] / n - d * d : 0.0;
        double mean = h.mean[j] + d,
               s = 1.0 / sqrt((var > 0 ? var : 0.0) + (double)op->attr.norm.eps);
        hi[j] = (float)mean;
        lo[j] = (float)(mean - hi[j]);
        inv[j] = (float)s;
        h.t[j] = (float)(gamma[j] * s);
    }
    upload(x, saved + HI * c, hi, 3 * c); /* hi, lo, inv are adjacent */
    upload(x, saved + FK * c, h.t, c);
}

static void norm_forward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t c = op->attr.norm.channels;
    int64_t outer = kurc_exec_batch(x, op->out) * op->attr.norm.outer;
    float *saved = kurc_exec_saved_shared(x, op);
    if (x->reduce) {
        if (outer > 0)
            OPS(x)->batchnorm_affine(BE(x), outer, c, op->attr.norm.inner,
                                     kurc_exec_value(x, op->in[0]), saved + HI * c, saved + LO * c,
                                     saved + FK * c, NULL, NULL, kurc_exec_value(x, op->in[2]),
                                     kurc_exec_value(x, op->out), false);
        return;
    }
    saved = kurc_exec_saved(x, op); /* this chunk's own statistics */
    OPS(x)->batchnorm_forward(BE(x), outer, c, op->attr.norm.inner, op->attr.norm.eps,
                              kurc_exec_value(x, op->in[0]), kurc_exec_value(x, op->in[1]),
                              kurc_exec_value(x, op->in[2]), kurc_exec_value(x, op->out), saved,
                              saved + c);
}

static void norm_prepare_backward(struct kurc_exec *x, const struct kurc_op *op) {
    if (!x->reduce)
        return;
    int64_t c = op->attr.norm.channels, chunks = kurc_exec_chunks(x);
    struct host h = host_of(x, c);
    float *saved = kurc_exec_saved_shared(x, op);
    float *hi = h.f, *lo = h.f + c, *inv = h.f + 2 * c, *gamma = h.f + 3 * c;
    OPS(x)->download(BE(x), hi, saved + HI * c, (size_t)(3 * c) * sizeof(float));
    OPS(x)->download(BE(x), gamma, kurc_exec_value(x, op->in[1]), (size_t)c * sizeof(float));
    for (int64_t j = 0; j < c; j++)
        h.mean[j] = (double)hi[j] + (double)lo[j];
    chunk_sums(x, op, true, h.mean, h.partials);
    x->reduce(x->reduce_ctx, h.partials, chunks, 2 * c + 1, h.total);
    double n = h.total[2 * c];
    float *a = h.t, *b = h.t + c;
    for (int64_t j = 0; j < c; j++) {
        double s = inv[j], gs = (double)gamma[j] * s;
        a[j] = (float)gs;
        b[j] = n > 0 ? (float)(-gs * h.total[j] / n) : 0.0f;
    }
    upload(x, saved + A * c, a, 2 * c); /* a, b are adjacent */
    for (int64_t j = 0; j < c; j++) {
        double s = inv[j], gs = (double)gamma[j] * s, dyxhat = h.total[c + j] * s;
        h.t[j] = n > 0 ? (float)(-gs * s * dyxhat / n) : 0.0f;
    }
    upload(x, saved + BK * c, h.t, c);
}

static void norm_backward(struct kurc_exec *x, const struct kurc_op *op) {
    int64_t c = op->attr.norm.channels;
    int64_t outer = kurc_exec_batch(x, op->out) * op->attr.norm.outer;
    float *saved = kurc_exec_saved_shared(x, op);
    float *dx = kurc_exec_grad(x, op->in[0]);
    float *dgamma = kurc_exec_grad(x, op->in[1]), *dbeta = kurc_exec_grad(x, op->in[2]);
    if (!x->reduce) {
        saved = kurc_exec_saved(x, op);
        OPS(x)->batchnorm_backward(BE(x), outer, c, op->attr.norm.inner,
                                   kurc_exec_value(x, op->in[0]), kurc_exec_grad(x, op->out),
                                   kurc_exec_value(x, op->in[1]), saved, saved + c, dx, dgamma,
                                   dbeta);
        return;
    }
    if (dx && outer > 0)
        OPS(x)->batchnorm_affine(BE(x), outer, c, op->attr.norm.inner,
                                 kurc_exec_value(x, op->in[0]), saved + HI * c, saved + LO * c,
                                 saved + BK * c, kurc_exec_grad(x, op->out), saved + A * c,
                                 saved + B * c, dx, true);
    if (!dgamma && !dbeta)
        return;
    /* this chunk's own sums, kept by the prepare function, with inv */
    struct host h = host_of(x, c);
    const double *row = h.partials + (x->chunk_index > 0 ? x->chunk_index : 0) * (2 * c + 1);
    const float *inv = h.f + 2 * c;
    float *tg = h.t, *tb = h.t + c;
    for (int64_t j = 0; j < c; j++) {
        tg[j] = (float)(row[c + j] * inv[j]);
        tb[j] = (float)row[j];
    }
    upload(x, saved + TG * c, tg, 2 * c); /* tg, tb are adjacent */
    if (dgamma)
        OPS(x)->add(BE(x), c, dgamma, saved + TG * c, dgamma);
    if (dbeta)
        OPS(x)->add(BE(x), c, dbeta, saved + TB * c, dbeta);
}

static const struct kurc_op_def norm_def = {
    .name = "batchnorm",
    .forward = norm_forward,
    .backward = norm_backward,
    .saved_floats = norm_saved,
    .prepare_forward = norm_prepare_forward,
    .prepare_backward = norm_prepare_backward,
    .host_doubles = norm_host,
};

int kurc_emit_batchnorm(struct kurc_graph *g, int x, int gamma, int beta, int axis, float eps,
                        const char *name, struct kurc_err *err) {
    const struct kurc_shape *s = kurc_graph_shape(g, x);
    int a = axis < 0 ? axis + s->ndim : axis;
    if (a < 0 || a >= s->ndim) {
        char have[96];
        kurc_shape_format(s, have, sizeof have);
        kurc_err_set(err, KURC_E_CONFIG, NULL,
                     "batch_normalization: axis %d is out of range for '%s' of shape %s", axis,
                     g->tensors[x].name, have);
        return -1;
    }
    const struct kurc_shape *gs = kurc_graph_shape(g, gamma);
    if (gs->ndim != 1 || gs->dim[0] != s->dim[a])
        return kurc_op_shape_error(g, err, "batch_normalization: gamma must match the axis", x,
                                   gamma);
    const struct kurc_shape *bs = kurc_graph_shape(g, beta);
    if (bs->ndim != 1 || bs->dim[0] != s->dim[a])
        return kurc_op_shape_error(g, err, "batch_normalization: beta must match the axis", x,
                                   beta);
    union kurc_op_attr attr = {.norm = {1, s->dim[a], 1, eps}};
    for (int i = 0; i < a; i++)
        attr.norm.outer *= s->dim[i];
    for (int i = a + 1; i < s->ndim; i++)
        attr.norm.inner *= s->dim[i];
    return kurc_graph_add_op(g, &norm_def, (int[]){x, gamma, beta}, 3, s, &attr, name);
}
