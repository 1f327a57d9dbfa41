/* test_dataset.c - datasets (adding, stacking by name, merging, sealing)
 * and kurc_data_load: entry forms, `when`, stacking across suppliers and
 * the places errors carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "data/supplier.h"
#include "datatest.h"

static float *floats(int n, float first) {
    float *x = malloc((size_t)n * sizeof *x);
    for (int i = 0; i < n; i++)
        x[i] = first + (float)i;
    return x;
}

static const struct kurc_shape pair_shape = {.ndim = 1, .dim = {2}};
static const struct kurc_shape one_shape = {.ndim = 1, .dim = {1}};

static void test_add_find_seal(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    dt_expect_ok(kurc_dataset_add(&d, "x", &pair_shape, 3, floats(6, 0), "a.csv", &err), &err);
    dt_expect_ok(kurc_dataset_add(&d, "y", &one_shape, 3, floats(3, 10), "a.csv", &err), &err);
    dt_expect_ok(kurc_dataset_seal(&d, &err), &err);
    assert_int_equal(d.count, 3);
    assert_int_equal(d.n, 2);
    const struct kurc_source *y = kurc_dataset_find(&d, "y");
    assert_non_null(y);
    assert_string_equal(y->origin, "a.csv");
    assert_true(y->data[2] == 12.0f);
    assert_null(kurc_dataset_find(&d, "z"));
    kurc_dataset_release(&d);
    assert_int_equal(d.n, 0);
}

static void test_stack_by_name(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    dt_expect_ok(kurc_dataset_add(&d, "x", &pair_shape, 2, floats(4, 0), "a.csv", &err), &err);
    dt_expect_ok(kurc_dataset_add(&d, "x", &pair_shape, 3, floats(6, 100), "b.csv", &err), &err);
    assert_int_equal(d.n, 1);
    const struct kurc_source *x = kurc_dataset_find(&d, "x");
    assert_int_equal(x->count, 5);
    assert_string_equal(x->origin, "a.csv + b.csv");
    const float want[] = {0, 1, 2, 3, 100, 101, 102, 103, 104, 105};
    assert_memory_equal(x->data, want, sizeof want);
    /* Stacking an empty source changes nothing. */
    dt_expect_ok(kurc_dataset_add(&d, "x", &pair_shape, 0, NULL, "b.csv", &err), &err);
    assert_int_equal(x->count, 5);
    kurc_dataset_release(&d);
}

static void test_stack_shape_mismatch(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    dt_expect_ok(kurc_dataset_add(&d, "x", &pair_shape, 2, floats(4, 0), "a.csv", &err), &err);
    dt_expect_error(kurc_dataset_add(&d, "x", &one_shape, 2, floats(2, 0), "b.csv", &err), &err,
                    KURC_E_DATA,
                    "cannot stack source 'x': its samples have shape (2,) in a.csv but (1,) in "
                    "b.csv");
    kurc_dataset_release(&d);
}

static void test_seal_count_mismatch(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    kurc_dataset_init(&d);
    dt_expect_ok(kurc_dataset_add(&d, "images", &one_shape, 3, floats(3, 0), "i.h5", &err), &err);
    dt_expect_ok(kurc_dataset_add(&d, "labels", &one_shape, 2, floats(2, 0), "l.h5", &err), &err);
    dt_expect_error(kurc_dataset_seal(&d, &err), &err, KURC_E_DATA,
                    "different numbers of samples: images (i.h5): 3, labels (l.h5): 2");
    kurc_dataset_release(&d);
}

static void test_merge(void **state) {
    (void)state;
    struct kurc_dataset a, b;
    struct kurc_err err;
    kurc_dataset_init(&a);
    kurc_dataset_init(&b);
    dt_expect_ok(kurc_dataset_add(&a, "x", &one_shape, 1, floats(1, 1), "a", &err), &err);
    dt_expect_ok(kurc_dataset_add(&b, "y", &one_shape, 2, floats(2, 5), "b", &err), &err);
    dt_expect_ok(kurc_dataset_add(&b, "x", &one_shape, 1, floats(1, 2), "b", &err), &err);
    dt_expect_ok(kurc_dataset_merge(&a, &b, &err), &err);
    assert_int_equal(b.n, 0);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.sources[0].name, "x");
    assert_string_equal(a.sources[1].name, "y");
    assert_int_equal(a.sources[0].count, 2);
    assert_true(a.sources[0].data[1] == 2.0f);
    assert_string_equal(a.sources[0].origin, "a + b");
    dt_expect_ok(kurc_dataset_seal(&a, &err), &err);
    assert_int_equal(a.count, 2);
    kurc_dataset_release(&a);
}

/* Loads a data list from YAML text. */
static enum kurc_status load(const char *yaml, struct kurc_dataset *d, struct kurc_err *err) {
    struct kurc_value *doc = dt_yaml(yaml);
    return kurc_data_load(kurc_map_get(doc, "data"), d, err);
}

static void test_load_stacks_suppliers(void **state) {
    (void)state;
    dt_write("first.jsonl", "{\"x\": 1, \"v\": [1, 2]}\n{\"x\": 2, \"v\": [3, 4]}\n");
    dt_write("second.jsonl", "{\"v\": [5, 6], \"x\": 3}\n");
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(load("data:\n"
                      "  - jsonl: first.jsonl\n"
                      "  - jsonl: second.jsonl\n",
                      &d, &err),
                 &err);
    assert_int_equal(d.count, 3);
    const struct kurc_source *x = kurc_dataset_find(&d, "x");
    const struct kurc_source *v = kurc_dataset_find(&d, "v");
    const float xs[] = {1, 2, 3}, vs[] = {1, 2, 3, 4, 5, 6};
    assert_memory_equal(x->data, xs, sizeof xs);
    assert_memory_equal(v->data, vs, sizeof vs);
    kurc_dataset_release(&d);

    /* Suppliers of different kinds stack too, in the order of the list. */
    dt_write("third.csv", "x\n4\n5\n");
    dt_write("fourth.jsonl", "{\"x\": 9}\n");
    dt_expect_ok(load("data:\n"
                      "  - csv: third.csv\n"
                      "  - {jsonl: fourth.jsonl, name: more}\n",
                      &d, &err),
                 &err);
    const float xs2[] = {4, 5, 9};
    assert_int_equal(d.count, 3);
    assert_memory_equal(kurc_dataset_find(&d, "x")->data, xs2, sizeof xs2);
    kurc_dataset_release(&d);

    /* Sealing names every source, where it came from and its count, at the
     * place of the list. */
    dt_expect_error(load("data:\n"
                         "  - jsonl: first.jsonl\n"
                         "  - csv: third.csv\n",
                         &d, &err),
                    &err, KURC_E_DATA,
                    "test.yml:2:3: the data sources have different numbers of samples: "
                    "x (first.jsonl + third.csv): 4, v (first.jsonl): 2");
}

static void test_positional_forms(void **state) {
    (void)state;
    dt_write("p.jsonl", "{\"a\": 1}\n{\"a\": 2}\n");
    dt_write("p.csv", "1;2\n3;4\n");
    struct kurc_dataset d;
    struct kurc_err err;
    const char *forms[] = {
        "data:\n  - jsonl: p.jsonl\n",
        "data:\n  - jsonl: [p.jsonl]\n",
        "data:\n  - jsonl: {source: p.jsonl}\n",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        dt_expect_ok(load(forms[i], &d, &err), &err);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.count, 2);
        kurc_dataset_release(&d);
    }
    /* csv's positional order: path, url, checksum, format, header. */
    dt_expect_ok(load("data:\n  - csv: [p.csv, null, null, {delimiter: ';'}, no]\n", &d, &err),
                 &err);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.sources[1].name, "column_1");
    assert_true(d.sources[1].data[1] == 4.0f);
    kurc_dataset_release(&d);
    dt_expect_error(load("data:\n  - jsonl: [p.jsonl, extra]\n", &d, &err), &err, KURC_E_CONFIG,
                    "test.yml:2:12: the 'jsonl' supplier takes at most 1 positional parameters, "
                    "found 2");
    dt_expect_error(load("data:\n  - jsonl: 5\n", &d, &err), &err, KURC_E_CONFIG,
                    "must be a mapping, a string or a list, not an integer");
}

static void test_when_and_name(void **state) {
    (void)state;
    dt_write("w.jsonl", "{\"a\": 1}\n");
    dt_write("w2.jsonl", "{\"b\": 1}\n");
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(load("data:\n"
                      "  - jsonl: w.jsonl\n"
                      "    when: no\n"
                      "  - jsonl: missing.jsonl\n"
                      "    when: 0\n"
                      "  - jsonl: w2.jsonl\n"
                      "    when: yes\n"
                      "    name: second\n",
                      &d, &err),
                 &err);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.sources[0].name, "b");
    kurc_dataset_release(&d);
    dt_expect_ok(load("data:\n  - jsonl: w.jsonl\n    when: no\n", &d, &err), &err);
    assert_int_equal(d.n, 0);
    assert_int_equal(d.count, 0);
    kurc_dataset_release(&d);
    dt_expect_ok(load("data:\n", &d, &err), &err);
    assert_int_equal(d.n, 0);
    dt_expect_error(load("data:\n  - jsonl: w.jsonl\n    name: 3\n", &d, &err), &err,
                    KURC_E_CONFIG, "test.yml:3:11: the 'name' of a data entry must be a string");
}

static void test_entry_errors(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_error(load("data:\n  - jsonl: nowhere.jsonl\n", &d, &err), &err, KURC_E_IO,
                    "test.yml:2:5: jsonl: cannot open nowhere.jsonl: No such file");
    dt_expect_error(load("data:\n  - jsnol: x\n", &d, &err), &err, KURC_E_CONFIG,
                    "test.yml:2:5: unknown supplier 'jsnol' (expected one of: cifar, csv, hdf5, jsonl, mnist");
    dt_expect_error(load("data:\n  - numpy_dict: x.npy\n", &d, &err), &err, KURC_E_UNSUPPORTED,
                    "test.yml:2:5: the 'numpy_dict' supplier is not available in kurc");
    dt_expect_error(load("data:\n  - jsonl: a\n    csv: b\n", &d, &err), &err, KURC_E_CONFIG,
                    "test.yml:3:5: a data entry names one supplier, found 'jsonl' and 'csv'");
    dt_expect_error(load("data:\n  - when: yes\n", &d, &err), &err, KURC_E_CONFIG,
                    "test.yml:2:5: the data entry names no supplier");
    dt_expect_error(load("data:\n  - jsonl\n", &d, &err), &err, KURC_E_CONFIG,
                    "test.yml:2:5: a data entry must be a mapping naming a supplier, not a string");
    dt_expect_error(load("data: {jsonl: x}\n", &d, &err), &err, KURC_E_CONFIG,
                    "test.yml:1:7: 'data' must be a list of suppliers, not a mapping");
    /* Stacking errors carry the place of the entry that could not stack. */
    dt_write("s1.jsonl", "{\"a\": [1, 2]}\n");
    dt_write("s2.jsonl", "{\"a\": 1}\n");
    dt_expect_error(load("data:\n  - jsonl: s1.jsonl\n  - jsonl: s2.jsonl\n", &d, &err), &err,
                    KURC_E_DATA, "test.yml:3:5: cannot stack source 'a'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_seal),
        cmocka_unit_test(test_stack_by_name),
        cmocka_unit_test(test_stack_shape_mismatch),
        cmocka_unit_test(test_seal_count_mismatch),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_load_stacks_suppliers),
        cmocka_unit_test(test_positional_forms),
        cmocka_unit_test(test_when_and_name),
        cmocka_unit_test(test_entry_errors),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
