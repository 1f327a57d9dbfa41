/* destination.c - evaluation results as a Python pickle, an HDF5 file or a
 * NumPy .npz archive (see destination.h), written to PATH.tmp and renamed.
 *
 * The pickle is written opcode by opcode as Python 3's pickle.dump would
 * for numpy arrays: each array is numpy.core.multiarray._reconstruct
 * (ndarray, (0,), b'b') followed by BUILD with the state (1, shape,
 * dtype('<f4'), False, raw bytes), the state numpy's ndarray.__reduce__
 * gives.  The stream is protocol 4 (without frames), whose BINBYTES8 holds
 * arrays past 4 GiB; protocol 2 has no bytes type in Python 3 and would
 * carry the data as latin-1 text.
 */
#include "io/destination.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <hdf5.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "formats/zip_store.h"
#include "io/io_util.h"

enum format { FORMAT_PICKLE, FORMAT_HDF5, FORMAT_NPZ };

static const struct {
    const char *name;
    enum format format;
} formats[] = {
    {"pkl", FORMAT_PICKLE}, {"pickle", FORMAT_PICKLE}, {"h5", FORMAT_HDF5},
    {"hdf5", FORMAT_HDF5},  {"npz", FORMAT_NPZ},
};

#define FORMAT_LIST "pkl, pickle, h5, hdf5, npz"

/* The two groups of arrays a destination holds. */
struct sets {
    const char *name[2];
    const struct kurc_named_array *arrays[2];
    size_t n[2];
};

/* The full shape of an array: (count, per-sample shape...). */
static int full_dims(const struct kurc_named_array *a, int64_t *dims) {
    dims[0] = a->count;
    for (int d = 0; d < a->shape.ndim; d++)
        dims[d + 1] = a->shape.dim[d];
    return a->shape.ndim + 1;
}

static size_t data_bytes(const struct kurc_named_array *a) {
    return (size_t)a->count * (size_t)kurc_shape_numel(&a->shape) * sizeof(float);
}

/* ---- pickle ---- */

/* Appends a pickle string (BINUNICODE: 4-byte length, UTF-8). */
static void pk_string(struct kurc_strbuf *b, const char *s) {
    uint32_t n = (uint32_t)strlen(s);
    unsigned char len[4] = {n & 0xFF, (n >> 8) & 0xFF, (n >> 16) & 0xFF, n >> 24};
    kurc_strbuf_putc(b, 'X');
    kurc_strbuf_append(b, (const char *)len, 4);
    kurc_strbuf_puts(b, s);
}

/* Appends an integer: BININT1, BININT (signed 32-bit) or LONG1 (8 bytes). */
static void pk_int(struct kurc_strbuf *b, int64_t v) {
    if (v >= 0 && v < 256) {
        kurc_strbuf_putc(b, 'K');
        kurc_strbuf_putc(b, (char)v);
        return;
    }
    bool wide = v < INT32_MIN || v > INT32_MAX;
    kurc_strbuf_append(b, wide ? "\x8a\x08" : "J", wide ? 2 : 1);
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < (wide ? 8 : 4); i++)
        kurc_strbuf_putc(b, (char)((u >> (8 * i)) & 0xFF));
}

/* Everything of one array's pickle before its raw data: the
 * _reconstruct call, then MARK 1 shape dtype False, then the bytes opcode
 * and length; the caller writes the data and "tb" (TUPLE, BUILD). */
static void pk_array_head(struct kurc_strbuf *b, const struct kurc_named_array *a) {
    kurc_strbuf_puts(b, "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n");
    kurc_strbuf_append(b,
                       "K\0\x85"
                       "C\x01"
                       "b\x87R(K\x01(",
                       12);
    int64_t dims[KURC_MAX_DIMS + 1];
    int ndim = full_dims(a, dims);
    for (int d = 0; d < ndim; d++)
        pk_int(b, dims[d]);
    kurc_strbuf_puts(b, "tcnumpy\ndtype\n");
    pk_string(b, "f4");
    kurc_strbuf_puts(b, "\x89\x88\x87R(K\x03");
    pk_string(b, "<");
    kurc_strbuf_append(b, "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\0tb\x89", 18);
    uint64_t n = data_bytes(a);
    bool wide = n > 0xFFFFFFFFu;
    kurc_strbuf_putc(b, wide ? '\x8e' : 'B'); /* BINBYTES8 or BINBYTES */
    for (int i = 0; i < (wide ? 8 : 4); i++)
        kurc_strbuf_putc(b, (char)((n >> (8 * i)) & 0xFF));
}

/* Writes b's bytes and empties it; false on a write error. */
static bool flush_buf(FILE *f, struct kurc_strbuf *b) {
    bool ok = fwrite(b->data, 1, b->len, f) == b->len;
    kurc_strbuf_reset(b);
    return ok;
}

static bool write_pickle(FILE *f, const struct sets *s) {
    struct kurc_strbuf b = KURC_STRBUF_INIT;
    kurc_strbuf_append(&b, "\x80\x04}", 3); /* PROTO 4, EMPTY_DICT */
    bool ok = true;
    for (int k = 0; k < 2 && ok; k++) {
        if (!s->name[k])
            continue;
        pk_string(&b, s->name[k]);
        kurc_strbuf_putc(&b, '}');
        for (size_t i = 0; i < s->n[k] && ok; i++) {
            const struct kurc_named_array *a = &s->arrays[k][i];
            pk_string(&b, a->name);
            pk_array_head(&b, a);
            size_t n = data_bytes(a);
            ok = flush_buf(f, &b) && (n == 0 || fwrite(a->data, 1, n, f) == n);
            kurc_strbuf_append(&b, "tbs", 3); /* TUPLE, BUILD, SETITEM */
        }
        kurc_strbuf_putc(&b, 's');
    }
    kurc_strbuf_putc(&b, '.'); /* STOP */
    ok = ok && flush_buf(f, &b);
    kurc_strbuf_free(&b);
    return ok;
}

/* ---- npz ---- */

/* An .npy version 1.0 header for a '<f4' C-order array, padded with spaces
 * and a newline to a multiple of 64 bytes as numpy writes it. */
static void npy_header(const struct kurc_named_array *a, struct kurc_strbuf *b) {
    int64_t dims[KURC_MAX_DIMS + 1];
    int ndim = full_dims(a, dims);
    char shape[(KURC_MAX_DIMS + 1) * 24];
    kurc_io_format_dims(dims, ndim, shape, sizeof shape);
    char dict[sizeof shape + 64];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                       shape);
    size_t total = (10 + (size_t)len + 1 + 63) / 64 * 64;
    size_t header_len = total - 10;
    kurc_strbuf_append(b, "\x93NUMPY\x01\x00", 8);
    kurc_strbuf_putc(b, (char)(header_len & 0xFF));
    kurc_strbuf_putc(b, (char)(header_len >> 8));
    kurc_strbuf_append(b, dict, (size_t)len);
    while (b->len < total - 1)
        kurc_strbuf_putc(b, ' ');
    kurc_strbuf_putc(b, '\n');
}

static bool write_npz(FILE *f, const struct sets *s) {
    struct kurc_zip z;
    if (!kurc_zip_init(&z, f))
        return false;
    struct kurc_strbuf header = KURC_STRBUF_INIT;
    bool ok = true;
    for (int k = 0; k < 2 && ok; k++)
        for (size_t i = 0; s->name[k] && i < s->n[k] && ok; i++) {
            const struct kurc_named_array *a = &s->arrays[k][i];
            kurc_strbuf_reset(&header);
            npy_header(a, &header);
            char *name = kurc_xasprintf("%s/%s.npy", s->name[k], a->name);
            const void *parts[2] = {header.data, a->data};
            const size_t sizes[2] = {header.len, data_bytes(a)};
            ok = kurc_zip_add(&z, name, parts, sizes, 2);
            free(name);
        }
    kurc_strbuf_free(&header);
    return kurc_zip_finish(&z) && ok;
}

/* Writes a pickle or npz with stdio to tmp. */
static enum kurc_status write_stdio(const char *path, const char *tmp, enum format format,
                                    const struct sets *s, struct kurc_err *err) {
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return kurc_io_fail(err, KURC_E_IO, path, "cannot create %s: %s", tmp, strerror(errno));
    bool ok = format == FORMAT_PICKLE ? write_pickle(f, s) : write_npz(f, s);
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok)
        return kurc_io_fail(err, KURC_E_IO, path, "cannot write %s: %s", tmp, strerror(e));
    return KURC_OK;
}

/* ---- HDF5 ---- */

/* Builds the HDF5 file in memory and stores it (through PATH.tmp). */
static enum kurc_status write_hdf5(const char *path, const struct sets *s, struct kurc_err *err) {
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; s->name[k] && i < s->n[k]; i++)
            if (!kurc_h5_name_ok(s->arrays[k][i].name))
                return kurc_io_fail(err, KURC_E_IO, path,
                                    "output '%s' cannot be an HDF5 dataset name (empty, '.', or "
                                    "holding '/')",
                                    s->arrays[k][i].name);
    hid_t file = kurc_h5_create(path);
    if (file < 0)
        return kurc_h5_fail(err, KURC_E_IO, path, "cannot create an HDF5 file");
    enum kurc_status st = KURC_OK;
    for (int k = 0; k < 2 && !st; k++) {
        if (!s->name[k])
            continue;
        hid_t group = H5Gcreate2(file, s->name[k], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (group < 0)
            st = kurc_h5_fail(err, KURC_E_IO, path, "cannot write /%s", s->name[k]);
        for (size_t i = 0; group >= 0 && i < s->n[k] && !st; i++) {
            const struct kurc_named_array *a = &s->arrays[k][i];
            int64_t dims[KURC_MAX_DIMS + 1];
            hsize_t hdims[KURC_MAX_DIMS + 1];
            int ndim = full_dims(a, dims);
            for (int d = 0; d < ndim; d++)
                hdims[d] = (hsize_t)dims[d];
            if (kurc_h5_write_floats(group, a->name, ndim, hdims, a->data) < 0)
                st = kurc_h5_fail(err, KURC_E_IO, path, "cannot write /%s/%s", s->name[k], a->name);
        }
        if (group >= 0)
            H5Gclose(group);
    }
    return kurc_h5_finish(file, path, st, KURC_E_IO, err);
}

/* The format named, or implied by path's extension. */
static enum kurc_status pick_format(const char *path, const char *name, enum format *out,
                                    struct kurc_err *err) {
    const char *want = name;
    if (!want) {
        const char *base = strrchr(path, '/');
        const char *dot = strrchr(base ? base + 1 : path, '.');
        if (!dot)
            return kurc_io_fail(err, KURC_E_CONFIG, path,
                                "cannot tell the output format without an extension; use one "
                                "of " FORMAT_LIST);
        want = dot + 1;
    }
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (name ? strcmp(want, formats[i].name) == 0 : strcasecmp(want, formats[i].name) == 0) {
            *out = formats[i].format;
            return KURC_OK;
        }
    return kurc_io_fail(err, KURC_E_CONFIG, path,
                        "unknown output format '%s'; use one of " FORMAT_LIST, want);
}

enum kurc_status kurc_destination_write(const char *path, const char *format,
                                        const struct kurc_named_array *results, size_t n_results,
                                        const struct kurc_named_array *truths, size_t n_truths,
                                        struct kurc_err *err) {
    enum format f = FORMAT_PICKLE;
    enum kurc_status st = pick_format(path, format, &f, err);
    if (st)
        return st;
    struct sets s = {
        {"result", n_truths ? "truth" : NULL}, {results, truths}, {n_results, n_truths}};
    if (f == FORMAT_HDF5) {
        kurc_h5_begin();
        return write_hdf5(path, &s, err);
    }
    char *tmp = kurc_io_tmp_path(path);
    st = write_stdio(path, tmp, f, &s, err);
    if (st)
        unlink(tmp);
    else
        st = kurc_io_commit(tmp, path, KURC_E_IO, err);
    free(tmp);
    return st;
}
