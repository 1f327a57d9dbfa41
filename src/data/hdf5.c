/* hdf5.c - the `hdf5` supplier: every numeric dataset of an HDF5 file is a
 * float32 source (a kurc addition next to Kur's pickle supplier: h5py
 * writes these files from Python as easily as pickle.dump wrote Kur's).
 *
 * Parameters: the standard packaging keys {path, url, checksum}
 * (positional: `- hdf5: data.h5`).  Datasets are found in every group,
 * depth first, each group's members in name order, and are named by their
 * path without the leading '/': a root dataset `x` is the source "x", a
 * dataset `x` in group `train` is "train/x".  The first dimension counts
 * samples, the rest is the per-sample shape (a one-dimensional dataset of N
 * values has samples of shape (1,)).  Integer and floating-point datasets
 * are converted to float32 by HDF5; any other type (strings, compounds,
 * enums such as h5py's booleans) and scalar datasets are errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "base/memory.h"
#include "base/xalloc.h"
#include "data/supplier.h"
#include "data/supplier_util.h"

/* Groups nested deeper than this are taken for a cycle of hard links. */
#define MAX_GROUP_DEPTH 32

struct walk {
    const char *path; /* the file, for messages */
    const struct kurc_loc *where;
    struct kurc_dataset *out;
    struct kurc_err *err;
    bool header_only; /* the datasets' shapes, not their values (describe) */
};

static const char *class_name(H5T_class_t c) {
    switch (c) {
    case H5T_TIME:
        return "time";
    case H5T_STRING:
        return "string";
    case H5T_BITFIELD:
        return "bitfield";
    case H5T_OPAQUE:
        return "opaque";
    case H5T_COMPOUND:
        return "compound";
    case H5T_REFERENCE:
        return "reference";
    case H5T_ENUM:
        return "enum";
    case H5T_VLEN:
        return "variable-length";
    case H5T_ARRAY:
        return "array";
    default:
        return "unknown";
    }
}

/* Checks, from the header alone, that dataset `name` (its file type type,
 * count samples of numel values) can be read: the bytes it declares are
 * stored (all of them when they are not compressed, some when they are:
 * an unwritten dataset reads as fill values) and their float32 copy fits in
 * memory. */
static enum kurc_status check_stored(struct walk *w, hid_t dset, size_t type_size, const char *name,
                                     int64_t count, const struct kurc_shape *shape) {
    uint64_t numel = (uint64_t)count * (uint64_t)kurc_shape_numel(shape), declared;
    if (__builtin_mul_overflow(numel, (uint64_t)type_size, &declared))
        declared = UINT64_MAX;
    hid_t dcpl = H5Dget_create_plist(dset);
    int filters = dcpl < 0 ? 0 : H5Pget_nfilters(dcpl);
    int external = dcpl < 0 ? 0 : H5Pget_external_count(dcpl);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    uint64_t stored = (uint64_t)H5Dget_storage_size(dset);
    if (external <= 0 && (filters > 0 ? stored == 0 && declared > 0 : stored < declared)) {
        char dims[96];
        kurc_shape_format(shape, dims, sizeof dims);
        return kurc_err_set(w->err, KURC_E_DATA, w->where,
                            "hdf5: %s: dataset '%s' declares %lld samples of shape %s (%llu "
                            "bytes) but the file stores %llu bytes of it",
                            w->path, name, (long long)count, dims, (unsigned long long)declared,
                            (unsigned long long)stored);
    }
    char what[200];
    snprintf(what, sizeof what, "dataset '%.80s' of %.80s", name, w->path);
    enum kurc_status st = kurc_memory_check(numel * sizeof(float), KURC_E_DATA, what, w->err);
    return st ? kurc_err_place(w->err, w->where) : KURC_OK;
}

/* Checks the type and extent of dataset `name` and reads it as float32
 * into a new source (its shape only when w->header_only). */
static enum kurc_status read_dataset(struct walk *w, hid_t dset, const char *name) {
    hid_t type = H5Dget_type(dset);
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    size_t type_size = type < 0 ? 0 : H5Tget_size(type);
    if (type >= 0)
        H5Tclose(type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
        return kurc_err_set(w->err, KURC_E_DATA, w->where,
                            "hdf5: %s: dataset '%s' holds %s values, not numbers", w->path, name,
                            class_name(cls));
    hid_t space = H5Dget_space(dset);
    int ndims = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    hsize_t dims[KURC_MAX_DIMS + 1];
    if (ndims > 0 && ndims <= KURC_MAX_DIMS + 1)
        H5Sget_simple_extent_dims(space, dims, NULL);
    if (space >= 0)
        H5Sclose(space);
    if (ndims < 0)
        return kurc_err_set(w->err, KURC_E_DATA, w->where,
                            "hdf5: %s: cannot read the extent of dataset '%s'", w->path, name);
    if (ndims == 0)
        return kurc_err_set(w->err, KURC_E_DATA, w->where,
                            "hdf5: %s: dataset '%s' is a scalar; its first dimension must count "
                            "samples",
                            w->path, name);
    if (ndims > KURC_MAX_DIMS + 1)
        return kurc_err_set(w->err, KURC_E_DATA, w->where,
                            "hdf5: %s: dataset '%s' has %d dimensions; at most %d are supported",
                            w->path, name, ndims, KURC_MAX_DIMS + 1);
    struct kurc_shape shape = {.ndim = ndims == 1 ? 1 : ndims - 1, .dim = {1}};
    for (int i = 1; i < ndims; i++)
        shape.dim[i - 1] = (int64_t)dims[i];
    int64_t count = (int64_t)dims[0], numel = kurc_shape_numel(&shape);
    float *data = NULL;
    if (count > 0 && numel > 0) {
        if ((uint64_t)numel > SIZE_MAX / sizeof(float) / (uint64_t)count)
            return kurc_err_set(w->err, KURC_E_DATA, w->where,
                                "hdf5: %s: dataset '%s' is too large", w->path, name);
        enum kurc_status st = check_stored(w, dset, type_size, name, count, &shape);
        if (st || w->header_only)
            return st ? st : kurc_dataset_add(w->out, name, &shape, count, NULL, w->path, w->err);
        size_t bytes = (size_t)count * (size_t)numel * sizeof(float);
        data = malloc(bytes);
        if (!data)
            return kurc_err_set(w->err, KURC_E_DATA, w->where,
                                "hdf5: %s: out of memory reading dataset '%s' (%zu bytes)",
                                w->path, name, bytes);
        if (H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
            free(data);
            return kurc_err_set(w->err, KURC_E_DATA, w->where,
                                "hdf5: %s: cannot read dataset '%s'", w->path, name);
        }
    }
    return kurc_dataset_add(w->out, name, &shape, count, data, w->path, w->err);
}

/* Visits the members of group (named prefix, "" at the root) in name
 * order: datasets become sources, groups are entered. */
static enum kurc_status walk_group(struct walk *w, hid_t group, const char *prefix, int depth) {
    if (depth > MAX_GROUP_DEPTH)
        return kurc_err_set(w->err, KURC_E_DATA, w->where,
                            "hdf5: %s: groups nest more than %d deep at '%s' (a cycle?)",
                            w->path, MAX_GROUP_DEPTH, prefix);
    H5G_info_t info;
    if (H5Gget_info(group, &info) < 0)
        return kurc_err_set(w->err, KURC_E_DATA, w->where, "hdf5: %s: cannot list group '/%s'",
                            w->path, prefix);
    enum kurc_status st = KURC_OK;
    for (hsize_t i = 0; i < info.nlinks && st == KURC_OK; i++) {
        ssize_t len = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0,
                                         H5P_DEFAULT);
        if (len < 0)
            return kurc_err_set(w->err, KURC_E_DATA, w->where,
                                "hdf5: %s: cannot list group '/%s'", w->path, prefix);
        char *link = kurc_xmalloc((size_t)len + 1);
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, link, (size_t)len + 1,
                           H5P_DEFAULT);
        char *name = prefix[0] ? kurc_xasprintf("%s/%s", prefix, link) : kurc_xstrdup(link);
        hid_t obj = H5Oopen(group, link, H5P_DEFAULT);
        if (obj < 0) {
            st = kurc_err_set(w->err, KURC_E_DATA, w->where,
                              "hdf5: %s: cannot open '/%s' (a dangling link?)", w->path, name);
        } else {
            H5I_type_t kind = H5Iget_type(obj);
            if (kind == H5I_DATASET)
                st = read_dataset(w, obj, name);
            else if (kind == H5I_GROUP)
                st = walk_group(w, obj, name, depth + 1);
            /* named datatypes hold no data */
            H5Oclose(obj);
        }
        free(name);
        free(link);
    }
    return st;
}

/* Reads the file params names: every dataset, or only their shapes. */
static enum kurc_status hdf5_read(const struct kurc_value *params, const struct kurc_loc *where,
                                  bool header_only, struct kurc_dataset *out,
                                  struct kurc_err *err) {
    char *path;
    enum kurc_status st = kurc_supplier_locate(params, "hdf5", where, &path, err);
    if (st)
        return st;
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        st = kurc_err_set(err, KURC_E_IO, where, "hdf5: cannot open %s: %s", path,
                          strerror(errno));
        free(path);
        return st;
    }
    fclose(probe);
    /* Keep HDF5 from printing its error stack: failures become messages. */
    H5E_auto2_t saved_fn;
    void *saved_data;
    H5Eget_auto2(H5E_DEFAULT, &saved_fn, &saved_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        st = kurc_err_set(err, KURC_E_DATA, where, "hdf5: %s is not an HDF5 file", path);
    } else {
        struct walk w = {
            .path = path, .where = where, .out = out, .err = err, .header_only = header_only};
        st = walk_group(&w, file, "", 0);
        H5Fclose(file);
    }
    H5Eset_auto2(H5E_DEFAULT, saved_fn, saved_data);
    free(path);
    return st;
}

static enum kurc_status hdf5_load(const struct kurc_value *params, const struct kurc_loc *where,
                                  struct kurc_dataset *out, struct kurc_err *err) {
    return hdf5_read(params, where, false, out, err);
}

static enum kurc_status hdf5_describe(const struct kurc_value *params,
                                      const struct kurc_loc *where, struct kurc_dataset *out,
                                      struct kurc_err *err) {
    return hdf5_read(params, where, true, out, err);
}

const struct kurc_supplier_type kurc_supplier_hdf5 = {
    .component = {"hdf5", KURC_SCHEMA(.types = KT_MAP, .keys = KURC_KEYS(KURC_PACKAGING_KEYS)),
                  KURC_NAMES("path", "url", "checksum")},
    .load = hdf5_load,
    .describe = hdf5_describe,
};
