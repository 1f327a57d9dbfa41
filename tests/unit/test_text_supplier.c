/* test_text_supplier.c - the `text` supplier: one-hot sequences, padding
 * left and right, pad_with a symbol or null (zeros), per-key seq_len,
 * padding and pad_with, lists of symbols, lengths, the raw text and
 * vocabulary side tables, and errors naming file:line, key and symbol. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "data/supplier.h"
#include "datatest.h"

static enum kurc_status load(const char *params, struct kurc_dataset *d, struct kurc_err *err) {
    char *yaml = kurc_xasprintf("- text: %s", params);
    enum kurc_status st = kurc_data_load(dt_yaml(yaml), d, err);
    free(yaml);
    return st;
}

static void load_ok(const char *params, struct kurc_dataset *d) {
    struct kurc_err err;
    dt_expect_ok(load(params, d, &err), &err);
}

/* The symbol index hot at step t of sample i, or -1 for a zero step;
 * fails on a step that is not one-hot. */
static int step(const struct kurc_source *s, int64_t i, int64_t t) {
    int64_t v = s->shape.dim[1];
    const float *row = s->data + (i * s->shape.dim[0] + t) * v;
    int hot = -1, ones = 0;
    for (int64_t k = 0; k < v; k++) {
        if (row[k] == 1) {
            hot = (int)k;
            ones++;
        } else {
            assert_true(row[k] == 0);
        }
    }
    assert_true(ones <= 1);
    return hot;
}

static void expect_steps(const struct kurc_source *s, int64_t i, const int *want) {
    for (int64_t t = 0; t < s->shape.dim[0]; t++)
        assert_int_equal(step(s, i, t), want[t]);
}

static void test_one_hot_right(void **state) {
    (void)state;
    dt_write("t.jsonl", "{\"x\": \"ab\", \"y\": \"c\"}\n\n{\"x\": \"cab\", \"y\": \"\"}\n");
    struct kurc_dataset d;
    load_ok("{path: t.jsonl, seq_len: 4, vocabs: {x: [a, b, c], y: [a, b, c]}}", &d);
    assert_int_equal(d.count, 2);
    const struct kurc_source *x = kurc_dataset_find(&d, "x");
    assert_int_equal(x->shape.ndim, 2);
    assert_int_equal(x->shape.dim[0], 4);
    assert_int_equal(x->shape.dim[1], 3);
    expect_steps(x, 0, (const int[]){0, 1, -1, -1});
    expect_steps(x, 1, (const int[]){2, 0, 1, -1});
    expect_steps(kurc_dataset_find(&d, "y"), 1, (const int[]){-1, -1, -1, -1});
    const struct kurc_source *len = kurc_dataset_find(&d, "x_length");
    assert_float_equal(len->data[0], 2, 0);
    assert_float_equal(len->data[1], 3, 0);
    assert_float_equal(kurc_dataset_find(&d, "y_length")->data[1], 0, 0);
    assert_string_equal(x->text[1], "cab");
    assert_int_equal(x->n_vocab, 3);
    assert_string_equal(x->vocab[2], "c");
    kurc_dataset_release(&d);
    unlink("t.jsonl");
}

static void test_padding_and_pad_with(void **state) {
    (void)state;
    dt_write("p.jsonl", "{\"x\": \"ab\", \"y\": [\"the\", \"cat\"]}\n");
    struct kurc_dataset d;
    load_ok("{path: p.jsonl, seq_len: {x: 5, y: 3}, vocabs: {x: [a, b, _], y: [the, cat, pad]}, "
            "padding: {x: left, y: right}, pad_with: {x: null, y: pad}}",
            &d);
    expect_steps(kurc_dataset_find(&d, "x"), 0, (const int[]){-1, -1, -1, 0, 1});
    expect_steps(kurc_dataset_find(&d, "y"), 0, (const int[]){0, 1, 2});
    assert_string_equal(kurc_dataset_find(&d, "y")->text[0], "the cat");
    kurc_dataset_release(&d);
    load_ok("{path: p.jsonl, seq_len: {x: 4, y: 2}, vocabs: {x: [a, b, _], y: [the, cat]}, "
            "padding: {x: left}, pad_with: {x: _}}",
            &d);
    expect_steps(kurc_dataset_find(&d, "x"), 0, (const int[]){2, 2, 0, 1});
    expect_steps(kurc_dataset_find(&d, "y"), 0, (const int[]){0, 1});
    kurc_dataset_release(&d);
    /* numbers in a vocabulary are symbols as Python's str() writes them */
    dt_write("n.jsonl", "{\"d\": \"1203\"}\n");
    load_ok("{path: n.jsonl, seq_len: 4, vocabs: {d: [0, 1, 2, 3]}}", &d);
    expect_steps(kurc_dataset_find(&d, "d"), 0, (const int[]){1, 2, 0, 3});
    kurc_dataset_release(&d);
    unlink("p.jsonl");
    unlink("n.jsonl");
}

static void test_errors(void **state) {
    (void)state;
    dt_write("e.jsonl", "{\"x\": \"ab\"}\n{\"x\": \"az\"}\n");
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_error(load("{path: e.jsonl, seq_len: 3, vocabs: {x: [a, b]}}", &d, &err), &err,
                    KURC_E_DATA,
                    "text: e.jsonl:2: key 'x' has the symbol 'z', which is not in its vocabulary");
    dt_expect_error(load("{path: e.jsonl, seq_len: 1, vocabs: {x: [a, b, z]}}", &d, &err), &err,
                    KURC_E_DATA, "e.jsonl:1: key 'x' has 2 symbols, more than its seq_len 1");
    dt_expect_error(load("{path: e.jsonl, seq_len: 3, vocabs: {x: [a, b, z, 1, b]}}", &d, &err),
                    &err, KURC_E_CONFIG,
                    "test.yml:1:62: text: the vocabulary of 'x' has 'b' twice: entry 2 (line 1, "
                    "column 53) and entry 5");
    dt_expect_error(load("{path: e.jsonl, seq_len: 3, vocabs: {y: [a]}}", &d, &err), &err,
                    KURC_E_CONFIG, "'vocabs' needs a non-empty list of symbols for the key 'x'");
    dt_expect_error(load("{path: e.jsonl, seq_len: {y: 3}, vocabs: {x: [a]}}", &d, &err), &err,
                    KURC_E_CONFIG, "'seq_len' has no length for the key 'x'");
    dt_expect_error(
        load("{path: e.jsonl, seq_len: 3, vocabs: {x: [a, b, z]}, padding: {x: up}}", &d, &err),
        &err, KURC_E_CONFIG, "the padding of 'x' must be left or right");
    dt_expect_error(
        load("{path: e.jsonl, seq_len: 3, vocabs: {x: [a, b, z]}, pad_with: {x: q}}", &d, &err),
        &err, KURC_E_CONFIG, "pad_with 'q' of 'x' is not in its vocabulary");
    dt_write("e.jsonl", "{\"x\": \"ab\"}\n{\"y\": \"a\"}\n");
    dt_expect_error(load("{path: e.jsonl, seq_len: 3, vocabs: {x: [a, b]}}", &d, &err), &err,
                    KURC_E_DATA, "e.jsonl:2: missing key 'x'");
    dt_write("e.jsonl", "{\"x\": 5}\n");
    dt_expect_error(load("{path: e.jsonl, seq_len: 3, vocabs: {x: [a, b]}}", &d, &err), &err,
                    KURC_E_DATA, "e.jsonl:1: key 'x' is an integer, not a string or a list");
    dt_write("e.jsonl", "[1]\n");
    dt_expect_error(load("{path: e.jsonl, seq_len: 3, vocabs: {x: [a, b]}}", &d, &err), &err,
                    KURC_E_DATA, "e.jsonl:1: expected a JSON object, found a list");
    unlink("e.jsonl");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_hot_right),
        cmocka_unit_test(test_padding_and_pad_with),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
