/* test_ragged.c - variable-length sources (dataset.h): lengths and
 * offsets, the longest sample as the shape, stacking (data, lengths, text,
 * vocabularies), merging; the provider's padded batches (zeros, loop fill,
 * bucket rounding, a given length, cutting) and sorting by a ragged
 * source's first element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "data/provider.h"
#include "data/supplier.h"
#include "datatest.h"

static const struct kurc_shape pair = {.ndim = 1, .dim = {2}};
static const struct kurc_shape scalar = {.ndim = 0};

/* A ragged source of n samples of pairs: sample i has lens[i] steps,
 * step t of sample i holds (base + 10 i + t, -(base + 10 i + t)). */
static void add_pairs(struct kurc_dataset *d, const char *name, const int64_t *lens, int64_t n,
                      float base, const char *origin, char **text) {
    int64_t total = 0;
    for (int64_t i = 0; i < n; i++)
        total += lens[i];
    float *data = malloc((size_t)(2 * total + 1) * sizeof *data);
    int64_t *lengths = malloc((size_t)(n + 1) * sizeof *lengths);
    float *p = data;
    for (int64_t i = 0; i < n; i++) {
        lengths[i] = lens[i];
        for (int64_t t = 0; t < lens[i]; t++) {
            *p++ = base + (float)(10 * i + t);
            *p++ = -(base + (float)(10 * i + t));
        }
    }
    struct kurc_source_extra extra = {.lengths = lengths, .text = text};
    struct kurc_err err;
    dt_expect_ok(kurc_dataset_add_ex(d, name, &pair, n, data, &extra, origin, &err), &err);
    assert_null(extra.lengths); /* taken over */
}

static char **texts(int n, const char *const *words) {
    char **t = kurc_xcalloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++)
        t[i] = words[i] ? kurc_xstrdup(words[i]) : NULL;
    return t;
}

static void test_lengths_offsets_shape(void **state) {
    (void)state;
    struct kurc_dataset d;
    kurc_dataset_init(&d);
    add_pairs(&d, "u", (const int64_t[]){2, 5, 0, 3}, 4, 0, "a", NULL);
    const struct kurc_source *u = kurc_dataset_find(&d, "u");
    assert_true(kurc_source_ragged(u));
    assert_int_equal(u->shape.ndim, 2);
    assert_int_equal(u->shape.dim[0], 5);
    assert_int_equal(u->shape.dim[1], 2);
    assert_int_equal(kurc_source_inner(u), 2);
    int64_t len;
    const float *s = kurc_source_sample(u, 1, &len);
    assert_int_equal(len, 5);
    assert_true(s[0] == 10.0f && s[1] == -10.0f && s[8] == 14.0f);
    s = kurc_source_sample(u, 3, &len);
    assert_int_equal(len, 3);
    assert_true(s[0] == 30.0f);
    kurc_source_sample(u, 2, &len);
    assert_int_equal(len, 0);
    kurc_dataset_release(&d);
}

static void test_stack_and_merge(void **state) {
    (void)state;
    struct kurc_dataset d, other;
    struct kurc_err err;
    kurc_dataset_init(&d);
    kurc_dataset_init(&other);
    add_pairs(&d, "u", (const int64_t[]){2, 1}, 2, 0, "a",
              texts(2, (const char *const[]){"hi", "yo"}));
    add_pairs(&other, "u", (const int64_t[]){4}, 1, 100, "b", NULL);
    dt_expect_ok(kurc_dataset_merge(&d, &other, &err), &err);
    const struct kurc_source *u = kurc_dataset_find(&d, "u");
    assert_int_equal(u->count, 3);
    assert_int_equal(u->shape.dim[0], 4);
    assert_string_equal(u->origin, "a + b");
    int64_t len;
    const float *s = kurc_source_sample(u, 2, &len);
    assert_int_equal(len, 4);
    assert_true(s[0] == 100.0f && s[7] == -103.0f);
    assert_string_equal(u->text[0], "hi");
    assert_string_equal(u->text[1], "yo");
    assert_null(u->text[2]);

    /* fixed on ragged, other inner axes, other vocabularies */
    float *f = calloc(2, sizeof *f);
    dt_expect_error(kurc_dataset_add(&d, "u", &pair, 1, f, "c.csv", &err), &err, KURC_E_DATA,
                    "cannot stack source 'u': its samples have varying lengths in a + b but "
                    "fixed lengths in c.csv");
    float *g = calloc(1, sizeof *g);
    struct kurc_source_extra e = {.lengths = kurc_xcalloc(1, sizeof(int64_t))};
    dt_expect_error(kurc_dataset_add_ex(&d, "u", &scalar, 1, g, &e, "c", &err), &err, KURC_E_DATA,
                    "its samples have shape (None, 2) in a + b but (None,) in c");
    char **vocab = texts(2, (const char *const[]){"a", "b"});
    float *h = calloc(1, sizeof *h);
    struct kurc_source_extra v = {
        .lengths = kurc_xcalloc(1, sizeof(int64_t)), .vocab = vocab, .n_vocab = 2};
    dt_expect_error(kurc_dataset_add_ex(&d, "u", &pair, 1, h, &v, "c", &err), &err, KURC_E_DATA,
                    "a + b and c have different vocabularies");
    kurc_dataset_release(&d);
}

static void test_negative_length(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    int64_t *lengths = malloc(2 * sizeof *lengths);
    lengths[0] = 1;
    lengths[1] = -1;
    struct kurc_source_extra e = {.lengths = lengths};
    dt_expect_error(kurc_dataset_add_ex(&d, "u", &pair, 2, calloc(2, sizeof(float)), &e, "x", &err),
                    &err, KURC_E_DATA, "sample 1 has a negative length");
    assert_int_equal(d.n, 0);
    kurc_dataset_release(&d);
}

static void test_gather_padding(void **state) {
    (void)state;
    struct kurc_dataset d;
    kurc_dataset_init(&d);
    add_pairs(&d, "u", (const int64_t[]){2, 3, 1}, 3, 1, "a", NULL);
    struct kurc_source *u = &d.sources[0];
    float out[32];
    const int64_t batch[] = {2, 0};
    assert_int_equal(kurc_provider_length(u, batch, 2), 2);
    memset(out, 0x7f, sizeof out);
    assert_int_equal(kurc_provider_gather(u, batch, 2, 0, out), 2);
    const float zero[] = {21, -21, 0, 0, 1, -1, 2, -2};
    assert_memory_equal(out, zero, sizeof zero);

    /* a given length; the loop fill repeats the sample */
    u->fill = KURC_FILL_LOOP;
    assert_int_equal(kurc_provider_gather(u, (const int64_t[]){0, 1}, 2, 5, out), 5);
    const float loop[] = {1,  -1,  2,  -2,  1,  -1,  2,  -2,  1,  -1,
                          11, -11, 12, -12, 13, -13, 11, -11, 12, -12};
    assert_memory_equal(out, loop, sizeof loop);

    /* a length shorter than a sample cuts it */
    assert_int_equal(kurc_provider_gather(u, (const int64_t[]){1}, 1, 2, out), 2);
    const float cut[] = {11, -11, 12, -12};
    assert_memory_equal(out, cut, sizeof cut);

    /* bucket rounds the padded length up: (L - 1) - (L - 1) % b + b */
    u->bucket = 2;
    assert_int_equal(kurc_provider_length(u, (const int64_t[]){1}, 1), 4);
    assert_int_equal(kurc_provider_length(u, (const int64_t[]){0}, 1), 2);
    assert_int_equal(kurc_provider_length(u, (const int64_t[]){2}, 1), 2);
    u->bucket = 0;
    /* an empty batch and empty samples still give one step */
    assert_int_equal(kurc_provider_length(u, batch, 0), 1);
    kurc_dataset_release(&d);
}

static void test_fixed_length(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    float *x = malloc(4 * sizeof *x);
    for (int i = 0; i < 4; i++)
        x[i] = (float)i;
    dt_expect_ok(kurc_dataset_add(&d, "x", &pair, 2, x, "x", &err), &err);
    float out[4];
    assert_int_equal(kurc_provider_length(&d.sources[0], (const int64_t[]){1}, 1), 2);
    assert_int_equal(kurc_provider_gather(&d.sources[0], (const int64_t[]){1, 0}, 2, 99, out), 2);
    const float want[] = {2, 3, 0, 1};
    assert_memory_equal(out, want, sizeof want);
    kurc_dataset_release(&d);
}

/* sort_by on a ragged source reads the first element of each sample. */
static void test_sort_by_ragged(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    /* first elements: 5, 0 (empty sample), 3 */
    float *data = malloc(6 * sizeof *data);
    const float values[] = {5, -5, 3, -3, 4, -4};
    memcpy(data, values, sizeof values);
    int64_t *lengths = malloc(3 * sizeof *lengths);
    lengths[0] = 1;
    lengths[1] = 0;
    lengths[2] = 2;
    struct kurc_source_extra e = {.lengths = lengths};
    dt_expect_ok(kurc_dataset_add_ex(&d, "u", &pair, 3, data, &e, "u", &err), &err);
    dt_expect_ok(kurc_dataset_seal(&d, &err), &err);
    struct kurc_provider *p;
    dt_expect_ok(
        kurc_provider_create(dt_yaml("{sortagrad: u, batch_size: 3}"), &d, 1, true, &p, &err),
        &err);
    kurc_provider_start_epoch(p, 0);
    const int64_t *idx;
    int64_t n;
    kurc_provider_batch(p, 0, &idx, &n);
    assert_int_equal(n, 3);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 2);
    assert_int_equal(idx[2], 0);
    kurc_provider_free(p);
    kurc_dataset_release(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_offsets_shape), cmocka_unit_test(test_stack_and_merge),
        cmocka_unit_test(test_negative_length),       cmocka_unit_test(test_gather_padding),
        cmocka_unit_test(test_fixed_length),          cmocka_unit_test(test_sort_by_ragged),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
