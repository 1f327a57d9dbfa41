/* test_yaml_resolve.c - typing of plain scalars: PyYAML 3.12 (YAML 1.1)
 * and Python's json.loads.
 *
 * Each row gives a plain scalar and json.dumps of the value Python makes of
 * it; the expectations come from Debian's /usr/bin/python3 with PyYAML's
 * resolver and SafeConstructor (float regex set back to 3.12's, which also
 * takes "._5").  Notes mark rows where PyYAML raises or builds an object
 * kurc has no kind for: kurc keeps the string there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/strbuf.h"
#include "config/value/json_dump.h"
#include "config/yaml_resolve.h"

struct resolve_case {
    const char *in;
    const char *json; /* NULL: not a JSON value */
};

static const struct resolve_case yaml_cases[] = {
    /* null */
    {"", "null"},
    {"~", "null"},
    {"null", "null"},
    {"Null", "null"},
    {"NULL", "null"},
    {"nULL", "\"nULL\""},
    {"none", "\"none\""},
    {"None", "\"None\""},
    /* bool */
    {"yes", "true"},
    {"Yes", "true"},
    {"YES", "true"},
    {"yEs", "\"yEs\""},
    {"no", "false"},
    {"No", "false"},
    {"NO", "false"},
    {"true", "true"},
    {"True", "true"},
    {"TRUE", "true"},
    {"tRUE", "\"tRUE\""},
    {"false", "false"},
    {"False", "false"},
    {"FALSE", "false"},
    {"on", "true"},
    {"On", "true"},
    {"ON", "true"},
    {"oN", "\"oN\""},
    {"off", "false"},
    {"Off", "false"},
    {"OFF", "false"},
    {"y", "\"y\""},
    {"n", "\"n\""},
    {"Y", "\"Y\""},
    {"N", "\"N\""},
    /* int */
    {"0", "0"},
    {"7", "7"},
    {"-7", "-7"},
    {"+7", "7"},
    {"1_000", "1000"},
    {"1__0", "10"},
    {"017", "15"},
    {"-017", "-15"},
    {"0_17", "15"},
    {"00", "0"},
    {"0_", "0"},
    {"-0", "0"},
    {"+0", "0"},
    {"08", "\"08\""},
    {"0o17", "\"0o17\""},
    {"0b101", "5"},
    {"-0b101", "-5"},
    {"0b_1", "1"},
    {"0b", "\"0b\""},
    {"0b_", "\"0b_\""}, /* PyYAML: ValueError from int('', 2) */
    {"0b2", "\"0b2\""},
    {"0x1F", "31"},
    {"0x_A", "10"},
    {"-0x1F", "-31"},
    {"0xg", "\"0xg\""},
    {"0x", "\"0x\""},
    {"0x_", "\"0x_\""}, /* PyYAML: ValueError from int('', 16) */
    {"0X1F", "\"0X1F\""},
    {"1:30", "90"},
    {"-1:30", "-90"},
    {"1:5", "65"},
    {"1_0:30", "630"},
    {"1_:30", "90"},
    {"190:20:30", "685230"},
    {"1:60", "\"1:60\""},
    {"1:05:30", "3930"},
    {"0:30", "\"0:30\""},
    {"1:", "\"1:\""},
    {"1::30", "\"1::30\""},
    {"9223372036854775807", "9223372036854775807"},
    {"9223372036854775808", "\"9223372036854775808\""}, /* PyYAML: an int beyond int64 */
    {"-9223372036854775808", "-9223372036854775808"},
    {"-9223372036854775809", "\"-9223372036854775809\""}, /* PyYAML: an int beyond int64 */
    {"0x7fffffffffffffff", "9223372036854775807"},
    {"0x8000000000000000", "\"0x8000000000000000\""}, /* PyYAML: an int beyond int64 */
    {"-0x8000000000000000", "-9223372036854775808"},
    {"0777777777777777777777", "9223372036854775807"},
    {"01000000000000000000000", "\"01000000000000000000000\""}, /* PyYAML: an int beyond int64 */
    {"64", "64"},
    {"1 2", "\"1 2\""},
    {"12abc", "\"12abc\""},
    /* float */
    {"1.", "1.0"},
    {"1.5", "1.5"},
    {"-1.5", "-1.5"},
    {"+1.5", "1.5"},
    {".5", "0.5"},
    {"+.5", "\"+.5\""},
    {"-.5", "\"-.5\""},
    {"._5", "0.5"},
    {"._", "\"._\""}, /* PyYAML: ValueError from float('.') */
    {"._e+1", "\"._e+1\""}, /* PyYAML: ValueError from float('.e+1') */
    {"1_000.5", "1000.5"},
    {"1._", "1.0"},
    {"0.001", "0.001"},
    {"1e5", "\"1e5\""},
    {"2e-4", "\"2e-4\""},
    {"1.5e3", "\"1.5e3\""},
    {"1.5e+3", "1500.0"},
    {"1.5E+3", "1500.0"},
    {"1.5e-3", "0.0015"},
    {"1.e+5", "100000.0"},
    {"12e03", "\"12e03\""},
    {"1.5e+", "\"1.5e+\""},
    {"1.5e", "\"1.5e\""},
    {".5e-1", "0.05"},
    {"1:30.5", "90.5"},
    {"-1:30.5", "-90.5"},
    {"0:30.5", "30.5"},
    {"1:30.", "90.0"},
    {"1:30", "90"},
    {"190:20:30.15", "685230.15"},
    {"1:60.5", "\"1:60.5\""},
    {".inf", "Infinity"},
    {".Inf", "Infinity"},
    {".INF", "Infinity"},
    {"-.inf", "-Infinity"},
    {"+.inf", "Infinity"},
    {".iNf", "\".iNf\""},
    {"inf", "\"inf\""},
    {"-inf", "\"-inf\""},
    {".nan", "NaN"},
    {".NaN", "NaN"},
    {".NAN", "NaN"},
    {"+.nan", "\"+.nan\""},
    {"-.nan", "\"-.nan\""},
    {"nan", "\"nan\""},
    {"1e400", "\"1e400\""},
    {"1.0e+400", "Infinity"},
    {"-0.0", "-0.0"},
    {"0.1", "0.1"},
    /* other strings */
    {"abc", "\"abc\""},
    {"relu", "\"relu\""},
    {"2001-12-14", "\"2001-12-14\""}, /* PyYAML: datetime.date */
    {"2001-12-14t21:59:43.10-05:00", "\"2001-12-14t21:59:43.10-05:00\""}, /* PyYAML: datetime */
    {"<<", "\"<<\""}, /* PyYAML: the merge tag */
    {"=", "\"=\""}, /* PyYAML: the value tag */
    {"1.2.3", "\"1.2.3\""},
    {"a: b", "\"a: b\""},
    {"-", "\"-\""},
    {"+", "\"+\""},
    {".", "\".\""},
    {"_1", "\"_1\""},
    {"0.0.0.0", "\"0.0.0.0\""},
    {"~/data", "\"~/data\""},
    {"1,000", "\"1,000\""},
};

static const struct resolve_case json_cases[] = {
    {"true", "true"},
    {"false", "false"},
    {"null", "null"},
    {"True", NULL},
    {"NULL", NULL},
    {"NaN", "NaN"},
    {"nan", NULL},
    {"Infinity", "Infinity"},
    {"-Infinity", "-Infinity"},
    {"+Infinity", NULL},
    {"inf", NULL},
    {"0", "0"},
    {"-0", "0"},
    {"7", "7"},
    {"-7", "-7"},
    {"+7", NULL},
    {"01", NULL},
    {"00", NULL},
    {"-01", NULL},
    {"1.5", "1.5"},
    {"-1.5", "-1.5"},
    {"1.", NULL},
    {".5", NULL},
    {"1.0", "1.0"},
    {"-0.0", "-0.0"},
    {"1e5", "100000.0"},
    {"1E5", "100000.0"},
    {"1e+5", "100000.0"},
    {"1e-5", "1e-05"},
    {"1.5e3", "1500.0"},
    {"1e", NULL},
    {"1e+", NULL},
    {"2e-4", "0.0002"},
    {"1e400", "Infinity"},
    {"-1e400", "-Infinity"},
    {"9223372036854775807", "9223372036854775807"},
    {"9223372036854775808", NULL}, /* Python: an int beyond int64 */
    {"-9223372036854775808", "-9223372036854775808"},
    {"-9223372036854775809", NULL}, /* Python: an int beyond int64 */
    {"0x1F", NULL},
    {"1_000", NULL},
    {"-", NULL},
    {"", NULL},
    {"abc", NULL},
    {"1 ", NULL},
    {" 1", NULL},
    {"1 2", NULL},
    {"0.1", "0.1"},
};

/* Checks one row: v is what kurc made of c->in (NULL for none). */
static void check(const char *what, size_t i, const struct resolve_case *c, struct kurc_value *v) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    if (v)
        kurc_json_dump(v, -1, false, &sb);
    if ((v != NULL) != (c->json != NULL) || (v && strcmp(sb.data, c->json) != 0))
        fail_msg("%s case %zu: \"%s\": expected %s, got %s", what, i, c->in,
                 c->json ? c->json : "NULL", v ? sb.data : "NULL");
    kurc_strbuf_free(&sb);
    kurc_value_free(v);
}

static void test_yaml(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof yaml_cases / sizeof yaml_cases[0]; i++) {
        const struct resolve_case *c = &yaml_cases[i];
        check("yaml", i, c, kurc_yaml_resolve_plain(c->in, strlen(c->in), NULL));
    }
}

static void test_json(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
        const struct resolve_case *c = &json_cases[i];
        check("json", i, c, kurc_json_resolve_plain(c->in, strlen(c->in), NULL));
    }
}

/* Only len bytes count, and the result carries the location. */
static void test_len_and_loc(void **state) {
    (void)state;
    struct kurc_loc loc = {"Kurfile.yml", 4, 9};
    struct kurc_value *v = kurc_yaml_resolve_plain("1234", 2, &loc);
    assert_int_equal(v->kind, KURC_INT);
    assert_int_equal(v->u.i, 12);
    assert_int_equal(v->loc.line, 4);
    assert_int_equal(v->loc.col, 9);
    kurc_value_free(v);
    v = kurc_yaml_resolve_plain("yes!", 3, &loc);
    assert_int_equal(v->kind, KURC_BOOL);
    kurc_value_free(v);
    v = kurc_yaml_resolve_plain("a\0b", 3, &loc);
    assert_int_equal(v->kind, KURC_STR);
    assert_int_equal(v->u.str.len, 3);
    kurc_value_free(v);
    v = kurc_json_resolve_plain("-12e", 3, &loc);
    assert_int_equal(v->kind, KURC_INT);
    assert_int_equal(v->u.i, -12);
    assert_string_equal(v->loc.file, "Kurfile.yml");
    kurc_value_free(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_len_and_loc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
