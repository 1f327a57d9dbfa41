/* test_pickle_read.c - the restricted pickle reader: every accepted opcode,
 * a CIFAR batch in Python 2's layout (also scanned for its structure only),
 * protocol 4 framing, reference cycles,
 * and the errors for forbidden opcodes and globals, truncation and
 * inconsistent arrays (each naming the file, opcode and offset). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/pickle_read.h"
#include "pickle_build.h"

/* Loads len bytes, expecting success; the caller frees *doc. */
static const struct kurc_pickle *load_ok(const void *bytes, size_t len,
                                         struct kurc_pickle_doc **doc) {
    struct kurc_err err;
    enum kurc_status st = kurc_pickle_load(bytes, len, "t.pkl", doc, &err);
    if (st)
        fprintf(stderr, "unexpected error: %s\n", err.msg);
    assert_int_equal(st, KURC_OK);
    return kurc_pickle_root(*doc);
}

static void expect_error(const void *bytes, size_t len, const char *msg) {
    struct kurc_pickle_doc *doc = (struct kurc_pickle_doc *)1;
    struct kurc_err err;
    enum kurc_status st = kurc_pickle_load(bytes, len, "t.pkl", &doc, &err);
    if (st != KURC_E_DATA || strcmp(err.msg, msg) != 0)
        fprintf(stderr, "got %d: %s\nwanted: %s\n", st, err.msg, msg);
    assert_int_equal(st, KURC_E_DATA);
    assert_string_equal(err.msg, msg);
    assert_null(doc);
}

#define LOAD_OK(lit, doc) load_ok(lit, sizeof lit - 1, doc)
#define EXPECT_ERROR(lit, msg) expect_error(lit, sizeof lit - 1, msg)

static void test_scalars(void **state) {
    (void)state;
    struct kurc_pickle_doc *doc;
    /* (None, True, False, 7, 300, -5, 70000, LONG1 -2, LONG1 2^40, LONG1 0) */
    const struct kurc_pickle *t =
        LOAD_OK("\x80\x02(N\x88\x89K\x07M\x2c\x01J\xfb\xff\xff\xffJ\x70\x11\x01\x00"
                "\x8a\x01\xfe\x8a\x06\x00\x00\x00\x00\x00\x01\x8a\x00t.",
                &doc);
    assert_int_equal(t->kind, KURC_PICKLE_TUPLE);
    assert_int_equal(t->u.seq.len, 10);
    struct kurc_pickle **it = t->u.seq.items;
    assert_int_equal(it[0]->kind, KURC_PICKLE_NONE);
    assert_true(it[1]->kind == KURC_PICKLE_BOOL && it[1]->u.b);
    assert_true(it[2]->kind == KURC_PICKLE_BOOL && !it[2]->u.b);
    const int64_t ints[] = {7, 300, -5, 70000, -2, (int64_t)1 << 40, 0};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(it[3 + i]->kind, KURC_PICKLE_INT);
        assert_int_equal(it[3 + i]->u.i, ints[i]);
    }
    kurc_pickle_doc_free(doc);
    /* LONG1 with 8 bytes is the whole int64 range. */
    t = LOAD_OK("\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80.", &doc);
    assert_int_equal(t->u.i, INT64_MIN);
    kurc_pickle_doc_free(doc);
}

static void test_floats(void **state) {
    (void)state;
    struct kurc_pickle_doc *doc;
    /* [1.5, -0.1, 1e300, inf] as Python writes them (BINFLOAT) */
    const struct kurc_pickle *t =
        LOAD_OK("\x80\x04]\x94(G?\xf8\x00\x00\x00\x00\x00\x00G\xbf\xb9\x99\x99\x99\x99\x99\x9a"
                "G~7\xe4<\x88\x00u\x9c" "G\x7f\xf0\x00\x00\x00\x00\x00\x00" "e.",
                &doc);
    assert_int_equal(t->kind, KURC_PICKLE_LIST);
    assert_int_equal(t->u.seq.len, 4);
    const double want[] = {1.5, -0.1, 1e300, 1.0 / 0.0};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t->u.seq.items[i]->kind, KURC_PICKLE_FLOAT);
        assert_true(t->u.seq.items[i]->u.f == want[i]);
    }
    assert_string_equal(kurc_pickle_kind_name(KURC_PICKLE_FLOAT), "float");
    kurc_pickle_doc_free(doc);
    EXPECT_ERROR("\x80\x02G\x3f\xf8.",
                 "t.pkl: truncated pickle: BINFLOAT at offset 2 needs 8 bytes, only 3 left");
}

static void test_strings(void **state) {
    (void)state;
    struct kurc_pickle_doc *doc;
    /* U, T, B, C (bytes); X, 0x8c (str); codecs.encode('\u00e9a', 'latin1');
     * bytes() */
    const struct kurc_pickle *t =
        LOAD_OK("\x80\x02(U\x02hiT\x03\x00\x00\x00" "a\x00" "bB\x01\x00\x00\x00zC\x00"
                "X\x03\x00\x00\x00\xc3\xa9" "a\x8c\x01s"
                "c_codecs\nencode\nX\x03\x00\x00\x00\xc3\xa9" "aX\x06\x00\x00\x00latin1\x86R"
                "c__builtin__\nbytes\n)Rt.",
                &doc);
    assert_int_equal(t->u.seq.len, 8);
    struct kurc_pickle **it = t->u.seq.items;
    const struct {
        enum kurc_pickle_kind kind;
        const char *s;
        size_t len;
    } want[] = {
        {KURC_PICKLE_BYTES, "hi", 2},      {KURC_PICKLE_BYTES, "a\0b", 3},
        {KURC_PICKLE_BYTES, "z", 1},       {KURC_PICKLE_BYTES, "", 0},
        {KURC_PICKLE_STR, "\xc3\xa9" "a", 3}, {KURC_PICKLE_STR, "s", 1},
        {KURC_PICKLE_BYTES, "\xe9" "a", 2}, {KURC_PICKLE_BYTES, "", 0},
    };
    for (int i = 0; i < 8; i++) {
        assert_int_equal(it[i]->kind, want[i].kind);
        assert_int_equal(it[i]->u.bytes.len, want[i].len);
        assert_memory_equal(it[i]->u.bytes.s, want[i].s, want[i].len + 1);
    }
    kurc_pickle_doc_free(doc);
}

static void test_containers_and_memo(void **state) {
    (void)state;
    struct kurc_pickle_doc *doc;
    /* d = {'a': [1], 'b': (), 'c': (2,), 'e': (2, 3), 'f': (2, 3, 4)}; the
     * list stored with BINPUT and fetched again with BINGET as 'g', the
     * tuple with LONG_BINPUT/LONG_BINGET as 'h'; 'a' set again to 9 (the
     * last value wins). */
    const struct kurc_pickle *d =
        LOAD_OK("\x80\x02}q\x00("
                "U\x01" "a]q\x01K\x01" "a"
                "U\x01" "b)"
                "U\x01" "cK\x02\x85"
                "U\x01" "eK\x02K\x03\x86"
                "U\x01" "fK\x02K\x03K\x04\x87r\x40\x00\x00\x00"
                "U\x01" "gh\x01"
                "U\x01" "hj\x40\x00\x00\x00"
                "u"
                "U\x01" "aK\x09s.",
                &doc);
    assert_int_equal(d->kind, KURC_PICKLE_DICT);
    const struct kurc_pickle *a = kurc_pickle_dict_get(d, "a");
    assert_int_equal(a->kind, KURC_PICKLE_INT);
    assert_int_equal(a->u.i, 9);
    const struct kurc_pickle *g = kurc_pickle_dict_get(d, "g");
    assert_int_equal(g->kind, KURC_PICKLE_LIST);
    assert_int_equal(g->u.seq.len, 1);
    assert_int_equal(g->u.seq.items[0]->u.i, 1);
    assert_int_equal(kurc_pickle_dict_get(d, "b")->u.seq.len, 0);
    assert_int_equal(kurc_pickle_dict_get(d, "c")->u.seq.len, 1);
    assert_int_equal(kurc_pickle_dict_get(d, "e")->u.seq.len, 2);
    const struct kurc_pickle *f = kurc_pickle_dict_get(d, "f");
    assert_int_equal(f->kind, KURC_PICKLE_TUPLE);
    assert_int_equal(f->u.seq.items[2]->u.i, 4);
    /* 'h' is the same tuple object as 'f'. */
    assert_ptr_equal(kurc_pickle_dict_get(d, "h"), f);
    assert_null(kurc_pickle_dict_get(d, "zzz"));
    assert_null(kurc_pickle_dict_get(g, "a"));
    kurc_pickle_doc_free(doc);
}

/* A list that contains itself is freed without leaking (the document owns
 * every object). */
static void test_cycle(void **state) {
    (void)state;
    struct kurc_pickle_doc *doc;
    const struct kurc_pickle *l = LOAD_OK("\x80\x02]q\x00h\x00" "a.", &doc);
    assert_int_equal(l->kind, KURC_PICKLE_LIST);
    assert_ptr_equal(l->u.seq.items[0], l);
    kurc_pickle_doc_free(doc);
    kurc_pickle_doc_free(NULL);
}

/* Protocol 4: FRAME, SHORT_BINUNICODE, STACK_GLOBAL and MEMOIZE. */
static void test_protocol4(void **state) {
    (void)state;
    struct kurc_pickle_doc *doc;
    const struct kurc_pickle *arr = LOAD_OK(
        "\x80\x04\x95\x00\x01\x00\x00\x00\x00\x00\x00"
        "\x8c\x15numpy.core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94"
        "\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94" "C\x01" "b\x94\x87\x94R\x94"
        "(K\x01K\x02\x85\x94h\x03\x8c\x05" "dtype\x94\x93\x94\x8c\x02i2\x94\x89\x88\x87\x94R\x94"
        "(K\x03\x8c\x01>\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94" "b\x89"
        "C\x04\x00\x01\xff\xfe\x94t\x94" "b.",
        &doc);
    assert_int_equal(arr->kind, KURC_PICKLE_ARRAY);
    assert_true(arr->u.array.built);
    assert_int_equal(arr->u.array.ndim, 1);
    assert_int_equal(arr->u.array.dim[0], 2);
    assert_int_equal(arr->u.array.dtype.kind, 'i');
    assert_int_equal(arr->u.array.dtype.itemsize, 2);
    assert_true(arr->u.array.dtype.big_endian);
    assert_int_equal(arr->u.array.nbytes, 4);
    assert_memory_equal(arr->u.array.data, "\x00\x01\xff\xfe", 4);
    kurc_pickle_doc_free(doc);
}

/* A batch exactly as cPickle wrote cifar-10-python.tar.gz's members. */
static void test_python2_cifar_batch(void **state) {
    (void)state;
    unsigned char pixels[2 * 3072], labels[2] = {6, 9};
    for (int i = 0; i < 2 * 3072; i++)
        pixels[i] = (unsigned char)(i * 7);
    struct pb p = {0};
    pb_cifar_batch(&p, 2, pixels, sizeof pixels, labels);
    struct kurc_pickle_doc *doc;
    const struct kurc_pickle *d = load_ok(p.b, p.n, &doc);
    const struct kurc_pickle *data = kurc_pickle_dict_get(d, "data");
    assert_int_equal(data->kind, KURC_PICKLE_ARRAY);
    assert_int_equal(data->u.array.ndim, 2);
    assert_int_equal(data->u.array.dim[0], 2);
    assert_int_equal(data->u.array.dim[1], 3072);
    assert_int_equal(data->u.array.dtype.kind, 'u');
    assert_int_equal(data->u.array.dtype.itemsize, 1);
    assert_memory_equal(data->u.array.data, pixels, sizeof pixels);
    const struct kurc_pickle *l = kurc_pickle_dict_get(d, "labels");
    assert_int_equal(l->u.seq.len, 2);
    assert_int_equal(l->u.seq.items[1]->u.i, 9);
    assert_string_equal(kurc_pickle_dict_get(d, "batch_label")->u.bytes.s,
                        "training batch 1 of 5");
    assert_int_equal(kurc_pickle_dict_get(d, "filenames")->u.seq.len, 2);
    kurc_pickle_doc_free(doc);
    pb_free(&p);
}

/* kurc_pickle_scan: the same batch's structure, its 6144 pixel bytes
 * (more than KURC_PICKLE_SCAN_SKIP) counted but not copied; short strings
 * are kept, and a batch cut inside the pixels fails as with load. */
static void test_scan(void **state) {
    (void)state;
    unsigned char pixels[2 * 3072] = {0}, labels[2] = {6, 9};
    struct pb p = {0};
    pb_cifar_batch(&p, 2, pixels, sizeof pixels, labels);
    struct kurc_pickle_doc *doc;
    struct kurc_err err;
    assert_int_equal(kurc_pickle_scan(p.b, p.n, "t.pkl", &doc, &err), KURC_OK);
    const struct kurc_pickle *d = kurc_pickle_root(doc);
    const struct kurc_pickle *data = kurc_pickle_dict_get(d, "data");
    assert_int_equal(data->kind, KURC_PICKLE_ARRAY);
    assert_true(data->u.array.built);
    assert_int_equal(data->u.array.dim[0], 2);
    assert_int_equal(data->u.array.dim[1], 3072);
    assert_int_equal(data->u.array.nbytes, sizeof pixels);
    assert_null(data->u.array.data);
    assert_int_equal(kurc_pickle_dict_get(d, "labels")->u.seq.items[1]->u.i, 9);
    assert_string_equal(kurc_pickle_dict_get(d, "batch_label")->u.bytes.s,
                        "training batch 1 of 5");
    kurc_pickle_doc_free(doc);
    size_t cut = p.n - 2000; /* inside the pixels */
    assert_int_equal(kurc_pickle_scan(p.b, cut, "t.pkl", &doc, &err), KURC_E_DATA);
    char scanned[sizeof err.msg];
    snprintf(scanned, sizeof scanned, "%s", err.msg);
    assert_int_equal(kurc_pickle_load(p.b, cut, "t.pkl", &doc, &err), KURC_E_DATA);
    assert_string_equal(scanned, err.msg);
    pb_free(&p);
}

static void test_forbidden(void **state) {
    (void)state;
    const char *why = "(kurc reads only numpy arrays, numbers, strings, lists and dicts from "
                      "pickles)";
    char msg[512];
    snprintf(msg, sizeof msg,
             "t.pkl: pickle opcode GLOBAL at offset 2 imports os.system, which is not allowed %s",
             why);
    EXPECT_ERROR("\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00lsR.", msg);
    snprintf(msg, sizeof msg,
             "t.pkl: pickle opcode GLOBAL at offset 0 imports builtins.eval, which is not "
             "allowed %s",
             why);
    EXPECT_ERROR("cbuiltins\neval\n.", msg);
    snprintf(msg, sizeof msg,
             "t.pkl: pickle opcode STACK_GLOBAL at offset 19 imports subprocess.run, which is "
             "not allowed %s",
             why);
    EXPECT_ERROR("\x80\x04\x8c\x0asubprocess\x8c\x03run\x93.", msg);
    snprintf(msg, sizeof msg, "t.pkl: pickle opcode INST (0x69) at offset 3 is not allowed %s",
             why);
    EXPECT_ERROR("\x80\x02(ios\nsystem\n.", msg);
    snprintf(msg, sizeof msg, "t.pkl: pickle opcode NEWOBJ (0x81) at offset 2 is not allowed %s",
             why);
    EXPECT_ERROR("\x80\x02\x81.", msg);
    snprintf(msg, sizeof msg, "t.pkl: pickle opcode BINPERSID (0x51) at offset 3 is not allowed %s",
             why);
    EXPECT_ERROR("\x80\x02NQ.", msg);
    EXPECT_ERROR("\x80\x02\xff.", "t.pkl: not a pickle: unknown opcode 0xFF at offset 2");
    EXPECT_ERROR("\x80\x05N.",
                 "t.pkl: malformed pickle: PROTO at offset 0: pickle protocol 5 is not supported "
                 "(2 to 4 are)");
    /* Allowed globals still cannot be called with other arguments. */
    EXPECT_ERROR("cnumpy\nndarray\n)R.",
                 "t.pkl: malformed pickle: REDUCE at offset 16: numpy.ndarray cannot be called "
                 "directly");
    EXPECT_ERROR("c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00utf-8\x86R.",
                 "t.pkl: malformed pickle: REDUCE at offset 33: codecs.encode takes (str, "
                 "'latin1')");
    EXPECT_ERROR("c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x82\xacX\x06\x00\x00\x00latin1\x86R.",
                 "t.pkl: malformed pickle: REDUCE at offset 36: codecs.encode: text at byte 0 is "
                 "not latin1 in UTF-8");
    EXPECT_ERROR("cnumpy\ndtype\nU\x02O8\x85R.",
                 "t.pkl: malformed pickle: REDUCE at offset 18: numpy.dtype(O8) is not a "
                 "supported numeric dtype");
    EXPECT_ERROR("]K\x01R.", "t.pkl: malformed pickle: REDUCE at offset 3: cannot call a list");
    EXPECT_ERROR("]N\x85" "b.",
                 "t.pkl: malformed pickle: BUILD at offset 3: cannot set the state of a list");
}

static void test_malformed(void **state) {
    (void)state;
    EXPECT_ERROR("\x80\x02]", "t.pkl: truncated pickle: no STOP opcode in its 3 bytes");
    EXPECT_ERROR("", "t.pkl: truncated pickle: no STOP opcode in its 0 bytes");
    EXPECT_ERROR("\x80\x02T\x10\x00\x00\x00" "abc",
                 "t.pkl: truncated pickle: BINSTRING at offset 2 needs 16 bytes, only 3 left");
    EXPECT_ERROR("\x80\x02J\x01\x02",
                 "t.pkl: truncated pickle: BININT at offset 2 needs 4 bytes, only 2 left");
    EXPECT_ERROR("cnumpy\ndtype",
                 "t.pkl: truncated pickle: GLOBAL at offset 0 has no end of line");
    EXPECT_ERROR("T\xff\xff\xff\xff.",
                 "t.pkl: malformed pickle: BINSTRING at offset 0: negative length -1");
    EXPECT_ERROR(".", "t.pkl: malformed pickle: STOP at offset 0: the stack is empty");
    EXPECT_ERROR("\x86.",
                 "t.pkl: malformed pickle: TUPLE2 at offset 0: needs 2 objects on the stack, "
                 "found 0");
    EXPECT_ERROR("N(a.", "t.pkl: malformed pickle: APPEND at offset 2: the stack is empty");
    EXPECT_ERROR("Ne.", "t.pkl: malformed pickle: APPENDS at offset 1: there is no MARK");
    EXPECT_ERROR("N(Ne.",
                 "t.pkl: malformed pickle: APPENDS at offset 3: expected a list below the MARK, "
                 "found a None");
    EXPECT_ERROR("}(Nu.",
                 "t.pkl: malformed pickle: SETITEMS at offset 3: an odd number (1) of keys and "
                 "values");
    EXPECT_ERROR("h\x05.", "t.pkl: malformed pickle: BINGET at offset 0: memo entry 5 was never set");
    EXPECT_ERROR("Nr\xff\xff\xff\xff.",
                 "t.pkl: malformed pickle: LONG_BINPUT at offset 1: memo index 4294967295 is out "
                 "of range");
    EXPECT_ERROR("\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.",
                 "t.pkl: malformed pickle: LONG1 at offset 0: integer of 9 bytes does not fit in "
                 "64 bits");
}

/* Arrays whose state does not add up. */
static void test_bad_arrays(void **state) {
    (void)state;
    unsigned char pixels[3 * 3072] = {0}, labels[3] = {0, 1, 2};
    struct pb p = {0};
    pb_cifar_batch(&p, 3, pixels, sizeof pixels - 1, labels);
    size_t at = 0; /* offset of the BUILD that fails: just after the data */
    for (size_t i = 0; i + 2 < p.n; i++)
        if (p.b[i] == 'T')
            at = i + 5 + (sizeof pixels - 1) + 1;
    char msg[256];
    snprintf(msg, sizeof msg,
             "t.pkl: malformed pickle: BUILD at offset %zu: numpy array data has 9215 bytes, but "
             "shape (3, 3072) of u1 needs 9216",
             at);
    expect_error(p.b, p.n, msg);
    pb_free(&p);

    /* A state whose data is a list (an object array), whose shape is not a
     * tuple or has a negative dimension. */
#define HEAD "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01" "b\x87R"
#define DTYPE "cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R"
#define CASE(lit, msg) {lit, sizeof lit - 1, msg}
    static const struct {
        const char *bytes;
        size_t len;
        const char *msg;
    } cases[] = {
        CASE(HEAD "(K\x01K\x01\x85" DTYPE "\x89]t" "b.",
             "numpy arrays of Python objects are not supported"),
        CASE(HEAD "(K\x01K\x01" DTYPE "\x89U\x01xt" "b.",
             "numpy array shape must be a tuple of at most 8 ints"),
        CASE(HEAD "(K\x01J\xff\xff\xff\xff\x85" DTYPE "\x89U\x00t" "b.",
             "numpy array dimension 0 is not a non-negative int"),
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct kurc_pickle_doc *doc = NULL;
        struct kurc_err err;
        assert_int_equal(kurc_pickle_load((const unsigned char *)cases[c].bytes, cases[c].len,
                                          "t.pkl", &doc, &err),
                         KURC_E_DATA);
        snprintf(msg, sizeof msg, "t.pkl: malformed pickle: BUILD at offset %zu: %s",
                 cases[c].len - 2, cases[c].msg);
        assert_string_equal(err.msg, msg);
    }
}

/* A Fortran-ordered array (numpy pickles x.T so) comes out in C order. */
static void test_fortran_order(void **state) {
    (void)state;
    struct kurc_pickle_doc *doc;
    /* shape (2, 3), u1, is_fortran, column-major bytes "adbecf" */
    const struct kurc_pickle *a = LOAD_OK(HEAD "(K\x01K\x02K\x03\x86" DTYPE "\x88U\x06" "adbecft"
                                                "b.",
                                          &doc);
    assert_int_equal(a->kind, KURC_PICKLE_ARRAY);
    assert_int_equal(a->u.array.ndim, 2);
    assert_int_equal(a->u.array.dim[0], 2);
    assert_int_equal(a->u.array.dim[1], 3);
    assert_memory_equal(a->u.array.data, "abcdef", 6);
    kurc_pickle_doc_free(doc);
    /* three dimensions, (2, 2, 2), of 2-byte items: F offset i + 2j + 4k */
    a = LOAD_OK(HEAD "(K\x01K\x02K\x02K\x02\x87" "cnumpy\ndtype\nU\x02u2K\x00K\x01\x87R\x88"
                     "U\x10" "A0B0C0D0E0F0G0H0t" "b.",
                &doc);
    assert_int_equal(a->u.array.ndim, 3);
    /* C order (i, j, k): 000 001 010 011 100 ... -> F offsets 0 4 2 6 1 5 3 7 */
    assert_memory_equal(a->u.array.data, "A0E0C0G0B0F0D0H0", 16);
    kurc_pickle_doc_free(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_containers_and_memo),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_protocol4),
        cmocka_unit_test(test_python2_cifar_batch),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_forbidden),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bad_arrays),
        cmocka_unit_test(test_fortran_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
