/* test_cifar.c - the cifar supplier on tiny archives the test builds with
 * tar: the binary layout, the python layout as Python 2's cPickle wrote it
 * (pickle_build.c), parts selection, normalisation against values
 * computed here in double precision, and clear errors for malformed
 * batches and parts.
 *
 * With --numpy the archives are instead written by Debian's
 * /usr/bin/python3 with numpy, as pickle.dumps(d, protocol=2) of the exact
 * CIFAR dict (and protocol 4), and the images are compared bit for bit
 * with Kur's numpy normalisation; a pickle whose __reduce__ calls
 * os.system must be refused without running anything.  That mode exits 77
 * (skipped) when python3 or numpy is missing. */
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

#include "config/value/value.h"
#include "data/dataset.h"
#include "data/supplier.h"
#include "iotest.h"
#include "pickle_build.h"

extern const struct kurc_supplier_type kurc_supplier_cifar;

enum { FEATURES = 3072, TEST_PART = 6, N = 4 /* images per batch */ };

static struct iot_dir scratch; /* the test's files */

static char *path_in(const char *name) {
    return iot_in(&scratch, name);
}

/* The generated data: part 1..5 is data_batch_N, TEST_PART is test_batch.
 * The same formulas are in the Python generator below. */
static unsigned char pixel(int part, int i, int f) {
    return (unsigned char)((part * 31 + i * 17 + f * 7 + (f / 1024) * 5) % 256);
}

static unsigned char label(int part, int i) {
    return (unsigned char)((part * 3 + i) % 10);
}

static void write_file(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void run(const char *cmd) {
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    assert_int_equal(rc, 0);
}

/* tar -czf dir/archive -C dir/tree top */
static void tar(const char *archive, const char *tree, const char *top) {
    char cmd[3200];
    snprintf(cmd, sizeof cmd, "tar -czf '%s' -C '%s' '%s'", path_in(archive), path_in(tree), top);
    run(cmd);
}

static const char *batch_name(int part, bool binary) {
    static char name[64];
    if (part == TEST_PART)
        snprintf(name, sizeof name, "test_batch%s", binary ? ".bin" : "");
    else
        snprintf(name, sizeof name, "data_batch_%d%s", part, binary ? ".bin" : "");
    return name;
}

/* A python-layout batch as cPickle wrote it, for part. */
static void python2_batch(struct pb *p, int part) {
    static unsigned char px[N * FEATURES];
    unsigned char labels[N];
    for (int i = 0; i < N; i++) {
        labels[i] = label(part, i);
        for (int f = 0; f < FEATURES; f++)
            px[i * FEATURES + f] = pixel(part, i, f);
    }
    pb_cifar_batch(p, N, px, sizeof px, labels);
}

/* dir/NAME: cifar-10-batches-{py,bin}/ with all six batches and the other
 * members of the real archives. */
static void make_archive(const char *name, bool binary) {
    char tree[64], top[64], sub[1100];
    snprintf(tree, sizeof tree, "%s.d", name);
    snprintf(top, sizeof top, "cifar-10-batches-%s", binary ? "bin" : "py");
    mkdir(path_in(tree), 0755);
    snprintf(sub, sizeof sub, "%s/%s", path_in(tree), top);
    mkdir(sub, 0755);
    for (int part = 1; part <= TEST_PART; part++) {
        char file[1200];
        snprintf(file, sizeof file, "%s/%s", sub, batch_name(part, binary));
        if (binary) {
            static unsigned char rec[N * (FEATURES + 1)];
            for (int i = 0; i < N; i++) {
                rec[i * (FEATURES + 1)] = label(part, i);
                for (int f = 0; f < FEATURES; f++)
                    rec[i * (FEATURES + 1) + 1 + f] = pixel(part, i, f);
            }
            write_file(file, rec, sizeof rec);
        } else {
            struct pb p = {0};
            python2_batch(&p, part);
            write_file(file, p.b, p.n);
            pb_free(&p);
        }
    }
    char file[1200];
    snprintf(file, sizeof file, "%s/%s", sub, binary ? "batches.meta.txt" : "batches.meta");
    write_file(file, "airplane\n", 9);
    snprintf(file, sizeof file, "%s/readme.html", sub);
    write_file(file, "<html></html>\n", 14);
    tar(name, tree, top);
}

static struct kurc_value *params_for(const char *archive, struct kurc_value *parts) {
    struct kurc_value *m = kurc_value_map(NULL);
    kurc_map_set(m, "path", NULL, kurc_value_str(path_in(archive), NULL));
    if (parts)
        kurc_map_set(m, "parts", NULL, parts);
    return m;
}

static struct kurc_value *int_list(int n, const int *v) {
    struct kurc_value *l = kurc_value_list(NULL);
    for (int i = 0; i < n; i++)
        kurc_list_append(l, v[i] == TEST_PART ? kurc_value_str("test", NULL)
                                              : kurc_value_int(v[i], NULL));
    return l;
}

/* Checks d against Kur's normalisation of the given parts, in order,
 * computed here in double precision. */
static void check(const struct kurc_dataset *d, int nparts, const int *parts, const char *origin) {
    const struct kurc_source *images = kurc_dataset_find(d, "images");
    const struct kurc_source *labels = kurc_dataset_find(d, "labels");
    assert_non_null(images);
    assert_non_null(labels);
    assert_int_equal(images->count, nparts * N);
    assert_int_equal(labels->count, nparts * N);
    assert_int_equal(images->shape.ndim, 3);
    assert_int_equal(images->shape.dim[0], 32);
    assert_int_equal(images->shape.dim[1], 32);
    assert_int_equal(images->shape.dim[2], 3);
    assert_int_equal(labels->shape.ndim, 1);
    assert_int_equal(labels->shape.dim[0], 10);
    assert_string_equal(images->origin, origin);
    static double mean[FEATURES];
    for (int f = 0; f < FEATURES; f++) {
        double sum = 0;
        for (int p = 0; p < nparts; p++)
            for (int i = 0; i < N; i++)
                sum += pixel(parts[p], i, f);
        mean[f] = sum / (nparts * N);
    }
    for (int p = 0; p < nparts; p++)
        for (int i = 0; i < N; i++) {
            int row = p * N + i;
            const float *img = images->data + (int64_t)row * FEATURES;
            for (int h = 0; h < 32; h++)
                for (int w = 0; w < 32; w++)
                    for (int c = 0; c < 3; c++) {
                        int f = c * 1024 + h * 32 + w;
                        double want = (pixel(parts[p], i, f) - mean[f]) / 255.0;
                        assert_float_equal(img[(h * 32 + w) * 3 + c], want, 1e-6);
                    }
            for (int k = 0; k < 10; k++)
                assert_true(labels->data[row * 10 + k] == (k == label(parts[p], i) ? 1.0f : 0.0f));
        }
}

/* Loads params (freed) and checks the result. */
static void expect_parts(struct kurc_value *params, int nparts, const int *parts,
                         const char *archive) {
    struct kurc_dataset d;
    kurc_dataset_init(&d);
    struct kurc_err err;
    enum kurc_status st = kurc_supplier_cifar.load(params, NULL, &d, &err);
    if (st)
        fprintf(stderr, "unexpected error: %s\n", err.msg);
    assert_int_equal(st, KURC_OK);
    check(&d, nparts, parts, path_in(archive));
    kurc_dataset_release(&d);
    kurc_value_free(params);
}

/* Loads params (freed) expecting an error whose message is msg (exact) or
 * contains it. */
static void expect_error(struct kurc_value *params, enum kurc_status status, const char *msg,
                         bool exact) {
    struct kurc_dataset d;
    kurc_dataset_init(&d);
    struct kurc_err err;
    struct kurc_loc where = {"Kurfile.yml", 3, 7};
    enum kurc_status st = kurc_supplier_cifar.load(params, &where, &d, &err);
    bool ok = st == status && (exact ? strcmp(err.msg, msg) == 0 : strstr(err.msg, msg) != NULL);
    if (!ok)
        fprintf(stderr, "got %d: %s\nwanted: %s\n", st, err.msg, msg);
    assert_true(ok);
    assert_int_equal(d.n, 0);
    kurc_dataset_release(&d);
    kurc_value_free(params);
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

static const int training[5] = {1, 2, 3, 4, 5};

static void test_binary_layout(void **state) {
    (void)state;
    make_archive("cifar-10-binary.tar.gz", true);
    /* No parts: the five training batches. */
    expect_parts(params_for("cifar-10-binary.tar.gz", NULL), 5, training, "cifar-10-binary.tar.gz");
    const int some[2] = {TEST_PART, 2};
    expect_parts(params_for("cifar-10-binary.tar.gz", int_list(2, some)), 2, some,
                 "cifar-10-binary.tar.gz");
}

static void test_python_layout_parts(void **state) {
    (void)state;
    make_archive("cifar-10-python.tar.gz", false);
    expect_parts(params_for("cifar-10-python.tar.gz", kurc_value_null(NULL)), 5, training,
                 "cifar-10-python.tar.gz");
    const int three_test[2] = {3, TEST_PART};
    expect_parts(params_for("cifar-10-python.tar.gz", int_list(2, three_test)), 2, three_test,
                 "cifar-10-python.tar.gz");
    const int test_only[1] = {TEST_PART};
    expect_parts(params_for("cifar-10-python.tar.gz", kurc_value_str("test", NULL)), 1, test_only,
                 "cifar-10-python.tar.gz");
    const int two[1] = {2};
    expect_parts(params_for("cifar-10-python.tar.gz", kurc_value_int(2, NULL)), 1, two,
                 "cifar-10-python.tar.gz");
    const int four[1] = {4};
    expect_parts(params_for("cifar-10-python.tar.gz", kurc_value_str("4", NULL)), 1, four,
                 "cifar-10-python.tar.gz");
}

/* The archive comes through the standard packaging: a file:// URL into a
 * directory, checked against its checksum. */
static void test_packaging(void **state) {
    (void)state;
    make_archive("pkg.tar.gz", true);
    char url[1100], cmd[2200];
    snprintf(url, sizeof url, "file://%s", path_in("pkg.tar.gz"));
    snprintf(cmd, sizeof cmd, "sha256sum '%s' | cut -c1-64 > '%s'", path_in("pkg.tar.gz"),
             path_in("pkg.sha"));
    run(cmd);
    char sha[65] = "";
    FILE *f = fopen(path_in("pkg.sha"), "r");
    assert_non_null(f);
    assert_non_null(fgets(sha, sizeof sha, f));
    fclose(f);
    struct kurc_value *m = kurc_value_map(NULL);
    kurc_map_set(m, "url", NULL, kurc_value_str(url, NULL));
    kurc_map_set(m, "checksum", NULL, kurc_value_str(sha, NULL));
    kurc_map_set(m, "path", NULL, kurc_value_str(path_in("cache"), NULL));
    const int one[1] = {1};
    kurc_map_set(m, "parts", NULL, int_list(1, one));
    expect_parts(m, 1, one, "cache/pkg.tar.gz");
}

static void test_parts_errors(void **state) {
    (void)state;
    make_archive("parts.tar.gz", true);
    char msg[2400];
    snprintf(msg, sizeof msg,
             "cifar: %s has no CIFAR batch for part 7 (no member data_batch_7 or "
             "data_batch_7.bin)",
             path_in("parts.tar.gz"));
    expect_error(params_for("parts.tar.gz", kurc_value_int(7, NULL)), KURC_E_DATA, msg, true);
    const int twice[2] = {1, 1};
    expect_error(params_for("parts.tar.gz", int_list(2, twice)), KURC_E_CONFIG,
                 "cifar: part 1 is listed twice", true);
    expect_error(params_for("parts.tar.gz", kurc_value_list(NULL)), KURC_E_CONFIG,
                 "cifar: \"parts\" is an empty list", true);
    expect_error(params_for("parts.tar.gz", kurc_value_bool(true, NULL)), KURC_E_CONFIG,
                 "cifar: a part is a batch number (1 to 5) or \"test\", not a boolean", true);
    expect_error(params_for("parts.tar.gz", kurc_value_str("train", NULL)), KURC_E_CONFIG,
                 "cifar: part \"train\" is not a batch number (1 to 5) or \"test\"", true);
    expect_error(params_for("parts.tar.gz", kurc_value_int(-1, NULL)), KURC_E_CONFIG,
                 "cifar: part -1 is not a batch number (1 to 5) or \"test\"", true);
    snprintf(msg, sizeof msg,
             "cifar: data file %s does not exist: check the path, or give a \"url\" to download "
             "it",
             path_in("absent.tar.gz"));
    expect_error(params_for("absent.tar.gz", NULL), KURC_E_IO, msg, true);
    /* An archive cut short fails while reading a member or a header. */
    char cmd[3200];
    struct stat sb;
    assert_int_equal(stat(path_in("parts.tar.gz"), &sb), 0);
    snprintf(cmd, sizeof cmd, "head -c %lld '%s' > '%s'", (long long)sb.st_size / 2,
             path_in("parts.tar.gz"), path_in("cut.tar.gz"));
    run(cmd);
    snprintf(msg, sizeof msg, "cifar: %s: ", path_in("cut.tar.gz"));
    expect_error(params_for("cut.tar.gz", NULL), KURC_E_DATA, msg, false);
    write_file(path_in("plain.txt"), "not an archive\n", 15);
    snprintf(msg, sizeof msg, "cifar: %s: not a readable tar archive: ", path_in("plain.txt"));
    expect_error(params_for("plain.txt", NULL), KURC_E_DATA, msg, false);
}

/* Builds dir/NAME holding cifar-10-batches-py/data_batch_1 with the given
 * bytes (and a good data_batch_2). */
static void archive_with_batch1(const char *name, const void *bytes, size_t n) {
    char tree[64], sub[1100], file[1200];
    snprintf(tree, sizeof tree, "%s.d", name);
    mkdir(path_in(tree), 0755);
    snprintf(sub, sizeof sub, "%s/cifar-10-batches-py", path_in(tree));
    mkdir(sub, 0755);
    snprintf(file, sizeof file, "%s/data_batch_1", sub);
    write_file(file, bytes, n);
    struct pb p = {0};
    python2_batch(&p, 2);
    snprintf(file, sizeof file, "%s/data_batch_2", sub);
    write_file(file, p.b, p.n);
    pb_free(&p);
    tar(name, tree, "cifar-10-batches-py");
}

static void expect_batch1_error(const char *name, const char *detail) {
    const int one[1] = {1};
    char msg[2400];
    snprintf(msg, sizeof msg, "cifar: %s:cifar-10-batches-py/data_batch_1: %s", path_in(name),
             detail);
    expect_error(params_for(name, int_list(1, one)), KURC_E_DATA, msg, true);
}

static void test_malformed_batches(void **state) {
    (void)state;
    static const char evil[] = "\x80\x02}q\x01(U\x04"
                               "datacos\nsystem\nU\x05touch\x85Ru.";
    archive_with_batch1("evil.tar.gz", evil, sizeof evil - 1);
    expect_batch1_error("evil.tar.gz",
                        "pickle opcode GLOBAL at offset 12 imports os.system, which is not "
                        "allowed (kurc reads only numpy arrays, numbers, strings, lists and "
                        "dicts from pickles)");

    struct pb p = {0};
    python2_batch(&p, 1);
    archive_with_batch1("cut.tar.gz", p.b, p.n / 2);
    /* The cut lands inside the pixels: find the BINSTRING to predict the
     * message exactly. */
    char detail[300];
    size_t at = 0;
    for (size_t i = 0; i + 5 < p.n; i++)
        if (p.b[i] == 'T' && p.b[i + 1] == (unsigned char)(N * FEATURES) &&
            p.b[i + 2] == (unsigned char)((N * FEATURES) >> 8)) {
            at = i;
            break;
        }
    snprintf(detail, sizeof detail,
             "truncated pickle: BINSTRING at offset %zu needs %d bytes, only %zu left", at,
             N * FEATURES, p.n / 2 - at - 5);
    expect_batch1_error("cut.tar.gz", detail);
    pb_free(&p);

    static unsigned char px[2 * FEATURES];
    const unsigned char labels[2] = {1, 2};
    struct pb q = {0};
    pb_cifar_batch(&q, 2, px, sizeof px - 3, labels);
    archive_with_batch1("short.tar.gz", q.b, q.n);
    const int one[1] = {1};
    char msg[2400];
    snprintf(msg, sizeof msg, "numpy array data has %d bytes, but shape (2, 3072) of u1 needs %d",
             2 * FEATURES - 3, 2 * FEATURES);
    expect_error(params_for("short.tar.gz", int_list(1, one)), KURC_E_DATA, msg, false);
    pb_free(&q);

    const unsigned char bad_label[2] = {1, 12};
    struct pb r = {0};
    pb_cifar_batch(&r, 2, px, sizeof px, bad_label);
    archive_with_batch1("label.tar.gz", r.b, r.n);
    expect_batch1_error("label.tar.gz", "label 1 is not a class from 0 to 9");
    pb_free(&r);

    const char *not_dict = "\x80\x02]q\x01.";
    archive_with_batch1("list.tar.gz", not_dict, strlen(not_dict));
    expect_batch1_error("list.tar.gz", "the pickle holds a list, not a dict");
}

static void test_malformed_binary(void **state) {
    (void)state;
    char sub[1100], file[1200];
    mkdir(path_in("bin.d"), 0755);
    snprintf(sub, sizeof sub, "%s/cifar-10-batches-bin", path_in("bin.d"));
    mkdir(sub, 0755);
    static unsigned char rec[2 * (FEATURES + 1)];
    rec[0] = 3;
    rec[FEATURES + 1] = 10;
    snprintf(file, sizeof file, "%s/data_batch_1.bin", sub);
    write_file(file, rec, sizeof rec - 1);
    tar("bin.tar.gz", "bin.d", "cifar-10-batches-bin");
    const int one[1] = {1};
    char msg[2400];
    snprintf(msg, sizeof msg,
             "cifar: %s:cifar-10-batches-bin/data_batch_1.bin: 6145 bytes is not a whole number "
             "of 3073-byte records",
             path_in("bin.tar.gz"));
    expect_error(params_for("bin.tar.gz", int_list(1, one)), KURC_E_DATA, msg, true);

    write_file(file, rec, sizeof rec);
    tar("bin2.tar.gz", "bin.d", "cifar-10-batches-bin");
    snprintf(msg, sizeof msg,
             "cifar: %s:cifar-10-batches-bin/data_batch_1.bin: label 10 of record 1 is not a "
             "class from 0 to 9",
             path_in("bin2.tar.gz"));
    expect_error(params_for("bin2.tar.gz", int_list(1, one)), KURC_E_DATA, msg, true);

    /* The same part in both layouts is ambiguous. */
    rec[FEATURES + 1] = 4;
    snprintf(file, sizeof file, "%s/data_batch_1.bin", sub);
    write_file(file, rec, sizeof rec);
    struct pb p = {0};
    python2_batch(&p, 1);
    snprintf(file, sizeof file, "%s/data_batch_1", sub);
    write_file(file, p.b, p.n);
    pb_free(&p);
    tar("both.tar.gz", "bin.d", "cifar-10-batches-bin");
    snprintf(msg, sizeof msg, "cifar: %s: part 1 appears twice: ", path_in("both.tar.gz"));
    expect_error(params_for("both.tar.gz", int_list(1, one)), KURC_E_DATA, msg, false);
}

/* Copies dir/from to dir/to with the byte at `back` bytes before the end
 * flipped, or (flip false) with the last `back` bytes cut off. */
static void damage(const char *from, const char *to, long back, bool flip) {
    FILE *f = fopen(path_in(from), "rb");
    assert_non_null(f);
    static unsigned char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    assert_true(n > (size_t)back && n < sizeof bytes);
    if (flip)
        bytes[n - (size_t)back] ^= 0xff;
    write_file(path_in(to), bytes, flip ? n : n - (size_t)back);
}

/* A .tar.gz whose gzip CRC-32 fails, or whose stream is cut short, is
 * refused in both layouts (the tar reader alone stops before the gzip
 * trailer, and libarchive does not check the CRC). */
static void test_damaged_archive(void **state) {
    (void)state;
    const int one[1] = {1};
    char msg[2400];
    for (int binary = 0; binary < 2; binary++) {
        const char *good = binary ? "good-bin.tar.gz" : "good-py.tar.gz";
        make_archive(good, binary);
        damage(good, "crc.tar.gz", 8, true); /* the trailer's first CRC byte */
        snprintf(msg, sizeof msg, "cifar: %s: corrupt gzip data after ", path_in("crc.tar.gz"));
        expect_error(params_for("crc.tar.gz", int_list(1, one)), KURC_E_DATA, msg, false);
        expect_error(params_for("crc.tar.gz", int_list(1, one)), KURC_E_DATA,
                     "incorrect CRC-32 or length check", false);
        damage(good, "cut.tar.gz", 4, false);
        snprintf(msg, sizeof msg, "cifar: %s: truncated gzip data", path_in("cut.tar.gz"));
        expect_error(params_for("cut.tar.gz", int_list(1, one)), KURC_E_DATA, msg, false);
    }
    /* bzip2: libarchive's own check of the stream CRC, which the tar
     * reader never reaches */
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "gzip -dc '%s' | bzip2 > '%s'", path_in("good-bin.tar.gz"),
             path_in("good.tar.bz2"));
    run(cmd);
    damage("good.tar.bz2", "crc.tar.bz2", 3, true);
    snprintf(msg, sizeof msg, "cifar: %s: corrupt bzip2 data after ", path_in("crc.tar.bz2"));
    expect_error(params_for("crc.tar.bz2", int_list(1, one)), KURC_E_DATA, msg, false);
}

/* A small archive whose batch member declares 3 GiB is refused from its
 * header, before anything is read. */
static void test_huge_member(void **state) {
    (void)state;
    const int one[1] = {1};
    iot_tar_declaring(path_in("huge.tar"), "cifar-10-batches-py/data_batch_1", (uint64_t)3 << 30);
    char msg[2400];
    snprintf(msg, sizeof msg,
             "cifar: %s: member cifar-10-batches-py/data_batch_1 is larger than 512 MiB "
             "(3221225472 bytes); not a CIFAR batch",
             path_in("huge.tar"));
    expect_error(params_for("huge.tar", int_list(1, one)), KURC_E_DATA, msg, true);
}

/* The --numpy mode: Python writes the batches and Kur's expected images. */
static const char generator[] =
    "import os, pickle, sys, numpy\n"
    "out, n = sys.argv[1], int(sys.argv[2])\n"
    "f = numpy.arange(3072)\n"
    "def batch(p):\n"
    "    i = numpy.arange(n)[:, None]\n"
    "    data = ((p * 31 + i * 17 + f * 7 + (f // 1024) * 5) % 256).astype(numpy.uint8)\n"
    "    labels = [int((p * 3 + k) % 10) for k in range(n)]\n"
    "    name = b'testing batch 1 of 1' if p == 6 else b'training batch %d of 5' % p\n"
    "    return {b'batch_label': name, b'labels': labels, b'data': data,\n"
    "            b'filenames': [b'img_%d.png' % k for k in range(n)]}\n"
    "def write(tree, protocol):\n"
    "    d = os.path.join(out, tree, 'cifar-10-batches-py')\n"
    "    os.makedirs(d)\n"
    "    for p in range(1, 7):\n"
    "        name = 'test_batch' if p == 6 else 'data_batch_%d' % p\n"
    "        with open(os.path.join(d, name), 'wb') as fh:\n"
    "            fh.write(pickle.dumps(batch(p), protocol=protocol))\n"
    "    with open(os.path.join(d, 'batches.meta'), 'wb') as fh:\n"
    "        fh.write(pickle.dumps({b'label_names': [b'airplane']}, protocol=protocol))\n"
    "def kur(parts):\n"
    "    data = numpy.concatenate([batch(p)[b'data'] for p in parts]).astype(numpy.float32)\n"
    "    data -= data.mean(axis=0)\n"
    "    data /= 255\n"
    "    data = numpy.transpose(data.reshape((-1, 3, 32, 32)), axes=(0, 2, 3, 1))\n"
    "    return numpy.ascontiguousarray(data).tobytes()\n"
    "write('p2', 2)\n"
    "write('p4', 4)\n"
    "open(os.path.join(out, 'kur_1to5.f32'), 'wb').write(kur([1, 2, 3, 4, 5]))\n"
    "open(os.path.join(out, 'kur_5test.f32'), 'wb').write(kur([5, 6]))\n"
    "class Evil:\n"
    "    def __reduce__(self):\n"
    "        return (os.system, ('touch ' + os.path.join(out, 'pwned'),))\n"
    "d = os.path.join(out, 'evil', 'cifar-10-batches-py')\n"
    "os.makedirs(d)\n"
    "with open(os.path.join(d, 'data_batch_1'), 'wb') as fh:\n"
    "    fh.write(pickle.dumps({b'data': Evil(), b'labels': []}, protocol=2))\n";

enum { NP_N = 20 }; /* images per batch in the numpy mode */

/* Loads archive with parts and compares the images with Kur's bytes. */
static void expect_kur_bytes(const char *archive, struct kurc_value *parts,
                             const char *expected_file) {
    struct kurc_value *params = params_for(archive, parts);
    struct kurc_dataset d;
    kurc_dataset_init(&d);
    struct kurc_err err;
    enum kurc_status st = kurc_supplier_cifar.load(params, NULL, &d, &err);
    if (st)
        fprintf(stderr, "unexpected error: %s\n", err.msg);
    assert_int_equal(st, KURC_OK);
    const struct kurc_source *images = kurc_dataset_find(&d, "images");
    FILE *f = fopen(path_in(expected_file), "rb");
    assert_non_null(f);
    size_t bytes = (size_t)images->count * FEATURES * sizeof(float);
    float *want = malloc(bytes + 1);
    assert_int_equal(fread(want, 1, bytes + 1, f), bytes);
    fclose(f);
    assert_memory_equal(images->data, want, bytes);
    free(want);
    kurc_dataset_release(&d);
    kurc_value_free(params);
}

static void test_numpy_pickles(void **state) {
    (void)state;
    write_file(path_in("gen.py"), generator, sizeof generator - 1);
    char cmd[2200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' %d", path_in("gen.py"), scratch.path,
             NP_N);
    run(cmd);
    tar("p2.tar.gz", "p2", "cifar-10-batches-py");
    tar("p4.tar.gz", "p4", "cifar-10-batches-py");
    tar("evil.tar.gz", "evil", "cifar-10-batches-py");
    const int five_test[2] = {5, TEST_PART};
    for (int proto = 0; proto < 2; proto++) {
        const char *archive = proto ? "p4.tar.gz" : "p2.tar.gz";
        expect_kur_bytes(archive, NULL, "kur_1to5.f32");
        expect_kur_bytes(archive, int_list(2, five_test), "kur_5test.f32");
    }
    const int one[1] = {1};
    expect_error(params_for("evil.tar.gz", int_list(1, one)), KURC_E_DATA,
                 "imports posix.system, which is not allowed", false);
    assert_int_equal(access(path_in("pwned"), F_OK), -1);
}

static int numpy_mode(void) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("skipped: /usr/bin/python3 is missing (apt-get install python3 python3-numpy)\n");
        return 77;
    }
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
        printf("skipped: /usr/bin/python3 cannot import numpy (apt-get install python3-numpy)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_numpy_pickles)};
    return cmocka_run_group_tests(tests, setup, teardown);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--numpy") == 0)
        return numpy_mode();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_layout),     cmocka_unit_test(test_python_layout_parts),
        cmocka_unit_test(test_packaging),         cmocka_unit_test(test_parts_errors),
        cmocka_unit_test(test_malformed_batches), cmocka_unit_test(test_malformed_binary),
        cmocka_unit_test(test_damaged_archive),   cmocka_unit_test(test_huge_member),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
