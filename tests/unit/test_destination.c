/* test_destination.c - evaluation destinations: the format chosen by name
 * or extension (and the error for an unknown one), the .npy headers inside
 * an .npz, names HDF5 cannot hold, and unwritable paths.  Python reads the
 * files back in tests/io/check_destination.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/destination.h"
#include "iotest.h"

static struct iot_dir dir;
static float data[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

static int setup(void **state) {
    (void)state;
    iot_dir_make(&dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    iot_dir_remove(&dir);
    return 0;
}

/* One result "labels" of 3 samples of shape (2, 2). */
static enum kurc_status write_one(const char *name, const char *format, const char *output,
                                  struct kurc_err *err, char **path) {
    struct kurc_named_array a = {output, kurc_shape_make(2, (const int64_t[]){2, 2}), 3, data};
    *path = iot_path(&dir, name);
    return kurc_destination_write(*path, format, &a, 1, NULL, 0, err);
}

static void expect_error(const char *name, const char *format, const char *output,
                         enum kurc_status want, const char *text) {
    struct kurc_err err;
    char *path;
    enum kurc_status st = write_one(name, format, output, &err, &path);
    char got[2048], expect[2048];
    kurc_err_format(&err, got, sizeof got);
    snprintf(expect, sizeof expect, "%s: %s", path, text);
    if (st != want || strcmp(got, expect) != 0)
        fail_msg("status %d (want %d)\n  %s\nwant\n  %s", st, want, got, expect);
    free(path);
}

static void test_formats(void **state) {
    (void)state;
    expect_error("out.txt", NULL, "labels", KURC_E_CONFIG,
                 "unknown output format 'txt'; use one of pkl, pickle, h5, hdf5, npz");
    expect_error("out.pkl", "csv", "labels", KURC_E_CONFIG,
                 "unknown output format 'csv'; use one of pkl, pickle, h5, hdf5, npz");
    expect_error("out", NULL, "labels", KURC_E_CONFIG,
                 "cannot tell the output format without an extension; use one of pkl, pickle, "
                 "h5, hdf5, npz");
    expect_error("out.h5", NULL, "a/b", KURC_E_IO,
                 "output 'a/b' cannot be an HDF5 dataset name (empty, '.', or holding '/')");
    assert_false(iot_exists(&dir, "out.txt"));

    /* extensions in any case; a format overrides the extension */
    struct kurc_err err;
    char *path;
    static const char *const names[] = {"a.PKL", "b.Pickle", "c.h5", "d.HDF5", "e.npz"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_int_equal(write_one(names[i], NULL, "labels", &err, &path), KURC_OK);
        free(path);
    }
    assert_int_equal(write_one("f.txt", "npz", "labels", &err, &path), KURC_OK);
    FILE *f = fopen(path, "rb");
    char magic[4];
    assert_int_equal(fread(magic, 1, 4, f), 4);
    fclose(f);
    assert_memory_equal(magic, "PK\3\4", 4);
    free(path);

    /* a directory that does not exist */
    assert_int_equal(write_one("no/such/dir/out.pkl", NULL, "labels", &err, &path), KURC_E_IO);
    assert_non_null(strstr(err.msg, "cannot create"));
    free(path);
    assert_int_equal(write_one("no/such/dir/out.h5", NULL, "labels", &err, &path), KURC_E_IO);
    assert_non_null(strstr(err.msg, "cannot create"));
    free(path);
}

/* The .npz entry: a ZIP local header (30 bytes + name + 20 of extra
 * fields), then the .npy header padded to 64 bytes, then the floats. */
static void test_npy_header(void **state) {
    (void)state;
    struct kurc_err err;
    char *path;
    assert_int_equal(write_one("h.npz", NULL, "labels", &err, &path), KURC_OK);
    FILE *f = fopen(path, "rb");
    unsigned char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    free(path);
    const char *name = "result/labels.npy";
    size_t at = 30 + strlen(name) + 20;
    assert_true(n > at + 64 + sizeof data);
    assert_memory_equal(buf + 30, name, strlen(name));
    assert_memory_equal(buf + at, "\x93NUMPY\x01\x00", 8);
    size_t header_len = buf[at + 8] | (size_t)buf[at + 9] << 8;
    assert_int_equal((10 + header_len) % 64, 0);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2, 2), }";
    assert_memory_equal(buf + at + 10, dict, strlen(dict));
    assert_int_equal(buf[at + 10 + header_len - 1], '\n');
    assert_int_equal(buf[at + 10 + header_len - 2], ' ');
    assert_memory_equal(buf + at + 10 + header_len, data, sizeof data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_npy_header),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
