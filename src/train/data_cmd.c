/* data_cmd.c - `kurc data`: print the first batch of a section's data,
 * entry by entry (Kur's `kur data`), so a user can see what the model will
 * be fed.  Arrays print as nested lists; large ones are summarised with
 * "..." the way numpy does past 1000 elements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/value/pyrepr.h"
#include "data/provider.h"
#include "data/supplier.h"
#include "train/run.h"
#include "train/session.h"

#define SUMMARY_THRESHOLD 1000
#define EDGE_ITEMS 3

static void print_axis(const float *x, const struct kurc_shape *s, int axis, int64_t stride,
                       bool summarise) {
    int64_t n = s->dim[axis];
    int64_t inner = stride / (n ? n : 1);
    putchar('[');
    for (int64_t i = 0; i < n; i++) {
        if (summarise && n > 2 * EDGE_ITEMS && i == EDGE_ITEMS) {
            printf("..., ");
            i = n - EDGE_ITEMS;
        }
        if (axis + 1 < s->ndim) {
            print_axis(x + i * inner, s, axis + 1, inner, summarise);
        } else {
            char num[32];
            kurc_py_float_repr((double)x[i], num);
            fputs(num, stdout);
        }
        if (i + 1 < n)
            printf(", ");
    }
    putchar(']');
}

static void print_sample(const float *x, const struct kurc_shape *s) {
    int64_t numel = kurc_shape_numel(s);
    if (s->ndim == 0) {
        char num[32];
        kurc_py_float_repr((double)x[0], num);
        fputs(num, stdout);
        return;
    }
    print_axis(x, s, 0, numel, numel > SUMMARY_THRESHOLD);
}

static int by_name(const void *a, const void *b) {
    const struct kurc_source *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* The section `kurc data` shows: the one asked for, or the first of
 * train, validate, test, evaluate that has data. */
static const char *pick_section(const struct kurc_kurfile *kf, const char *asked) {
    static const char *const order[] = {"train", "validate", "test", "evaluate"};
    if (asked && strcmp(asked, "auto") != 0)
        return asked;
    for (int i = 0; i < 4; i++) {
        const struct kurc_value *sec = kurc_kurfile_section(kf, order[i]);
        if (sec && kurc_map_get(sec, "data"))
            return order[i];
    }
    return NULL;
}

/* Prints entries idx[0..n) of a data set (the first `number` of them;
 * all when number < 0), each source by name. */
static void print_entries(const struct kurc_dataset *set, const int64_t *idx, int64_t n,
                          int64_t number) {
    /* Kur printed the keys sorted, and counted entries out of the whole
     * batch however many it showed */
    const struct kurc_source **sorted = kurc_xcalloc(set->n + 1, sizeof *sorted);
    for (size_t k = 0; k < set->n; k++)
        sorted[k] = &set->sources[k];
    qsort(sorted, set->n, sizeof *sorted, by_name);
    int64_t shown = number >= 0 && number < n ? number : n;
    for (int64_t e = 0; e < shown; e++) {
        printf("Entry %lld/%lld:\n", (long long)e + 1, (long long)n);
        for (size_t k = 0; k < set->n; k++) {
            const struct kurc_source *s = sorted[k];
            int64_t length;
            const float *x = kurc_source_sample(s, idx[e], &length);
            struct kurc_shape shape = s->shape; /* a variable-length sample's own */
            if (kurc_source_ragged(s))
                shape.dim[0] = length;
            printf("  %s: ", s->name);
            print_sample(x, &shape);
            putchar('\n');
            if (s->text && s->text[idx[e]])
                printf("  %s (text): \"%s\"\n", s->name, s->text[idx[e]]);
        }
    }
    free(sorted);
}

/* Prints the first batch of one data set (`data`, named set_name) of
 * section `name`, entry by entry. */
static enum kurc_status print_first_batch(const struct kurc_kurfile *kf, const char *name,
                                          const struct kurc_value *sec, const char *set_name,
                                          const struct kurc_value *data,
                                          const struct kurc_run_options *opt,
                                          struct kurc_err *err) {
    struct kurc_dataset set;
    kurc_dataset_init(&set);
    struct kurc_provider *p = NULL;
    bool train = strcmp(name, "train") == 0, shuffle = train || strcmp(name, "validate") == 0;
    /* the seed training shuffles this data with */
    uint64_t seed = kurc_session_provider_seed(kf, train ? "train" : set_name);
    enum kurc_status st = kurc_data_load(data, &set, err);
    if (st == KURC_OK)
        st = kurc_provider_create(kurc_map_get(sec, "provider"), &set, seed, shuffle, &p, err);
    if (st == KURC_OK) {
        kurc_provider_start_epoch(p, 0);
        const int64_t *idx;
        int64_t n;
        kurc_provider_batch(p, 0, &idx, &n);
        print_entries(&set, idx, n, opt->number);
    }
    kurc_provider_free(p);
    kurc_dataset_release(&set);
    return st;
}

enum kurc_status kurc_run_data(struct kurc_kurfile *kf, const struct kurc_run_options *opt,
                               struct kurc_err *err) {
    const char *name = pick_section(kf, opt->target);
    static const char *const valid[] = {"train", "validate", "test", "evaluate"};
    bool known = false;
    for (int i = 0; name && i < 4; i++)
        known = known || strcmp(valid[i], name) == 0;
    if (!name || !known)
        return kurc_err_set(err, KURC_E_USAGE, NULL,
                            name ? "data: the target must be train, validate, test, evaluate or "
                                   "auto, not '%s'"
                                 : "data: no section of this Kurfile has data%s",
                            name ? name : "");
    const struct kurc_value *sec = kurc_kurfile_section(kf, name);
    const struct kurc_value *data = sec ? kurc_map_get(sec, "data") : NULL;
    if (!data || data->kind == KURC_NULL)
        return kurc_err_set(err, KURC_E_CONFIG, sec ? &sec->loc : NULL,
                            "data: the %s section has no data", name);
    /* several named data sets: each in turn, as Kur printed one provider
     * at a time */
    if (data->kind != KURC_MAP)
        return print_first_batch(kf, name, sec, "default", data, opt, err);
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < data->u.map.len && st == KURC_OK; i++) {
        if (data->u.map.len > 1)
            printf("Provider: %s\n", data->u.map.pairs[i].key);
        st = print_first_batch(kf, name, sec, data->u.map.pairs[i].key, data->u.map.pairs[i].val,
                               opt, err);
    }
    return st;
}
