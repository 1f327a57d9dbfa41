/* test_pickle_supplier.c - the pickle supplier on pickles this test writes
 * byte by byte: lists of numbers (flat, nested, tuples, bools), numpy arrays
 * of several dtypes and both byte orders, Python 2 (bytes) keys, and the
 * errors for everything that is not numeric data, each naming the file and
 * the key.  (integration/pickle.sh reads pickles numpy itself wrote.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/supplier.h"
#include "datatest.h"
#include "pickle_build.h"

/* Writes the bytes of p (then frees them) as name in the scratch directory. */
static void save(const char *name, struct pb *p) {
    char *path = dt_path(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p->b, 1, p->n, f), p->n);
    fclose(f);
    free(path);
    pb_free(p);
}

/* X: a Python 3 str. */
static void pb_unicode(struct pb *p, const char *s) {
    pb_op(p, 'X');
    pb_u32(p, (uint32_t)strlen(s));
    pb_bytes(p, s, strlen(s));
}

/* G: a Python float. */
static void pb_float(struct pb *p, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    pb_op(p, 'G');
    for (int i = 7; i >= 0; i--)
        pb_op(p, (unsigned char)(bits >> (8 * i)));
}

/* numpy.core.multiarray._reconstruct(ndarray, (0,), b'b') with the state
 * (1, shape, dtype(descr), False, data): an array as numpy pickles it. */
static void pb_array(struct pb *p, const char *descr, int ndim, const int *dims, const void *data,
                     size_t nbytes) {
    pb_global(p, "numpy.core.multiarray", "_reconstruct");
    pb_global(p, "numpy", "ndarray");
    pb_int(p, 0);
    pb_op(p, 0x85);
    pb_str(p, "b");
    pb_op(p, 0x87);
    pb_op(p, 'R');
    pb_op(p, '(');
    pb_int(p, 1);
    pb_op(p, '(');
    for (int i = 0; i < ndim; i++)
        pb_int(p, dims[i]);
    pb_op(p, 't');
    pb_global(p, "numpy", "dtype");
    pb_str(p, descr);
    pb_int(p, 0);
    pb_int(p, 1);
    pb_op(p, 0x87);
    pb_op(p, 'R');
    pb_op(p, 0x89);
    pb_op(p, 'T');
    pb_u32(p, (uint32_t)nbytes);
    pb_bytes(p, data, nbytes);
    pb_op(p, 't');
    pb_op(p, 'b');
}

static struct kurc_value *kurfile(const char *file) {
    char yaml[256];
    snprintf(yaml, sizeof yaml, "data:\n  - pickle: %s\n", file);
    return kurc_map_get(dt_yaml(yaml), "data");
}

static void expect_source(const struct kurc_dataset *d, const char *name, int ndim,
                          const int64_t *dim, int64_t count, const float *values) {
    const struct kurc_source *s = kurc_dataset_find(d, name);
    assert_non_null(s);
    assert_int_equal(s->shape.ndim, ndim);
    for (int i = 0; i < ndim; i++)
        assert_int_equal(s->shape.dim[i], dim[i]);
    assert_int_equal(s->count, count);
    int64_t n = count * kurc_shape_numel(&s->shape);
    for (int64_t i = 0; i < n; i++)
        if (s->data[i] != values[i] && !(isnan(s->data[i]) && isnan(values[i])))
            fail_msg("%s[%lld] = %g, want %g", name, (long long)i, s->data[i], values[i]);
}

/* {'point': [[0.5, -1.0], [2, True], (3, 4.25)], b'above': [1, -1, 1.5],
 * 'ids': (7, 8, 9)} */
static void test_lists(void **state) {
    (void)state;
    struct pb p = {0};
    pb_op(&p, 0x80);
    pb_op(&p, 2);
    pb_op(&p, '}');
    pb_op(&p, '(');
    pb_unicode(&p, "point");
    pb_op(&p, ']');
    pb_op(&p, '(');
    pb_op(&p, ']');
    pb_op(&p, '(');
    pb_float(&p, 0.5);
    pb_float(&p, -1.0);
    pb_op(&p, 'e');
    pb_op(&p, ']');
    pb_op(&p, '(');
    pb_int(&p, 2);
    pb_op(&p, 0x88);
    pb_op(&p, 'e');
    pb_int(&p, 3);
    pb_float(&p, 4.25);
    pb_op(&p, 0x86);
    pb_op(&p, 'e');
    pb_str(&p, "above"); /* a Python 2 str key */
    pb_op(&p, ']');
    pb_op(&p, '(');
    pb_int(&p, 1);
    pb_int(&p, -1);
    pb_float(&p, 1.5);
    pb_op(&p, 'e');
    pb_unicode(&p, "ids");
    pb_int(&p, 7);
    pb_int(&p, 8);
    pb_int(&p, 9);
    pb_op(&p, 0x87);
    pb_op(&p, 'u');
    pb_op(&p, '.');
    save("lists.pkl", &p);
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(kurc_data_load(kurfile("lists.pkl"), &d, &err), &err);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.count, 3);
    /* in the dict's order */
    assert_string_equal(d.sources[0].name, "point");
    assert_string_equal(d.sources[1].name, "above");
    assert_string_equal(d.sources[2].name, "ids");
    expect_source(&d, "point", 1, (int64_t[]){2}, 3, (float[]){0.5f, -1, 2, 1, 3, 4.25f});
    expect_source(&d, "above", 1, (int64_t[]){1}, 3, (float[]){1, -1, 1.5f});
    expect_source(&d, "ids", 1, (int64_t[]){1}, 3, (float[]){7, 8, 9});
    kurc_dataset_release(&d);
}

/* {'u8': uint8 (2, 2), 'i16': >i2 (2,), 'f64': <f8 (2, 1, 2), 'b': bool (2,),
 *  'f32': <f4 (2,)} */
static void test_arrays(void **state) {
    (void)state;
    struct pb p = {0};
    pb_op(&p, 0x80);
    pb_op(&p, 2);
    pb_op(&p, '}');
    pb_op(&p, '(');
    pb_unicode(&p, "u8");
    pb_array(&p, "|u1", 2, (int[]){2, 2}, "\x00\x01\xfe\xff", 4);
    pb_unicode(&p, "i16");
    pb_array(&p, ">i2", 1, (int[]){2}, "\xff\xfe\x01\x00", 4);
    pb_unicode(&p, "f64");
    double f64[4] = {0.25, -1e10, 3.0, 1e-3};
    pb_array(&p, "<f8", 3, (int[]){2, 1, 2}, f64, sizeof f64);
    pb_unicode(&p, "b");
    pb_array(&p, "|b1", 1, (int[]){2}, "\x01\x00", 2);
    pb_unicode(&p, "f32");
    float f32[2] = {1.5f, -0.5f};
    pb_array(&p, "<f4", 1, (int[]){2}, f32, sizeof f32);
    pb_op(&p, 'u');
    pb_op(&p, '.');
    save("arrays.pkl", &p);
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(kurc_data_load(kurfile("arrays.pkl"), &d, &err), &err);
    assert_int_equal(d.count, 2);
    expect_source(&d, "u8", 1, (int64_t[]){2}, 2, (float[]){0, 1, 254, 255});
    expect_source(&d, "i16", 1, (int64_t[]){1}, 2, (float[]){-2, 256});
    expect_source(&d, "f64", 2, (int64_t[]){1, 2}, 2, (float[]){0.25f, -1e10f, 3, 1e-3f});
    expect_source(&d, "b", 1, (int64_t[]){1}, 2, (float[]){1, 0});
    expect_source(&d, "f32", 1, (int64_t[]){1}, 2, (float[]){1.5f, -0.5f});
    kurc_dataset_release(&d);
}

/* A pickle of {KEY-PART...} written by build, expected to fail with the
 * message wanted (after "FILE:LINE:COL: "). */
static void expect_failure(const char *file, void (*build)(struct pb *), enum kurc_status want,
                           const char *needle) {
    struct pb p = {0};
    pb_op(&p, 0x80);
    pb_op(&p, 2);
    build(&p);
    pb_op(&p, '.');
    save(file, &p);
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_error(kurc_data_load(kurfile(file), &d, &err), &err, want, needle);
}

static void one(struct pb *p, const char *key, void (*value)(struct pb *)) {
    pb_op(p, '}');
    pb_unicode(p, key);
    value(p);
    pb_op(p, 's');
}

static void v_string(struct pb *p) {
    pb_unicode(p, "hello");
}
static void v_none(struct pb *p) {
    pb_op(p, 'N');
}
static void v_int(struct pb *p) {
    pb_int(p, 3);
}
static void v_dict(struct pb *p) {
    pb_op(p, '}');
}
static void v_ragged(struct pb *p) {
    pb_op(p, ']');
    pb_op(p, '(');
    pb_op(p, ']');
    pb_int(p, 1);
    pb_op(p, 'a');
    pb_op(p, ']');
    pb_op(p, '(');
    pb_int(p, 1);
    pb_int(p, 2);
    pb_op(p, 'e');
    pb_op(p, 'e');
}
static void v_mixed(struct pb *p) {
    pb_op(p, ']');
    pb_op(p, '(');
    pb_int(p, 1);
    pb_unicode(p, "two");
    pb_op(p, 'e');
}
static void v_empty(struct pb *p) {
    pb_op(p, ']');
}
static void v_huge(struct pb *p) {
    pb_op(p, ']');
    pb_float(p, 1e39);
    pb_op(p, 'a');
}
static void v_array_scalar(struct pb *p) {
    pb_array(p, "<f8", 0, NULL, "\0\0\0\0\0\0\xf0?", 8);
}
static void v_array_huge(struct pb *p) {
    double v[2] = {1, -1e300};
    pb_array(p, "<f8", 1, (int[]){2}, v, sizeof v);
}

/* A list of 64 references to the list of the level below (BINPUT and
 * BINGET share it), `level` deep: 64^7 numbers from a 1 KB file at level 6. */
static void shared_list(struct pb *p, int level) {
    pb_op(p, ']');
    pb_op(p, '(');
    if (level > 0)
        shared_list(p, level - 1);
    for (int i = level > 0; i < 64; i++) {
        if (level == 0) {
            pb_int(p, 1);
        } else {
            pb_op(p, 'h');
            pb_op(p, (unsigned char)(level - 1));
        }
    }
    pb_op(p, 'e');
    pb_op(p, 'q');
    pb_op(p, (unsigned char)level);
}
static void v_shared(struct pb *p) {
    shared_list(p, 6);
}
static void b_shared(struct pb *p) {
    one(p, "sh", v_shared);
}
static void b_string(struct pb *p) {
    one(p, "s", v_string);
}
static void b_none(struct pb *p) {
    one(p, "n", v_none);
}
static void b_int(struct pb *p) {
    one(p, "i", v_int);
}
static void b_dict(struct pb *p) {
    one(p, "d", v_dict);
}
static void b_ragged(struct pb *p) {
    one(p, "r", v_ragged);
}
static void b_mixed(struct pb *p) {
    one(p, "m", v_mixed);
}
static void b_empty(struct pb *p) {
    one(p, "e", v_empty);
}
static void b_huge(struct pb *p) {
    one(p, "h", v_huge);
}
static void b_array_scalar(struct pb *p) {
    one(p, "a", v_array_scalar);
}
static void b_array_huge(struct pb *p) {
    one(p, "ah", v_array_huge);
}
static void v_array_nan(struct pb *p) {
    float v[3] = {0.5f, -1, NAN};
    pb_array(p, "<f4", 1, (int[]){3}, v, sizeof v);
}
static void b_array_nan(struct pb *p) {
    one(p, "an", v_array_nan);
}
static void v_array_zero_axis(struct pb *p) {
    pb_array(p, "<f4", 2, (int[]){20, 0}, "", 0);
}
static void b_array_zero_axis(struct pb *p) {
    one(p, "z", v_array_zero_axis);
}
static void v_array_no_samples(struct pb *p) {
    pb_array(p, "<f4", 2, (int[]){0, 3}, "", 0);
}
static void b_array_no_samples(struct pb *p) {
    one(p, "e0", v_array_no_samples);
}
static void b_list_root(struct pb *p) {
    pb_op(p, ']');
}
static void b_int_key(struct pb *p) {
    pb_op(p, '}');
    pb_int(p, 5);
    v_ragged(p);
    pb_op(p, 's');
}
static void b_counts(struct pb *p) {
    pb_op(p, '}');
    pb_op(p, '(');
    pb_unicode(p, "x");
    pb_op(p, ']');
    pb_op(p, '(');
    pb_int(p, 1);
    pb_int(p, 2);
    pb_op(p, 'e');
    pb_unicode(p, "y");
    pb_op(p, ']');
    pb_int(p, 1);
    pb_op(p, 'a');
    pb_op(p, 'u');
}
static void b_code(struct pb *p) {
    pb_global(p, "os", "system");
}

static void test_errors(void **state) {
    (void)state;
    expect_failure("s.pkl", b_string, KURC_E_DATA,
                   "pickle: s.pkl: key 's' holds a str; a numpy array or a list of numbers is "
                   "expected");
    expect_failure("n.pkl", b_none, KURC_E_DATA,
                   "pickle: n.pkl: key 'n' holds None; a numpy array or a list of numbers is "
                   "expected");
    expect_failure("i.pkl", b_int, KURC_E_DATA, "pickle: i.pkl: key 'i' holds an int;");
    expect_failure("d.pkl", b_dict, KURC_E_DATA, "pickle: d.pkl: key 'd' holds a dict;");
    expect_failure("r.pkl", b_ragged, KURC_E_DATA,
                   "pickle: r.pkl: key 'r' holds lists of different lengths or depths (a list of "
                   "numbers must be rectangular)");
    expect_failure("m.pkl", b_mixed, KURC_E_DATA,
                   "pickle: m.pkl: key 'm' holds a str among its numbers");
    expect_failure("e.pkl", b_empty, KURC_E_DATA, "pickle: e.pkl: key 'e' holds an empty list");
    expect_failure("h.pkl", b_huge, KURC_E_DATA,
                   "pickle: h.pkl: key 'h' holds NaN, an infinity or a number beyond the "
                   "float32 range");
    expect_failure("a.pkl", b_array_scalar, KURC_E_DATA,
                   "pickle: a.pkl: key 'a' holds a numpy scalar; its first dimension must count "
                   "samples");
    expect_failure("ah.pkl", b_array_huge, KURC_E_DATA,
                   "pickle: ah.pkl: key 'ah' holds NaN, an infinity or a number beyond the "
                   "float32 range (element 1)");
    expect_failure("an.pkl", b_array_nan, KURC_E_DATA,
                   "pickle: an.pkl: key 'an' holds NaN, an infinity or a number beyond the "
                   "float32 range (element 2)");
    /* shapes from data get the checks declared shapes get */
    expect_failure("z.pkl", b_array_zero_axis, KURC_E_DATA,
                   "source 'z' (z.pkl): its samples have shape (0,), with an axis of size 0; "
                   "every axis of a sample needs at least 1");
    expect_failure("e0.pkl", b_array_no_samples, KURC_E_DATA,
                   "the pickle supplier gave no samples: source 'e0' (e0.pkl) is empty");
    expect_failure("sh.pkl", b_shared, KURC_E_DATA,
                   "pickle: sh.pkl: key 'sh' holds lists of more numbers than the file may make");
    expect_failure("l.pkl", b_list_root, KURC_E_DATA,
                   "pickle: l.pkl holds a list; Kur's pickle data is a dict of numpy arrays or "
                   "lists of numbers");
    expect_failure("k.pkl", b_int_key, KURC_E_DATA,
                   "pickle: k.pkl: key 1 is an int; keys must be strings");
    expect_failure("c.pkl", b_counts, KURC_E_DATA,
                   "the data sources have different numbers of samples: x (c.pkl): 2, y (c.pkl): 1");
    expect_failure("o.pkl", b_code, KURC_E_DATA,
                   "pickle: o.pkl: pickle opcode GLOBAL at offset 2 imports os.system, which is "
                   "not allowed");
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_error(kurc_data_load(kurfile("absent.pkl"), &d, &err), &err, KURC_E_IO,
                    "absent.pkl");
    dt_expect_error(kurc_data_load(kurc_map_get(dt_yaml("data:\n  - pickle: {}\n"), "data"), &d,
                                   &err),
                    &err, KURC_E_CONFIG, "pickle: needs a 'source' file");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
