/* params.c - laying out, allocating and initialising the parameter arenas. */
#include "core/params.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/memory.h"
#include "base/rng.h"
#include "base/xalloc.h"

void kurc_params_init(struct kurc_params *p) {
    memset(p, 0, sizeof *p);
}

void kurc_params_release(struct kurc_params *p) {
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].layer);
        free(p->items[i].weight);
    }
    free(p->items);
    if (p->index)
        g_hash_table_destroy(p->index);
    if (p->be) {
        p->be->ops->free(p->be, p->values);
        p->be->ops->free(p->be, p->grads);
    }
    memset(p, 0, sizeof *p);
}

/* The index key of a parameter: its layer and weight names, joined by a
 * unit separator (a character no name holds). */
static char *index_key(const char *layer, const char *weight) {
    return g_strconcat(layer, "\x1f", weight, NULL);
}

int kurc_params_add(struct kurc_params *p, const char *layer, const char *weight,
                    const struct kurc_shape *shape, bool trainable, enum kurc_init init,
                    float init_arg, int64_t fan_in, int64_t fan_out) {
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->items = kurc_xrealloc(p->items, p->cap * sizeof *p->items);
    }
    struct kurc_param *q = &p->items[p->n];
    memset(q, 0, sizeof *q);
    q->layer = kurc_xstrdup(layer);
    q->weight = kurc_xstrdup(weight);
    q->shape = *shape;
    q->numel = kurc_shape_numel(shape);
    q->trainable = trainable;
    q->init = init;
    q->init_arg = init_arg;
    q->fan_in = fan_in;
    q->fan_out = fan_out;
    if (!p->index)
        p->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char *key = index_key(layer, weight);
    if (g_hash_table_contains(p->index, key))
        g_free(key); /* kurc_params_find keeps finding the first */
    else
        g_hash_table_insert(p->index, key, GSIZE_TO_POINTER(p->n + 1));
    return (int)p->n++;
}

int kurc_params_find(const struct kurc_params *p, const char *layer, const char *weight) {
    if (!p->index)
        return -1;
    char *key = index_key(layer, weight);
    size_t found = GPOINTER_TO_SIZE(g_hash_table_lookup(p->index, key));
    g_free(key);
    return (int)found - 1;
}

/* Offsets are rounded up to 16 floats (64 bytes) so every view is aligned. */
static size_t aligned(size_t n) {
    return (n + 15) / 16 * 16;
}

enum kurc_status kurc_params_allocate(struct kurc_params *p, struct kurc_backend *be,
                                      struct kurc_err *err) {
    size_t offset = 0;
    bool huge = false; /* the sizes overflow: no machine has that memory */
    for (size_t i = p->n; i-- > 0;) {
        p->items[i].offset = offset;
        huge = __builtin_add_overflow(offset, aligned((size_t)p->items[i].numel), &offset) ||
               huge;
    }
    size_t arenas = 2 + (size_t)p->state_arenas;
    huge = huge || offset > SIZE_MAX / (arenas * sizeof(float));
    const char *what = p->state_arenas ? "the model's parameters, gradients and optimizer state"
                                       : "the model's parameters and gradients";
    /* host memory: refuse what cannot fit before allocating any of it */
    enum kurc_status st =
        be->ops->memory == KURC_MEMORY_HOST || huge
            ? kurc_memory_check(huge ? UINT64_MAX : arenas * sizeof(float) * (uint64_t)offset,
                                KURC_E_CONFIG, what, err)
            : KURC_OK;
    if (st)
        return st;
    p->total = offset;
    p->be = be;
    size_t bytes = (p->total ? p->total : 1) * sizeof(float);
    p->values = be->ops->alloc(be, bytes);
    p->grads = be->ops->alloc(be, bytes);
    if (!p->values || !p->grads) {
        struct kurc_err why; /* the backend's own account (CUDA: the free memory) */
        bool known = kurc_backend_check(be, &why) != KURC_OK;
        return kurc_err_set(err, KURC_E_BACKEND, NULL,
                            "cannot allocate %zu bytes for the model's parameters and gradients "
                            "on the %s backend%s%.1200s",
                            2 * bytes, be->ops->name, known ? ": " : "", known ? why.msg : "");
    }
    return KURC_OK;
}

/* FNV-1a of "layer/weight": the stream of random numbers a parameter uses. */
static uint64_t param_tag(const struct kurc_param *q) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *s = q->layer; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    h = (h ^ '/') * 0x100000001b3ull;
    for (const char *s = q->weight; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Element k of vector v of a rows x cols matrix, vectors being rows or
 * columns. */
static double *cell(double *m, int64_t cols, bool by_rows, int64_t v, int64_t k) {
    return by_rows ? &m[v * cols + k] : &m[k * cols + v];
}

/* An orthogonal rows x cols matrix (Saxe et al. 2014, as Keras' Orthogonal
 * initializer): Gram-Schmidt on the shorter side's vectors of a normal
 * matrix. */
static void orthogonal(float *x, int64_t rows, int64_t cols, uint64_t seed) {
    double *m = kurc_xmalloc((size_t)(rows * cols) * sizeof *m);
    for (int64_t i = 0; i < rows * cols; i++)
        m[i] = kurc_rng_normal(seed, (uint64_t)i);
    bool by_rows = rows <= cols;
    int64_t count = by_rows ? rows : cols, len = by_rows ? cols : rows;
    for (int64_t a = 0; a < count; a++) {
        for (int64_t b = 0; b < a; b++) {
            double dot = 0;
            for (int64_t k = 0; k < len; k++)
                dot += *cell(m, cols, by_rows, a, k) * *cell(m, cols, by_rows, b, k);
            for (int64_t k = 0; k < len; k++)
                *cell(m, cols, by_rows, a, k) -= dot * *cell(m, cols, by_rows, b, k);
        }
        double norm = 0;
        for (int64_t k = 0; k < len; k++)
            norm += *cell(m, cols, by_rows, a, k) * *cell(m, cols, by_rows, a, k);
        norm = sqrt(norm);
        for (int64_t k = 0; k < len; k++)
            *cell(m, cols, by_rows, a, k) /= norm > 0 ? norm : 1;
    }
    for (int64_t i = 0; i < rows * cols; i++)
        x[i] = (float)m[i];
    free(m);
}

static void draw(const struct kurc_param *q, uint64_t seed, float *x) {
    uint64_t s = kurc_rng_derive(seed, param_tag(q));
    switch (q->init) {
    case KURC_INIT_ZEROS:
        memset(x, 0, (size_t)q->numel * sizeof *x);
        break;
    case KURC_INIT_ONES:
    case KURC_INIT_CONSTANT:
        for (int64_t i = 0; i < q->numel; i++)
            x[i] = q->init == KURC_INIT_ONES ? 1.0f : q->init_arg;
        break;
    case KURC_INIT_GLOROT_UNIFORM:
    case KURC_INIT_UNIFORM: {
        double limit = q->init == KURC_INIT_UNIFORM
                           ? q->init_arg
                           : sqrt(6.0 / (double)(q->fan_in + q->fan_out));
        for (int64_t i = 0; i < q->numel; i++)
            x[i] = (float)(limit * (2.0 * kurc_rng_uniform(s, (uint64_t)i) - 1.0));
        break;
    }
    case KURC_INIT_FORGET_BIAS:
        for (int64_t i = 0; i < q->numel; i++)
            x[i] = i >= q->numel / 4 && i < q->numel / 2 ? 1.0f : 0.0f;
        break;
    case KURC_INIT_ORTHOGONAL: {
        /* shape (rows, cols) = (units, blocks * units): one orthogonal
         * block per gate, as Keras initialises each gate's kernel */
        int64_t rows = q->shape.dim[0];
        int64_t cols = q->numel / rows;
        int64_t block = rows;
        float *tmp = kurc_xmalloc((size_t)(rows * block) * sizeof *tmp);
        for (int64_t b = 0; b < cols / block; b++) {
            orthogonal(tmp, rows, block, kurc_rng_derive(s, (uint64_t)b));
            for (int64_t r = 0; r < rows; r++)
                memcpy(x + r * cols + b * block, tmp + r * block, (size_t)block * sizeof *x);
        }
        free(tmp);
        break;
    }
    }
}

enum kurc_status kurc_params_initialize(struct kurc_params *p, uint64_t seed,
                                        struct kurc_err *err) {
    (void)err;
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        float *host = kurc_xmalloc((size_t)(q->numel ? q->numel : 1) * sizeof *host);
        draw(q, seed, host);
        kurc_params_upload(p, i, host);
        free(host);
    }
    return KURC_OK;
}

void kurc_params_download(const struct kurc_params *p, size_t index, float *dst) {
    const struct kurc_param *q = &p->items[index];
    p->be->ops->download(p->be, dst, p->values + q->offset, (size_t)q->numel * sizeof(float));
}

void kurc_params_upload(struct kurc_params *p, size_t index, const float *src) {
    const struct kurc_param *q = &p->items[index];
    p->be->ops->upload(p->be, p->values + q->offset, src, (size_t)q->numel * sizeof(float));
}

void kurc_params_zero_grads(struct kurc_params *p) {
    p->be->ops->zero(p->be, p->grads, p->total * sizeof(float));
}

int64_t kurc_params_count(const struct kurc_params *p, bool trainable_only) {
    int64_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        if (!trainable_only || p->items[i].trainable)
            n += p->items[i].numel;
    return n;
}
