/* test_suppliers_text.c - the csv and jsonl suppliers: headers, delimiters
 * (given and sniffed), quoting, packaging, shapes, and the errors for bad
 * cells, ragged lists and missing keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "data/supplier.h"
#include "datatest.h"
#include "package_double.h"

/* Runs supplier `name` on params (YAML text of a mapping). */
static enum kurc_status run(const char *name, const char *params, struct kurc_dataset *d,
                            struct kurc_err *err) {
    const struct kurc_supplier_type *type = kurc_supplier_find(name);
    assert_non_null(type);
    struct kurc_value *p = dt_yaml(params);
    struct kurc_loc where = {"test.yml", 7, 3};
    kurc_dataset_init(d);
    enum kurc_status st = type->load(p, &where, d, err);
    if (st)
        kurc_dataset_release(d);
    return st;
}

/* Checks source `name`: its count, shape (1,) and values. */
static void expect_column(const struct kurc_dataset *d, const char *name, const float *values,
                          int64_t count) {
    const struct kurc_source *s = kurc_dataset_find(d, name);
    assert_non_null(s);
    assert_int_equal(s->count, count);
    assert_int_equal(s->shape.ndim, 1);
    assert_int_equal(s->shape.dim[0], 1);
    for (int64_t i = 0; i < count; i++)
        assert_float_equal(s->data[i], values[i], 0);
}

static void test_csv_header(void **state) {
    (void)state;
    dt_write("h.csv", "a,b,c\n1,2.5,-3\n4,5e2, 6 \n\n");
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(run("csv", "{path: h.csv}", &d, &err), &err);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.sources[0].name, "a");
    assert_string_equal(d.sources[2].name, "c");
    expect_column(&d, "a", (const float[]){1, 4}, 2);
    expect_column(&d, "b", (const float[]){2.5f, 500}, 2);
    expect_column(&d, "c", (const float[]){-3, 6}, 2);
    assert_string_equal(d.sources[0].origin, "h.csv");
    kurc_dataset_release(&d);
    /* A header and no rows: sources without samples. */
    dt_write("empty.csv", "a,b\n");
    dt_expect_ok(run("csv", "{path: empty.csv}", &d, &err), &err);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.sources[0].count, 0);
    kurc_dataset_release(&d);
}

static void test_csv_no_header(void **state) {
    (void)state;
    dt_write("n.csv", "1,2\r\n3,4\r\n");
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(run("csv", "{path: n.csv, header: no}", &d, &err), &err);
    assert_int_equal(d.n, 2);
    expect_column(&d, "column_0", (const float[]){1, 3}, 2);
    expect_column(&d, "column_1", (const float[]){2, 4}, 2);
    kurc_dataset_release(&d);
}

static void test_csv_delimiters(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    /* Sniffed: each candidate on its own. */
    const char *files[][2] = {
        {"tab.csv", "x\ty\n1\t2\n"},
        {"semi.csv", "x;y\n1;2\n"},
        {"pipe.csv", "x|y\n1|2\n"},
        {"comma.csv", "x,y\n1,2\n"},
    };
    for (size_t i = 0; i < 4; i++) {
        dt_write(files[i][0], files[i][1]);
        char params[64];
        snprintf(params, sizeof params, "{path: %s}", files[i][0]);
        dt_expect_ok(run("csv", params, &d, &err), &err);
        assert_int_equal(d.n, 2);
        expect_column(&d, "y", (const float[]){2}, 1);
        kurc_dataset_release(&d);
    }
    /* Sniffing prefers the delimiter that is consistent on every line:
     * ';' (twice a line), not ',' (preferred, but on the first line only). */
    dt_write("mixed.csv", "a,x;b;c\n1;2;3\n4;5;6\n");
    dt_expect_ok(run("csv", "{path: mixed.csv}", &d, &err), &err);
    assert_int_equal(d.n, 3);
    expect_column(&d, "a,x", (const float[]){1, 4}, 2);
    kurc_dataset_release(&d);
    /* Blanks after every delimiter of the first line are skipped. */
    dt_write("spaced.csv", "a, b, \"c\"\n1, 2, 3\n4,5,  6\n");
    dt_expect_ok(run("csv", "{path: spaced.csv}", &d, &err), &err);
    assert_string_equal(d.sources[1].name, "b");
    assert_string_equal(d.sources[2].name, "c");
    expect_column(&d, "c", (const float[]){3, 6}, 2);
    kurc_dataset_release(&d);
    dt_write("unspaced.csv", "a,b, c\n1,2,3\n");
    dt_expect_ok(run("csv", "{path: unspaced.csv}", &d, &err), &err);
    assert_string_equal(d.sources[2].name, " c");
    kurc_dataset_release(&d);
    /* A single column: no delimiter at all. */
    dt_write("single.csv", "value\n1.5\n2.5\n");
    dt_expect_ok(run("csv", "{path: single.csv}", &d, &err), &err);
    expect_column(&d, "value", (const float[]){1.5f, 2.5f}, 2);
    kurc_dataset_release(&d);
    /* Given: the file's commas are part of nothing, '|' separates. */
    dt_write("given.csv", "p|q\n1|2\n3|4\n");
    dt_expect_ok(run("csv", "{path: given.csv, format: {delimiter: '|'}}", &d, &err), &err);
    expect_column(&d, "q", (const float[]){2, 4}, 2);
    kurc_dataset_release(&d);
    dt_expect_error(run("csv", "{path: given.csv, format: {delimiter: '||'}}", &d, &err), &err,
                    KURC_E_CONFIG, "csv: format.delimiter must be one character, not '||'");
}

static void test_csv_quotes(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    /* Quoted names may hold delimiters, quotes and line breaks. */
    dt_write("q.csv", "\"a,1\",\"say \"\"b\"\"\",\"multi\nline\"\n\"1\",2,\"3\"\n4,\"5\",6\n");
    dt_expect_ok(run("csv", "{path: q.csv, format: {delimiter: ','}}", &d, &err), &err);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.sources[0].name, "a,1");
    assert_string_equal(d.sources[1].name, "say \"b\"");
    assert_string_equal(d.sources[2].name, "multi\nline");
    expect_column(&d, "a,1", (const float[]){1, 4}, 2);
    kurc_dataset_release(&d);
    /* Another quote character. */
    dt_write("sq.csv", "'x;y';z\n'1';2\n");
    dt_expect_ok(run("csv", "{path: sq.csv, format: {delimiter: ';', quote: \"'\"}}", &d, &err),
                 &err);
    expect_column(&d, "x;y", (const float[]){1}, 1);
    kurc_dataset_release(&d);
    dt_write("open.csv", "a,b\n1,\"2\n3,4\n");
    dt_expect_error(run("csv", "{path: open.csv}", &d, &err), &err, KURC_E_DATA,
                    "open.csv:2: a quoted field is not closed before the end of the file");
}

static void test_csv_errors(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    /* The line counts the line break inside the quoted header name. */
    dt_write("bad.csv", "a,\"b\nc\"\n1,2\n\n3,oops\n");
    dt_expect_error(run("csv", "{path: bad.csv}", &d, &err), &err, KURC_E_DATA,
                    "test.yml:7:3: csv: bad.csv:5: column 2 ('b\nc'): 'oops' is not a number");
    dt_write("blank.csv", "a,b\n1,\n");
    dt_expect_error(run("csv", "{path: blank.csv}", &d, &err), &err, KURC_E_DATA,
                    "csv: blank.csv:2: column 2 ('b'): '' is not a number");
    dt_write("hex.csv", "a\n0x10\n");
    dt_expect_error(run("csv", "{path: hex.csv}", &d, &err), &err, KURC_E_DATA,
                    "'0x10' is not a number");
    dt_write("big.csv", "a\n1e39\n");
    dt_expect_error(run("csv", "{path: big.csv}", &d, &err), &err, KURC_E_DATA,
                    "'1e39' is NaN, infinite or beyond the float32 range");
    dt_write("short.csv", "a,b,c\n1,2,3\n4,5\n");
    dt_expect_error(run("csv", "{path: short.csv}", &d, &err), &err, KURC_E_DATA,
                    "csv: short.csv:3: expected 3 fields, found 2");
    dt_write("dup.csv", "a,b,a\n1,2,3\n");
    dt_expect_error(run("csv", "{path: dup.csv}", &d, &err), &err, KURC_E_DATA,
                    "csv: dup.csv:1: the header names two columns 'a' (1 and 3)");
    dt_write("nothing.csv", "\n\n");
    dt_expect_error(run("csv", "{path: nothing.csv}", &d, &err), &err, KURC_E_DATA,
                    "csv: nothing.csv has no records");
    dt_expect_error(run("csv", "{path: absent.csv}", &d, &err), &err, KURC_E_IO,
                    "test.yml:7:3: csv: cannot open absent.csv: No such file or directory");
    dt_expect_error(run("csv", "{header: yes}", &d, &err), &err, KURC_E_CONFIG,
                    "csv: needs a 'path' or a 'url'");
    dt_expect_error(run("csv", "{path: 3}", &d, &err), &err, KURC_E_CONFIG,
                    "test.yml:1:8: csv: 'path' must be a string, not an integer");
    /* Special values Python's float() reads are refused, where they are */
    static const char *const special[] = {"inf", "-Infinity", "nan", "1e400"};
    for (int i = 0; i < 4; i++) {
        char *text = kurc_xasprintf("a,b\n1,2\n3,%s\n", special[i]);
        char *want = kurc_xasprintf("test.yml:7:3: csv: special.csv:3: column 2 ('b'): '%s' is "
                                    "NaN, infinite or beyond the float32 range",
                                    special[i]);
        dt_write("special.csv", text);
        dt_expect_error(run("csv", "{path: special.csv}", &d, &err), &err, KURC_E_DATA, want);
        free(text);
        free(want);
    }
    /* A NUL byte would cut a cell short */
    FILE *f = fopen("nul.csv", "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("a,b\n1,2\n3,4\0"
                            "5\n",
                            1, 14, f),
                     14);
    fclose(f);
    dt_expect_error(run("csv", "{path: nul.csv}", &d, &err), &err, KURC_E_DATA,
                    "test.yml:7:3: csv: nul.csv:3: a NUL byte (byte offset 11); a CSV file holds "
                    "text");
    /* A header alone gives no samples */
    dt_write("header.csv", "a,b\n");
    dt_expect_error(kurc_data_load(dt_yaml("- csv: {path: header.csv}"), &d, &err), &err,
                    KURC_E_DATA,
                    "test.yml:1:3: the csv supplier gave no samples: source 'a' (header.csv) is "
                    "empty");
}

static void test_csv_packaging(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    dt_write("fetched.csv", "f\n7\n");
    char *local = dt_path("fetched.csv");
    package_double_resolve_to(local);
    dt_expect_ok(run("csv",
                     "{url: 'http://example.com/data.csv', checksum: abc, path: cache, "
                     "header: yes}",
                     &d, &err),
                 &err);
    expect_column(&d, "f", (const float[]){7}, 1);
    assert_string_equal(d.sources[0].origin, local);
    kurc_dataset_release(&d);
    /* The fetcher sees the packaging keys and nothing else. */
    const struct kurc_value *spec = package_double_last_spec();
    assert_int_equal(spec->u.map.len, 3);
    assert_string_equal(kurc_map_get(spec, "url")->u.str.s, "http://example.com/data.csv");
    assert_string_equal(kurc_map_get(spec, "checksum")->u.str.s, "abc");
    assert_string_equal(kurc_map_get(spec, "path")->u.str.s, "cache");
    /* A local path with a checksum is checked by the fetcher too. */
    int calls = package_double_calls();
    dt_expect_ok(run("csv", "{path: fetched.csv, checksum: abc}", &d, &err), &err);
    assert_int_equal(package_double_calls(), calls + 1);
    assert_null(kurc_map_get(package_double_last_spec(), "url"));
    kurc_dataset_release(&d);
    /* A bare path is opened directly ($VAR expanded). */
    setenv("KURC_TEST_CSV", "fetched", 1);
    dt_expect_ok(run("csv", "{path: $KURC_TEST_CSV.csv}", &d, &err), &err);
    assert_int_equal(package_double_calls(), calls + 1);
    kurc_dataset_release(&d);
    /* Fetch failures without a place get the supplier's. */
    package_double_resolve_to(NULL);
    dt_expect_error(run("csv", "{url: 'http://example.com/x.csv'}", &d, &err), &err, KURC_E_IO,
                    "test.yml:7:3: csv: fetch failed (test double)");
    free(local);
    package_double_reset();
}

static void test_jsonl_values(void **state) {
    (void)state;
    dt_write("v.jsonl",
             "{\"s\": 1, \"f\": 2.5, \"b\": true, \"m\": [[1, 2, 3], [4, 5, 6]], \"l\": [0]}\n"
             "\n"
             "   \n"
             "{\"l\": [1], \"m\": [[7, 8, 9], [10, 11, 12]], \"b\": false, \"f\": -1, \"s\": 2}\r\n");
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(run("jsonl", "{source: v.jsonl}", &d, &err), &err);
    assert_int_equal(d.n, 5);
    const char *order[] = {"s", "f", "b", "m", "l"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(d.sources[i].name, order[i]);
    expect_column(&d, "s", (const float[]){1, 2}, 2);
    expect_column(&d, "f", (const float[]){2.5f, -1}, 2);
    expect_column(&d, "b", (const float[]){1, 0}, 2);
    expect_column(&d, "l", (const float[]){0, 1}, 2);
    const struct kurc_source *m = kurc_dataset_find(&d, "m");
    assert_int_equal(m->shape.ndim, 2);
    assert_int_equal(m->shape.dim[0], 2);
    assert_int_equal(m->shape.dim[1], 3);
    for (int i = 0; i < 12; i++)
        assert_float_equal(m->data[i], (float)(i + 1), 0);
    kurc_dataset_release(&d);
}

static void test_jsonl_errors(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    dt_write("ragged.jsonl", "{\"a\": [[1, 2], [3]]}\n");
    dt_expect_error(run("jsonl", "{source: ragged.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "test.yml:7:3: jsonl: ragged.jsonl:1: key 'a' is not a rectangular list of "
                    "numbers");
    dt_write("ragged2.jsonl", "{\"a\": [1, 2]}\n{\"a\": [1, [2]]}\n");
    dt_expect_error(run("jsonl", "{source: ragged2.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: ragged2.jsonl:2: key 'a' is not a rectangular list of numbers");
    dt_write("shape.jsonl", "{\"a\": [1, 2]}\n\n{\"a\": [1, 2, 3]}\n");
    dt_expect_error(run("jsonl", "{source: shape.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: shape.jsonl:3: key 'a' has shape (3,), but (2,) on the first line");
    dt_write("missing.jsonl", "{\"a\": 1, \"b\": 2}\n{\"a\": 1, \"b\": 2}\n\n{\"a\": 3}\n");
    dt_expect_error(run("jsonl", "{source: missing.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: missing.jsonl:4: missing key 'b'");
    dt_write("extra.jsonl", "{\"a\": 1}\n{\"a\": 1, \"z\": 2}\n");
    dt_expect_error(run("jsonl", "{source: extra.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: extra.jsonl:2: key 'z' is not on the first line");
    dt_write("string.jsonl", "{\"a\": 1}\n{\"a\": \"one\"}\n");
    dt_expect_error(run("jsonl", "{source: string.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: string.jsonl:2: key 'a' holds something other than numbers");
    dt_write("syntax.jsonl", "{\"a\": 1}\n{\"a\": 1,,}\n");
    dt_expect_error(run("jsonl", "{source: syntax.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: syntax.jsonl:2:");
    dt_write("array.jsonl", "[1, 2]\n");
    dt_expect_error(run("jsonl", "{source: array.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: array.jsonl:1: expected a JSON object, found a list");
    dt_write("empty_list.jsonl", "{\"a\": []}\n");
    dt_expect_error(run("jsonl", "{source: empty_list.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "key 'a' holds an empty list");
    dt_write("blank.jsonl", "\n \n");
    dt_expect_error(run("jsonl", "{source: blank.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: blank.jsonl has no lines");
    dt_write("huge.jsonl", "{\"a\": 1e300}\n");
    dt_expect_error(run("jsonl", "{source: huge.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "key 'a' holds NaN, an infinity or a number beyond the float32 range");
    /* a directory or a device says so (not "Input/output error") */
    assert_int_equal(mkdir("dir.jsonl", 0755), 0);
    dt_expect_error(run("jsonl", "{source: dir.jsonl}", &d, &err), &err, KURC_E_IO,
                    "jsonl: cannot open dir.jsonl: Is a directory");
    rmdir("dir.jsonl");
    dt_expect_error(run("jsonl", "{source: /dev/zero}", &d, &err), &err, KURC_E_IO,
                    "jsonl: cannot open /dev/zero: it is a device, not a file");
    dt_write("inf.jsonl", "{\"a\": [1, 2]}\n{\"a\": [3, 1e400]}\n");
    dt_expect_error(run("jsonl", "{source: inf.jsonl}", &d, &err), &err, KURC_E_DATA,
                    "jsonl: inf.jsonl:2: key 'a' holds NaN, an infinity or a number beyond the "
                    "float32 range");
    dt_expect_error(run("jsonl", "{}", &d, &err), &err, KURC_E_CONFIG,
                    "jsonl: needs a 'source' file");
}

/* Wide files load in linear time: name lookups are hashed (100k columns
 * took minutes when each name was compared with every other).  last names
 * the last column. */
static char *wide_csv(int n, const char *last) {
    char *text = malloc((size_t)n * 16 + 64), *p = text;
    for (int i = 0; i + 1 < n; i++)
        p += sprintf(p, "c%d,", i);
    p += sprintf(p, "%s\n", last);
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%d%c", i, i + 1 < n ? ',' : '\n');
    return text;
}

static void test_csv_wide(void **state) {
    (void)state;
    enum { N = 100000 };
    char *text = wide_csv(N, "last");
    dt_write("wide.csv", text);
    free(text);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(run("csv", "{path: wide.csv}", &d, &err), &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    print_message("%d columns loaded in %.2f s\n", N, took);
    assert_true(took < 30);
    assert_int_equal(d.n, N);
    expect_column(&d, "c99998", (const float[]){99998}, 1);
    expect_column(&d, "last", (const float[]){99999}, 1);
    kurc_dataset_release(&d);
    /* the last name repeats the second: found through the hash */
    text = wide_csv(N, "c1");
    dt_write("wide.csv", text);
    free(text);
    dt_expect_error(run("csv", "{path: wide.csv}", &d, &err), &err, KURC_E_DATA,
                    "wide.csv:1: the header names two columns 'c1' (2 and 100000)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_header),     cmocka_unit_test(test_csv_no_header),
        cmocka_unit_test(test_csv_delimiters), cmocka_unit_test(test_csv_quotes),
        cmocka_unit_test(test_csv_errors),     cmocka_unit_test(test_csv_wide),     cmocka_unit_test(test_csv_packaging),
        cmocka_unit_test(test_jsonl_values),   cmocka_unit_test(test_jsonl_errors),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
