/* test_yaml_load.c - YAML/JSON loading: PyYAML typing, anchors, merge keys,
 * and errors that name the place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/value/json_dump.h"
#include "config/yaml_load.h"

/* Loads text and returns its compact JSON (Python json.dumps(sort_keys)). */
static char *load_json(const char *text, enum kurc_doc_format format) {
    struct kurc_value *v = NULL;
    struct kurc_err err;
    enum kurc_status st = kurc_load_buffer(text, strlen(text), format, "t.yml", &v, &err);
    if (st) {
        fprintf(stderr, "unexpected error: %s\n", err.msg);
        fail();
    }
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_json_dump(v, -1, true, &sb);
    kurc_value_free(v);
    return kurc_strbuf_take(&sb);
}

static void expect(const char *yaml, enum kurc_doc_format format, const char *json) {
    char *got = load_json(yaml, format);
    assert_string_equal(got, json);
    free(got);
}

/* The error for text: "LINE:COL: message". */
static void expect_error(const char *text, enum kurc_doc_format format, int line, int col,
                         const char *msg) {
    struct kurc_value *v = NULL;
    struct kurc_err err;
    enum kurc_status st = kurc_load_buffer(text, strlen(text), format, "t.yml", &v, &err);
    assert_int_equal(st, KURC_E_CONFIG);
    assert_null(v);
    assert_string_equal(err.file, "t.yml");
    assert_int_equal(err.line, line);
    assert_int_equal(err.col, col);
    assert_string_equal(err.msg, msg);
}

static void test_pyyaml_typing(void **state) {
    (void)state;
    expect("a: yes\nb: Off\nc: ~\nd:\ne: 2e-4\nf: 1.5e+3\ng: 017\nh: 0x1F\ni: 1_000\nj: '5'\n"
           "k: 1:30\nl: .inf\nm: 3.\n",
           KURC_FORMAT_YAML,
           "{\"a\": true, \"b\": false, \"c\": null, \"d\": null, \"e\": \"2e-4\", \"f\": 1500.0, "
           "\"g\": 15, \"h\": 31, \"i\": 1000, \"j\": \"5\", \"k\": 90, \"l\": Infinity, "
           "\"m\": 3.0}");
}

static void test_scalars_and_tags(void **state) {
    (void)state;
    expect("a: >-\n  folded\n  text\nb: |\n  line1\n  line2\nc: !!str 12\nd: !!float 3\n",
           KURC_FORMAT_YAML,
           "{\"a\": \"folded text\", \"b\": \"line1\\nline2\\n\", \"c\": \"12\", \"d\": 3.0}");
    expect("1: one\ntrue: yes\n~: z\n", KURC_FORMAT_YAML,
           "{\"1\": \"one\", \"null\": \"z\", \"true\": true}");
}

static void test_anchors_and_merges(void **state) {
    (void)state;
    expect("base: &b {x: 1, y: 2}\nother: *b\nmerged:\n  <<: *b\n  y: 3\n  z: 4\n",
           KURC_FORMAT_YAML,
           "{\"base\": {\"x\": 1, \"y\": 2}, \"merged\": {\"x\": 1, \"y\": 3, \"z\": 4}, "
           "\"other\": {\"x\": 1, \"y\": 2}}");
    /* In the list form earlier maps win (PyYAML's flatten_mapping). */
    expect("a: &a {k: 1, a: 1}\nb: &b {k: 2, b: 2}\nc:\n  <<: [*a, *b]\n", KURC_FORMAT_YAML,
           "{\"a\": {\"a\": 1, \"k\": 1}, \"b\": {\"b\": 2, \"k\": 2}, "
           "\"c\": {\"a\": 1, \"b\": 2, \"k\": 1}}");
    /* Anchors on a merge source and on a key outlive the nodes they were
     * written on (found by the fuzzer). */
    expect("a:\n  <<: &m {x: 1}\n  y: 2\nb: *m\n&k key: 1\nc: *k\n", KURC_FORMAT_YAML,
           "{\"a\": {\"x\": 1, \"y\": 2}, \"b\": {\"x\": 1}, \"c\": \"key\", \"key\": 1}");
    /* An alias is a copy: changing the merged map leaves the anchor alone. */
    expect("s: &s [1, 2]\nt: *s\n", KURC_FORMAT_YAML, "{\"s\": [1, 2], \"t\": [1, 2]}");
}

static void test_json(void **state) {
    (void)state;
    expect("{\"a\": 1, \"b\": [1.0, 2e3, true, null], \"c\": \"x\\/y\", \"d\": 1E-2}",
           KURC_FORMAT_JSON,
           "{\"a\": 1, \"b\": [1.0, 2000.0, true, null], \"c\": \"x/y\", \"d\": 0.01}");
    expect("{\n\t\"tabs\": \"ok\"\n}", KURC_FORMAT_JSON, "{\"tabs\": \"ok\"}");
}

static void test_empty_document(void **state) {
    (void)state;
    struct kurc_value *v = (struct kurc_value *)1;
    struct kurc_err err;
    assert_int_equal(kurc_load_buffer("# nothing\n", 10, KURC_FORMAT_YAML, "t.yml", &v, &err),
                     KURC_OK);
    assert_null(v);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("a: 1\na: 2\n", KURC_FORMAT_YAML, 2, 1,
                 "duplicate key 'a' (first given at line 1, column 1)");
    expect_error("a: *nope\n", KURC_FORMAT_YAML, 1, 4, "found undefined alias *nope");
    expect_error("a: &x [1, *x]\n", KURC_FORMAT_YAML, 1, 11,
                 "alias *x refers to the node that contains it");
    expect_error("a:\n  <<: 5\n", KURC_FORMAT_YAML, 2, 7,
                 "expected a mapping or list of mappings for merging, but found an integer");
    expect_error("a: [1, 2\n", KURC_FORMAT_YAML, 2, 1,
                 "syntax error: did not find expected ',' or ']' while parsing a flow sequence "
                 "at line 1");
    expect_error("a: 1\n---\nb: 2\n", KURC_FORMAT_YAML, 2, 1,
                 "expected a single document, but found another document");
    expect_error("a: !!python/object:os.system x\n", KURC_FORMAT_YAML, 1, 4,
                 "unsupported YAML tag 'tag:yaml.org,2002:python/object:os.system'");
    expect_error("a: !!int abc\n", KURC_FORMAT_YAML, 1, 4, "'abc' is not a valid !!int");
    expect_error("{\"a\": yes}", KURC_FORMAT_JSON, 1, 7,
                 "not valid JSON: 'yes' is not a number, true, false or null");
    expect_error("a: 1\n", KURC_FORMAT_JSON, 1, 1,
                 "not valid JSON: a block mapping ('key: value') is YAML-only syntax");
    expect_error("{'a': 1}", KURC_FORMAT_JSON, 1, 2,
                 "not valid JSON: a string not in double quotes is YAML-only syntax");
}

static void test_alias_bomb(void **state) {
    (void)state;
    const char *bomb = "a: &a [1,1,1,1,1,1,1,1,1,1]\n"
                       "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                       "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                       "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
    struct kurc_value *v = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_load_buffer(bomb, strlen(bomb), KURC_FORMAT_YAML, "t.yml", &v, &err),
                     KURC_E_CONFIG);
    assert_non_null(strstr(err.msg, "alias bomb"));
}

static void test_deep_nesting(void **state) {
    (void)state;
    char text[2048];
    memset(text, '[', 1000);
    text[1000] = '\0';
    struct kurc_value *v = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_load_buffer(text, strlen(text), KURC_FORMAT_YAML, "t.yml", &v, &err),
                     KURC_E_CONFIG);
    assert_null(v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pyyaml_typing),  cmocka_unit_test(test_scalars_and_tags),
        cmocka_unit_test(test_anchors_and_merges), cmocka_unit_test(test_json),
        cmocka_unit_test(test_empty_document), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_alias_bomb),     cmocka_unit_test(test_deep_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
