/* params.h - the model's parameters in flat arenas.
 *
 * Every trainable tensor (a dense kernel, a bias, batch-norm gamma, ...) is
 * a view into one flat array of values, its gradient the view at the same
 * offset of one flat array of gradients, and its optimizer state (src/optim)
 * the same view of the optimizer's arenas.  The layout is REVERSE layer
 * order: the gradients backward fills first are contiguous at the start of
 * the arena and can be reduced across ranks while backward goes on, and an
 * optimizer updates all parameters with one call over the flat arrays.
 *
 * Initial values are a pure function of (seed, parameter name), drawn with
 * the counter-based RNG: the same seed gives the same weights on any
 * machine and any number of ranks.
 */
#ifndef KURC_PARAMS_H
#define KURC_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "core/backend.h"
#include "core/tensor.h"

/* Initialisers, as Kur's Keras backend used them. */
enum kurc_init {
    KURC_INIT_ZEROS,
    KURC_INIT_ONES,
    KURC_INIT_GLOROT_UNIFORM, /* U(-l, l), l = sqrt(6 / (fan_in + fan_out)) */
    KURC_INIT_UNIFORM,        /* U(-arg, arg) (embeddings: 0.05) */
    KURC_INIT_ORTHOGONAL,     /* recurrent kernels (rows x cols, blocks of cols) */
    KURC_INIT_CONSTANT,       /* arg everywhere */
    KURC_INIT_FORGET_BIAS,    /* LSTM bias (4 units): zeros, ones in the forget gate's
                               * block [units, 2 units) (Keras' unit_forget_bias) */
};

struct kurc_param {
    char *layer;  /* the container that owns it */
    char *weight; /* kernel, bias, gamma, beta, embeddings, ... */
    struct kurc_shape shape;
    int64_t numel;
    size_t offset; /* in every arena (reverse layer order) */
    bool trainable;
    enum kurc_init init;
    float init_arg;
    int64_t fan_in;
    int64_t fan_out;
};

struct kurc_params {
    struct kurc_param *items;
    size_t n;
    size_t cap;
    void *index; /* GHashTable: "layer\x1fweight" -> index + 1 (params.c) */
    size_t total; /* floats in each arena */
    /* arenas of total floats kept beside values and grads (the optimizer's
     * state), counted by the memory checks before allocating */
    int state_arenas;
    struct kurc_backend *be;
    float *values; /* backend memory */
    float *grads;  /* backend memory */
};

void kurc_params_init(struct kurc_params *p);
void kurc_params_release(struct kurc_params *p);

/* Declares a parameter; returns its index. */
int kurc_params_add(struct kurc_params *p, const char *layer, const char *weight,
                    const struct kurc_shape *shape, bool trainable, enum kurc_init init,
                    float init_arg, int64_t fan_in, int64_t fan_out);

/* Index of layer/weight, or -1. */
int kurc_params_find(const struct kurc_params *p, const char *layer, const char *weight);

/* Lays out the arenas and allocates them on the backend. */
enum kurc_status kurc_params_allocate(struct kurc_params *p, struct kurc_backend *be,
                                      struct kurc_err *err);

/* Draws every parameter's initial values from seed (on the host) and
 * uploads them. */
enum kurc_status kurc_params_initialize(struct kurc_params *p, uint64_t seed,
                                        struct kurc_err *err);

/* Host copies of one parameter's values; dst holds numel floats. */
void kurc_params_download(const struct kurc_params *p, size_t index, float *dst);
void kurc_params_upload(struct kurc_params *p, size_t index, const float *src);

/* Sets every gradient to zero. */
void kurc_params_zero_grads(struct kurc_params *p);

/* Number of trainable and of all parameter values. */
int64_t kurc_params_count(const struct kurc_params *p, bool trainable_only);

#endif
