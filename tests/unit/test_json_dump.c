/* test_json_dump.c - kurc_json_dump against Python 3's json.dumps.
 *
 * Each test builds a value and compares the dump with the text Debian's
 * /usr/bin/python3 printed for json.dumps of the same Python value (with
 * the same sort_keys and indent), hard-coded below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "base/strbuf.h"
#include "config/value/json_dump.h"
#include "config/value/value.h"

/* Expected outputs, as Python printed them. */
static const char model_sorted_4[] =
    "{\n"
    "    \"a_first\": false,\n"
    "    \"loss\": [],\n"
    "    \"model\": [\n"
    "        {\n"
    "            \"input\": \"images\"\n"
    "        },\n"
    "        {\n"
    "            \"convolution\": {\n"
    "                \"kernels\": 64,\n"
    "                \"size\": [\n"
    "                    3,\n"
    "                    3\n"
    "                ]\n"
    "            }\n"
    "        },\n"
    "        {\n"
    "            \"activation\": \"relu\"\n"
    "        },\n"
    "        {\n"
    "            \"flatten\": null\n"
    "        },\n"
    "        {\n"
    "            \"dense\": 10\n"
    "        }\n"
    "    ],\n"
    "    \"settings\": {},\n"
    "    \"train\": {\n"
    "        \"epochs\": 2,\n"
    "        \"optimizer\": {\n"
    "            \"learning_rate\": 0.001,\n"
    "            \"name\": \"adam\"\n"
    "        },\n"
    "        \"shuffle\": true,\n"
    "        \"weights\": {\n"
    "            \"initial\": null\n"
    "        }\n"
    "    }\n"
    "}";

static const char model_compact[] =
    "{\"model\": [{\"input\": \"images\"}, {\"convolution\": {\"kernels\": 64, \"size\": [3, 3]}}, {\"activation\": \"relu\"}, {\"flatten\": null}, {\"dense\": 10}], \"train\": {\"epochs\": 2, \"optimizer\": {\"name\": \"adam\", \"learning_rate\": 0.001}, \"shuffle\": true, \"weights\": {\"initial\": null}}, \"settings\": {}, \"loss\": [], \"a_first\": false}";

static const char model_indent_0[] =
    "{\n"
    "\"model\": [\n"
    "{\n"
    "\"input\": \"images\"\n"
    "},\n"
    "{\n"
    "\"convolution\": {\n"
    "\"kernels\": 64,\n"
    "\"size\": [\n"
    "3,\n"
    "3\n"
    "]\n"
    "}\n"
    "},\n"
    "{\n"
    "\"activation\": \"relu\"\n"
    "},\n"
    "{\n"
    "\"flatten\": null\n"
    "},\n"
    "{\n"
    "\"dense\": 10\n"
    "}\n"
    "],\n"
    "\"train\": {\n"
    "\"epochs\": 2,\n"
    "\"optimizer\": {\n"
    "\"name\": \"adam\",\n"
    "\"learning_rate\": 0.001\n"
    "},\n"
    "\"shuffle\": true,\n"
    "\"weights\": {\n"
    "\"initial\": null\n"
    "}\n"
    "},\n"
    "\"settings\": {},\n"
    "\"loss\": [],\n"
    "\"a_first\": false\n"
    "}";

static const char floats_compact[] =
    "[0.1, 1e-05, 1e+16, 100.0, -0.0, Infinity, -Infinity, NaN, 5e-324, 0.30000000000000004, 1.5e-07, 123456789.0, -2.5, 0, -9223372036854775808, 9223372036854775807]";

static const char floats_indent_2[] =
    "[\n"
    "  0.1,\n"
    "  1e-05,\n"
    "  1e+16,\n"
    "  100.0,\n"
    "  -0.0,\n"
    "  Infinity,\n"
    "  -Infinity,\n"
    "  NaN,\n"
    "  5e-324,\n"
    "  0.30000000000000004,\n"
    "  1.5e-07,\n"
    "  123456789.0,\n"
    "  -2.5,\n"
    "  0,\n"
    "  -9223372036854775808,\n"
    "  9223372036854775807\n"
    "]";

static const char string_escapes[] =
    "\"q\\\"b\\\\s/n\\nr\\rt\\tb\\bf\\f\\u0000\\u0001\\u001f\\u007f\\u0080\\u00e9\\u4e2d\\u2028\\uffff\\ud83d\\ude00\\udbff\\udfff~ \"";

static const char keys_sorted[] =
    "{\"\": 8, \"B\": 3, \"a\": 2, \"a b\": 10, \"ab\": 9, \"b\": 1, \"z\": 5, \"\\u00e9\": 4, \"\\uffff\": 7, \"\\ud83d\\ude00\": 6}";

static const char keys_unsorted[] =
    "{\"b\": 1, \"a\": 2, \"B\": 3, \"\\u00e9\": 4, \"z\": 5, \"\\ud83d\\ude00\": 6, \"\\uffff\": 7, \"\": 8, \"ab\": 9, \"a b\": 10}";

static const char invalid_utf8[] =
    "\"a\\ufffd\\ufffdb\\ufffd\\ufffd\\ufffd\"";

static const char empties_4[] =
    "[\n"
    "    [],\n"
    "    {},\n"
    "    [\n"
    "        []\n"
    "    ],\n"
    "    {\n"
    "        \"k\": {}\n"
    "    }\n"
    "]";

static void expect_dump(const struct kurc_value *v, int indent, bool sort_keys, const char *expected) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_json_dump(v, indent, sort_keys, &sb);
    assert_string_equal(sb.data, expected);
    kurc_strbuf_free(&sb);
}

static struct kurc_value *one_key(const char *key, struct kurc_value *val) {
    struct kurc_value *m = kurc_value_map(NULL);
    kurc_map_set(m, key, NULL, val);
    return m;
}

/* A small Kurfile-like tree, keys in the order a Kurfile writes them. */
static struct kurc_value *make_model(void) {
    struct kurc_value *root = kurc_value_map(NULL);
    struct kurc_value *model = kurc_value_list(NULL);
    kurc_list_append(model, one_key("input", kurc_value_str("images", NULL)));
    struct kurc_value *conv = kurc_value_map(NULL);
    kurc_map_set(conv, "kernels", NULL, kurc_value_int(64, NULL));
    struct kurc_value *size = kurc_value_list(NULL);
    kurc_list_append(size, kurc_value_int(3, NULL));
    kurc_list_append(size, kurc_value_int(3, NULL));
    kurc_map_set(conv, "size", NULL, size);
    kurc_list_append(model, one_key("convolution", conv));
    kurc_list_append(model, one_key("activation", kurc_value_str("relu", NULL)));
    kurc_list_append(model, one_key("flatten", kurc_value_null(NULL)));
    kurc_list_append(model, one_key("dense", kurc_value_int(10, NULL)));
    kurc_map_set(root, "model", NULL, model);
    struct kurc_value *train = kurc_value_map(NULL);
    kurc_map_set(train, "epochs", NULL, kurc_value_int(2, NULL));
    struct kurc_value *opt = kurc_value_map(NULL);
    kurc_map_set(opt, "name", NULL, kurc_value_str("adam", NULL));
    kurc_map_set(opt, "learning_rate", NULL, kurc_value_float(0.001, NULL));
    kurc_map_set(train, "optimizer", NULL, opt);
    kurc_map_set(train, "shuffle", NULL, kurc_value_bool(true, NULL));
    kurc_map_set(train, "weights", NULL, one_key("initial", kurc_value_null(NULL)));
    kurc_map_set(root, "train", NULL, train);
    kurc_map_set(root, "settings", NULL, kurc_value_map(NULL));
    kurc_map_set(root, "loss", NULL, kurc_value_list(NULL));
    kurc_map_set(root, "a_first", NULL, kurc_value_bool(false, NULL));
    return root;
}

static void test_model(void **state) {
    (void)state;
    struct kurc_value *m = make_model();
    expect_dump(m, 4, true, model_sorted_4);
    expect_dump(m, -1, false, model_compact);
    expect_dump(m, 0, false, model_indent_0);
    kurc_value_free(m);
}

static void test_numbers(void **state) {
    (void)state;
    static const double floats[] = {0.1,      1e-05,     1e16,     100.0,  -0.0,
                                    INFINITY, -INFINITY, NAN,      5e-324, 0.1 + 0.2,
                                    1.5e-07,  123456789.0, -2.5};
    struct kurc_value *l = kurc_value_list(NULL);
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
        kurc_list_append(l, kurc_value_float(floats[i], NULL));
    kurc_list_append(l, kurc_value_int(0, NULL));
    kurc_list_append(l, kurc_value_int(INT64_MIN, NULL));
    kurc_list_append(l, kurc_value_int(INT64_MAX, NULL));
    expect_dump(l, -1, true, floats_compact);
    expect_dump(l, 2, true, floats_indent_2);
    kurc_value_free(l);
}

static void test_strings(void **state) {
    (void)state;
    /* the Python string, in UTF-8; the \0 is part of it */
    static const char s[] = "q\"b\\s/n\nr\rt\tb\bf\f\0\x01\x1f\x7f\xc2\x80\u00e9\u4e2d\u2028\uffff"
                            "\U0001F600\U0010FFFF~ ";
    struct kurc_value *v = kurc_value_strn(s, sizeof s - 1, NULL);
    expect_dump(v, 4, true, string_escapes);
    kurc_value_free(v);
    /* not UTF-8: each maximal invalid subsequence becomes U+FFFD */
    static const char bad[] = "a\xff\xe2\x82"
                              "b\xed\xa0\x80";
    v = kurc_value_strn(bad, sizeof bad - 1, NULL);
    expect_dump(v, -1, false, invalid_utf8);
    kurc_value_free(v);
}

static void test_keys(void **state) {
    (void)state;
    static const char *const keys[] = {"b", "a", "B", "\u00e9", "z", "\U0001F600", "\uffff",
                                       "", "ab", "a b"};
    struct kurc_value *m = kurc_value_map(NULL);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        kurc_map_set(m, keys[i], NULL, kurc_value_int((int64_t)i + 1, NULL));
    expect_dump(m, -1, true, keys_sorted);
    expect_dump(m, -1, false, keys_unsorted);
    kurc_value_free(m);
}

static void test_empty_and_scalars(void **state) {
    (void)state;
    struct kurc_value *l = kurc_value_list(NULL);
    kurc_list_append(l, kurc_value_list(NULL));
    kurc_list_append(l, kurc_value_map(NULL));
    struct kurc_value *inner = kurc_value_list(NULL);
    kurc_list_append(inner, kurc_value_list(NULL));
    kurc_list_append(l, inner);
    kurc_list_append(l, one_key("k", kurc_value_map(NULL)));
    expect_dump(l, 4, true, empties_4);
    kurc_value_free(l);

    struct kurc_value *v = kurc_value_null(NULL);
    expect_dump(v, 4, true, "null");
    kurc_value_free(v);
    v = kurc_value_bool(true, NULL);
    expect_dump(v, 4, true, "true");
    kurc_value_free(v);
    v = kurc_value_str("x", NULL);
    expect_dump(v, 4, true, "\"x\"");
    kurc_value_free(v);
    v = kurc_value_list(NULL);
    expect_dump(v, 4, true, "[]");
    kurc_value_free(v);
}

static void test_float_spelling(void **state) {
    (void)state;
    char out[32];
    kurc_json_float_repr(INFINITY, out);
    assert_string_equal(out, "Infinity");
    kurc_json_float_repr(-INFINITY, out);
    assert_string_equal(out, "-Infinity");
    kurc_json_float_repr(NAN, out);
    assert_string_equal(out, "NaN");
    kurc_json_float_repr(2e-4, out);
    assert_string_equal(out, "0.0002");
    kurc_json_float_repr(1e16, out);
    assert_string_equal(out, "1e+16");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_empty_and_scalars),
        cmocka_unit_test(test_float_spelling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
