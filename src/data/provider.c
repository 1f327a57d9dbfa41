/* provider.c - Kur's batch provider: the order of each epoch's samples and
 * how it is cut into batches (see provider.h).
 *
 * Orders.  Without shuffling (randomize false, or test and evaluate) every
 * epoch is in file order.  With it, epochs before shuffle_after keep the
 * base order and later ones are a fresh permutation each.  The base order
 * is the file order, or with sort_by the samples sorted by the first
 * element of that source (stable; reverse turns the whole order round).
 * As in Kur, sort_by only matters while shuffling is suppressed: it needs
 * randomize and shuffle_after (sortagrad gives both).
 *
 * The permutation of epoch e is a Fisher-Yates shuffle of 0..N-1 driven by
 * the counter-based RNG: with key = kurc_rng_derive(seed, e), for i from
 * N-1 down to 1, swap positions i and kurc_rng_u64(key, i) mod (i + 1).
 * It depends on nothing but (seed, e, N), so every rank and every restart
 * computes the same order.  (The modulo's bias is below 2^-32 for any N a
 * host can hold.)  Kur applied its permutations on top of one another;
 * a permutation of a uniformly random order is as random, so only the
 * reproducibility differs.
 *
 * Kur's neighborhood_sort (undocumented bucketing by length) is not
 * implemented: asking for it is an error rather than a silent change.
 */
#include "data/provider.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/rng.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

/* The integer option key (absent or null: fallback), at least min. */
static enum kurc_status int_option(const struct kurc_value *spec, const char *key, int64_t min,
                                   int64_t fallback, int64_t *out, struct kurc_err *err) {
    const struct kurc_value *v = spec ? kurc_map_get(spec, key) : NULL;
    *out = fallback;
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind != KURC_INT)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "provider: '%s' must be an integer, not %s",
                            key, kurc_kind_phrase(v->kind));
    if (v->u.i < min)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                            "provider: '%s' must be at least %lld, not %lld", key, (long long)min,
                            (long long)v->u.i);
    *out = v->u.i;
    return KURC_OK;
}

/* The boolean option key (absent or null: false). */
static enum kurc_status bool_option(const struct kurc_value *spec, const char *key, bool *out,
                                    struct kurc_err *err) {
    const struct kurc_value *v = spec ? kurc_map_get(spec, key) : NULL;
    *out = false;
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind != KURC_BOOL)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "provider: '%s' must be a boolean, not %s",
                            key, kurc_kind_phrase(v->kind));
    *out = v->u.b;
    return KURC_OK;
}

/* The string option key (absent, null or empty: NULL). */
static enum kurc_status str_option(const struct kurc_value *spec, const char *key,
                                   const struct kurc_value **out, struct kurc_err *err) {
    const struct kurc_value *v = spec ? kurc_map_get(spec, key) : NULL;
    *out = NULL;
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind != KURC_STR)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "provider: '%s' must be a string, not %s",
                            key, kurc_kind_phrase(v->kind));
    if (v->u.str.len)
        *out = v;
    return KURC_OK;
}

/* randomize: a boolean, or Kur's permutation length for infinite sources
 * (an integer; every kurc source is finite, so any positive one means
 * yes). */
static enum kurc_status randomize_option(const struct kurc_value *spec, bool *out,
                                         struct kurc_err *err) {
    const struct kurc_value *v = spec ? kurc_map_get(spec, "randomize") : NULL;
    *out = true;
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind == KURC_BOOL) {
        *out = v->u.b;
        return KURC_OK;
    }
    if (v->kind == KURC_INT && v->u.i >= 0) {
        *out = v->u.i > 0;
        return KURC_OK;
    }
    return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                        "provider: 'randomize' must be a boolean or a non-negative integer");
}

/* Samples in the order of the first element of source (stable). */
struct sort_key {
    float value;
    int64_t index;
};

static int compare_keys(const void *a, const void *b) {
    const struct sort_key *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* The sorted order of p->sort_by; NaNs go last. */
static enum kurc_status sort_samples(struct kurc_provider *p, const struct kurc_source *s,
                                     struct kurc_err *err) {
    int64_t n = p->data->count, numel = kurc_shape_numel(&s->shape);
    struct sort_key *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    p->sorted = malloc((size_t)(n ? n : 1) * sizeof *p->sorted);
    if (!keys || !p->sorted) {
        free(keys);
        return kurc_err_set(err, KURC_E_DATA, NULL, "provider: out of memory sorting %lld samples",
                            (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t length;
        const float *sample = kurc_source_sample(s, i, &length);
        float v = numel && length ? sample[0] : 0.0f;
        keys[i].value = isnan(v) ? INFINITY : v;
        keys[i].index = i;
    }
    qsort(keys, (size_t)n, sizeof *keys, compare_keys);
    for (int64_t i = 0; i < n; i++)
        p->sorted[p->reverse ? n - 1 - i : i] = keys[i].index;
    free(keys);
    return KURC_OK;
}

int64_t kurc_provider_batch_size(const struct kurc_value *section) {
    const struct kurc_value *p = section ? kurc_map_get(section, "provider") : NULL;
    const struct kurc_value *b = p && p->kind == KURC_MAP ? kurc_map_get(p, "batch_size") : NULL;
    return b && b->kind == KURC_INT && b->u.i > 0 ? b->u.i : 32;
}

/* Reads every option of spec into p (batch_size as kurc_provider_batch_size). */
static enum kurc_status read_options(struct kurc_provider *p, const struct kurc_value *spec,
                                     bool shuffle, const struct kurc_value **sort_by,
                                     struct kurc_err *err) {
    const struct kurc_value *sortagrad, *neighborhood;
    int64_t num_batches;
    enum kurc_status st;
    const struct kurc_value *size = spec ? kurc_map_get(spec, "batch_size") : NULL;
    bool zero = size && size->kind == KURC_INT && size->u.i == 0;
    if (zero)
        kurc_log_at(KURC_LOG_WARNING, &size->loc,
                    "provider: batch_size 0 means the default batch size, 32, as in Kur");
    if ((st = int_option(zero ? NULL : spec, "batch_size", 1, 32, &p->batch_size, err)) ||
        (st = int_option(spec, "num_batches", 1, -1, &num_batches, err)) ||
        (st = int_option(spec, "shuffle_after", 0, 0, &p->shuffle_after, err)) ||
        (st = randomize_option(spec, &p->randomize, err)) ||
        (st = bool_option(spec, "reverse", &p->reverse, err)) ||
        (st = bool_option(spec, "force_batch_size", &p->force_batch_size, err)) ||
        (st = str_option(spec, "sort_by", sort_by, err)) ||
        (st = str_option(spec, "sortagrad", &sortagrad, err)) ||
        (st = str_option(spec, "neighborhood_sort", &neighborhood, err)))
        return st;
    p->num_batches = num_batches;
    if (neighborhood)
        return kurc_err_set(err, KURC_E_UNSUPPORTED, &neighborhood->loc,
                            "provider: kurc does not implement 'neighborhood_sort'");
    if (sortagrad) {
        if (*sort_by || p->shuffle_after)
            return kurc_err_set(err, KURC_E_CONFIG, &sortagrad->loc,
                                "provider: 'sortagrad' cannot be combined with 'sort_by' or "
                                "'shuffle_after' (sortagrad: X means sort_by: X, "
                                "shuffle_after: 1)");
        *sort_by = sortagrad;
        p->shuffle_after = 1;
    }
    if (!shuffle)
        p->randomize = false;
    return KURC_OK;
}

enum kurc_status kurc_provider_create(const struct kurc_value *spec,
                                      const struct kurc_dataset *data, uint64_t seed, bool shuffle,
                                      struct kurc_provider **out, struct kurc_err *err) {
    *out = NULL;
    if (spec && spec->kind == KURC_NULL)
        spec = NULL;
    if (spec && spec->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, &spec->loc, "provider: expected a mapping, not %s",
                            kurc_kind_phrase(spec->kind));
    struct kurc_provider *p = kurc_xcalloc(1, sizeof *p);
    p->data = data;
    p->seed = seed;
    const struct kurc_value *sort_by = NULL;
    enum kurc_status st = read_options(p, spec, shuffle, &sort_by, err);
    const struct kurc_source *sort_source = NULL;
    if (st == KURC_OK && sort_by) {
        p->sort_by = kurc_xstrdup(sort_by->u.str.s);
        sort_source = kurc_dataset_find(data, p->sort_by);
        if (!sort_source) {
            struct kurc_strbuf names = KURC_STRBUF_INIT;
            for (size_t i = 0; i < data->n; i++)
                kurc_strbuf_printf(&names, "%s%s", i ? ", " : "", data->sources[i].name);
            st = kurc_err_set(err, KURC_E_CONFIG, &sort_by->loc,
                              "provider: cannot sort by '%s': there is no such source (the "
                              "sources are: %s)",
                              p->sort_by, data->n ? names.data : "none");
            kurc_strbuf_free(&names);
        }
    }
    if (st == KURC_OK && sort_source && p->randomize && p->shuffle_after > 0)
        st = sort_samples(p, sort_source, err);
    if (st == KURC_OK) {
        p->order = malloc((size_t)(data->count ? data->count : 1) * sizeof *p->order);
        if (!p->order)
            st = kurc_err_set(err, KURC_E_DATA, NULL,
                              "provider: out of memory ordering %lld samples",
                              (long long)data->count);
    }
    if (st) {
        kurc_provider_free(p);
        return st;
    }
    kurc_provider_start_epoch(p, 0);
    *out = p;
    return KURC_OK;
}

void kurc_provider_free(struct kurc_provider *p) {
    if (!p)
        return;
    free(p->sort_by);
    free(p->order);
    free(p->sorted);
    free(p);
}

void kurc_provider_start_epoch(struct kurc_provider *p, int64_t epoch) {
    int64_t n = p->data->count;
    if (p->randomize && epoch >= p->shuffle_after) {
        uint64_t key = kurc_rng_derive(p->seed, (uint64_t)epoch);
        for (int64_t i = 0; i < n; i++)
            p->order[i] = i;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(kurc_rng_u64(key, (uint64_t)i) % (uint64_t)(i + 1));
            int64_t t = p->order[i];
            p->order[i] = p->order[j];
            p->order[j] = t;
        }
    } else if (p->sorted) {
        memcpy(p->order, p->sorted, (size_t)n * sizeof *p->order);
    } else {
        for (int64_t i = 0; i < n; i++)
            p->order[i] = i;
    }
}

int64_t kurc_provider_batches(const struct kurc_provider *p) {
    int64_t n = p->data->count, b = n / p->batch_size;
    if (n % p->batch_size && !p->force_batch_size)
        b++;
    if (p->num_batches >= 0 && b > p->num_batches)
        b = p->num_batches;
    return b;
}

int64_t kurc_provider_samples(const struct kurc_provider *p) {
    int64_t b = kurc_provider_batches(p);
    int64_t n = p->data->count;
    return b * p->batch_size < n ? b * p->batch_size : n;
}

void kurc_provider_batch(const struct kurc_provider *p, int64_t b, const int64_t **indices,
                         int64_t *n) {
    int64_t start = b * p->batch_size, left = p->data->count - start;
    *indices = p->order + start;
    *n = left < p->batch_size ? left : p->batch_size;
}

int64_t kurc_provider_length(const struct kurc_source *source, const int64_t *indices,
                             int64_t n) {
    if (!source->lengths)
        return source->shape.ndim ? source->shape.dim[0] : 1;
    int64_t longest = 1;
    for (int64_t i = 0; i < n; i++)
        if (source->lengths[indices[i]] > longest)
            longest = source->lengths[indices[i]];
    int64_t b = source->bucket;
    if (b > 0)
        longest = (longest - 1) - (longest - 1) % b + b;
    return longest;
}

/* One ragged sample (len steps of inner floats) into length steps of out. */
static void pad_sample(const float *src, int64_t len, int64_t length, int64_t inner,
                       enum kurc_fill fill, float *out) {
    int64_t copied = len < length ? len : length;
    memcpy(out, src, (size_t)(copied * inner) * sizeof(float));
    if (copied == length)
        return;
    if (fill == KURC_FILL_LOOP && len > 0) {
        for (int64_t at = copied; at < length; at += len) {
            int64_t k = length - at < len ? length - at : len;
            memcpy(out + at * inner, src, (size_t)(k * inner) * sizeof(float));
        }
        return;
    }
    memset(out + copied * inner, 0, (size_t)((length - copied) * inner) * sizeof(float));
}

int64_t kurc_provider_gather(const struct kurc_source *source, const int64_t *indices,
                             int64_t n, int64_t length, float *out) {
    if (source->lengths) {
        if (length <= 0)
            length = kurc_provider_length(source, indices, n);
        int64_t inner = kurc_source_inner(source);
        for (int64_t i = 0; i < n; i++) {
            int64_t len;
            const float *sample = kurc_source_sample(source, indices[i], &len);
            pad_sample(sample, len, length, inner, source->fill, out + i * length * inner);
        }
        return length;
    }
    size_t row = (size_t)kurc_shape_numel(&source->shape);
    for (int64_t i = 0; row && i < n; i++)
        memcpy(out + (size_t)i * row, source->data + (size_t)indices[i] * row,
               row * sizeof(float));
    return source->shape.ndim ? source->shape.dim[0] : 1;
}
