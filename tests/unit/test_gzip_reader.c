/* test_gzip_reader.c - the gzip reader (formats/gzip_reader.h) against
 * files written by zlib: the data back in reads of every size, several
 * members in turn, bytes after the last member ignored, and each kind of
 * damage (a CRC-32, a length, the deflate data, a file cut short) reported
 * with the path and how far it got. */
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
#include <zlib.h>

#include "formats/gzip_reader.h"
#include "iotest.h"

static struct iot_dir scratch;

enum { N = 300000 };

/* N bytes that deflate compresses but not to nothing: a repeating ramp
 * with noise from a fixed generator. */
static unsigned char *sample(unsigned seed) {
    unsigned char *b = malloc(N);
    assert_non_null(b);
    for (size_t i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (unsigned char)((i % 251) + ((seed >> 16) & 7));
    }
    return b;
}

/* Appends bytes b[0..n) to FILE path as one gzip member (zlib's gzopen
 * with "ab" starts a new member). */
static void append_member(const char *path, const unsigned char *b, size_t n) {
    gzFile z = gzopen(path, "ab");
    assert_non_null(z);
    assert_int_equal(gzwrite(z, b, (unsigned)n), (int)n);
    assert_int_equal(gzclose(z), Z_OK);
}

static void append_raw(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* Reads path whole in reads of `step` bytes into *out; the status of the
 * last read (0 at the end, -1 on an error) and the byte count in *len. */
static long read_all(const char *path, size_t step, unsigned char **out, size_t *len,
                     struct kurc_err *err) {
    struct kurc_gzip *z;
    assert_int_equal(kurc_gzip_open(path, &z, err), KURC_OK);
    size_t cap = 4 * N + step, n = 0;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    long got;
    while ((got = kurc_gzip_read(z, buf + n, step, err)) > 0) {
        n += (size_t)got;
        assert_true(n + step <= cap);
    }
    kurc_gzip_close(z);
    *out = buf;
    *len = n;
    return got;
}

static void test_members(void **state) {
    (void)state;
    unsigned char *a = sample(1), *b = sample(2);
    char *one = iot_path(&scratch, "one.gz"), *two = iot_path(&scratch, "two.gz");
    append_member(one, a, N);
    append_member(two, a, N);
    append_member(two, b, N / 3);
    append_raw(two, "\0\0\0garbage after the last member", 32);
    const size_t steps[] = {1, 7, 4096, 1 << 20};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        struct kurc_err err;
        unsigned char *got;
        size_t len;
        assert_int_equal(read_all(one, steps[i], &got, &len, &err), 0);
        assert_int_equal(len, N);
        assert_memory_equal(got, a, N);
        free(got);
        assert_int_equal(read_all(two, steps[i], &got, &len, &err), 0);
        assert_int_equal(len, N + N / 3);
        assert_memory_equal(got, a, N);
        assert_memory_equal(got + N, b, N / 3);
        free(got);
    }
    free(one);
    free(two);
    free(a);
    free(b);
}

/* A damaged copy of a one-member file (flip: the byte so many bytes from
 * the end; cut: bytes dropped from the end) fails with want in the
 * message, after fewer than all N bytes for a cut. */
static void expect_damage(const char *name, long flip, long cut, const char *want) {
    unsigned char *a = sample(3);
    char *path = iot_path(&scratch, name);
    append_member(path, a, N);
    if (flip)
        iot_flip_from_end(path, flip);
    if (cut) {
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(truncate(path, sb.st_size - cut), 0);
    }
    struct kurc_err err;
    kurc_err_clear(&err);
    unsigned char *got;
    size_t len;
    assert_int_equal(read_all(path, 65536, &got, &len, &err), -1);
    assert_int_equal(err.status, KURC_E_DATA);
    char line[2200];
    kurc_err_format(&err, line, sizeof line);
    if (!strstr(line, want) || strncmp(line, path, strlen(path)) != 0)
        fail_msg("got: %s\nwanted %s, naming %s", line, want, path);
    free(got);
    free(path);
    free(a);
}

static void test_damage(void **state) {
    (void)state;
    expect_damage("crc.gz", 8, 0,
                  "corrupt gzip data after 300000 decompressed bytes: incorrect "
                  "CRC-32 or length check");
    expect_damage("length.gz", 1, 0, "incorrect CRC-32 or length check");
    expect_damage("deflate.gz", 2000, 0, "corrupt gzip data after ");
    expect_damage("trailer.gz", 0, 4,
                  "truncated gzip data: the stream ends after 300000 "
                  "decompressed bytes");
    expect_damage("half.gz", 0, 100000, "truncated gzip data: the stream ends after ");
}

static void test_absent(void **state) {
    (void)state;
    struct kurc_gzip *z;
    struct kurc_err err;
    assert_int_equal(kurc_gzip_open(iot_in(&scratch, "absent.gz"), &z, &err), KURC_E_IO);
    assert_null(z);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_absent),
    };
    iot_dir_make(&scratch);
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    iot_dir_remove(&scratch);
    return failed;
}
