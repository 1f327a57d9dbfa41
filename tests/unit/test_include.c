/* test_include.c - include forms, Kur's merge methods, relative paths,
 * globs, cycles and missing files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/include.h"
#include "config/merge.h"
#include "config/value/json_dump.h"
#include "config/yaml_load.h"
#include "iotest.h"

static struct iot_dir scratch; /* the test's files */

static void write_file(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch.path, name);
    for (char *slash = strchr(path + strlen(scratch.path) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static enum kurc_status load(const char *name, char **json, struct kurc_err *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch.path, name);
    struct kurc_sources *sources = kurc_sources_create();
    struct kurc_value *v = NULL;
    enum kurc_status st = kurc_include_load(sources, path, &v, err);
    if (st == KURC_OK) {
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        kurc_json_dump(v, -1, true, &sb);
        *json = kurc_strbuf_take(&sb);
    }
    kurc_value_free(v);
    kurc_sources_free(sources);
    return st;
}

static void expect(const char *name, const char *json) {
    char *got = NULL;
    struct kurc_err err;
    if (load(name, &got, &err)) {
        fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
        fail();
    }
    assert_string_equal(got, json);
    free(got);
}

static void expect_error(const char *name, const char *file, int line, const char *msg_part) {
    char *got = NULL;
    struct kurc_err err;
    assert_int_equal(load(name, &got, &err), KURC_E_CONFIG);
    char expected_file[512];
    snprintf(expected_file, sizeof expected_file, "%s/%s", scratch.path, file);
    assert_string_equal(err.file, expected_file);
    assert_int_equal(err.line, line);
    if (!strstr(err.msg, msg_part)) {
        fprintf(stderr, "message '%s' lacks '%s'\n", err.msg, msg_part);
        fail();
    }
}

static int setup(void **state) {
    (void)state;
    iot_dir_make(&scratch);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    iot_dir_remove(&scratch);
    return 0;
}

/* Kur's mnist example: lists blend element by element, the includer wins. */
static void test_blend_lists(void **state) {
    (void)state;
    write_file("defaults.yml", "train:\n  data:\n    - mnist: {images: {checksum: c1, path: p},"
                               " labels: {checksum: c2}}\n  epochs: 10\n");
    write_file("main.yml", "train:\n  data:\n    - mnist: {images: {url: u1}, labels: {url: u2}}\n"
                           "  epochs: 3\ninclude: defaults.yml\n");
    expect("main.yml", "{\"train\": {\"data\": [{\"mnist\": {\"images\": {\"checksum\": \"c1\", "
                       "\"path\": \"p\", \"url\": \"u1\"}, \"labels\": {\"checksum\": \"c2\", "
                       "\"url\": \"u2\"}}}], \"epochs\": 3}}");
}

static void test_methods(void **state) {
    (void)state;
    write_file("lists.yml", "a: [1, 2, 3]\nm: {x: [9]}\n");
    write_file("blend.yml", "include: [{source: lists.yml, method: blend}]\na: [7]\n");
    expect("blend.yml", "{\"a\": [7, 2, 3], \"m\": {\"x\": [9]}}");
    write_file("merge.yml", "include: [{source: lists.yml, method: merge}]\na: [7]\n");
    expect("merge.yml", "{\"a\": [7], \"m\": {\"x\": [9]}}");
    write_file("concat.yml", "include: {source: lists.yml, method: concat}\na: [7]\nm: {x: [8]}\n");
    expect("concat.yml", "{\"a\": [1, 2, 3, 7], \"m\": {\"x\": [9, 8]}}");
}

/* The method on an entry governs how that file merges into its includer,
 * not how its own includes merge (Kur's bug, fixed as documented). */
static void test_method_level(void **state) {
    (void)state;
    write_file("lvl/leaf.yml", "a: [1, 2]\n");
    write_file("lvl/mid.yml", "include: leaf.yml\na: [5]\n");
    write_file("lvl/top.yml", "include: [{source: mid.yml, method: concat}]\na: [9]\n");
    /* mid = blend(leaf, mid) = [5, 2]; top = concat(mid, top) = [5, 2, 9] */
    expect("lvl/top.yml", "{\"a\": [5, 2, 9]}");
}

static void test_nested_relative_and_glob(void **state) {
    (void)state;
    write_file("n/sub/deeper/c.yml", "c: 3\n");
    write_file("n/sub/b.yml", "include: deeper/c.yml\nb: 2\n");
    write_file("n/a.yml", "include: [sub/b.yml]\na: 1\n");
    expect("n/a.yml", "{\"a\": 1, \"b\": 2, \"c\": 3}");
    write_file("g/parts/p1.yml", "x: [1]\n");
    write_file("g/parts/p2.yml", "y: 2\n");
    write_file("g/parts/more/p3.yml", "z: 3\n");
    write_file("g/main.yml", "include: {source: 'parts/**/*.yml', method: concat}\n");
    expect("g/main.yml", "{\"x\": [1], \"y\": 2, \"z\": 3}");
    write_file("g/json.yml", "include: j.json\nw: 1\n");
    write_file("g/j.json", "{\"v\": 2e0}");
    expect("g/json.yml", "{\"v\": 2.0, \"w\": 1}");
}

static void test_merge_order_of_several(void **state) {
    (void)state;
    write_file("o/one.yml", "k: 1\nonly1: 1\n");
    write_file("o/two.yml", "k: 2\nonly2: 2\n");
    write_file("o/main.yml", "include: [one.yml, two.yml]\n");
    /* later includes merge under the accumulated data, so the first wins */
    expect("o/main.yml", "{\"k\": 1, \"only1\": 1, \"only2\": 2}");
}

static void test_errors(void **state) {
    (void)state;
    write_file("e/cycle_a.yml", "include: cycle_b.yml\na: 1\n");
    write_file("e/cycle_b.yml", "b: 1\ninclude: cycle_a.yml\n");
    expect_error("e/cycle_a.yml", "e/cycle_b.yml", 2, "include cycle: ");
    write_file("e/missing.yml", "a: 1\ninclude: nothere.yml\n");
    expect_error("e/missing.yml", "e/missing.yml", 2, "include: file '");
    write_file("e/badmethod.yml", "include:\n  - source: x.yml\n    method: mix\n");
    expect_error("e/badmethod.yml", "e/badmethod.yml", 3, "unknown merge method 'mix'");
    write_file("e/badkey.yml", "include:\n  - sourse: x.yml\n");
    expect_error("e/badkey.yml", "e/badkey.yml", 2, "did you mean 'source'?");
    write_file("e/list.yml", "- a\n- b\n");
    expect_error("e/list.yml", "e/list.yml", 1, "must be a mapping of sections, not a list");
    write_file("e/inclist.yml", "include: list.yml\n");
    expect_error("e/inclist.yml", "e/list.yml", 1, "not a list");
    write_file("e/ext.yml", "include: x.txt\n");
    write_file("e/x.txt", "a: 1\n");
    expect_error("e/ext.yml", "e/ext.yml", 1, "a Kurfile ends in .yml, .yaml or .json");
    /* a link to a device is refused, not read until memory runs out */
    assert_int_equal(symlink("/dev/zero", iot_in(&scratch, "e/zero.yml")), 0);
    write_file("e/inczero.yml", "include: zero.yml\n");
    expect_error("e/inczero.yml", "e/inczero.yml", 1, "zero.yml': it is a device, not a file");
    assert_int_equal(mkdir(iot_in(&scratch, "e/dir.yml"), 0755), 0);
    write_file("e/incdir.yml", "include: dir.yml\n");
    expect_error("e/incdir.yml", "e/incdir.yml", 1, "dir.yml': it is a directory");
}

/* A file reached twice through different branches is read once. */
static void test_diamond(void **state) {
    (void)state;
    write_file("d/base.yml", "v: [1]\n");
    write_file("d/left.yml", "include: base.yml\nl: 1\n");
    write_file("d/right.yml", "include: base.yml\nr: 1\n");
    write_file("d/top.yml", "include: [left.yml, right.yml]\n");
    expect("d/top.yml", "{\"l\": 1, \"r\": 1, \"v\": [1]}");
}

static struct kurc_value *parse(const char *text) {
    struct kurc_value *v = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_load_buffer(text, strlen(text), KURC_FORMAT_YAML, "m", &v, &err), 0);
    return v;
}

static void check_merge(const char *a, const char *b, enum kurc_merge_method m, const char *json) {
    struct kurc_value *r = kurc_merge(parse(a), parse(b), m);
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_json_dump(r, -1, false, &sb);
    assert_string_equal(sb.data, json);
    kurc_strbuf_free(&sb);
    kurc_value_free(r);
}

/* Kur's mergetools on small values, including key order (base's first). */
static void test_merge_function(void **state) {
    (void)state;
    check_merge("{b: 1, a: {x: 1}}", "{c: 3, a: {y: 2}}", KURC_MERGE_BLEND,
                "{\"b\": 1, \"a\": {\"x\": 1, \"y\": 2}, \"c\": 3}");
    check_merge("[{a: 1}, 2, 3]", "[{b: 2}]", KURC_MERGE_BLEND, "[{\"a\": 1, \"b\": 2}, 2, 3]");
    check_merge("[1]", "[4, 5]", KURC_MERGE_BLEND, "[4, 5]");
    check_merge("{a: [1, 2]}", "{a: 7}", KURC_MERGE_BLEND, "{\"a\": 7}");
    check_merge("{a: 7}", "{a: [1]}", KURC_MERGE_MERGE, "{\"a\": [1]}");
    check_merge("[1, 2]", "[3]", KURC_MERGE_CONCAT, "[1, 2, 3]");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blend_lists),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_method_level),
        cmocka_unit_test(test_nested_relative_and_glob),
        cmocka_unit_test(test_merge_order_of_several),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_diamond),
        cmocka_unit_test(test_merge_function),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
