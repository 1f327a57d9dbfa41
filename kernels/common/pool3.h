/* pool3.h - a pooling geometry (struct kurc_pool_geom, src/core/backend.h)
 * padded to three spatial axes, as the CPU and CUDA pooling kernels use
 * it: missing leading axes have size 1, stride 1 and no padding.
 */
#ifndef KURC_POOL3_H
#define KURC_POOL3_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
