/* mnist.c - the `mnist` supplier: a pair of IDX files of images and class
 * labels (LeCun's MNIST layout; Fashion-MNIST uses the same), as Kur's
 * kur/supplier/mnist.py reads them.
 *
 * Sources:
 *   images  (H, W, 1) float32 per sample: pixel / 255, minus the mean of
 *           those values over the whole file (one scalar per file, so train
 *           and test sets are each centred on their own mean), then a
 *           channel axis.  H and W come from the file, not a constant.
 *   labels  (10,) one-hot float32.
 * `images` and `labels` are each a path or {url, checksum, path}
 * (package.h).  The mean is computed exactly as numpy computes it in
 * float32, so the images are bit-identical to Kur's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "data/package.h"
#include "data/supplier.h"
#include "formats/idx.h"

/* Prefixes the message of a failed call with "mnist: " and gives it the
 * supplier's place when it has none. */
static enum kurc_status tagged(struct kurc_err *err, const struct kurc_loc *where) {
    kurc_err_prefix(err, "mnist: ");
    return kurc_err_place(err, where);
}

/* Fetches and reads the IDX file that params[key] names (its header only
 * when header_only). */
static enum kurc_status read_idx(const struct kurc_value *params, const char *key,
                                 const struct kurc_loc *where, bool header_only, char **path,
                                 struct kurc_idx *idx, struct kurc_err *err) {
    const struct kurc_value *spec = kurc_map_get(params, key);
    if (!spec || spec->kind == KURC_NULL)
        return kurc_err_set(err, KURC_E_CONFIG, where, "mnist: \"%s\" is required", key);
    if (kurc_package_fetch(spec, path, err) ||
        (header_only ? kurc_idx_describe : kurc_idx_load)(*path, idx, err))
        return tagged(err, where);
    return KURC_OK;
}

/* numpy's pairwise summation of float32 values (pairwise_sum in numpy's
 * loops_utils.h): short runs in order, up to 128 values in eight
 * interleaved partial sums, longer runs split in two at a multiple of 8. */
static float pairwise_sum(const float *a, int64_t n) {
    if (n < 8) {
        float r = -0.0f;
        for (int64_t i = 0; i < n; i++)
            r += a[i];
        return r;
    }
    if (n <= 128) {
        float r[8];
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        int64_t i;
        for (i = 8; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    int64_t half = n / 2;
    half -= half % 8;
    return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

/* x[i] = x[i] / divisor - minus over n values, in blocks of a fixed
 * length (which the compiler vectorises) and the rest. */
static void scale_shift(float *x, int64_t n, float divisor, float minus) {
    enum { BLOCK = 64 };
    int64_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK)
        for (int k = 0; k < BLOCK; k++)
            x[i + k] = x[i + k] / divisor - minus;
    for (; i < n; i++)
        x[i] = x[i] / divisor - minus;
}

/* images: x / 255 - mean(x / 255), in place (Kur's _normalize).  The mean
 * is x.mean() of a float32 numpy array, to the bit: numpy reduces in
 * chunks of its 8192-element ufunc buffer, each summed pairwise in
 * float32, the chunk sums added in order, and divides in float32.  Each
 * chunk is divided and summed while it is in cache (one pass over memory
 * for both). */
static void normalise(float *x, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i += 8192) {
        int64_t len = n - i < 8192 ? n - i : 8192;
        scale_shift(x + i, len, 255.0f, 0.0f);
        sum += pairwise_sum(x + i, len);
    }
    scale_shift(x, n, 1.0f, n ? sum / (float)n : 0.0f);
}

/* labels: (N,) class numbers -> (N, 10) one-hot (Kur's _onehot). */
static enum kurc_status one_hot(const struct kurc_idx *labels, const char *path,
                                const struct kurc_loc *where, float **out,
                                struct kurc_err *err) {
    int64_t n = labels->dim[0];
    float *hot = calloc(n ? (size_t)n * 10 : 1, sizeof *hot);
    if (!hot)
        return kurc_err_set(err, KURC_E_DATA, where, "mnist: out of memory for %lld labels",
                            (long long)n);
    for (int64_t i = 0; i < n; i++) {
        float v = labels->data[i];
        if (!(v >= 0 && v <= 9 && v == (float)(int)v)) {
            free(hot);
            return kurc_err_set(err, KURC_E_DATA, where,
                                "mnist: %s: label %g of sample %lld is not a class from 0 to 9",
                                path, (double)v, (long long)i);
        }
        hot[i * 10 + (int)v] = 1.0f;
    }
    *out = hot;
    return KURC_OK;
}

/* Reads both files (their headers only when header_only) and checks that
 * their dimensions make a set of images and their labels. */
static enum kurc_status read_pair(const struct kurc_value *params, const struct kurc_loc *where,
                                  bool header_only, char **images_path, struct kurc_idx *images,
                                  char **labels_path, struct kurc_idx *labels,
                                  struct kurc_err *err) {
    if (params->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, where,
                            "mnist: expected a mapping with \"images\" and \"labels\"");
    enum kurc_status st =
        read_idx(params, "images", where, header_only, images_path, images, err);
    if (st == KURC_OK)
        st = read_idx(params, "labels", where, header_only, labels_path, labels, err);
    if (st == KURC_OK && (images->ndim < 1 || images->ndim >= KURC_MAX_DIMS))
        st = kurc_err_set(err, KURC_E_DATA, where,
                          "mnist: images file %s has %d dimensions; expected 1 to %d (samples "
                          "first)",
                          *images_path, images->ndim, KURC_MAX_DIMS - 1);
    if (st == KURC_OK && labels->ndim != 1)
        st = kurc_err_set(err, KURC_E_DATA, where,
                          "mnist: labels file %s has %d dimensions; expected 1 (one class number "
                          "per sample)",
                          *labels_path, labels->ndim);
    if (st == KURC_OK && images->dim[0] != labels->dim[0])
        st = kurc_err_set(err, KURC_E_DATA, where,
                          "mnist: the images file %s has %lld samples but the labels file %s "
                          "has %lld",
                          *images_path, (long long)images->dim[0], *labels_path,
                          (long long)labels->dim[0]);
    return st;
}

/* The sources' shapes: (H, W, 1) images and (10,) labels. */
static void shapes(const struct kurc_idx *images, struct kurc_shape *image,
                   struct kurc_shape *hot) {
    *image = kurc_shape_make(images->ndim - 1, images->dim + 1);
    image->dim[image->ndim++] = 1;
    int64_t ten = 10;
    *hot = kurc_shape_make(1, &ten);
}

static enum kurc_status load(const struct kurc_value *params, const struct kurc_loc *where,
                             struct kurc_dataset *out, struct kurc_err *err) {
    char *images_path = NULL, *labels_path = NULL;
    struct kurc_idx images = {0}, labels = {0};
    float *hot = NULL;
    enum kurc_status st =
        read_pair(params, where, false, &images_path, &images, &labels_path, &labels, err);
    struct kurc_shape shape = kurc_shape_make(images.ndim - 1, images.dim + 1);
    /* before normalising, which would spread a NaN over every image (only
     * floating-point files can hold one) */
    bool floats = images.type == KURC_IDX_F32 || images.type == KURC_IDX_F64;
    if (st == KURC_OK && floats &&
        (st = kurc_samples_finite("images", images_path, &shape, images.dim[0], images.data, err)))
        st = tagged(err, where);
    if (st == KURC_OK)
        st = one_hot(&labels, labels_path, where, &hot, err);
    if (st == KURC_OK) {
        normalise(images.data, images.numel);
        struct kurc_shape hot_shape;
        shapes(&images, &shape, &hot_shape);
        float *pixels = images.data;
        images.data = NULL; /* the dataset owns it now, even on failure */
        /* integers make finite pixels: dataset.c need not scan them again */
        struct kurc_source_extra extra = {.finite = !floats};
        st = kurc_dataset_add_ex(out, "images", &shape, images.dim[0], pixels, &extra,
                                 images_path, err);
        if (st == KURC_OK)
            st = kurc_dataset_add(out, "labels", &hot_shape, labels.dim[0], hot, labels_path,
                                  err);
        else
            free(hot);
        if (st != KURC_OK)
            st = tagged(err, where);
    }
    kurc_idx_release(&images);
    kurc_idx_release(&labels);
    free(images_path);
    free(labels_path);
    return st;
}

/* The sources' shapes and counts from the files' headers (describe). */
static enum kurc_status describe(const struct kurc_value *params, const struct kurc_loc *where,
                                 struct kurc_dataset *out, struct kurc_err *err) {
    char *images_path = NULL, *labels_path = NULL;
    struct kurc_idx images = {0}, labels = {0};
    enum kurc_status st =
        read_pair(params, where, true, &images_path, &images, &labels_path, &labels, err);
    if (st == KURC_OK) {
        struct kurc_shape image, hot;
        shapes(&images, &image, &hot);
        st = kurc_dataset_add(out, "images", &image, images.dim[0], NULL, images_path, err);
        if (st == KURC_OK)
            st = kurc_dataset_add(out, "labels", &hot, labels.dim[0], NULL, labels_path, err);
        if (st)
            st = tagged(err, where);
    }
    free(images_path);
    free(labels_path);
    return st;
}

/* A data file: a path, or its standard packaging. */
static const struct kurc_schema file_spec = {
    .types = KT_STR | KT_MAP,
    .keys = KURC_KEYS(KURC_PACKAGING_KEYS),
};

const struct kurc_supplier_type kurc_supplier_mnist = {
    .component = {"mnist",
                  KURC_SCHEMA(.types = KT_MAP, .keys = KURC_KEYS({"images", &file_spec, true},
                                                                 {"labels", &file_spec, true})),
                  KURC_NAMES("labels", "images")},
    .load = load,
    .describe = describe,
    .concurrent = true,
};
