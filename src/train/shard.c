/* shard.c - the sharded optimizer: shard boundaries, the sharded step with
 * its gathers, and the state's way to and from checkpoints (see shard.h). */
#include "train/shard.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* A piece of the arena all-gathered as one call. */
struct piece {
    size_t lo, hi;
    int *counts, *displs; /* per rank, unchanged while the gather runs */
    struct kurc_comm_req req;
    char name[32];
};

struct kurc_shard {
    struct kurc_comm *comm;
    size_t total;
    size_t *bounds; /* size + 1 */
    size_t block;   /* of norm clipping */
    struct piece *pieces;
    int n_pieces;
    double *squares;     /* every block's sum of squares */
    size_t *square_size; /* bytes of each rank's blocks' sums */
};

void kurc_shard_bounds(size_t total, int size, size_t *bounds) {
    size_t block = kurc_optimizer_norm_block(total);
    size_t blocks = (total + block - 1) / block;
    for (int r = 0; r <= size; r++) {
        size_t at = block * (blocks * (size_t)r / (size_t)size);
        bounds[r] = at < total ? at : total;
    }
}

void kurc_shard_split(const size_t *bounds, int size, size_t lo, size_t hi, int *counts,
                      int *displs) {
    for (int r = 0; r < size; r++) {
        size_t a = bounds[r] > lo ? bounds[r] : lo, b = bounds[r + 1] < hi ? bounds[r + 1] : hi;
        counts[r] = b > a ? (int)(b - a) : 0;
        displs[r] = b > a ? (int)(a - lo) : 0;
    }
}

enum kurc_status kurc_shard_create(struct kurc_comm *comm, const struct kurc_params *p,
                                   const struct kurc_dist_settings *ds, struct kurc_shard **out,
                                   struct kurc_err *err) {
    *out = NULL;
    if (!kurc_comm_can_shard(comm) || !kurc_comm_has_p2p(comm))
        return kurc_err_set(err, KURC_E_UNSUPPORTED, NULL,
                            "settings.shard_optimizer: the %s communicator cannot reduce-scatter, "
                            "gather and send between ranks",
                            comm->ops->name);
    if (p->total > (size_t)INT_MAX)
        return kurc_err_set(err, KURC_E_UNSUPPORTED, NULL,
                            "settings.shard_optimizer: %zu parameter values, more than the "
                            "collectives' counts can hold (%d)",
                            p->total, INT_MAX);
    struct kurc_shard *sh = kurc_xcalloc(1, sizeof *sh);
    sh->comm = comm;
    sh->total = p->total;
    sh->bounds = kurc_xcalloc((size_t)comm->size + 1, sizeof *sh->bounds);
    kurc_shard_bounds(p->total, comm->size, sh->bounds);
    sh->block = kurc_optimizer_norm_block(p->total);
    size_t blocks = (p->total + sh->block - 1) / sh->block;
    sh->squares = kurc_xcalloc(blocks ? blocks : 1, sizeof *sh->squares);
    sh->square_size = kurc_xcalloc((size_t)comm->size, sizeof *sh->square_size);
    for (int r = 0; r < comm->size; r++)
        sh->square_size[r] =
            (sh->bounds[r + 1] - sh->bounds[r] + sh->block - 1) / sh->block * sizeof(double);
    /* pieces of buckets.mb (one without buckets), whole blocks each */
    size_t piece = (size_t)(ds->mb * 1048576.0 / sizeof(float));
    piece = (piece + sh->block - 1) / sh->block * sh->block;
    if (!ds->buckets || piece == 0)
        piece = p->total ? p->total : 1;
    for (size_t lo = 0; lo < p->total; lo += piece) {
        sh->pieces = kurc_xrealloc(sh->pieces, (size_t)(sh->n_pieces + 1) * sizeof *sh->pieces);
        struct piece *k = &sh->pieces[sh->n_pieces];
        memset(k, 0, sizeof *k);
        k->lo = lo;
        k->hi = lo + piece < p->total ? lo + piece : p->total;
        k->counts = kurc_xcalloc(2 * (size_t)comm->size, sizeof *k->counts);
        k->displs = k->counts + comm->size;
        kurc_shard_split(sh->bounds, comm->size, k->lo, k->hi, k->counts, k->displs);
        snprintf(k->name, sizeof k->name, "parameters %d", sh->n_pieces);
        sh->n_pieces++;
    }
    *out = sh;
    return KURC_OK;
}

void kurc_shard_free(struct kurc_shard *sh) {
    if (!sh)
        return;
    for (int i = 0; i < sh->n_pieces; i++)
        free(sh->pieces[i].counts);
    free(sh->pieces);
    free(sh->bounds);
    free(sh->squares);
    free(sh->square_size);
    free(sh);
}

void kurc_shard_range(const struct kurc_shard *sh, size_t *lo, size_t *n) {
    int r = sh->comm->rank;
    *lo = sh->bounds[r];
    *n = sh->bounds[r + 1] - sh->bounds[r];
}

/* The gradient's global L2 norm: every block's sum of squares, added in
 * block order on every rank. */
static enum kurc_status global_norm(struct kurc_shard *sh, const struct kurc_optimizer *o,
                                    const struct kurc_params *p, double *norm,
                                    struct kurc_err *err) {
    struct kurc_comm *c = sh->comm;
    size_t first = sh->bounds[c->rank] / sh->block;
    kurc_optimizer_block_squares(o, p, o->lo, o->n, sh->squares + first);
    enum kurc_status st = KURC_OK;
    if (c->size > 1) {
        double *mine = kurc_xmalloc(sh->square_size[c->rank] + 1);
        memcpy(mine, sh->squares + first, sh->square_size[c->rank]);
        st = kurc_comm_allgatherv(c, mine, sh->square_size[c->rank], sh->squares,
                                  sh->square_size, err);
        free(mine);
    }
    double sum = 0;
    for (size_t i = 0, n = (sh->total + sh->block - 1) / sh->block; i < n; i++)
        sum += sh->squares[i];
    *norm = sqrt(sum);
    return st;
}

enum kurc_status kurc_shard_step(struct kurc_shard *sh, struct kurc_optimizer *o,
                                 struct kurc_params *p, float lr_scale, struct kurc_err *err) {
    struct kurc_comm *c = sh->comm;
    double norm = 0;
    enum kurc_status st = KURC_OK;
    if (o->clip == KURC_CLIP_NORM)
        st = global_norm(sh, o, p, &norm, err);
    if (st)
        return st;
    kurc_optimizer_clip_range(o, p, o->lo, o->n, norm);
    int done = 0; /* pieces [0, done) have completed */
    for (int i = 0; i < sh->n_pieces && st == KURC_OK; i++) {
        struct piece *k = &sh->pieces[i];
        size_t lo = k->lo + (size_t)k->displs[c->rank], n = (size_t)k->counts[c->rank];
        if (n > 0)
            kurc_optimizer_update(o, p, lo, n, lr_scale);
        st = kurc_comm_iallgatherv_float(c, p->values + k->lo, k->counts, k->displs, k->name,
                                         &k->req, err);
        for (bool fin = true; fin && done < i && st == KURC_OK;) {
            st = kurc_comm_test(c, &sh->pieces[done].req, &fin, err);
            done += fin;
        }
    }
    for (; done < sh->n_pieces && st == KURC_OK; done++)
        st = kurc_comm_wait(c, &sh->pieces[done].req, err);
    o->iterations++;
    return st;
}

/* --- checkpoints ----------------------------------------------------------- */

enum kurc_status kurc_shard_full_create(const struct kurc_optimizer *o,
                                        const struct kurc_params *p,
                                        struct kurc_optimizer **full, struct kurc_err *err) {
    struct kurc_optimizer *f = kurc_xmalloc(sizeof *f);
    *f = *o; /* its settings stay o's */
    f->lo = 0;
    f->n = p->total;
    for (int k = 0; k < 2; k++)
        f->state[k] = NULL;
    for (int k = 0; k < o->type->n_state; k++) {
        f->state[k] = o->be->ops->alloc(o->be, (p->total ? p->total : 1) * sizeof(float));
        if (!f->state[k]) {
            kurc_shard_full_free(f);
            return kurc_err_set(err, KURC_E_BACKEND, NULL,
                                "rank 0 cannot allocate %zu bytes to gather the optimizer state",
                                p->total * sizeof(float));
        }
    }
    *full = f;
    return KURC_OK;
}

void kurc_shard_full_free(struct kurc_optimizer *full) {
    if (!full)
        return;
    for (int k = 0; k < 2; k++)
        if (full->state[k])
            full->be->ops->free(full->be, full->state[k]);
    free(full);
}

enum kurc_status kurc_shard_gather_state(struct kurc_shard *sh, const struct kurc_optimizer *o,
                                         const struct kurc_params *p,
                                         struct kurc_optimizer **full, struct kurc_err *err) {
    struct kurc_comm *c = sh->comm;
    struct kurc_backend *be = o->be;
    *full = NULL;
    enum kurc_status st = KURC_OK;
    if (c->rank == 0)
        st = kurc_shard_full_create(o, p, full, err);
    float *host = kurc_xmalloc((c->rank == 0 ? p->total : o->n) * sizeof(float) + 1);
    for (int k = 0; k < o->type->n_state && st == KURC_OK; k++) {
        be->ops->download(be, host + (c->rank == 0 ? o->lo : 0), o->state[k],
                          o->n * sizeof(float));
        if (c->rank != 0) {
            st = kurc_comm_send(c, host, o->n * sizeof(float), 0, err);
            continue;
        }
        for (int r = 1; r < c->size && st == KURC_OK; r++)
            st = kurc_comm_recv(c, host + sh->bounds[r],
                                (sh->bounds[r + 1] - sh->bounds[r]) * sizeof(float), r, err);
        if (st == KURC_OK)
            be->ops->upload(be, (*full)->state[k], host, p->total * sizeof(float));
    }
    free(host);
    if (st) {
        kurc_shard_full_free(*full);
        *full = NULL;
    }
    return st;
}

enum kurc_status kurc_shard_scatter_state(struct kurc_shard *sh,
                                          const struct kurc_optimizer *full,
                                          struct kurc_optimizer *o, struct kurc_err *err) {
    struct kurc_comm *c = sh->comm;
    struct kurc_backend *be = o->be;
    float *host = kurc_xmalloc((c->rank == 0 ? sh->total : o->n) * sizeof(float) + 1);
    enum kurc_status st = KURC_OK;
    for (int k = 0; k < o->type->n_state && st == KURC_OK; k++) {
        if (c->rank == 0) {
            be->ops->download(be, host, full->state[k], sh->total * sizeof(float));
            for (int r = 1; r < c->size && st == KURC_OK; r++)
                st = kurc_comm_send(c, host + sh->bounds[r],
                                    (sh->bounds[r + 1] - sh->bounds[r]) * sizeof(float), r, err);
            be->ops->upload(be, o->state[k], host + o->lo, o->n * sizeof(float));
        } else {
            st = kurc_comm_recv(c, host, o->n * sizeof(float), 0, err);
            if (st == KURC_OK)
                be->ops->upload(be, o->state[k], host, o->n * sizeof(float));
        }
    }
    free(host);
    if (st == KURC_OK && c->rank == 0)
        o->iterations = full->iterations;
    if (st == KURC_OK && c->size > 1)
        st = c->ops->broadcast(c, &o->iterations, sizeof o->iterations, 0, err);
    return st;
}

void kurc_shard_describe(const struct kurc_shard *sh, int n_state, char *buf, size_t size) {
    size_t unit = (size_t)n_state * sizeof(float);
    int at = snprintf(buf, size, "optimizer state sharded over %d ranks, bytes per rank:",
                      sh->comm->size);
    for (int r = 0; r < sh->comm->size && at > 0 && (size_t)at < size; r++)
        at += snprintf(buf + at, size - (size_t)at, "%s %zu", r ? "," : "",
                       unit * (sh->bounds[r + 1] - sh->bounds[r]));
    if (at > 0 && (size_t)at < size)
        snprintf(buf + at, size - (size_t)at,
                 " (%zu per rank unsharded); parameters all-gathered in %d piece%s",
                 unit * sh->total, sh->n_pieces, sh->n_pieces == 1 ? "" : "s");
}
