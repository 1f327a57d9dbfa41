/* test_pyliteral.c - kurc_py_literal_parse against Python 3.11's
 * ast.literal_eval.
 *
 * Each row gives an input and json.dumps of what literal_eval returns
 * (tuples as lists, dict keys as json writes them), or NULL where Python
 * raises or returns something kurc cannot hold.  The expectations were
 * produced by Debian's /usr/bin/python3 (3.11.2); notes mark the rows where
 * kurc deliberately differs from Python. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "base/strbuf.h"
#include "config/value/json_dump.h"
#include "config/value/pyliteral.h"

struct literal_case {
    const char *in;
    size_t len; /* inputs may hold NUL bytes */
    const char *json;
};

static const struct literal_case cases[] = {
    /* Kur's typical rendered values */
    {"[3, 3]", 6, "[3, 3]"},
    {"64", 2, "64"},
    {"2e-4", 4, "0.0002"},
    {"None", 4, "null"},
    {"True", 4, "true"},
    {"False", 5, "false"},
    {"{'a': 1}", 8, "{\"a\": 1}"},
    {"'abc'", 5, "\"abc\""},
    {"0.001", 5, "0.001"},
    {"[1, 'a', None, True]", 20, "[1, \"a\", null, true]"},
    {"relu", 4, NULL},
    {"{{ x }}", 7, NULL},
    {"data/mnist", 10, NULL},
    {"1e-05", 5, "1e-05"},
    {"-1", 2, "-1"},
    /* integers */
    {"0", 1, "0"},
    {"00", 2, "0"},
    {"0_0", 3, "0"},
    {"7", 1, "7"},
    {"1_000_000", 9, "1000000"},
    {"0x1F", 4, "31"},
    {"0X_1f", 5, "31"},
    {"0o17", 4, "15"},
    {"0O17", 4, "15"},
    {"0b101", 5, "5"},
    {"0B1_0", 5, "2"},
    {"-0", 2, "0"},
    {"+5", 2, "5"},
    {"- 5", 3, "-5"},
    {"-(5)", 4, "-5"},
    {"(-5)", 4, "-5"},
    {"-((5))", 6, "-5"},
    {"(-(5))", 6, "-5"},
    {"9223372036854775807", 19, "9223372036854775807"},
    {"-9223372036854775808", 20, "-9223372036854775808"},
    {"-(9223372036854775808)", 22, "-9223372036854775808"},
    {"0x7fffffffffffffff", 18, "9223372036854775807"},
    {"9223372036854775808", 19, NULL}, /* Python: 9223372036854775808, which kurc cannot hold */
    {"-9223372036854775809", 20, NULL}, /* Python: -9223372036854775809, which kurc cannot hold */
    {"18446744073709551616", 20, NULL}, /* Python: 18446744073709551616, which kurc cannot hold */
    {"01", 2, NULL},
    {"09", 2, NULL},
    {"0_9", 3, NULL},
    {"1__0", 4, NULL},
    {"1_", 2, NULL},
    {"0x", 2, NULL},
    {"0x_", 3, NULL},
    {"0x1_", 4, NULL},
    {"0b2", 3, NULL},
    {"0o8", 3, NULL},
    {"0b1__1", 6, NULL},
    {"1abc", 4, NULL},
    {"0xfor", 5, NULL},
    {"--5", 3, NULL},
    {"+-5", 3, NULL},
    {"-(-5)", 5, NULL},
    {"- - 1", 5, NULL},
    {"-True", 5, NULL},
    {"-None", 5, NULL},
    {"+'a'", 4, NULL},
    {"-[1]", 4, NULL},
    /* floats */
    {"1.", 2, "1.0"},
    {".5", 2, "0.5"},
    {"1.5", 3, "1.5"},
    {"1e5", 3, "100000.0"},
    {"1E-3", 4, "0.001"},
    {"1e+3", 4, "1000.0"},
    {"1.e5", 4, "100000.0"},
    {".5e1", 4, "5.0"},
    {"1_0.5", 5, "10.5"},
    {"1.5_5", 5, "1.55"},
    {"1e1_0", 5, "10000000000.0"},
    {"0.000_1", 7, "0.0001"},
    {"01.5", 4, "1.5"},
    {"00e1", 4, "0.0"},
    {"012e3", 5, "12000.0"},
    {"0_9.5", 5, "9.5"},
    {"09.5e1", 6, "95.0"},
    {"0.", 2, "0.0"},
    {"0e0", 3, "0.0"},
    {"-0.0", 4, "-0.0"},
    {"+0.5", 4, "0.5"},
    {"-2.5e-3", 7, "-0.0025"},
    {"0.1", 3, "0.1"},
    {"1e16", 4, "1e+16"},
    {"1e22", 4, "1e+22"},
    {"5e-324", 6, "5e-324"},
    {"1e-400", 6, "0.0"},
    {"1e400", 5, "Infinity"},
    {"-1e400", 6, "-Infinity"},
    {"1.7976931348623157e308", 22, "1.7976931348623157e+308"},
    {"123456789012345678901234567890.0", 32, "1.2345678901234568e+29"},
    {"inf", 3, NULL},
    {"nan", 3, NULL},
    {"-inf", 4, NULL},
    {"1e", 2, NULL},
    {"1e+", 3, NULL},
    {"1e_5", 4, NULL},
    {"1._5", 4, NULL},
    {"1_.5", 4, NULL},
    {"._5", 3, NULL},
    {".e1", 3, NULL},
    {"1.0.0", 5, NULL},
    {"1..5", 4, NULL},
    /* complex, operators and other non-literals */
    {"1j", 2, NULL}, /* Python: 1j, which kurc cannot hold */
    {"2J", 2, NULL}, /* Python: 2j, which kurc cannot hold */
    {"5.j", 3, NULL}, /* Python: 5j, which kurc cannot hold */
    {"1+2j", 4, NULL}, /* Python: (1+2j), which kurc cannot hold */
    {"1 - 2j", 6, NULL}, /* Python: (1-2j), which kurc cannot hold */
    {"1+2", 3, NULL},
    {"2*3", 3, NULL},
    {"-2**2", 5, NULL},
    {"1 if 1 else 2", 13, NULL},
    {"1if 1 else 2", 12, NULL},
    {"not 1", 5, NULL},
    {"[1][0]", 6, NULL},
    {"(1).real", 8, NULL},
    {"x", 1, NULL},
    {"set()", 5, NULL}, /* Python: set(), which kurc cannot hold */
    {"{1, 2}", 6, NULL}, /* Python: {1, 2}, which kurc cannot hold */
    {"{1}", 3, NULL}, /* Python: {1}, which kurc cannot hold */
    {"...", 3, NULL}, /* Python: Ellipsis, which kurc cannot hold */
    {"[...]", 5, NULL}, /* Python: [Ellipsis], which kurc cannot hold */
    {"[*[1]]", 6, NULL},
    {"{**{}}", 6, NULL},
    {"lambda: 1", 9, NULL},
    {"f(1)", 4, NULL},
    {"True False", 10, NULL},
    {"1 2", 3, NULL},
    {"1;", 2, NULL},
    {"(1 for x in y)", 14, NULL},
    {"[x for x in y]", 14, NULL},
    {"a := 1", 6, NULL},
    {"1 == 1", 6, NULL},
    {"~1", 2, NULL},
    /* strings */
    {"'abc'", 5, "\"abc\""},
    {"\"abc\"", 5, "\"abc\""},
    {"'''abc'''", 9, "\"abc\""},
    {"\"\"\"abc\"\"\"", 9, "\"abc\""},
    {"''", 2, "\"\""},
    {"\"\"", 2, "\"\""},
    {"''''a'''", 8, "\"'a\""},
    {"'a' 'b'", 7, "\"ab\""},
    {"'a''b'", 6, "\"ab\""},
    {"'a' \"b\" '''c'''", 15, "\"abc\""},
    {"u'x'", 4, "\"x\""},
    {"U'x'", 4, "\"x\""},
    {"r'\\n'", 5, "\"\\\\n\""},
    {"R'\\''", 5, "\"\\\\'\""},
    {"u'a' r'\\n'", 10, "\"a\\\\n\""},
    {"b'x'", 4, NULL}, /* Python: b'x', which kurc cannot hold */
    {"B'x'", 4, NULL}, /* Python: b'x', which kurc cannot hold */
    {"rb'x'", 5, NULL}, /* Python: b'x', which kurc cannot hold */
    {"f'x'", 4, NULL},
    {"F'{1}'", 6, NULL},
    {"'a' b'b'", 8, NULL},
    {"'a' f'b'", 8, NULL},
    {"ur'x'", 5, NULL},
    {"x'a'", 4, NULL},
    {"'it''s'", 7, "\"its\""},
    {"\"it's\"", 6, "\"it's\""},
    {"'\\\\'", 4, "\"\\\\\""},
    {"'\\''", 4, "\"'\""},
    {"'\\\"'", 4, "\"\\\"\""},
    {"'\\n\\r\\t\\a\\b\\f\\v'", 16, "\"\\n\\r\\t\\u0007\\b\\f\\u000b\""},
    {"'\\0'", 4, "\"\\u0000\""},
    {"'\\101'", 6, "\"A\""},
    {"'\\1234'", 7, "\"S4\""},
    {"'\\777'", 6, "\"\\u01ff\""},
    {"'\\x41'", 6, "\"A\""},
    {"'\\x4'", 5, NULL},
    {"'\\xg0'", 6, NULL},
    {"'\\u00e9'", 8, "\"\\u00e9\""},
    {"'\\u00'", 6, NULL},
    {"'\\U0001F600'", 12, "\"\\ud83d\\ude00\""},
    {"'\\U00110000'", 12, NULL},
    {"'\\N{EM DASH}'", 13, NULL}, /* Python: a named character; unsupported */
    {"'\\N'", 4, NULL},
    {"'\\ud800'", 8, NULL}, /* Python: '\ud800', which kurc cannot hold */
    {"'\\8'", 4, "\"\\\\8\""},
    {"'\\q'", 4, "\"\\\\q\""},
    {"'\\\303\251'", 5, "\"\\\\\\u00e9\""},
    {"'\303\251'", 4, "\"\\u00e9\""},
    {"'\344\270\255\346\226\207'", 8, "\"\\u4e2d\\u6587\""},
    {"'a\\\nb'", 6, "\"ab\""},
    {"r'a\\\nb'", 7, "\"a\\\\\\nb\""},
    {"'a\nb'", 5, NULL},
    {"'''a\nb'''", 9, "\"a\\nb\""},
    {"'''a\r\nb'''", 10, "\"a\\nb\""},
    {"'''a\rb'''", 9, "\"a\\nb\""},
    {"'abc", 4, NULL},
    {"'abc\"", 5, NULL},
    {"r'\\'", 4, NULL},
    {"'''a''''", 8, NULL},
    {"'a' # c", 7, "\"a\""},
    {"('a'\n'b')", 9, "\"ab\""},
    {"'a'\n'b'", 7, NULL},
    {"'a' \\\n 'b'", 10, "\"ab\""},
    {"'# not a comment'", 17, "\"# not a comment\""},
    {"'\\x00'", 6, "\"\\u0000\""},
    /* lists, tuples and dicts */
    {"[]", 2, "[]"},
    {"()", 2, "[]"},
    {"{}", 2, "{}"},
    {"[1]", 3, "[1]"},
    {"[1,]", 4, "[1]"},
    {"[1, 2,]", 7, "[1, 2]"},
    {"[,]", 3, NULL},
    {"[1,,]", 5, NULL},
    {"(1)", 3, "1"},
    {"(1,)", 4, "[1]"},
    {"(1, 2)", 6, "[1, 2]"},
    {"((1,),)", 7, "[[1]]"},
    {"(,)", 3, NULL},
    {"1, 2", 4, "[1, 2]"},
    {"1,", 2, "[1]"},
    {"1,\n", 3, "[1]"},
    {"1, 2,", 5, "[1, 2]"},
    {",", 1, NULL},
    {"[1, (2, 3)]", 11, "[1, [2, 3]]"},
    {"[[[]]]", 6, "[[[]]]"},
    {"[-1, +2, -3.5]", 14, "[-1, 2, -3.5]"},
    {"{'a': 1, 'b': [2, 3]}", 21, "{\"a\": 1, \"b\": [2, 3]}"},
    {"{'a': 1,}", 9, "{\"a\": 1}"},
    {"{'a':1,'b':2}", 13, "{\"a\": 1, \"b\": 2}"},
    {"{,}", 3, NULL},
    {"{'a' : 1}", 9, "{\"a\": 1}"},
    {"{'a': 1, 2}", 11, NULL},
    {"{'a': {'b': ()}}", 16, "{\"a\": {\"b\": []}}"},
    {"{'a': 1, 'a': 2}", 16, "{\"a\": 2}"},
    {"{'a': 1, 'b': 2, 'a': 3}", 24, "{\"a\": 3, \"b\": 2}"},
    {"{1: 'a', 2.5: 'b', True: 'c', None: 'd', False: 'e'}", 52, "{\"1\": \"c\", \"2.5\": \"b\", \"null\": \"d\", \"false\": \"e\"}"},
    {"{1: 'a', 1.0: 'b', True: 'c'}", 29, "{\"1\": \"c\"}"},
    {"{-0.0: 1, 0: 2}", 15, "{\"-0.0\": 2}"},
    {"{0.5: 1, 1e16: 2, 1e400: 3, -1e400: 4}", 38, "{\"0.5\": 1, \"1e+16\": 2, \"Infinity\": 3, \"-Infinity\": 4}"},
    {"{'1': 'a', 1: 'b'}", 18, "{\"1\": \"b\"}"}, /* Python keeps two keys */
    {"{(1, 2): 3}", 11, NULL}, /* Python: {(1, 2): 3}, which kurc cannot hold */
    {"{[1]: 2}", 8, NULL},
    {"{{}: 1}", 7, NULL},
    {"{'a\\x00': 1}", 12, NULL}, /* Python: {'a\x00': 1}, which kurc cannot hold */
    {"{'\303\251': 1}", 9, "{\"\\u00e9\": 1}"},
    {"[1, 2", 5, NULL},
    {"[1, 2))", 7, NULL},
    {"(1]", 3, NULL},
    {"]", 1, NULL},
    {"{'a' 1}", 7, NULL},
    {"{'a': }", 7, NULL},
    {"[1 2]", 5, NULL},
    {"[1, 9223372036854775808]", 24, NULL}, /* Python: [1, 9223372036854775808], which kurc cannot hold */
    /* whitespace, newlines, comments */
    {"", 0, NULL},
    {" ", 1, NULL},
    {"\t", 1, NULL},
    {"\n", 1, NULL},
    {"  1", 3, "1"},
    {"\t1", 2, "1"},
    {" \t 1", 4, "1"},
    {"1 ", 2, "1"},
    {"1\n", 2, "1"},
    {"1\n\n", 3, "1"},
    {"\n1", 2, "1"},
    {"\n\n1\n\n", 5, "1"},
    {" \n1", 3, "1"},
    {"\t\n1", 3, "1"},
    {"\n 1", 3, NULL},
    {"1\n 2", 4, NULL},
    {"1\n  ", 4, NULL},
    {"1\n  \n", 5, "1"},
    {"1\n\t# c", 6, "1"},
    {"1 # c", 5, "1"},
    {"1 # c\n", 6, "1"},
    {"# c\n1", 5, "1"},
    {"# c", 3, NULL},
    {"1\n2", 3, NULL},
    {"-\n5", 3, NULL},
    {"(-\n5)", 5, "-5"},
    {"[1,\n2]", 6, "[1, 2]"},
    {"[1\n,\n2]", 7, "[1, 2]"},
    {"[1 # x\n]", 8, "[1]"},
    {"{'a':\n  1}", 10, "{\"a\": 1}"},
    {"1\r\n", 3, "1"},
    {"1\r", 2, "1"},
    {"1\r2", 3, NULL},
    {"\f1", 2, "1"},
    {" \f1", 3, "1"},
    {"\f 1", 3, NULL},
    {"1\f", 2, "1"},
    {"1\n\f", 3, "1"},
    {"1\n\f2", 4, NULL},
    {"\\\n1", 3, "1"},
    {"\\\n 1", 4, NULL},
    {"\n\\\n1", 4, "1"},
    {"\n \\\n1", 5, NULL},
    {"1 \\\n, 2", 7, "[1, 2]"},
    {"[1,\\\n2]", 7, "[1, 2]"},
    {"1\\\n", 3, NULL},
    {"1 \\", 3, NULL},
    {"\\", 1, NULL},
    {"\0131", 2, NULL},
    {"1\013", 2, NULL},
    {"\302\2401", 3, NULL},
    {"\357\273\2771", 4, NULL},
    {"1\000", 2, NULL},
    {"\000", 1, NULL},
};

static void test_table(void **state) {
    (void)state;
    struct kurc_loc loc = {"Kurfile.yml", 3, 7};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct literal_case *c = &cases[i];
        struct kurc_value *v = (struct kurc_value *)&loc; /* must be reset */
        bool ok = kurc_py_literal_parse(c->in, c->len, &loc, &v);
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        if (ok)
            kurc_json_dump(v, -1, false, &sb);
        if (ok != (c->json != NULL) || (ok && strcmp(sb.data, c->json) != 0))
            fail_msg("case %zu: input \"%s\": expected %s, got %s", i, c->in,
                     c->json ? c->json : "no literal", ok ? sb.data : "no literal");
        if (!ok)
            assert_null(v);
        kurc_strbuf_free(&sb);
        kurc_value_free(v);
    }
}

/* The json text cannot tell 1.0 from 1.0000000000000002 apart by kind, so
 * check kinds and exact values of a few scalars directly. */
static void test_scalar_kinds(void **state) {
    (void)state;
    struct kurc_value *v = NULL;
    assert_true(kurc_py_literal_parse("-9223372036854775808", 20, NULL, &v));
    assert_int_equal(v->kind, KURC_INT);
    assert_true(v->u.i == INT64_MIN);
    kurc_value_free(v);
    assert_true(kurc_py_literal_parse("-0.0", 4, NULL, &v));
    assert_int_equal(v->kind, KURC_FLOAT);
    assert_true(v->u.f == 0.0 && signbit(v->u.f));
    kurc_value_free(v);
    assert_true(kurc_py_literal_parse("2e-4", 4, NULL, &v));
    assert_int_equal(v->kind, KURC_FLOAT);
    assert_true(v->u.f == 2e-4);
    kurc_value_free(v);
    assert_true(kurc_py_literal_parse("1e400", 5, NULL, &v));
    assert_true(isinf(v->u.f) && v->u.f > 0);
    kurc_value_free(v);
    assert_true(kurc_py_literal_parse("True", 4, NULL, &v));
    assert_int_equal(v->kind, KURC_BOOL);
    assert_true(v->u.b);
    kurc_value_free(v);
    /* an escaped NUL stays inside the string */
    assert_true(kurc_py_literal_parse("'a\\0b'", 6, NULL, &v));
    assert_int_equal(v->kind, KURC_STR);
    assert_int_equal(v->u.str.len, 3);
    assert_memory_equal(v->u.str.s, "a\0b", 3);
    kurc_value_free(v);
}

/* Every node, and every key, carries the location given. */
static void test_locations(void **state) {
    (void)state;
    struct kurc_loc loc = {"k.yml", 12, 5};
    struct kurc_value *v = NULL;
    const char *s = "{'a': [1, (2.5, None)], 3: {'b': 'c'}}";
    assert_true(kurc_py_literal_parse(s, strlen(s), &loc, &v));
    assert_int_equal(v->kind, KURC_MAP);
    assert_int_equal(v->loc.line, 12);
    struct kurc_value *list = kurc_map_get(v, "a");
    assert_int_equal(list->loc.col, 5);
    assert_string_equal(list->u.list.items[1]->u.list.items[1]->loc.file, "k.yml");
    assert_int_equal(list->u.list.items[1]->u.list.items[1]->kind, KURC_NULL);
    assert_int_equal(v->u.map.pairs[1].key_loc.line, 12);
    assert_string_equal(v->u.map.pairs[1].key, "3");
    assert_int_equal(kurc_map_get(kurc_map_get(v, "3"), "b")->loc.col, 5);
    kurc_value_free(v);
}

/* Writes depth copies of open, "1", then depth copies of close. */
static size_t nest(char *buf, int depth, const char *open, char close) {
    size_t n = 0;
    for (int i = 0; i < depth; i++) {
        memcpy(buf + n, open, strlen(open));
        n += strlen(open);
    }
    buf[n++] = '1';
    for (int i = 0; i < depth; i++)
        buf[n++] = close;
    buf[n] = '\0';
    return n;
}

/* Up to 100 nested brackets parse; one more does not. */
static void test_depth(void **state) {
    (void)state;
    static const char *const opens[] = {"[", "(", "{'k': "};
    static const char closes[] = "])}";
    char buf[1024];
    for (int k = 0; k < 3; k++) {
        for (int depth = 100; depth <= 101; depth++) {
            size_t n = nest(buf, depth, opens[k], closes[k]);
            struct kurc_value *v = NULL;
            bool ok = kurc_py_literal_parse(buf, n, NULL, &v);
            assert_true(ok == (depth <= 100));
            kurc_value_free(v);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_scalar_kinds),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
