/* test_idx_mnist.c - IDX files (every element type, plain and gzip,
 * truncated and malformed) and the mnist supplier on tiny generated files
 * (normalisation, one-hot labels, shape from the header, errors).
 *
 * With --fashion-mnist it instead loads Debian's Fashion-MNIST test set
 * (/usr/share/datasets/fashion-mnist, package dataset-fashion-mnist),
 * checks it against values numpy computes for Kur's normalisation, and
 * exits 77 (skipped) when that is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "config/value/value.h"
#include "data/dataset.h"
#include "data/supplier.h"
#include "formats/idx.h"
#include "iotest.h"

extern const struct kurc_supplier_type kurc_supplier_mnist;

static struct iot_dir scratch; /* the test's files */

static char *path_in(const char *name) {
    return iot_in(&scratch, name);
}

/* Writes bytes to dir/name, gzip-compressed when gz. */
static void write_bytes(const char *name, const unsigned char *b, size_t n, bool gz) {
    if (gz) {
        gzFile z = gzopen(path_in(name), "wb");
        assert_non_null(z);
        if (n)
            assert_int_equal(gzwrite(z, b, (unsigned)n), (int)n);
        assert_int_equal(gzclose(z), Z_OK);
    } else {
        FILE *f = fopen(path_in(name), "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, n, f), n);
        fclose(f);
    }
}

/* An IDX image: header for type and dims, then the big-endian encoding of
 * values (as the type's C type).  Returns the byte count in out. */
static size_t make_idx(unsigned char *out, int type, int ndim, const uint32_t *dims,
                       const double *values, size_t count) {
    size_t n = 0;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = (unsigned char)type;
    out[n++] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int b = 3; b >= 0; b--)
            out[n++] = (unsigned char)(dims[i] >> (8 * b));
    for (size_t i = 0; i < count; i++) {
        uint64_t bits;
        int size;
        switch (type) {
        case 0x08:
        case 0x09:
            bits = (uint64_t)(int64_t)values[i] & 0xff;
            size = 1;
            break;
        case 0x0B:
            bits = (uint64_t)(int64_t)values[i] & 0xffff;
            size = 2;
            break;
        case 0x0C:
            bits = (uint64_t)(int64_t)values[i] & 0xffffffff;
            size = 4;
            break;
        case 0x0D: {
            float f = (float)values[i];
            uint32_t u;
            memcpy(&u, &f, 4);
            bits = u;
            size = 4;
            break;
        }
        default: {
            double d = values[i];
            memcpy(&bits, &d, 8);
            size = 8;
            break;
        }
        }
        for (int b = size - 1; b >= 0; b--)
            out[n++] = (unsigned char)(bits >> (8 * b));
    }
    return n;
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

static void test_every_type(void **state) {
    (void)state;
    static const struct {
        int type;
        double values[6];
    } cases[] = {
        {0x08, {0, 1, 127, 128, 200, 255}},
        {0x09, {0, 1, -1, 127, -128, -77}},
        {0x0B, {0, 300, -300, 32767, -32768, 12345}},
        {0x0C, {0, 70000, -70000, 16777216, -2147483648.0, 2147483647.0}},
        {0x0D, {0, 0.5, -1.25, 3.0e10, -1.0e-20, 65504}},
        {0x0E, {0, 0.1, -2.5, 1.0e300, 1.0e-3, -7}},
    };
    const uint32_t dims[2] = {2, 3};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int gz = 0; gz < 2; gz++) {
            unsigned char buf[128];
            size_t n = make_idx(buf, cases[c].type, 2, dims, cases[c].values, 6);
            write_bytes("t.idx", buf, n, gz);
            struct kurc_idx idx;
            struct kurc_err err;
            enum kurc_status st = kurc_idx_load(path_in("t.idx"), &idx, &err);
            if (st)
                fprintf(stderr, "%s\n", err.msg);
            assert_int_equal(st, KURC_OK);
            assert_int_equal(idx.type, cases[c].type);
            assert_int_equal(idx.ndim, 2);
            assert_int_equal(idx.dim[0], 2);
            assert_int_equal(idx.dim[1], 3);
            assert_int_equal(idx.numel, 6);
            for (int i = 0; i < 6; i++) {
                float want = (float)cases[c].values[i];
                if (cases[c].type == 0x0E && cases[c].values[i] > 1e38)
                    assert_true(isinf(idx.data[i]));
                else
                    assert_true(idx.data[i] == want);
            }
            kurc_idx_release(&idx);
            kurc_idx_release(&idx); /* safe twice */
        }
    assert_string_equal(kurc_idx_type_name(KURC_IDX_I16), "int16");
}

static void test_shapes(void **state) {
    (void)state;
    unsigned char buf[64];
    struct kurc_idx idx;
    struct kurc_err err;
    /* A scalar (no dimensions) holds one element. */
    double one = 42;
    size_t n = make_idx(buf, 0x08, 0, NULL, &one, 1);
    assert_int_equal(kurc_idx_parse(buf, n, "scalar", &idx, &err), KURC_OK);
    assert_int_equal(idx.ndim, 0);
    assert_int_equal(idx.numel, 1);
    assert_true(idx.data[0] == 42.0f);
    kurc_idx_release(&idx);
    /* An empty dimension makes an empty array. */
    const uint32_t empty[3] = {0, 28, 28};
    n = make_idx(buf, 0x08, 3, empty, NULL, 0);
    assert_int_equal(kurc_idx_parse(buf, n, "empty", &idx, &err), KURC_OK);
    assert_int_equal(idx.numel, 0);
    kurc_idx_release(&idx);
    /* Trailing bytes are ignored (with a warning), as in Kur. */
    const uint32_t d1[1] = {2};
    const double two[2] = {5, 6};
    n = make_idx(buf, 0x08, 1, d1, two, 2);
    buf[n++] = 0xAA;
    assert_int_equal(kurc_idx_parse(buf, n, "trailing", &idx, &err), KURC_OK);
    assert_int_equal(idx.numel, 2);
    assert_true(idx.data[1] == 6.0f);
    kurc_idx_release(&idx);
}

static void expect_parse_error(const unsigned char *buf, size_t n, const char *msg) {
    struct kurc_idx idx;
    struct kurc_err err;
    assert_int_equal(kurc_idx_parse(buf, n, "f.idx", &idx, &err), KURC_E_DATA);
    assert_string_equal(err.msg, msg);
    assert_null(idx.data);
}

static void test_errors(void **state) {
    (void)state;
    unsigned char buf[128];
    const uint32_t dims[2] = {3, 4};
    const double v[12] = {0};
    size_t n = make_idx(buf, 0x08, 2, dims, v, 12);
    expect_parse_error(buf, n - 2,
                       "f.idx: truncated IDX file: expected 12 data bytes for shape (3, 4) of "
                       "uint8, found 10");
    expect_parse_error(buf, 9, "f.idx: truncated IDX header: expected 12 bytes, found 9");
    expect_parse_error(buf, 3, "f.idx: truncated IDX header: expected at least 4 bytes, found 3");
    n = make_idx(buf, 0x0E, 2, dims, v, 12);
    expect_parse_error(buf, n - 1,
                       "f.idx: truncated IDX file: expected 96 data bytes for shape (3, 4) of "
                       "float64, found 95");
    const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0};
    expect_parse_error(gz, sizeof gz,
                       "f.idx: not an IDX file: bad magic 1f 8b 08 00 (expected 00 00 TYPE "
                       "NDIM)");
    const unsigned char type[] = {0, 0, 0x0A, 1, 0, 0, 0, 0};
    expect_parse_error(type, sizeof type,
                       "f.idx: unknown IDX data type 0x0A (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D "
                       "or 0x0E)");
    const unsigned char many[] = {0, 0, 0x08, 7};
    expect_parse_error(many, sizeof many, "f.idx: IDX file has 7 dimensions; kurc reads at most 6");
    /* Dimensions whose product overflows 64 bits are reported, not allocated. */
    const uint32_t huge[4] = {0xffffffff, 0xffffffff, 0xffffffff, 2};
    n = make_idx(buf, 0x0C, 4, huge, NULL, 0);
    expect_parse_error(buf, n,
                       "f.idx: bad IDX header: shape (4294967295, 4294967295, 4294967295, 2) of "
                       "int32 is too large to be stored");

    struct kurc_idx idx;
    struct kurc_err err;
    char msg[700];
    assert_int_equal(kurc_idx_load(path_in("absent.gz"), &idx, &err), KURC_E_IO);
    snprintf(msg, sizeof msg, "cannot read %s: No such file or directory", path_in("absent.gz"));
    assert_string_equal(err.msg, msg);
}

/* A gzip file cut short fails in zlib, and a gzip file whose contents are
 * short fails in the IDX check; both name the file. */
static void test_gzip_errors(void **state) {
    (void)state;
    unsigned char buf[4096];
    const uint32_t dims[1] = {4000};
    static double v[4000];
    for (int i = 0; i < 4000; i++)
        v[i] = (i * 37) % 256;
    size_t n = make_idx(buf, 0x08, 1, dims, v, 4000);
    write_bytes("cut.gz", buf, n, true);
    struct stat sb;
    assert_int_equal(stat(path_in("cut.gz"), &sb), 0);
    assert_int_equal(truncate(path_in("cut.gz"), sb.st_size / 2), 0);
    struct kurc_idx idx;
    struct kurc_err err;
    assert_int_equal(kurc_idx_load(path_in("cut.gz"), &idx, &err), KURC_E_DATA);
    char want[700];
    snprintf(want, sizeof want, "%s: truncated gzip data: the stream ends after ",
             path_in("cut.gz"));
    assert_memory_equal(err.msg, want, strlen(want));
    /* A corrupted byte in the middle breaks the stream or its CRC. */
    write_bytes("flip.gz", buf, n, true);
    FILE *f = fopen(path_in("flip.gz"), "r+b");
    assert_non_null(f);
    fseek(f, 40, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 40, SEEK_SET);
    fputc(c ^ 0x55, f);
    fclose(f);
    assert_int_equal(kurc_idx_load(path_in("flip.gz"), &idx, &err), KURC_E_DATA);
    snprintf(want, sizeof want, "%s: corrupt gzip data after ", path_in("flip.gz"));
    assert_memory_equal(err.msg, want, strlen(want));

    write_bytes("short.gz", buf, n - 100, true);
    assert_int_equal(kurc_idx_load(path_in("short.gz"), &idx, &err), KURC_E_DATA);
    snprintf(want, sizeof want,
             "%s: truncated IDX file: expected 4000 data bytes for shape (4000,) of uint8, "
             "found 3900",
             path_in("short.gz"));
    assert_string_equal(err.msg, want);
}

/* More than 1 MiB after the array is refused when reading gets there: a
 * gzip file whose CRC (at its very end) is wrong reports the trailing
 * data, not the CRC, so the rest was not decompressed.  A little trailing
 * data is read to the end (and the CRC checked). */
static void test_trailing_data(void **state) {
    (void)state;
    size_t big = (2u << 20) + 12;
    unsigned char *buf = calloc(big, 1);
    const uint32_t dims[1] = {4};
    const double v[4] = {1, 2, 3, 4};
    size_t n = make_idx(buf, 0x08, 1, dims, v, 4);
    assert_int_equal(n, 12);
    struct kurc_idx idx;
    struct kurc_err err;
    char want[700];
    for (int gz = 0; gz < 2; gz++) {
        write_bytes("padded", buf, big, gz);
        if (gz)
            iot_flip_from_end(path_in("padded"), 8);
        assert_int_equal(kurc_idx_load(path_in("padded"), &idx, &err), KURC_E_DATA);
        snprintf(want, sizeof want,
                 "%s: more than 1048576 bytes follow the IDX array, which ends at offset 12%s; "
                 "not an IDX file",
                 path_in("padded"), gz ? " of the decompressed data" : "");
        assert_string_equal(err.msg, want);
        assert_null(idx.data);
    }
    write_bytes("little.gz", buf, n + 1000, true);
    assert_int_equal(kurc_idx_load(path_in("little.gz"), &idx, &err), KURC_OK);
    assert_int_equal(idx.numel, 4);
    kurc_idx_release(&idx);
    iot_flip_from_end(path_in("little.gz"), 8);
    assert_int_equal(kurc_idx_load(path_in("little.gz"), &idx, &err), KURC_E_DATA);
    snprintf(want, sizeof want, "%s: corrupt gzip data after ", path_in("little.gz"));
    assert_memory_equal(err.msg, want, strlen(want));
    free(buf);
}

/* Files of more than 2^20 elements are converted to floats on a second
 * thread while they are read: every value is still right (uint8, and
 * int16 elements that straddle the reader's chunks), and a file cut short,
 * a damaged stream or too much trailing data fail as small files do. */
static void test_large_files(void **state) {
    (void)state;
    const uint32_t dims[2] = {1201, 1250}; /* 1501250 elements */
    size_t count = (size_t)dims[0] * dims[1], big = 12 + 2 * count + (2u << 20);
    double *v = malloc(count * sizeof *v);
    unsigned char *buf = calloc(big, 1);
    assert_non_null(v);
    assert_non_null(buf);
    struct kurc_idx idx;
    struct kurc_err err;
    char want[700];
    for (int type = 0x08; type <= 0x0B; type += 3) {
        for (size_t i = 0; i < count; i++)
            v[i] = type == 0x08 ? (double)((i * 37 + i / 1000) % 256)
                                : (double)((int64_t)((i * 7919) % 65536) - 32768);
        size_t n = make_idx(buf, type, 2, dims, v, count);
        for (int gz = 0; gz < 2; gz++) {
            write_bytes("large", buf, n, gz);
            assert_int_equal(kurc_idx_load(path_in("large"), &idx, &err), KURC_OK);
            assert_int_equal(idx.numel, (int64_t)count);
            size_t wrong = 0;
            for (size_t i = 0; i < count; i++)
                wrong += idx.data[i] != (float)v[i];
            assert_int_equal(wrong, 0);
            kurc_idx_release(&idx);
        }
        write_bytes("large-short.gz", buf, n - 100, true);
        assert_int_equal(kurc_idx_load(path_in("large-short.gz"), &idx, &err), KURC_E_DATA);
        snprintf(want, sizeof want,
                 "%s: truncated IDX file: expected %zu data bytes for shape (1201, 1250) of %s, "
                 "found %zu",
                 path_in("large-short.gz"), n - 12, type == 0x08 ? "uint8" : "int16",
                 n - 112);
        assert_string_equal(err.msg, want);
        assert_null(idx.data);
        write_bytes("large-flip.gz", buf, n, true);
        iot_flip_from_end(path_in("large-flip.gz"), 8); /* the CRC */
        assert_int_equal(kurc_idx_load(path_in("large-flip.gz"), &idx, &err), KURC_E_DATA);
        snprintf(want, sizeof want, "%s: corrupt gzip data after ", path_in("large-flip.gz"));
        assert_memory_equal(err.msg, want, strlen(want));
        assert_null(idx.data);
        write_bytes("large-padded.gz", buf, big, true); /* 2 MiB of zeros after the array */
        assert_int_equal(kurc_idx_load(path_in("large-padded.gz"), &idx, &err), KURC_E_DATA);
        snprintf(want, sizeof want,
                 "%s: more than 1048576 bytes follow the IDX array, which ends at offset %zu "
                 "of the decompressed data; not an IDX file",
                 path_in("large-padded.gz"), n);
        assert_string_equal(err.msg, want);
        assert_null(idx.data);
    }
    free(v);
    free(buf);
}

/* Writes images (count, h, w) u8 and labels (count,) u8 IDX files. */
static void write_pair(const char *images, const char *labels, uint32_t count, uint32_t h,
                       uint32_t w, const double *pixels, const double *classes, bool gz) {
    static unsigned char buf[1 << 16];
    const uint32_t idims[3] = {count, h, w};
    size_t n = make_idx(buf, 0x08, 3, idims, pixels, (size_t)count * h * w);
    write_bytes(images, buf, n, gz);
    n = make_idx(buf, 0x08, 1, &count, classes, count);
    write_bytes(labels, buf, n, gz);
}

static struct kurc_value *mnist_params(const char *images, const char *labels) {
    struct kurc_value *m = kurc_value_map(NULL);
    kurc_map_set(m, "images", NULL, kurc_value_str(path_in(images), NULL));
    kurc_map_set(m, "labels", NULL, kurc_value_str(path_in(labels), NULL));
    return m;
}

static void test_mnist_values(void **state) {
    (void)state;
    /* Three 2x2 images with pixels 0, 20, ..., 220 and classes 0, 9, 4.
     * By hand: x / 255 has mean (0 + 20 + ... + 220) / 12 / 255 = 110 / 255,
     * so pixel 20k becomes (20k - 110) / 255. */
    double pixels[12], classes[3] = {0, 9, 4};
    for (int k = 0; k < 12; k++)
        pixels[k] = 20 * k;
    for (int gz = 0; gz < 2; gz++) {
        write_pair("img", "lab", 3, 2, 2, pixels, classes, gz);
        struct kurc_value *params = mnist_params("img", "lab");
        struct kurc_dataset d;
        kurc_dataset_init(&d);
        struct kurc_err err;
        enum kurc_status st = kurc_supplier_mnist.load(params, NULL, &d, &err);
        if (st)
            fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(st, KURC_OK);
        const struct kurc_source *images = kurc_dataset_find(&d, "images");
        const struct kurc_source *labels = kurc_dataset_find(&d, "labels");
        assert_non_null(images);
        assert_non_null(labels);
        assert_int_equal(images->count, 3);
        assert_int_equal(images->shape.ndim, 3);
        assert_int_equal(images->shape.dim[0], 2);
        assert_int_equal(images->shape.dim[1], 2);
        assert_int_equal(images->shape.dim[2], 1);
        assert_string_equal(images->origin, path_in("img"));
        for (int k = 0; k < 12; k++)
            assert_float_equal(images->data[k], (20.0 * k - 110.0) / 255.0, 1e-6);
        assert_int_equal(labels->count, 3);
        assert_int_equal(labels->shape.ndim, 1);
        assert_int_equal(labels->shape.dim[0], 10);
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 10; c++)
                assert_true(labels->data[i * 10 + c] == (c == (int)classes[i] ? 1.0f : 0.0f));
        kurc_dataset_release(&d);
        kurc_value_free(params);
    }
}

/* The image size comes from the file: 3x5 images give (3, 5, 1). */
static void test_mnist_shape_from_header(void **state) {
    (void)state;
    double pixels[30] = {0}, classes[2] = {1, 2};
    pixels[0] = 255;
    write_pair("img35", "lab35", 2, 3, 5, pixels, classes, false);
    struct kurc_value *params = mnist_params("img35", "lab35");
    struct kurc_dataset d;
    kurc_dataset_init(&d);
    struct kurc_err err;
    assert_int_equal(kurc_supplier_mnist.load(params, NULL, &d, &err), KURC_OK);
    const struct kurc_source *images = kurc_dataset_find(&d, "images");
    assert_int_equal(images->shape.dim[0], 3);
    assert_int_equal(images->shape.dim[1], 5);
    assert_int_equal(images->shape.dim[2], 1);
    /* mean = 1 / 30: the lone white pixel is 1 - 1/30, the rest -1/30. */
    assert_float_equal(images->data[0], 29.0 / 30.0, 1e-6);
    assert_float_equal(images->data[29], -1.0 / 30.0, 1e-6);
    kurc_dataset_release(&d);
    kurc_value_free(params);
}

static void expect_mnist_error(struct kurc_value *params, enum kurc_status status,
                               const char *msg) {
    struct kurc_dataset d;
    kurc_dataset_init(&d);
    struct kurc_err err;
    struct kurc_loc where = {"Kurfile.yml", 7, 5};
    enum kurc_status st = kurc_supplier_mnist.load(params, &where, &d, &err);
    if (st != status || strcmp(err.msg, msg) != 0)
        fprintf(stderr, "got %d: %s\nwanted: %s\n", st, err.msg, msg);
    assert_int_equal(st, status);
    assert_string_equal(err.msg, msg);
    assert_string_equal(err.file, "Kurfile.yml");
    assert_int_equal(d.n, 0);
    kurc_dataset_release(&d);
    kurc_value_free(params);
}

static void test_mnist_errors(void **state) {
    (void)state;
    double pixels[16] = {0}, classes[4] = {1, 2, 3, 4};
    write_pair("img4", "lab4", 4, 2, 2, pixels, classes, false);
    write_pair("img3", "lab3", 3, 2, 2, pixels, classes, false);
    char msg[1400];
    snprintf(msg, sizeof msg,
             "mnist: the images file %s has 4 samples but the labels file %s has 3",
             path_in("img4"), path_in("lab3"));
    expect_mnist_error(mnist_params("img4", "lab3"), KURC_E_DATA, msg);

    classes[2] = 10;
    write_pair("img4", "bad", 4, 2, 2, pixels, classes, false);
    snprintf(msg, sizeof msg, "mnist: %s: label 10 of sample 2 is not a class from 0 to 9",
             path_in("bad"));
    expect_mnist_error(mnist_params("img4", "bad"), KURC_E_DATA, msg);

    snprintf(msg, sizeof msg,
             "mnist: labels file %s has 3 dimensions; expected 1 (one class number per sample)",
             path_in("img3"));
    expect_mnist_error(mnist_params("img4", "img3"), KURC_E_DATA, msg);

    snprintf(msg, sizeof msg,
             "mnist: data file %s does not exist: check the path, or give a \"url\" to download "
             "it",
             path_in("nothing"));
    expect_mnist_error(mnist_params("nothing", "lab4"), KURC_E_IO, msg);

    struct kurc_value *params = kurc_value_map(NULL);
    kurc_map_set(params, "images", NULL, kurc_value_str(path_in("img4"), NULL));
    expect_mnist_error(params, KURC_E_CONFIG, "mnist: \"labels\" is required");
}

/* Images that are not finite, no samples, and an image axis of size 0 are
 * refused, naming the file (and sample and index). */
static void test_mnist_bad_data(void **state) {
    (void)state;
    static double classes[100];
    static unsigned char buf[4096];
    double pixels[12] = {0};
    const uint32_t dims[3] = {3, 2, 2};
    char msg[1400];
    write_pair("img3", "lab3", 3, 2, 2, pixels, classes, false);
    for (int type = 0x0D; type <= 0x0E; type++) {
        pixels[5] = type == 0x0D ? NAN : -INFINITY;
        write_bytes("fimg", buf, make_idx(buf, type, 3, dims, pixels, 12), type == 0x0E);
        snprintf(msg, sizeof msg,
                 "mnist: %s: sample 1 of 'images' holds %s at index [0, 1]; kurc refuses data "
                 "that is not finite",
                 path_in("fimg"), type == 0x0D ? "NaN" : "-inf");
        expect_mnist_error(mnist_params("fimg", "lab3"), KURC_E_DATA, msg);
    }
    write_pair("zimg", "zlab", 100, 0, 28, pixels, classes, false);
    snprintf(msg, sizeof msg,
             "mnist: source 'images' (%s): its samples have shape (0, 28, 1), with an axis of "
             "size 0; every axis of a sample needs at least 1",
             path_in("zimg"));
    expect_mnist_error(mnist_params("zimg", "zlab"), KURC_E_DATA, msg);
    /* no samples: refused where the data list is loaded */
    write_pair("eimg", "elab", 0, 28, 28, pixels, classes, true);
    struct kurc_value *list = kurc_value_list(NULL), *entry = kurc_value_map(NULL);
    kurc_map_set(entry, "mnist", NULL, mnist_params("eimg", "elab"));
    kurc_list_append(list, entry);
    struct kurc_dataset d;
    struct kurc_err err;
    assert_int_equal(kurc_data_load(list, &d, &err), KURC_E_DATA);
    snprintf(msg, sizeof msg,
             "the mnist supplier gave no samples: source 'images' (%s) is empty; there is "
             "nothing to train or test on",
             path_in("eimg"));
    assert_string_equal(err.msg, msg);
    kurc_value_free(list);
}

#define FASHION_MNIST "/usr/share/datasets/fashion-mnist"

/* Debian's Fashion-MNIST test set: 10000 28x28 images centred on their
 * mean, 1000 of each class. */
static void test_fashion_mnist(void **state) {
    (void)state;
    const char *base = FASHION_MNIST;
    struct kurc_value *params = kurc_value_map(NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", base);
    kurc_map_set(params, "images", NULL, kurc_value_str(path, NULL));
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", base);
    kurc_map_set(params, "labels", NULL, kurc_value_str(path, NULL));
    struct kurc_dataset d;
    kurc_dataset_init(&d);
    struct kurc_err err;
    if (kurc_supplier_mnist.load(params, NULL, &d, &err) != KURC_OK)
        fail_msg("%s", err.msg);
    const struct kurc_source *images = kurc_dataset_find(&d, "images");
    const struct kurc_source *labels = kurc_dataset_find(&d, "labels");
    assert_int_equal(images->count, 10000);
    assert_int_equal(labels->count, 10000);
    assert_int_equal(images->shape.ndim, 3);
    assert_int_equal(images->shape.dim[0], 28);
    assert_int_equal(images->shape.dim[1], 28);
    assert_int_equal(images->shape.dim[2], 1);
    double sum = 0, lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < images->count * 784; i++) {
        sum += images->data[i];
        lo = fmin(lo, images->data[i]);
        hi = fmax(hi, images->data[i]);
    }
    double mean = sum / (double)(images->count * 784);
    /* Bit-identical to Kur: numpy's float32 mean of x / 255 is
     * 0x1.25bbdcp-2, so a black pixel is its negation, and the pixel 110 at
     * (0, 14, 14) is 110 / 255 minus it. */
    assert_true(images->data[0] == -0x1.25bbdcp-2f);
    assert_true(images->data[14 * 28 + 14] == 0x1.27fbbcp-3f);
    assert_true(fabs(mean) <= 1e-5);
    assert_true(hi - lo <= 1.0 + 1e-6 && hi - lo >= 0.99);
    int per_class[10] = {0};
    for (int64_t i = 0; i < labels->count; i++) {
        float row = 0;
        for (int c = 0; c < 10; c++) {
            row += labels->data[i * 10 + c];
            if (labels->data[i * 10 + c] == 1.0f)
                per_class[c]++;
        }
        assert_true(row == 1.0f);
    }
    for (int c = 0; c < 10; c++)
        assert_int_equal(per_class[c], 1000);
    print_message("Fashion-MNIST t10k: %lld images (28, 28, 1), mean %.3g, range %.4f..%.4f, "
                  "1000 per class\n",
                  (long long)images->count, mean, lo, hi);
    kurc_dataset_release(&d);
    kurc_value_free(params);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--fashion-mnist") == 0) {
        if (access(FASHION_MNIST, R_OK) != 0) {
            printf("skipped: %s is absent (apt-get install dataset-fashion-mnist)\n",
                   FASHION_MNIST);
            return 77;
        }
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_fashion_mnist)};
        return cmocka_run_group_tests(tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_gzip_errors),
        cmocka_unit_test(test_trailing_data),
        cmocka_unit_test(test_large_files),
        cmocka_unit_test(test_mnist_values),
        cmocka_unit_test(test_mnist_shape_from_header),
        cmocka_unit_test(test_mnist_errors),
        cmocka_unit_test(test_mnist_bad_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
