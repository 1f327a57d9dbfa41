/* test_component.c - the Kurfile's component checks on tables of the
 * test's own (config knows no supplier, hook, optimizer or loss: they are
 * handed to kurc_kurfile_parse), the shape-only checks without tables,
 * and the reading of a component's parameters in their forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/component.h"
#include "config/kurfile.h"
#include "config/yaml_load.h"

/* A supplier with a required `size` and an optional `label`, filled in
 * that order by its positional forms. */
static const struct kurc_component blocks = {
    "blocks",
    KURC_SCHEMA(.types = KT_MAP,
                .keys = KURC_KEYS({"size", KURC_SCHEMA(.types = KT_INT), true},
                                  {"label", &kurc_schema_string_or_null})),
    KURC_NAMES("size", "label"),
};

/* Two optimizers, the second the default. */
static const struct kurc_component slow = {
    "slow", KURC_SCHEMA(.types = KT_MAP, .keys = KURC_KEYS({"name", &kurc_schema_string},
                                                           {"pace", &kurc_schema_flag}))};
static const struct kurc_component fast = {
    "fast", KURC_SCHEMA(.types = KT_MAP, .keys = KURC_KEYS({"name", &kurc_schema_string}))};

static const struct kurc_component loud = {"loud", KURC_SCHEMA(.types = KT_NULL)};

static const struct kurc_components components = {
    .suppliers = (const struct kurc_component *const[]){&blocks, NULL},
    .training_hooks = (const struct kurc_component *const[]){&loud, NULL},
    .evaluation_hooks = (const struct kurc_component *const[]){NULL},
    .optimizers = (const struct kurc_component *const[]){&fast, &slow, NULL},
    .losses = (const struct kurc_component *const[]){NULL},
    .default_optimizer = "slow",
};

/* Parses a Kurfile whose train section is `train`; with want, expects an
 * error with that message, else success. */
static void parse(const char *train, const struct kurc_components *with, const char *want) {
    char text[512];
    snprintf(text, sizeof text, "model:\n  - input: x\ntrain:\n%s", train);
    struct kurc_kurfile *kf;
    struct kurc_err err;
    assert_int_equal(kurc_kurfile_from_text(text, strlen(text), "c.yml", &kf, &err), KURC_OK);
    enum kurc_status st = kurc_kurfile_parse(kf, with, &err);
    if (want) {
        assert_int_equal(st, KURC_E_CONFIG);
        assert_string_equal(err.msg, want);
    } else if (st) {
        fail_msg("%s", err.msg);
    }
    kurc_kurfile_free(kf);
}

static void test_tables_handed_in(void **state) {
    (void)state;
    parse("  data:\n    - blocks: {size: 3}\n    - blocks: [4, four]\n    - blocks: 5\n",
          &components, NULL);
    parse("  data:\n    - blokcs: 3\n", &components,
          "train.data[0]: unknown supplier 'blokcs'; did you mean 'blocks'?");
    parse("  data:\n    - jsonl: a.jsonl\n", &components,
          "train.data[0]: unknown supplier 'jsonl' (expected blocks)");
    parse("  data:\n    - blocks: {size: 3, lable: x}\n", &components,
          "train.data[0].blocks: unknown key 'lable' for the blocks supplier; did you mean "
          "'label'?");
    parse("  data:\n    - blocks: [1, a, b]\n", &components,
          "train.data[0].blocks: the supplier 'blocks' takes at most 2 positional parameters, "
          "found 3");
    parse("  data:\n    - blocks:\n", &components,
          "train.data[0].blocks: missing required key 'size'");
    parse("  hooks:\n    - loud\n    - loud: {x: 1}\n", &components,
          "train.hooks[1].loud: expected null, found a mapping");
    /* no name: the default optimizer's parameters */
    parse("  optimizer: {pace: yes}\n", &components, NULL);
    parse("  optimizer: {name: fast, pace: yes}\n", &components,
          "train.optimizer: unknown key 'pace' for the fast optimizer (expected name)");
}

/* Without tables, entries are checked for their shape only. */
static void test_shape_only(void **state) {
    (void)state;
    parse("  data:\n    - anything: {at: all}\n  optimizer: nadam\n  hooks:\n    - whatever\n",
          NULL, NULL);
    parse("  data:\n    - a: 1\n      b: 2\n", NULL,
          "train.data[0]: an entry names one supplier, found 'a' and 'b'");
    parse("  data:\n    - when: yes\n", NULL, "train.data[0]: the entry names no supplier");
    parse("  optimizer: {name: 3}\n", NULL,
          "train.optimizer: expected a string, found an integer (3)");
}

/* The mapping form for blocks of the parameters `given` (YAML); NULL with
 * err set when there is none. */
static struct kurc_value *form(const char *given, const char *what, struct kurc_err *err) {
    struct kurc_value *v = NULL, *params = NULL;
    assert_int_equal(kurc_load_buffer(given, strlen(given), KURC_FORMAT_YAML, "p.yml", &v, err),
                     KURC_OK);
    kurc_component_params(&blocks, v, what, &params, err);
    kurc_value_free(v);
    return params;
}

/* The mapping form of given: its size, label and count. */
static void expect_form(const char *given, int64_t size, const char *label, size_t n) {
    struct kurc_err err;
    struct kurc_value *params = form(given, "blocks", &err);
    assert_non_null(params);
    assert_int_equal(params->kind, KURC_MAP);
    assert_int_equal(params->u.map.len, n);
    assert_int_equal((int64_t)kurc_param_number(params, "size", -1), size);
    if (label)
        assert_string_equal(kurc_param_str(params, "label"), label);
    else
        assert_null(kurc_param_str(params, "label"));
    kurc_value_free(params);
}

static void test_parameter_forms(void **state) {
    (void)state;
    expect_form("{size: 2, label: two}", 2, "two", 2);
    expect_form("[3, three]", 3, "three", 2);
    expect_form("4", 4, NULL, 1);
    expect_form("null", -1, NULL, 0);
    expect_form("{size: 5, label: null}", 5, NULL, 2);
    struct kurc_err err;
    assert_null(form("[1, a, b]", "the blocks", &err));
    assert_int_equal(err.status, KURC_E_CONFIG);
    assert_string_equal(err.msg, "the blocks takes at most 2 positional parameters, found 3");
    struct kurc_value *params;
    assert_int_equal(kurc_component_params(&blocks, NULL, "blocks", &params, &err), KURC_OK);
    assert_int_equal(params->u.map.len, 0);
    kurc_value_free(params);

    /* readers: absent, null and other kinds are the fallback */
    struct kurc_value *v = form("{n: 2.5, s: text, t: yes, f: 0, z: null}", "blocks", &err);
    assert_true(kurc_param_number(v, "n", 0) == 2.5);
    assert_true(kurc_param_number(v, "s", 7) == 7);
    assert_true(kurc_param_number(v, "z", 7) == 7);
    assert_null(kurc_param_str(v, "n"));
    assert_string_equal(kurc_param_str(v, "s"), "text");
    assert_true(kurc_param_flag(v, "t"));
    assert_false(kurc_param_flag(v, "f"));
    assert_false(kurc_param_flag(v, "missing"));
    assert_null(kurc_param(v, "z"));
    kurc_value_free(v);
    v = kurc_value_str("not a mapping", NULL);
    assert_null(kurc_param(v, "s"));
    kurc_value_free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_handed_in),
        cmocka_unit_test(test_shape_only),
        cmocka_unit_test(test_parameter_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
