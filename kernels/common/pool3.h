/* pool3.h - a pooling geometry (struct kurc_pool_geom, src/core/backend.h)
 * padded to three spatial axes, as the CPU and CUDA pooling kernels use
 * it: missing leading axes have size 1, stride 1 and no padding.
 */
#ifndef KURC_POOL3_H
#define KURC_POOL3_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rng.h" /* KURC_HOST_DEVICE */
#include "core/backend.h"

struct kurc_pool3 {
    int64_t in[3], out[3], size[3], s[3], p[3];
    int64_t batch, channels;
    int64_t pixels;  /* output pixels of the whole batch */
    int64_t in_size; /* floats per input sample */
    bool average;
};

static inline void kurc_pool3_init(const struct kurc_pool_geom *g, struct kurc_pool3 *q) {
    int lead = 3 - g->ndim;
    for (int d = 0; d < 3; d++) {
        bool real = d >= lead;
        q->in[d] = real ? g->in[d - lead] : 1;
        q->out[d] = real ? g->out[d - lead] : 1;
        q->size[d] = real ? g->size[d - lead] : 1;
        q->s[d] = real ? g->stride[d - lead] : 1;
        q->p[d] = real ? g->pad_before[d - lead] : 0;
    }
    q->batch = g->batch;
    q->channels = g->channels;
    q->pixels = q->batch * q->out[0] * q->out[1] * q->out[2];
    q->in_size = q->in[0] * q->in[1] * q->in[2] * q->channels;
    q->average = g->type == KURC_POOL_AVERAGE;
}

/* A window clipped to the input: cells [lo[d], hi[d]) on each axis. */
struct kurc_pool3_window {
    int64_t lo[3], hi[3];
    int64_t count; /* cells inside, 0 if none */
};

/* Splits pixel index pix (counting over the batch) of a grid of dims
 * into its coordinates o; returns the sample. */
static inline KURC_HOST_DEVICE int64_t kurc_pool3_split(int64_t pix, const int64_t dims[3],
                                                        int64_t o[3]) {
    o[2] = pix % dims[2];
    pix /= dims[2];
    o[1] = pix % dims[1];
    pix /= dims[1];
    o[0] = pix % dims[0];
    return pix / dims[0];
}

/* The window of output pixel o (per sample), clipped to the input. */
static inline KURC_HOST_DEVICE void
kurc_pool3_window_of(const struct kurc_pool3 *q, const int64_t o[3], struct kurc_pool3_window *w) {
    w->count = 1;
    for (int d = 0; d < 3; d++) {
        int64_t start = o[d] * q->s[d] - q->p[d];
        int64_t lo = start < 0 ? 0 : start;
        int64_t hi = start + q->size[d] < q->in[d] ? start + q->size[d] : q->in[d];
        w->lo[d] = lo;
        w->hi[d] = hi < lo ? lo : hi;
        w->count *= w->hi[d] - w->lo[d];
    }
}

#endif
