/* kur_dir_load.c - loading a Kur weight directory (kur_dir.h): finding its
 * files, telling its backend, matching its layers with the model's (see
 * kur_map.h) and converting each tensor to kurc's layout in a host copy of
 * the parameters, uploaded only when everything fitted. */
#include "io/kur_dir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "core/finite.h"
#include "formats/idx.h"
#include "io/io_util.h"
#include "io/kur_map.h"

/* One LAYER+WEIGHT.kur file. */
struct file {
    char *path;   /* as opened */
    char *rel;    /* relative to the directory, for messages */
    char *layer;  /* before the first '+' */
    char *weight; /* after it, without ".kur" */
    bool skip;    /* a second file of the same layer and weight */
    bool used;    /* a layer of the model took it */
};

struct files {
    struct file *v;
    size_t n, cap;
};

static void files_free(struct files *fs) {
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].path);
        free(fs->v[i].rel);
        free(fs->v[i].layer);
        free(fs->v[i].weight);
    }
    free(fs->v);
}

/* Adds path when its name is LAYER+WEIGHT.kur (Kur's pattern). */
static void consider(struct files *fs, const char *path, const char *rel, const char *name) {
    const char *plus = strchr(name, '+');
    size_t len = strlen(name);
    if (!plus || len < 4 || strcmp(name + len - 4, ".kur") != 0 || plus > name + len - 4)
        return;
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? 2 * fs->cap : 32;
        fs->v = kurc_xrealloc(fs->v, fs->cap * sizeof *fs->v);
    }
    struct file *f = &fs->v[fs->n++];
    memset(f, 0, sizeof *f);
    f->path = kurc_xstrdup(path);
    f->rel = kurc_xstrdup(rel);
    f->layer = kurc_xasprintf("%.*s", (int)(plus - name), name);
    f->weight = kurc_xasprintf("%.*s", (int)(name + len - 4 - plus - 1), plus + 1);
}

/* Collects the files of dir and of its subdirectories (not following
 * links to directories, as Kur's os.walk did not). */
static enum kurc_status walk(const char *top, const char *dir, const char *rel, struct files *fs,
                             struct kurc_err *err) {
    DIR *d = opendir(dir);
    if (!d)
        return kurc_io_fail(err, KURC_E_CHECKPOINT, top, "cannot read the weight directory%s%s: %s",
                            rel[0] ? " " : "", rel, strerror(errno));
    enum kurc_status st = KURC_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = kurc_xasprintf("%s/%s", dir, e->d_name);
        char *sub = rel[0] ? kurc_xasprintf("%s/%s", rel, e->d_name) : kurc_xstrdup(e->d_name);
        struct stat ls, s;
        if (lstat(path, &ls) == 0 && S_ISDIR(ls.st_mode))
            st = walk(top, path, sub, fs, err);
        else if (stat(path, &s) == 0 && S_ISREG(s.st_mode))
            consider(fs, path, sub, e->d_name);
        free(path);
        free(sub);
    }
    closedir(d);
    return st;
}

static int by_rel(const void *a, const void *b) {
    return strcmp(((const struct file *)a)->rel, ((const struct file *)b)->rel);
}

/* Sorts the files and marks the second of one layer and weight, as Kur
 * skipped it (with a warning). */
static void dedupe(const char *dir, struct files *fs) {
    qsort(fs->v, fs->n, sizeof *fs->v, by_rel);
    for (size_t i = 0; i < fs->n; i++)
        for (size_t j = 0; j < i && !fs->v[i].skip; j++)
            if (!fs->v[j].skip && strcmp(fs->v[i].layer, fs->v[j].layer) == 0 &&
                strcmp(fs->v[i].weight, fs->v[j].weight) == 0) {
                fs->v[i].skip = true;
                kurc_log(KURC_LOG_WARNING, "%s: %s holds layer '%s' weight '%s' again; using %s",
                         dir, fs->v[i].rel, fs->v[i].layer, fs->v[i].weight, fs->v[j].rel);
            }
}

static bool tf_name(const char *weight) {
    const char *colon = strrchr(weight, ':');
    return colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

static bool torch_weight(const char *weight) {
    return strcmp(weight, "weight") == 0 || strncmp(weight, "weight_ih_l", 11) == 0 ||
           strncmp(weight, "weight_hh_l", 11) == 0;
}

/* The backend that wrote the directory: TensorFlow when a weight name
 * ends in ":N" (then all must), PyTorch when one is a state_dict weight,
 * else Theano. */
static enum kurc_status flavour_of(const char *dir, const struct files *fs,
                                   enum kurc_kur_flavour *f, struct kurc_err *err) {
    const struct file *tf = NULL, *other = NULL, *torch = NULL;
    for (size_t i = 0; i < fs->n; i++) {
        if (tf_name(fs->v[i].weight))
            tf = tf ? tf : &fs->v[i];
        else
            other = other ? other : &fs->v[i];
        if (torch_weight(fs->v[i].weight))
            torch = torch ? torch : &fs->v[i];
    }
    if (tf && other)
        return kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                            "mixes Keras-on-TensorFlow names (%s) with others (%s); a Kur weight "
                            "directory comes from one backend",
                            tf->rel, other->rel);
    *f = tf ? KURC_KUR_TENSORFLOW : torch ? KURC_KUR_PYTORCH : KURC_KUR_THEANO;
    return KURC_OK;
}

static const char *flavour_name(enum kurc_kur_flavour f) {
    return f == KURC_KUR_TENSORFLOW ? "Keras on TensorFlow"
           : f == KURC_KUR_THEANO   ? "Keras on Theano"
                                    : "PyTorch";
}

/* Converts a tensor read from disk (its shape t->disk) into kurc's layout
 * at dst (the parameter's shape s). */
static void convert(const struct kurc_kur_tensor *t, const struct kurc_shape *s, const float *src,
                    float *dst) {
    int64_t numel = kurc_shape_numel(s);
    switch (t->layout) {
    case KURC_KUR_COPY:
        memcpy(dst, src, (size_t)numel * sizeof *dst);
        break;
    case KURC_KUR_ADD:
        for (int64_t i = 0; i < numel; i++)
            dst[i] += src[i];
        break;
    case KURC_KUR_TRANSPOSE: { /* disk (a, b), kurc (b, a) */
        int64_t a = t->disk.dim[0], b = t->disk.dim[1];
        for (int64_t i = 0; i < a; i++)
            for (int64_t j = 0; j < b; j++)
                dst[j * a + i] = src[i * b + j];
        break;
    }
    case KURC_KUR_CONV_OIK: { /* disk (O, I, K...), kurc (K..., I, O) */
        int64_t o_n = t->disk.dim[0], i_n = t->disk.dim[1], k_n = numel / (o_n * i_n);
        for (int64_t o = 0; o < o_n; o++)
            for (int64_t c = 0; c < i_n; c++)
                for (int64_t k = 0; k < k_n; k++)
                    dst[(k * i_n + c) * o_n + o] = src[(o * i_n + c) * k_n + k];
        break;
    }
    case KURC_KUR_FLIP: { /* (K..., I, O) with every spatial axis reversed */
        int spatial = s->ndim - 2;
        int64_t inner = s->dim[spatial] * s->dim[spatial + 1], k_n = numel / inner;
        for (int64_t k = 0; k < k_n; k++) {
            int64_t rest = k, from = 0, stride = 1;
            for (int d = spatial - 1; d >= 0; d--) {
                int64_t at = rest % s->dim[d];
                rest /= s->dim[d];
                from += (s->dim[d] - 1 - at) * stride;
                stride *= s->dim[d];
            }
            memcpy(dst + k * inner, src + from * inner, (size_t)inner * sizeof *dst);
        }
        break;
    }
    case KURC_KUR_IGNORE:
        break;
    }
}

/* "(2, 3)" of a shape, into buf (KURC_MAX_DIMS * 24 bytes). */
static const char *dims(const struct kurc_shape *s, char *buf, size_t size) {
    kurc_io_format_dims(s->dim, s->ndim, buf, size);
    return buf;
}

/* Reads the file of tensor t of layer l, checks its shape and values and
 * puts it into host (the parameters' arena). */
static enum kurc_status load_tensor(const char *dir, const struct kurc_params *p,
                                    const struct kurc_kur_layer *l,
                                    const struct kurc_kur_tensor *t, const struct file *f,
                                    float *host, struct kurc_err *err) {
    struct kurc_idx idx;
    enum kurc_status st = kurc_idx_load(f->path, &idx, err);
    if (st)
        return st;
    struct kurc_shape have = kurc_shape_make(idx.ndim, idx.dim);
    char a[KURC_MAX_DIMS * 24], b[KURC_MAX_DIMS * 24], c[KURC_MAX_DIMS * 24];
    const struct kurc_param *q = t->param >= 0 ? &p->items[t->param] : NULL;
    int64_t bad;
    if (!kurc_shape_equal(&have, &t->disk)) {
        if (!q)
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                              "%s: layer '%s' weight '%s' has shape %s on disk, but the model's "
                              "layer '%s' needs %s",
                              f->rel, l->name, f->weight, dims(&have, a, sizeof a), l->container,
                              dims(&t->disk, b, sizeof b));
        else if (t->layout == KURC_KUR_COPY || t->layout == KURC_KUR_FLIP ||
                 t->layout == KURC_KUR_ADD)
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                              "%s: layer '%s' weight '%s' has shape %s on disk, but the model's "
                              "layer '%s' weight '%s' has shape %s",
                              f->rel, l->name, f->weight, dims(&have, a, sizeof a), q->layer,
                              q->weight, dims(&q->shape, b, sizeof b));
        else
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                              "%s: layer '%s' weight '%s' has shape %s on disk, but the model's "
                              "layer '%s' weight '%s' of shape %s needs %s there",
                              f->rel, l->name, f->weight, dims(&have, a, sizeof a), q->layer,
                              q->weight, dims(&q->shape, b, sizeof b), dims(&t->disk, c, sizeof c));
    } else if (q && (bad = kurc_find_nonfinite(idx.data, idx.numel)) >= 0) {
        kurc_shape_format_index(&have, bad, a, sizeof a);
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                          "%s: layer '%s' weight '%s' holds %s at index %s (as float32); "
                          "refusing weights that are not finite",
                          f->rel, l->name, f->weight, kurc_nonfinite_name(idx.data[bad]), a);
    } else if (q) {
        convert(t, &q->shape, idx.data, host + q->offset);
        if (t->layout == KURC_KUR_ADD &&
            (bad = kurc_find_nonfinite(host + q->offset, q->numel)) >= 0)
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                              "%s: layer '%s' weight '%s' added to the other bias overflows "
                              "(element %lld)",
                              f->rel, l->name, f->weight, (long long)bad);
    }
    kurc_idx_release(&idx);
    return st;
}

/* Loads the files of layer l (those of fs named l->name); *present says
 * whether there were any. */
static enum kurc_status load_layer(const char *dir, const struct kurc_params *p,
                                   const struct kurc_kur_layer *l, enum kurc_kur_flavour fl,
                                   struct files *fs, float *host, bool *present,
                                   struct kurc_err *err) {
    int match[KURC_KUR_MAX_TENSORS];
    for (int i = 0; i < l->n; i++)
        match[i] = -1;
    struct kurc_strbuf extra = KURC_STRBUF_INIT, missing = KURC_STRBUF_INIT;
    enum kurc_status st = KURC_OK;
    *present = false;
    for (size_t j = 0; j < fs->n && !st; j++) {
        struct file *f = &fs->v[j];
        if (f->skip || strcmp(f->layer, l->name) != 0)
            continue;
        *present = f->used = true;
        if (l->unmappable) {
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir, "%s: cannot load layer '%s': %s",
                              f->rel, l->name, l->unmappable);
            break;
        }
        const char *key = fl == KURC_KUR_PYTORCH ? f->weight : kurc_kur_role(f->weight);
        if (!key) {
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                              "%s: layer '%s' weight '%s' is none of the Keras weights kurc "
                              "knows (kernel, recurrent_kernel, bias, gamma, beta, moving_mean, "
                              "moving_variance, embeddings; Keras 1's W, U, b, running_mean, "
                              "running_std)",
                              f->rel, l->name, f->weight);
            break;
        }
        int t = 0;
        while (t < l->n && strcmp(l->t[t].name, key) != 0 &&
               !(strcmp(key, "W") == 0 && (strcmp(l->t[t].name, "kernel") == 0 ||
                                           strcmp(l->t[t].name, "embeddings") == 0)))
            t++;
        if (t == l->n) {
            kurc_strbuf_printf(&extra, "%s'%s'", extra.len ? ", " : "", f->weight);
        } else if (match[t] >= 0) {
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                              "%s and %s both hold layer '%s' weight '%s'", fs->v[match[t]].rel,
                              f->rel, l->name, key);
        } else {
            match[t] = (int)j;
        }
    }
    for (int t = 0; t < l->n && *present && !st; t++)
        if (match[t] < 0 && !l->t[t].optional)
            kurc_strbuf_printf(&missing, "%s'%s'", missing.len ? ", " : "", l->t[t].name);
    if (!st && (extra.len || missing.len))
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                          "layer '%s' (the model's '%s', %s naming): its weights on disk differ "
                          "from the model's: on disk only: %s; in the model only: %s",
                          l->name, l->container, flavour_name(fl), extra.len ? extra.data : "none",
                          missing.len ? missing.data : "none");
    kurc_strbuf_free(&extra);
    kurc_strbuf_free(&missing);
    for (int t = 0; t < l->n && *present && !st; t++)
        if (match[t] >= 0)
            st = load_tensor(dir, p, l, &l->t[t], &fs->v[match[t]], host, err);
    return st;
}

static bool has_layer(const struct kurc_kur_layer *layers, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(layers[i].name, name) == 0)
            return true;
    return false;
}

/* The index J of a Keras layer that Kur's `parallel` named
 * PARALLEL_CHILD_I_J, when CHILD is container; else -1. */
static long parallel_index(const char *name, const char *container) {
    size_t clen = strlen(container);
    const char *end = name + strlen(name), *j = NULL;
    for (int k = 0; k < 2; k++) { /* _J, then _I */
        const char *d = end;
        while (d > name && d[-1] >= '0' && d[-1] <= '9')
            d--;
        if (d == end || d == name || d[-1] != '_' || end - d > 9)
            return -1;
        if (k == 0)
            j = d;
        end = d - 1;
    }
    if ((size_t)(end - name) < clen + 2 || memcmp(end - clen, container, clen) != 0 ||
        end[-(long)clen - 1] != '_')
        return -1;
    return strtol(j, NULL, 10);
}

/* Kur's Keras `parallel` wrapped each layer of its children in a layer
 * named PARALLEL_CHILD_I_J (J counting the child's layers): those files
 * are taken as the child's layers when the directory has none under the
 * child's own name, the last J as the child's layer and the others, in
 * order, as a dense stack's hidden layers. */
static void alias_parallel(struct files *fs, const struct kurc_kur_layer *layers, size_t n) {
    enum { MAX_J = 64 };
    for (size_t i = 0; i < n; i++) {
        const char *c = layers[i].container;
        if (strcmp(layers[i].name, c) != 0)
            continue; /* each container once, through its main layer */
        bool own = false;
        long top = -1, count = 0, seen[MAX_J];
        for (size_t f = 0; f < fs->n && !own; f++)
            own = strcmp(fs->v[f].layer, c) == 0;
        for (size_t f = 0; f < fs->n && !own; f++) {
            long at =
                has_layer(layers, n, fs->v[f].layer) ? -1 : parallel_index(fs->v[f].layer, c);
            bool known = false;
            for (long k = 0; k < count; k++)
                known = known || seen[k] == at;
            if (at >= 0 && !known && count < MAX_J)
                seen[count++] = at;
            top = at > top ? at : top;
        }
        if (own || top < 0)
            continue;
        for (size_t f = 0; f < fs->n; f++) {
            long at =
                has_layer(layers, n, fs->v[f].layer) ? -1 : parallel_index(fs->v[f].layer, c);
            if (at < 0)
                continue;
            long before = 0; /* the child's layers before this one */
            for (long k = 0; k < count; k++)
                before += seen[k] < at;
            char *name = at == top ? kurc_xstrdup(c) : kurc_xasprintf("%s_hidden%ld", c, before);
            free(fs->v[f].layer);
            fs->v[f].layer = name;
        }
    }
}

/* Loads every layer of the model that the directory holds into host. */
static enum kurc_status load_layers(const char *dir, const struct kurc_params *p,
                                    enum kurc_kur_flavour fl, struct files *fs, float *host,
                                    struct kurc_err *err) {
    struct kurc_kur_layer *layers;
    size_t n;
    enum kurc_status st = kurc_kur_layers(p, fl, dir, &layers, &n, err);
    if (st)
        return st;
    alias_parallel(fs, layers, n);
    struct kurc_strbuf absent = KURC_STRBUF_INIT, unused = KURC_STRBUF_INIT;
    size_t loaded = 0;
    for (size_t i = 0; i < n && !st; i++) {
        bool present;
        st = load_layer(dir, p, &layers[i], fl, fs, host, &present, err);
        if (present)
            loaded++;
        else
            kurc_strbuf_printf(&absent, "%s'%s'", absent.len ? ", " : "", layers[i].name);
    }
    for (size_t j = 0; j < fs->n; j++)
        if (!fs->v[j].used && !fs->v[j].skip)
            kurc_strbuf_printf(&unused, "%s%s", unused.len ? ", " : "", fs->v[j].rel);
    if (!st && loaded == 0)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                          "none of its layers is a layer of this model (%s naming; its files: "
                          "%s)",
                          flavour_name(fl), unused.data);
    if (!st && absent.len)
        kurc_log(KURC_LOG_WARNING,
                 "%s: no weights for layer(s) %s of the model (Kur's %s naming); they keep "
                 "their values",
                 dir, absent.data, flavour_name(fl));
    if (!st && unused.len)
        kurc_log(KURC_LOG_WARNING, "%s: the model has no layer for %s; ignored", dir,
                 unused.data);
    kurc_strbuf_free(&absent);
    kurc_strbuf_free(&unused);
    kurc_kur_layers_free(layers, n);
    return st;
}

enum kurc_status kurc_kur_dir_load(const char *dir, struct kurc_params *p, struct kurc_err *err) {
    struct files fs = {NULL, 0, 0};
    enum kurc_status st = walk(dir, dir, "", &fs, err);
    if (!st && fs.n == 0)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                          "a directory, but it holds no Kur weight files (LAYER+WEIGHT.kur)");
    enum kurc_kur_flavour fl = KURC_KUR_TENSORFLOW;
    if (!st) {
        dedupe(dir, &fs);
        st = flavour_of(dir, &fs, &fl, err);
    }
    float *host = NULL;
    if (!st) {
        host = kurc_xmalloc((p->total ? p->total : 1) * sizeof *host);
        p->be->ops->download(p->be, host, p->values, p->total * sizeof *host);
        st = load_layers(dir, p, fl, &fs, host, err);
    }
    if (!st) {
        p->be->ops->upload(p->be, p->values, host, p->total * sizeof *host);
        kurc_log(KURC_LOG_INFO, "%s: loaded Kur weights (%s naming)", dir, flavour_name(fl));
    }
    free(host);
    files_free(&fs);
    return st;
}
