/* idx.c - reading IDX array files (idx.h), plain or gzip, into float32.
 *
 * The whole (decompressed) file is read into memory first, so its real
 * length is known before the header's dimensions are believed: a header
 * that promises more data than the file holds is reported, never allocated.
 */
#include "formats/idx.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/log.h"
#include "formats/gzip_end.h"

const char *kurc_idx_type_name(enum kurc_idx_type type) {
    switch (type) {
    case KURC_IDX_U8:
        return "uint8";
    case KURC_IDX_I8:
        return "int8";
    case KURC_IDX_I16:
        return "int16";
    case KURC_IDX_I32:
        return "int32";
    case KURC_IDX_F32:
        return "float32";
    case KURC_IDX_F64:
        return "float64";
    }
    return "unknown";
}

/* Bytes per element, 0 for an unknown type. */
static size_t type_size(int type) {
    switch (type) {
    case KURC_IDX_U8:
    case KURC_IDX_I8:
        return 1;
    case KURC_IDX_I16:
        return 2;
    case KURC_IDX_I32:
    case KURC_IDX_F32:
        return 4;
    case KURC_IDX_F64:
        return 8;
    default:
        return 0;
    }
}

static uint64_t be_uint(const unsigned char *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

double kurc_idx_element(const struct kurc_idx_header *h, uint64_t i) {
    const unsigned char *p = h->body + i * h->size;
    switch (h->type) {
    case KURC_IDX_U8:
        return p[0];
    case KURC_IDX_I8:
        return (int8_t)p[0];
    case KURC_IDX_I16:
        return (int16_t)(uint16_t)be_uint(p, 2);
    case KURC_IDX_I32:
        return (int32_t)(uint32_t)be_uint(p, 4);
    case KURC_IDX_F32: {
        uint32_t bits = (uint32_t)be_uint(p, 4);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    default: { /* KURC_IDX_F64 */
        uint64_t bits = be_uint(p, 8);
        double d;
        memcpy(&d, &bits, sizeof d);
        return d;
    }
    }
}

enum kurc_status kurc_idx_parse_header(const unsigned char *buf, size_t len, const char *name,
                                       struct kurc_idx_header *h, struct kurc_err *err) {
    memset(h, 0, sizeof *h);
    if (len < 4)
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: truncated IDX header: expected at least 4 bytes, found %zu", name,
                            len);
    if (buf[0] != 0 || buf[1] != 0)
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: not an IDX file: bad magic %02x %02x %02x %02x (expected 00 00 "
                            "TYPE NDIM)",
                            name, buf[0], buf[1], buf[2], buf[3]);
    size_t size = type_size(buf[2]);
    if (!size)
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: unknown IDX data type 0x%02X (expected 0x08, 0x09, 0x0B, 0x0C, "
                            "0x0D or 0x0E)",
                            name, buf[2]);
    int ndim = buf[3];
    if (ndim > KURC_MAX_DIMS)
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: IDX file has %d dimensions; kurc reads at most %d", name, ndim,
                            KURC_MAX_DIMS);
    size_t header = 4 + 4 * (size_t)ndim;
    if (len < header)
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: truncated IDX header: expected %zu bytes, found %zu", name, header,
                            len);
    uint64_t numel = 1, bytes = 0;
    bool overflow = false, empty = false;
    for (int i = 0; i < ndim; i++) {
        h->dim[i] = (int64_t)be_uint(buf + 4 + 4 * i, 4);
        empty = empty || h->dim[i] == 0;
        overflow = overflow || __builtin_mul_overflow(numel, (uint64_t)h->dim[i], &numel);
    }
    if (empty)
        numel = 0, overflow = false;
    overflow = overflow || __builtin_mul_overflow(numel, (uint64_t)size, &bytes);
    if (overflow || bytes > len - header) {
        struct kurc_shape shape = kurc_shape_make(ndim, h->dim);
        char dims[96];
        kurc_shape_format(&shape, dims, sizeof dims);
        memset(h, 0, sizeof *h);
        if (overflow)
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "%s: bad IDX header: shape %s of %s is too large to be stored",
                                name, dims, kurc_idx_type_name(buf[2]));
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: truncated IDX file: expected %llu data bytes for shape %s of %s, "
                            "found %zu",
                            name, (unsigned long long)bytes, dims, kurc_idx_type_name(buf[2]),
                            len - header);
    }
    h->type = (enum kurc_idx_type)buf[2];
    h->ndim = ndim;
    h->numel = numel;
    h->size = size;
    h->body = buf + header;
    h->extra = len - header - bytes;
    return KURC_OK;
}

enum kurc_status kurc_idx_parse(const unsigned char *buf, size_t len, const char *name,
                                struct kurc_idx *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    struct kurc_idx_header h;
    enum kurc_status st = kurc_idx_parse_header(buf, len, name, &h, err);
    if (st)
        return st;
    if (h.extra)
        kurc_log(KURC_LOG_WARNING, "%s: %zu bytes after the IDX array; ignoring them", name,
                 h.extra);
    float *data = malloc(h.numel ? h.numel * sizeof(float) : 1);
    if (!data)
        return kurc_err_set(err, KURC_E_DATA, NULL, "%s: out of memory for %llu elements", name,
                            (unsigned long long)h.numel);
    for (uint64_t i = 0; i < h.numel; i++)
        data[i] = (float)kurc_idx_element(&h, i);
    out->type = h.type;
    out->ndim = h.ndim;
    memcpy(out->dim, h.dim, sizeof out->dim);
    out->numel = (int64_t)h.numel;
    out->data = data;
    return KURC_OK;
}

/* A byte buffer that grows by doubling. */
struct growbuf {
    unsigned char *data;
    size_t len, cap;
};

/* Makes room for need more bytes; false when memory runs out. */
static bool grow(struct growbuf *b, size_t need) {
    if (b->cap - b->len >= need)
        return true;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap - b->len < need)
        cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

/* Reads the whole file, decompressing it when it starts with the gzip
 * magic bytes. */
static enum kurc_status read_file(const char *path, struct growbuf *b, struct kurc_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    unsigned char magic[2] = {0, 0};
    size_t got = fread(magic, 1, 2, f);
    bool gz = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    enum { CHUNK = 1 << 20 };
    if (!gz) {
        rewind(f);
        size_t n;
        do {
            if (!grow(b, CHUNK)) {
                fclose(f);
                return kurc_err_set(err, KURC_E_IO, NULL, "%s: out of memory after %zu bytes",
                                    path, b->len);
            }
            n = fread(b->data + b->len, 1, CHUNK, f);
            b->len += n;
        } while (n > 0);
        int bad = ferror(f);
        int saved = errno;
        fclose(f);
        if (bad)
            return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path,
                                strerror(saved));
        return KURC_OK;
    }
    fclose(f);
    gzFile z = gzopen(path, "rb");
    if (!z)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    int n;
    do {
        if (!grow(b, CHUNK)) {
            gzclose_r(z);
            return kurc_err_set(err, KURC_E_IO, NULL, "%s: out of memory after %zu bytes", path,
                                b->len);
        }
        n = gzread(z, b->data + b->len, CHUNK);
        if (n > 0)
            b->len += (size_t)n;
    } while (n > 0);
    return kurc_gzip_end(z, n, path, b->len, err);
}

enum kurc_status kurc_idx_load(const char *path, struct kurc_idx *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    struct growbuf b = {NULL, 0, 0};
    enum kurc_status st = read_file(path, &b, err);
    if (st == KURC_OK)
        st = kurc_idx_parse(b.data, b.len, path, out, err);
    free(b.data);
    return st;
}

void kurc_idx_release(struct kurc_idx *idx) {
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
