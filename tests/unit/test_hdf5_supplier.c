/* test_hdf5_supplier.c - the hdf5 supplier on files this test writes with
 * the HDF5 C API: several datasets of integer and floating types, groups,
 * and the errors for strings, scalars, mismatched sample counts and files
 * that are not HDF5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "data/supplier.h"
#include "datatest.h"

/* Writes dataset name (rank dims, values given as doubles converted by
 * HDF5 to file type ftype) under loc. */
static void write_dataset(hid_t loc, const char *name, hid_t ftype, int rank,
                          const hsize_t *dims, const double *values) {
    hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    assert_true(space >= 0);
    hid_t dset = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(dset >= 0);
    assert_true(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0);
    H5Dclose(dset);
    H5Sclose(space);
}

static hid_t create_file(const char *name) {
    char *path = dt_path(name);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    free(path);
    assert_true(f >= 0);
    return f;
}

static double ramp[64];

static void fill_ramp(void) {
    for (int i = 0; i < 64; i++)
        ramp[i] = i - 0.25 * (i % 2); /* halves survive float, not int */
}

static enum kurc_status load(const char *yaml, struct kurc_dataset *d, struct kurc_err *err) {
    return kurc_data_load(kurc_map_get(dt_yaml(yaml), "data"), d, err);
}

static void test_several_datasets(void **state) {
    (void)state;
    fill_ramp();
    hid_t f = create_file("several.h5");
    write_dataset(f, "weights", H5T_IEEE_F64LE, 2, (hsize_t[]){4, 2}, ramp);
    write_dataset(f, "images", H5T_IEEE_F32LE, 3, (hsize_t[]){4, 2, 3}, ramp);
    write_dataset(f, "labels", H5T_STD_I32LE, 1, (hsize_t[]){4}, (double[]){3, -1, 0, 7});
    hid_t meta = H5Gcreate2(f, "meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    write_dataset(meta, "ids", H5T_STD_U8LE, 2, (hsize_t[]){4, 1}, (double[]){9, 8, 7, 255});
    hid_t deep = H5Gcreate2(meta, "deep", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    write_dataset(deep, "z", H5T_STD_I64BE, 1, (hsize_t[]){4}, (double[]){1, 2, 3, 4});
    H5Gclose(deep);
    H5Gclose(meta);
    H5Fclose(f);

    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_ok(load("data:\n  - hdf5: several.h5\n", &d, &err), &err);
    assert_int_equal(d.count, 4);
    /* Name order in every group, depth first. */
    const char *names[] = {"images", "labels", "meta/deep/z", "meta/ids", "weights"};
    assert_int_equal(d.n, 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(d.sources[i].name, names[i]);

    const struct kurc_source *images = kurc_dataset_find(&d, "images");
    assert_int_equal(images->shape.ndim, 2);
    assert_int_equal(images->shape.dim[0], 2);
    assert_int_equal(images->shape.dim[1], 3);
    for (int i = 0; i < 24; i++)
        assert_float_equal(images->data[i], (float)ramp[i], 0);
    assert_string_equal(images->origin, "several.h5");

    const struct kurc_source *weights = kurc_dataset_find(&d, "weights");
    assert_int_equal(weights->shape.ndim, 1);
    assert_int_equal(weights->shape.dim[0], 2);
    assert_float_equal(weights->data[7], (float)ramp[7], 0);

    const struct kurc_source *labels = kurc_dataset_find(&d, "labels");
    assert_int_equal(labels->shape.ndim, 1);
    assert_int_equal(labels->shape.dim[0], 1);
    const float want_labels[] = {3, -1, 0, 7};
    assert_memory_equal(labels->data, want_labels, sizeof want_labels);

    const float want_ids[] = {9, 8, 7, 255}, want_z[] = {1, 2, 3, 4};
    assert_memory_equal(kurc_dataset_find(&d, "meta/ids")->data, want_ids, sizeof want_ids);
    assert_memory_equal(kurc_dataset_find(&d, "meta/deep/z")->data, want_z, sizeof want_z);
    kurc_dataset_release(&d);

    /* The mapping form, and stacking the same file twice. */
    dt_expect_ok(load("data:\n  - hdf5: {path: several.h5}\n  - hdf5: [several.h5]\n", &d, &err),
                 &err);
    assert_int_equal(d.count, 8);
    assert_float_equal(kurc_dataset_find(&d, "labels")->data[7], 7, 0);
    kurc_dataset_release(&d);
}

static void test_mismatched_samples(void **state) {
    (void)state;
    hid_t f = create_file("mismatch.h5");
    write_dataset(f, "x", H5T_IEEE_F32LE, 2, (hsize_t[]){4, 2}, ramp);
    write_dataset(f, "y", H5T_STD_I16LE, 1, (hsize_t[]){3}, ramp);
    H5Fclose(f);
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_error(load("data:\n  - hdf5: mismatch.h5\n", &d, &err), &err, KURC_E_DATA,
                    "test.yml:2:3: the data sources have different numbers of samples: "
                    "x (mismatch.h5): 4, y (mismatch.h5): 3");
}

/* A small file whose dataset declares (2^29, 2) values it never stored
 * (contiguous, or chunked and compressed) is refused from its header,
 * before 4 GiB are allocated and filled. */
static void test_declared_not_stored(void **state) {
    (void)state;
    for (int chunked = 0; chunked < 2; chunked++) {
        hid_t f = create_file("declared.h5");
        hid_t space = H5Screate_simple(2, (hsize_t[]){(hsize_t)1 << 29, 2}, NULL);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (chunked) {
            assert_true(H5Pset_chunk(dcpl, 2, (hsize_t[]){1 << 16, 2}) >= 0);
            assert_true(H5Pset_deflate(dcpl, 6) >= 0);
        }
        hid_t dset = H5Dcreate2(f, "x", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        assert_true(dset >= 0);
        H5Dclose(dset);
        H5Pclose(dcpl);
        H5Sclose(space);
        H5Fclose(f);
        struct kurc_dataset d;
        struct kurc_err err;
        dt_expect_error(load("data:\n  - hdf5: declared.h5\n", &d, &err), &err, KURC_E_DATA,
                        "test.yml:2:5: hdf5: declared.h5: dataset 'x' declares 536870912 "
                        "samples of shape (2,) (4294967296 bytes) but the file stores 0 bytes "
                        "of it");
    }
}

static void test_non_numeric(void **state) {
    (void)state;
    hid_t f = create_file("strings.h5");
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, 8);
    hsize_t n = 2;
    hid_t space = H5Screate_simple(1, &n, NULL);
    hid_t dset = H5Dcreate2(f, "names", str, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(H5Dwrite(dset, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, "abcdefg\0hijklmn") >= 0);
    H5Dclose(dset);
    H5Sclose(space);
    H5Tclose(str);
    write_dataset(f, "a_number", H5T_IEEE_F32LE, 1, &n, ramp);
    H5Fclose(f);
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_error(load("data:\n  - hdf5: strings.h5\n", &d, &err), &err, KURC_E_DATA,
                    "test.yml:2:5: hdf5: strings.h5: dataset 'names' holds string values, not "
                    "numbers");

    f = create_file("scalar.h5");
    write_dataset(f, "s", H5T_IEEE_F64LE, 0, NULL, ramp);
    H5Fclose(f);
    dt_expect_error(load("data:\n  - hdf5: scalar.h5\n", &d, &err), &err, KURC_E_DATA,
                    "hdf5: scalar.h5: dataset 's' is a scalar; its first dimension must count "
                    "samples");
}

static void test_file_errors(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    dt_write("text.h5", "not hdf5 at all\n");
    dt_expect_error(load("data:\n  - hdf5: text.h5\n", &d, &err), &err, KURC_E_DATA,
                    "test.yml:2:5: hdf5: text.h5 is not an HDF5 file");
    dt_expect_error(load("data:\n  - hdf5: absent.h5\n", &d, &err), &err, KURC_E_IO,
                    "hdf5: cannot open absent.h5: No such file or directory");
    /* A file with no datasets gives no sources. */
    H5Fclose(create_file("empty.h5"));
    dt_expect_ok(load("data:\n  - hdf5: empty.h5\n", &d, &err), &err);
    assert_int_equal(d.n, 0);
    kurc_dataset_release(&d);
}

/* NaNs and infinities (also a float64 beyond float32's range), a dataset
 * without samples and a zero-sized axis are refused, naming the place. */
static void test_bad_values(void **state) {
    (void)state;
    struct kurc_dataset d;
    struct kurc_err err;
    double v[8];
    memcpy(v, ramp, sizeof v);
    v[5] = NAN;
    hid_t f = create_file("nan.h5");
    write_dataset(f, "x", H5T_IEEE_F32LE, 2, (hsize_t[]){4, 2}, v);
    H5Fclose(f);
    dt_expect_error(load("data:\n  - hdf5: nan.h5\n", &d, &err), &err, KURC_E_DATA,
                    "test.yml:2:5: nan.h5: sample 2 of 'x' holds NaN at index [1]; kurc refuses "
                    "data that is not finite");
    v[5] = 1e300;
    f = create_file("big.h5");
    write_dataset(f, "y", H5T_IEEE_F64LE, 3, (hsize_t[]){2, 2, 2}, v);
    H5Fclose(f);
    dt_expect_error(load("data:\n  - hdf5: big.h5\n", &d, &err), &err, KURC_E_DATA,
                    "big.h5: sample 1 of 'y' holds inf at index [0, 1]");
    f = create_file("none.h5");
    write_dataset(f, "x", H5T_IEEE_F32LE, 2, (hsize_t[]){0, 3}, v);
    H5Fclose(f);
    dt_expect_error(load("data:\n  - hdf5: none.h5\n", &d, &err), &err, KURC_E_DATA,
                    "test.yml:2:5: the hdf5 supplier gave no samples: source 'x' (none.h5) is "
                    "empty");
    f = create_file("zero.h5");
    write_dataset(f, "x", H5T_IEEE_F32LE, 2, (hsize_t[]){20, 0}, v);
    H5Fclose(f);
    dt_expect_error(load("data:\n  - hdf5: zero.h5\n", &d, &err), &err, KURC_E_DATA,
                    "source 'x' (zero.h5): its samples have shape (0,), with an axis of size 0");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_several_datasets),    cmocka_unit_test(test_mismatched_samples),
        cmocka_unit_test(test_declared_not_stored), cmocka_unit_test(test_non_numeric),
        cmocka_unit_test(test_file_errors),         cmocka_unit_test(test_bad_values),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
