/* test_provider.c - the batch provider: coverage of every epoch, short and
 * dropped last batches, num_batches, reproducible shuffles (with a known
 * answer from tests/unit/provider_permutation.py), file order, sort_by,
 * reverse, shuffle_after, sortagrad, evaluation without shuffling, gather
 * and option errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/provider.h"
#include "datatest.h"

/* A sealed dataset of n samples: "x" holds i at sample i (shape (2,):
 * i, -i), "key" holds keys[i] (or n - i when keys is NULL). */
static void make_data(struct kurc_dataset *d, int64_t n, const float *keys) {
    struct kurc_err err;
    float *x = malloc((size_t)(2 * n + 1) * sizeof *x), *k = malloc((size_t)(n + 1) * sizeof *k);
    for (int64_t i = 0; i < n; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)-i;
        k[i] = keys ? keys[i] : (float)(n - i);
    }
    kurc_dataset_init(d);
    const struct kurc_shape two = {.ndim = 1, .dim = {2}}, one = {.ndim = 1, .dim = {1}};
    dt_expect_ok(kurc_dataset_add(d, "x", &two, n, x, "x.h5", &err), &err);
    dt_expect_ok(kurc_dataset_add(d, "key", &one, n, k, "key.h5", &err), &err);
    dt_expect_ok(kurc_dataset_seal(d, &err), &err);
}

static struct kurc_provider *make(const char *yaml, const struct kurc_dataset *d, uint64_t seed,
                                  bool shuffle) {
    struct kurc_provider *p;
    struct kurc_err err;
    dt_expect_ok(kurc_provider_create(yaml ? dt_yaml(yaml) : NULL, d, seed, shuffle, &p, &err),
                 &err);
    return p;
}

/* The whole order of the epoch, batch after batch (n_out samples). */
static void epoch_order(struct kurc_provider *p, int64_t epoch, int64_t *out, int64_t *n_out) {
    kurc_provider_start_epoch(p, epoch);
    *n_out = 0;
    for (int64_t b = 0; b < kurc_provider_batches(p); b++) {
        const int64_t *idx;
        int64_t n;
        kurc_provider_batch(p, b, &idx, &n);
        memcpy(out + *n_out, idx, (size_t)n * sizeof *idx);
        *n_out += n;
    }
    assert_int_equal(*n_out, kurc_provider_samples(p));
}

static void expect_order(struct kurc_provider *p, int64_t epoch, const int64_t *want,
                         int64_t n) {
    int64_t got[256], n_got;
    epoch_order(p, epoch, got, &n_got);
    assert_int_equal(n_got, n);
    assert_memory_equal(got, want, (size_t)n * sizeof *want);
}

static void expect_file_order(struct kurc_provider *p, int64_t epoch, int64_t n) {
    int64_t want[256];
    for (int64_t i = 0; i < n; i++)
        want[i] = i;
    expect_order(p, epoch, want, n);
}

static bool is_file_order(const int64_t *order, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (order[i] != i)
            return false;
    return true;
}

static void test_every_sample_once(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 100, NULL);
    struct kurc_provider *p = make(NULL, &d, 42, true);
    assert_int_equal(p->batch_size, 32);
    assert_int_equal(kurc_provider_batches(p), 4);
    for (int64_t e = 0; e < 5; e++) {
        int64_t order[256], n;
        epoch_order(p, e, order, &n);
        assert_int_equal(n, 100);
        int seen[100] = {0};
        for (int64_t i = 0; i < n; i++)
            seen[order[i]]++;
        for (int i = 0; i < 100; i++)
            assert_int_equal(seen[i], 1);
        assert_false(is_file_order(order, n));
    }
    kurc_provider_free(p);
    kurc_dataset_release(&d);
}

/* Kur's `batch_size or 32`: absent, null and 0 are all 32, for the
 * provider and for the session's largest batch alike. */
static void test_batch_size_or_default(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 100, NULL);
    const char *defaults[] = {"{batch_size: 0}", "{batch_size: null}", "{}"};
    for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++) {
        struct kurc_provider *p = make(defaults[i], &d, 1, true);
        assert_int_equal(p->batch_size, 32);
        kurc_provider_free(p);
        char section[64];
        snprintf(section, sizeof section, "{provider: %s}", defaults[i]);
        assert_int_equal(kurc_provider_batch_size(dt_yaml(section)), 32);
    }
    assert_int_equal(kurc_provider_batch_size(dt_yaml("{provider: {batch_size: 5}}")), 5);
    assert_int_equal(kurc_provider_batch_size(dt_yaml("{}")), 32);
    assert_int_equal(kurc_provider_batch_size(NULL), 32);
    kurc_dataset_release(&d);
}

static void test_last_batch(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 30, NULL);
    struct kurc_provider *p = make("{batch_size: 7}", &d, 1, true);
    assert_int_equal(kurc_provider_batches(p), 5);
    assert_int_equal(kurc_provider_samples(p), 30);
    const int64_t *idx;
    int64_t n;
    kurc_provider_batch(p, 4, &idx, &n);
    assert_int_equal(n, 2);
    kurc_provider_batch(p, 3, &idx, &n);
    assert_int_equal(n, 7);
    kurc_provider_free(p);

    /* force_batch_size drops the short batch; all others are whole. */
    p = make("{batch_size: 7, force_batch_size: yes}", &d, 1, true);
    assert_int_equal(kurc_provider_batches(p), 4);
    assert_int_equal(kurc_provider_samples(p), 28);
    for (int64_t b = 0; b < 4; b++) {
        kurc_provider_batch(p, b, &idx, &n);
        assert_int_equal(n, 7);
    }
    kurc_provider_free(p);
    /* Fewer samples than a forced batch: no batch at all. */
    p = make("{batch_size: 31, force_batch_size: yes}", &d, 1, true);
    assert_int_equal(kurc_provider_batches(p), 0);
    assert_int_equal(kurc_provider_samples(p), 0);
    kurc_provider_free(p);
    /* Exactly divisible: nothing to drop. */
    p = make("{batch_size: 10, force_batch_size: yes}", &d, 1, true);
    assert_int_equal(kurc_provider_batches(p), 3);
    kurc_provider_free(p);
    kurc_dataset_release(&d);
}

static void test_num_batches(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 30, NULL);
    struct kurc_provider *p = make("{batch_size: 7, num_batches: 2}", &d, 5, true);
    assert_int_equal(kurc_provider_batches(p), 2);
    assert_int_equal(kurc_provider_samples(p), 14);
    /* A random subset each epoch. */
    int64_t a[64], b[64], n;
    epoch_order(p, 0, a, &n);
    epoch_order(p, 1, b, &n);
    assert_int_equal(n, 14);
    assert_memory_not_equal(a, b, 14 * sizeof *a);
    kurc_provider_free(p);
    p = make("{batch_size: 7, num_batches: 9}", &d, 5, true);
    assert_int_equal(kurc_provider_batches(p), 5);
    assert_int_equal(kurc_provider_samples(p), 30);
    kurc_provider_free(p);
    /* Without shuffling, always the first batches. */
    p = make("{batch_size: 7, num_batches: 2, randomize: no}", &d, 5, true);
    expect_file_order(p, 3, 14);
    kurc_provider_free(p);
    kurc_dataset_release(&d);
}

static void test_reproducible(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 50, NULL);
    struct kurc_provider *p = make("{batch_size: 8}", &d, 9, true);
    struct kurc_provider *q = make("{batch_size: 5}", &d, 9, true);
    struct kurc_provider *r = make("{batch_size: 8}", &d, 10, true);
    int64_t a[64], b[64], c[64], n;
    /* The same (seed, epoch): the same order, whatever the batch size and
     * whatever epochs came before. */
    epoch_order(p, 3, a, &n);
    epoch_order(q, 0, b, &n);
    epoch_order(q, 3, b, &n);
    assert_memory_equal(a, b, sizeof(int64_t) * 50);
    /* Another epoch or another seed: another order. */
    epoch_order(p, 4, b, &n);
    assert_memory_not_equal(a, b, sizeof(int64_t) * 50);
    epoch_order(r, 3, c, &n);
    assert_memory_not_equal(a, c, sizeof(int64_t) * 50);
    kurc_provider_free(p);
    kurc_provider_free(q);
    kurc_provider_free(r);
    kurc_dataset_release(&d);
}

/* The known answer: tests/unit/provider_permutation.py transcribes Philox
 * (checked there against Random123's published vector), kurc_rng_derive
 * and the Fisher-Yates of provider.c independently of the C code;
 * `python3 provider_permutation.py 1 0 10` prints the first order. */
static void test_known_permutation(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 10, NULL);
    struct kurc_provider *p = make("{batch_size: 3}", &d, 1, true);
    expect_order(p, 0, (const int64_t[]){4, 6, 7, 8, 3, 9, 2, 5, 0, 1}, 10);
    expect_order(p, 1, (const int64_t[]){1, 9, 2, 5, 7, 4, 6, 0, 8, 3}, 10);
    kurc_provider_free(p);
    p = make(NULL, &d, 7, true);
    expect_order(p, 2, (const int64_t[]){9, 5, 6, 2, 8, 0, 7, 4, 3, 1}, 10);
    kurc_provider_free(p);
    kurc_dataset_release(&d);
}

static void test_file_order(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 20, NULL);
    struct kurc_provider *p = make("{randomize: no, batch_size: 6}", &d, 3, true);
    for (int64_t e = 0; e < 3; e++)
        expect_file_order(p, e, 20);
    kurc_provider_free(p);
    p = make("{randomize: 0}", &d, 3, true);
    expect_file_order(p, 1, 20);
    kurc_provider_free(p);
    /* An integer (Kur's permutation length) means yes. */
    p = make("{randomize: 20}", &d, 3, true);
    struct kurc_provider *q = make("{randomize: yes}", &d, 3, true);
    int64_t a[32], b[32], n;
    epoch_order(p, 0, a, &n);
    epoch_order(q, 0, b, &n);
    assert_memory_equal(a, b, sizeof(int64_t) * 20);
    kurc_provider_free(p);
    kurc_provider_free(q);
    kurc_dataset_release(&d);
}

/* Keys with ties: the sort is stable. */
static const float tie_keys[] = {5, 3, 5, 1, 3, 9, 0, 5};
static const int64_t sorted_ties[] = {6, 3, 1, 4, 0, 2, 7, 5};

static void test_sort_by(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 8, tie_keys);
    struct kurc_provider *p = make("{sort_by: key, shuffle_after: 2, batch_size: 3}", &d, 1, true);
    expect_order(p, 0, sorted_ties, 8);
    expect_order(p, 1, sorted_ties, 8);
    int64_t order[16], n;
    epoch_order(p, 2, order, &n);
    assert_memory_not_equal(order, sorted_ties, sizeof sorted_ties);
    kurc_provider_free(p);

    /* reverse turns the sorted order round, ties included. */
    p = make("{sort_by: key, shuffle_after: 1, reverse: yes}", &d, 1, true);
    int64_t reversed[8];
    for (int i = 0; i < 8; i++)
        reversed[i] = sorted_ties[7 - i];
    expect_order(p, 0, reversed, 8);
    kurc_provider_free(p);

    /* sortagrad: sorted for one epoch, then shuffled as any epoch 1. */
    p = make("{sortagrad: key}", &d, 1, true);
    struct kurc_provider *plain = make(NULL, &d, 1, true);
    expect_order(p, 0, sorted_ties, 8);
    int64_t want[16];
    epoch_order(plain, 1, want, &n);
    expect_order(p, 1, want, 8);
    kurc_provider_free(p);
    /* sortagrad with shuffle_after: 0 is allowed (as in Kur, 0 is unset). */
    p = make("{sortagrad: key, shuffle_after: 0}", &d, 1, true);
    expect_order(p, 0, sorted_ties, 8);
    kurc_provider_free(p);

    /* As in Kur, sort_by without shuffle_after never shows: epoch 0
     * already shuffles. */
    p = make("{sort_by: key}", &d, 1, true);
    epoch_order(plain, 0, want, &n);
    expect_order(p, 0, want, 8);
    kurc_provider_free(p);
    /* Nor does it without randomize. */
    p = make("{sort_by: key, shuffle_after: 3, randomize: no}", &d, 1, true);
    expect_file_order(p, 0, 8);
    kurc_provider_free(p);
    kurc_provider_free(plain);
    kurc_dataset_release(&d);
}

static void test_evaluation_never_shuffles(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 12, NULL);
    const char *specs[] = {NULL, "{randomize: yes}", "{sortagrad: key}",
                           "{sort_by: key, shuffle_after: 1}"};
    for (size_t i = 0; i < 4; i++) {
        struct kurc_provider *p = make(specs[i], &d, 11, false);
        for (int64_t e = 0; e < 3; e++)
            expect_file_order(p, e, 12);
        kurc_provider_free(p);
    }
    kurc_dataset_release(&d);
}

static void test_gather(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 5, NULL);
    float out[6];
    kurc_provider_gather(kurc_dataset_find(&d, "x"), (const int64_t[]){3, 0, 4}, 3, 0, out);
    const float want[] = {3, -3, 0, 0, 4, -4};
    assert_memory_equal(out, want, sizeof want);
    kurc_provider_gather(kurc_dataset_find(&d, "key"), (const int64_t[]){1, 1}, 2, 0, out);
    assert_float_equal(out[0], 4, 0);
    assert_float_equal(out[1], 4, 0);
    kurc_dataset_release(&d);
}

static void expect_create_error(const char *yaml, const struct kurc_dataset *d,
                                enum kurc_status want, const char *needle) {
    struct kurc_provider *p = NULL;
    struct kurc_err err;
    dt_expect_error(kurc_provider_create(dt_yaml(yaml), d, 1, true, &p, &err), &err, want,
                    needle);
    assert_null(p);
}

static void test_option_errors(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, 5, NULL);
    expect_create_error("{sort_by: label}", &d, KURC_E_CONFIG,
                        "test.yml:1:11: provider: cannot sort by 'label': there is no such source "
                        "(the sources are: x, key)");
    expect_create_error("{sortagrad: key, sort_by: key}", &d, KURC_E_CONFIG,
                        "'sortagrad' cannot be combined with 'sort_by' or 'shuffle_after'");
    expect_create_error("{sortagrad: key, shuffle_after: 2}", &d, KURC_E_CONFIG,
                        "'sortagrad' cannot be combined");
    expect_create_error("{batch_size: -1}", &d, KURC_E_CONFIG,
                        "provider: 'batch_size' must be at least 1, not -1");
    expect_create_error("{num_batches: 1.5}", &d, KURC_E_CONFIG,
                        "provider: 'num_batches' must be an integer, not a float");
    expect_create_error("{randomize: -2}", &d, KURC_E_CONFIG,
                        "'randomize' must be a boolean or a non-negative integer");
    expect_create_error("{reverse: 1}", &d, KURC_E_CONFIG,
                        "provider: 'reverse' must be a boolean, not an integer");
    expect_create_error("{neighborhood_sort: key}", &d, KURC_E_UNSUPPORTED,
                        "kurc does not implement 'neighborhood_sort'");
    expect_create_error("[1]", &d, KURC_E_CONFIG, "provider: expected a mapping, not a list");
    kurc_dataset_release(&d);
}

static void test_empty_dataset(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    dt_expect_ok(kurc_dataset_seal(&d, &err), &err);
    struct kurc_provider *p = make("{name: batch_provider}", &d, 1, true);
    kurc_provider_start_epoch(p, 4);
    assert_int_equal(kurc_provider_batches(p), 0);
    assert_int_equal(kurc_provider_samples(p), 0);
    kurc_provider_free(p);
    kurc_provider_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_sample_once),
        cmocka_unit_test(test_batch_size_or_default),
        cmocka_unit_test(test_last_batch),
        cmocka_unit_test(test_num_batches),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_known_permutation),
        cmocka_unit_test(test_file_order),
        cmocka_unit_test(test_sort_by),
        cmocka_unit_test(test_evaluation_never_shuffles),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_option_errors),
        cmocka_unit_test(test_empty_dataset),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
