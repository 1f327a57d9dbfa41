/* kur_map.c - kurc's parameters as the tensors of Kur's layers, per
 * backend flavour (see kur_map.h). */
#include "io/kur_map.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "io/io_util.h"

/* Keras 2's weight names, kurc's too but for the statistics. */
static const char *const roles[] = {"recurrent_kernel", "moving_variance", "moving_mean",
                                    "embeddings",       "kernel",          "gamma",
                                    "beta",             "bias"};

/* The names a file's weight name may end in, longest first
 * ("recurrent_kernel" before "kernel"), and the Keras 2 weight each
 * stands for: Keras 2's, then Keras 1's (W a dense or convolution kernel
 * or an embedding table). */
static const char *const suffixes[][2] = {
    {"recurrent_kernel", "recurrent_kernel"},
    {"moving_variance", "moving_variance"},
    {"moving_mean", "moving_mean"},
    {"running_mean", "moving_mean"},
    {"running_std", "moving_variance"},
    {"embeddings", "embeddings"},
    {"kernel", "kernel"},
    {"gamma", "gamma"},
    {"beta", "beta"},
    {"bias", "bias"},
    {"W", "W"},
    {"U", "recurrent_kernel"},
    {"b", "bias"},
};

const char *kurc_kur_role(const char *weight) {
    size_t len = strlen(weight);
    const char *colon = strrchr(weight, ':');
    if (colon && colon[1]) { /* TF's ":0" */
        bool digits = true;
        for (const char *s = colon + 1; *s; s++)
            digits = digits && isdigit((unsigned char)*s);
        if (digits)
            len = (size_t)(colon - weight);
    }
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t n = strlen(suffixes[i][0]);
        if (len >= n && memcmp(weight + len - n, suffixes[i][0], n) == 0 &&
            (len == n || weight[len - n - 1] == '_'))
            return suffixes[i][1];
    }
    return NULL;
}

/* What a container is, from its parameters' names and shapes. */
enum kind { DENSE, CONV, BATCHNORM, EMBEDDING, RECURRENT };

struct container {
    const char *name;
    enum kind kind;
    int gates; /* recurrent: 1 (rnn), 3 (gru), 4 (lstm) */
};

static struct container classify(const struct kurc_params *p, const char *layer) {
    struct container c = {layer, DENSE, 0};
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        if (strcmp(q->layer, layer) != 0)
            continue;
        if (strncmp(q->weight, "recurrent_kernel", 16) == 0) {
            c.kind = RECURRENT;
            c.gates = q->shape.dim[0] ? (int)(q->shape.dim[1] / q->shape.dim[0]) : 0;
            return c;
        }
        if (strcmp(q->weight, "gamma") == 0)
            c.kind = BATCHNORM;
        else if (strcmp(q->weight, "embeddings") == 0)
            c.kind = EMBEDDING;
        else if (strcmp(q->weight, "kernel") == 0 && q->shape.ndim >= 3)
            c.kind = CONV;
    }
    return c;
}

/* PyTorch's attribute for a layer (Kur's normalize_name). */
static char *torch_name(const char *name) {
    char *s = kurc_xasprintf("layer_%s", name);
    for (char *c = s + 6; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_') || (c == s + 6 && isdigit((unsigned char)*c)))
            *c = '_';
    return s;
}

/* The Kur layer (Keras naming) and Keras weight of a parameter: *suffix
 * receives "_fwd"/"_rev" for a direction of a bidirectional layer, and
 * *hidden the index of a dense stack's hidden layer (else -1). */
static char *keras_layer(const struct kurc_param *q, char *role, size_t size, const char **suffix,
                         int *hidden) {
    size_t len = strlen(q->weight);
    *suffix = "";
    *hidden = -1;
    snprintf(role, size, "%s", q->weight);
    if (len > 4 && (strcmp(q->weight + len - 4, "_fwd") == 0 ||
                    strcmp(q->weight + len - 4, "_rev") == 0)) {
        *suffix = q->weight + len - 4;
        role[len - 4] = '\0';
        return kurc_xasprintf("%s%s", q->layer, *suffix);
    }
    const char *us = strrchr(q->weight, '_');
    if (us && us[1] && strspn(us + 1, "0123456789") == strlen(us + 1) &&
        (strncmp(q->weight, "kernel_", 7) == 0 || strncmp(q->weight, "bias_", 5) == 0)) {
        *hidden = atoi(us + 1);
        role[us - q->weight] = '\0';
        return kurc_xasprintf("%s_hidden%d", q->layer, *hidden);
    }
    return kurc_xstrdup(q->layer);
}

static struct kurc_shape shape2(int64_t a, int64_t b) {
    return (struct kurc_shape){.ndim = 2, .dim = {a, b}};
}

/* Appends a tensor to layer l; two of one name is an error. */
static enum kurc_status add(struct kurc_kur_layer *l, const char *path, const char *name,
                            int param, enum kurc_kur_layout layout, bool optional,
                            struct kurc_shape disk, struct kurc_err *err) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->t[i].name, name) == 0)
            return kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                                "two of the model's weights would be Kur's layer '%s' weight "
                                "'%s' (rename a container)",
                                l->name, name);
    if (l->n == KURC_KUR_MAX_TENSORS)
        return kurc_io_fail(err, KURC_E_CHECKPOINT, path, "Kur layer '%s' has too many weights",
                            l->name);
    struct kurc_kur_tensor *t = &l->t[l->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->param = param;
    t->layout = layout;
    t->optional = optional;
    t->disk = disk;
    return KURC_OK;
}

/* The layer named name in *layers, appended when missing. */
static struct kurc_kur_layer *layer_of(struct kurc_kur_layer **layers, size_t *n, size_t *cap,
                                       char *name, const char *container) {
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*layers)[i].name, name) == 0) {
            free(name);
            return &(*layers)[i];
        }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        *layers = kurc_xrealloc(*layers, *cap * sizeof **layers);
    }
    struct kurc_kur_layer *l = &(*layers)[(*n)++];
    memset(l, 0, sizeof *l);
    l->name = name;
    l->container = container;
    return l;
}

/* PyTorch's tensors for parameter i (role, of container c). */
static enum kurc_status torch_tensors(struct kurc_kur_layer *l, const struct kurc_params *p,
                                      int i, const struct container *c, const char *role,
                                      const char *suffix, const char *path,
                                      struct kurc_err *err) {
    const struct kurc_shape *s = &p->items[i].shape;
    bool bias = strcmp(role, "bias") == 0;
    switch (c->kind) {
    case DENSE:
        return bias ? add(l, path, "bias", i, KURC_KUR_COPY, false, *s, err)
                    : add(l, path, "weight", i, KURC_KUR_TRANSPOSE, false,
                          shape2(s->dim[1], s->dim[0]), err);
    case CONV: {
        if (bias)
            return add(l, path, "bias", i, KURC_KUR_COPY, false, *s, err);
        struct kurc_shape d = {.ndim = s->ndim};
        d.dim[0] = s->dim[s->ndim - 1];
        d.dim[1] = s->dim[s->ndim - 2];
        for (int k = 0; k < s->ndim - 2; k++)
            d.dim[2 + k] = s->dim[k];
        return add(l, path, "weight", i, KURC_KUR_CONV_OIK, false, d, err);
    }
    case BATCHNORM: {
        if (strcmp(role, "beta") == 0)
            return add(l, path, "bias", i, KURC_KUR_COPY, false, *s, err);
        struct kurc_shape scalar = {.ndim = 0};
        enum kurc_status st = add(l, path, "weight", i, KURC_KUR_COPY, false, *s, err);
        if (!st)
            st = add(l, path, "running_mean", -1, KURC_KUR_IGNORE, true, *s, err);
        if (!st)
            st = add(l, path, "running_var", -1, KURC_KUR_IGNORE, true, *s, err);
        return st ? st : add(l, path, "num_batches_tracked", -1, KURC_KUR_IGNORE, true, scalar, err);
    }
    case EMBEDDING:
        return add(l, path, "weight", i, KURC_KUR_COPY, false, *s, err);
    case RECURRENT: {
        if (c->gates == 3)
            l->unmappable = "a PyTorch GRU applies its reset gate after the recurrent product "
                            "and has two biases, which kurc's Keras GRU cannot represent";
        const char *dir = strcmp(suffix, "_rev") == 0 ? "_reverse" : "";
        char name[48];
        if (bias) {
            snprintf(name, sizeof name, "bias_ih_l0%s", dir);
            enum kurc_status st = add(l, path, name, i, KURC_KUR_COPY, false, *s, err);
            snprintf(name, sizeof name, "bias_hh_l0%s", dir);
            return st ? st : add(l, path, name, i, KURC_KUR_ADD, false, *s, err);
        }
        snprintf(name, sizeof name, "weight_%s_l0%s", strcmp(role, "kernel") == 0 ? "ih" : "hh",
                 dir);
        return add(l, path, name, i, KURC_KUR_TRANSPOSE, false, shape2(s->dim[1], s->dim[0]),
                   err);
    }
    }
    return KURC_OK;
}

enum kurc_status kurc_kur_layers(const struct kurc_params *p, enum kurc_kur_flavour f,
                                 const char *path, struct kurc_kur_layer **out, size_t *n,
                                 struct kurc_err *err) {
    struct kurc_kur_layer *layers = NULL;
    size_t count = 0, cap = 0;
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < p->n && !st; i++) {
        const struct kurc_param *q = &p->items[i];
        struct container c = classify(p, q->layer);
        char role[64];
        const char *suffix;
        int hidden;
        char *name = keras_layer(q, role, sizeof role, &suffix, &hidden);
        bool known = false;
        for (size_t r = 0; r < sizeof roles / sizeof *roles && !known; r++)
            known = strcmp(role, roles[r]) == 0 && strncmp(role, "moving_", 7) != 0;
        if (!known) {
            free(name);
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                              "layer '%s' weight '%s' has no name in Kur's weight directories",
                              q->layer, q->weight);
            break;
        }
        if (f != KURC_KUR_PYTORCH) {
            struct kurc_kur_layer *l = layer_of(&layers, &count, &cap, name, q->layer);
            bool flip = f == KURC_KUR_THEANO && c.kind == CONV && strcmp(role, "kernel") == 0;
            st = add(l, path, role, (int)i, flip ? KURC_KUR_FLIP : KURC_KUR_COPY, false, q->shape,
                     err);
            if (!st && strcmp(role, "gamma") == 0)
                st = add(l, path, "moving_mean", -1, KURC_KUR_IGNORE, true, q->shape, err);
            if (!st && strcmp(role, "gamma") == 0)
                st = add(l, path, "moving_variance", -1, KURC_KUR_IGNORE, true, q->shape, err);
            continue;
        }
        free(name);
        char *base = hidden >= 0 ? kurc_xasprintf("%s_hidden%d", q->layer, hidden)
                                 : kurc_xstrdup(q->layer);
        struct kurc_kur_layer *l = layer_of(&layers, &count, &cap, torch_name(base), q->layer);
        free(base);
        if (hidden >= 0)
            c.kind = DENSE;
        st = torch_tensors(l, p, (int)i, &c, role, suffix, path, err);
    }
    if (st) {
        kurc_kur_layers_free(layers, count);
        return st;
    }
    *out = layers;
    *n = count;
    return KURC_OK;
}

void kurc_kur_layers_free(struct kurc_kur_layer *layers, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(layers[i].name);
    free(layers);
}
