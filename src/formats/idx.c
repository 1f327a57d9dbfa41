/* idx.c - reading IDX array files (idx.h), plain or gzip, into float32,
 * and writing float32 ones.
 *
 * The (decompressed) file is read into memory first, so its real length is
 * known before the header's dimensions are believed: a header that promises
 * more data than the file holds is reported, never allocated (a large
 * file's floats are converted on a second thread while it is read, into
 * buffers sized by the header only where the input could hold it).
 * Reading stops a little past the length the header declares.
 */
#include "formats/idx.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/memory.h"
#include "formats/gzip_reader.h"

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

/* Reads the dimensions of the header at buf (its type and NDIM valid, all
 * of it present) into dim, the element count into *numel and the data
 * bytes into *bytes; false when they overflow. */
static bool data_bytes(const unsigned char *buf, int64_t *dim, uint64_t *numel, uint64_t *bytes) {
    bool overflow = false, empty = false;
    *numel = 1;
    for (int i = 0; i < buf[3]; i++) {
        dim[i] = (int64_t)be_uint(buf + 4 + 4 * i, 4);
        empty = empty || dim[i] == 0;
        overflow = overflow || __builtin_mul_overflow(*numel, (uint64_t)dim[i], numel);
    }
    if (empty)
        *numel = 0, overflow = false;
    return !overflow && !__builtin_mul_overflow(*numel, (uint64_t)type_size(buf[2]), bytes);
}

/* kurc_idx_parse_header of the first len bytes of an image whose data part
 * (after the header) has stored bytes: UINT64_MAX for the rest of buf,
 * KURC_IDX_UNKNOWN when not known (a gzip file read no further: the data's
 * length is not checked, and h->body and h->extra mean nothing). */
#define KURC_IDX_UNKNOWN (UINT64_MAX - 1)
static enum kurc_status check_header(const unsigned char *buf, size_t len, uint64_t stored,
                                     const char *name, struct kurc_idx_header *h,
                                     struct kurc_err *err) {
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
    uint64_t numel, bytes, have = stored == UINT64_MAX ? len - header : stored;
    bool overflow = !data_bytes(buf, h->dim, &numel, &bytes);
    if (overflow || (stored != KURC_IDX_UNKNOWN && bytes > have)) {
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
                            "found %llu",
                            name, (unsigned long long)bytes, dims, kurc_idx_type_name(buf[2]),
                            (unsigned long long)have);
    }
    h->type = (enum kurc_idx_type)buf[2];
    h->ndim = ndim;
    h->numel = numel;
    h->size = size;
    h->body = buf + header;
    h->extra = stored == KURC_IDX_UNKNOWN ? 0 : (size_t)(have - bytes);
    return KURC_OK;
}

enum kurc_status kurc_idx_parse_header(const unsigned char *buf, size_t len, const char *name,
                                       struct kurc_idx_header *h, struct kurc_err *err) {
    return check_header(buf, len, UINT64_MAX, name, h, err);
}

/* Elements from..to of h as float32 into data: one loop per type (bytes,
 * MNIST's images, are most of what is read). */
static void convert(const struct kurc_idx_header *h, float *data, uint64_t from, uint64_t to) {
    const unsigned char *p = h->body;
    if (h->type == KURC_IDX_U8)
        for (uint64_t i = from; i < to; i++)
            data[i] = (float)p[i];
    else if (h->type == KURC_IDX_I8)
        for (uint64_t i = from; i < to; i++)
            data[i] = (float)(int8_t)p[i];
    else
        for (uint64_t i = from; i < to; i++)
            data[i] = (float)kurc_idx_element(h, i);
}

/* kurc_idx_parse, with the elements already converted when converted is
 * not NULL (kurc_idx_load's follower): out takes converted, which is freed
 * when the header fails. */
static enum kurc_status parse_into(const unsigned char *buf, size_t len, const char *name,
                                   float *converted, struct kurc_idx *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    struct kurc_idx_header h;
    enum kurc_status st = kurc_idx_parse_header(buf, len, name, &h, err);
    if (st) {
        free(converted);
        return st;
    }
    if (h.extra)
        kurc_log(KURC_LOG_WARNING, "%s: %zu bytes after the IDX array; ignoring them", name,
                 h.extra);
    float *data = converted ? converted : malloc(h.numel ? h.numel * sizeof(float) : 1);
    if (!data)
        return kurc_err_set(err, KURC_E_DATA, NULL, "%s: out of memory for %llu elements", name,
                            (unsigned long long)h.numel);
    if (!converted)
        convert(&h, data, 0, h.numel);
    out->type = h.type;
    out->ndim = h.ndim;
    memcpy(out->dim, h.dim, sizeof out->dim);
    out->numel = (int64_t)h.numel;
    out->data = data;
    return KURC_OK;
}

enum kurc_status kurc_idx_parse(const unsigned char *buf, size_t len, const char *name,
                                struct kurc_idx *out, struct kurc_err *err) {
    return parse_into(buf, len, name, NULL, out, err);
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

/* At most this many bytes may follow the array a header declares; a file
 * with more is refused before they are read (a gzip file with gigabytes of
 * padding would otherwise be decompressed to its end). */
#define MAX_TRAILING (1 << 20)

/* Bytes worth reading of an image declared want bytes long: MAX_TRAILING
 * more and one to tell that more follow (UINT64_MAX when that overflows). */
static uint64_t read_limit(uint64_t want) {
    return want < UINT64_MAX - MAX_TRAILING ? want + MAX_TRAILING + 1 : UINT64_MAX;
}

/* The length of the image whose first len bytes are buf, as far as they
 * tell: the header and the data it declares (UINT64_MAX when that does not
 * fit in 64 bits); 0 when the header is bad (the parser says what is
 * wrong). */
static uint64_t declared_length(const unsigned char *buf, size_t len) {
    if (len < 4)
        return 4;
    if (buf[0] != 0 || buf[1] != 0 || !type_size(buf[2]) || buf[3] > KURC_MAX_DIMS)
        return 0;
    size_t header = 4 + 4 * (size_t)buf[3];
    int64_t dim[KURC_MAX_DIMS];
    uint64_t numel, bytes;
    if (len < header)
        return header;
    return data_bytes(buf, dim, &numel, &bytes) && bytes <= UINT64_MAX - header ? header + bytes
                                                                                : UINT64_MAX;
}

/* Reads up to n bytes of path from z (when not NULL) or f: the count, 0 at
 * the end, -1 on an error (err says which). */
static long read_some(FILE *f, struct kurc_gzip *z, const char *path, unsigned char *buf, size_t n,
                      struct kurc_err *err) {
    if (z)
        return kurc_gzip_read(z, buf, n, err);
    size_t got = fread(buf, 1, n, f);
    if (!ferror(f))
        return (long)got;
    kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    return -1;
}

static void close_input(FILE *f, struct kurc_gzip *z) {
    if (z)
        kurc_gzip_close(z);
    else
        fclose(f);
}

/* Opens path, through the gzip reader when it starts with the gzip magic
 * bytes (*z; *f is then NULL). */
static enum kurc_status open_input(const char *path, FILE **f, struct kurc_gzip **z,
                                   struct kurc_err *err) {
    *z = NULL;
    if (!(*f = fopen(path, "rb")))
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    unsigned char magic[2];
    if (kurc_gzip_magic(magic, fread(magic, 1, 2, *f))) {
        fclose(*f);
        *f = NULL;
        return kurc_gzip_open(path, z, err);
    }
    rewind(*f);
    return KURC_OK;
}

/* Converting a large file's elements to float32 on a second thread while
 * the file is still being read (decompressed): the reader publishes how
 * many bytes it holds after each chunk, and the follower converts the
 * elements they complete, so that converting (and the page faults of the
 * float array) costs no time after the last byte is read.  The follower
 * starts only once the header is read and both buffers, the bytes the
 * header declares and their floats, fit in memory; the byte buffer is then
 * allocated whole, so it never moves while the follower reads it. */
struct follower {
    pthread_mutex_t lock;
    pthread_cond_t more;
    size_t avail;  /* bytes read so far (under lock) */
    bool finished; /* the reader has stopped (under lock) */
    bool tried, running;
    pthread_t thread;
    struct kurc_idx_header h; /* from the header alone (body points into the buffer) */
    size_t header;            /* the header's bytes */
    float *data;              /* h.numel floats */
    uint64_t done;            /* elements converted */
};

/* Files with fewer elements are converted after reading. */
#define FOLLOW_MIN_ELEMENTS (1 << 20)

static void *follow(void *arg) {
    struct follower *f = arg;
    size_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&f->lock);
        while (!f->finished && f->avail == seen)
            pthread_cond_wait(&f->more, &f->lock);
        seen = f->avail;
        bool finished = f->finished;
        pthread_mutex_unlock(&f->lock);
        uint64_t have = seen > f->header ? (seen - f->header) / f->h.size : 0;
        uint64_t upto = have < f->h.numel ? have : f->h.numel;
        if (upto > f->done)
            convert(&f->h, f->data, f->done, upto);
        f->done = upto > f->done ? upto : f->done;
        if (finished || f->done == f->h.numel)
            return NULL;
    }
}

/* Deflate expands by at most this factor (a run of one byte). */
#define INFLATE_MAX_RATIO 1032

/* Starts f once b holds a valid header of a large enough file whose bytes
 * (the declared ones and what may follow them) and floats fit in memory,
 * and whose input of input_bytes could hold them (input_bytes: the file's
 * size, times INFLATE_MAX_RATIO when compressed; a header that declares
 * more is not believed: reading finds the file short); otherwise f stays
 * idle. */
static void follow_start(struct follower *f, struct growbuf *b, uint64_t input_bytes) {
    struct kurc_err ignored;
    size_t header = b->len >= 4 ? 4 + 4 * (size_t)b->data[3] : 4;
    if (b->len < header)
        return;
    f->tried = true; /* once: the header is all it goes by */
    if (check_header(b->data, b->len, KURC_IDX_UNKNOWN, "", &f->h, &ignored) != KURC_OK)
        return;
    uint64_t want = declared_length(b->data, b->len);
    uint64_t limit = read_limit(want);
    if (f->h.numel < FOLLOW_MIN_ELEMENTS || want > input_bytes || limit == UINT64_MAX ||
        f->h.numel > (UINT64_MAX - limit) / sizeof(float) ||
        kurc_memory_check(limit + f->h.numel * sizeof(float), KURC_E_DATA, "", &ignored) !=
            KURC_OK ||
        !grow(b, (size_t)(limit - b->len)) || !(f->data = malloc(f->h.numel * sizeof(float))))
        return;
    f->header = header;
    f->h.body = b->data + header;
    f->avail = b->len;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->more, NULL);
    f->running = pthread_create(&f->thread, NULL, follow, f) == 0;
    if (!f->running) {
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->more);
        free(f->data);
        f->data = NULL;
    }
}

/* Tells f that len bytes are read. */
static void follow_publish(struct follower *f, size_t len) {
    pthread_mutex_lock(&f->lock);
    f->avail = len;
    pthread_cond_signal(&f->more);
    pthread_mutex_unlock(&f->lock);
}

/* Stops f once it has converted what was read. */
static void follow_stop(struct follower *f) {
    if (!f->running)
        return;
    pthread_mutex_lock(&f->lock);
    f->finished = true;
    pthread_cond_signal(&f->more);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->more);
    f->running = false;
}

/* Reads the file, decompressing it when it starts with the gzip magic
 * bytes, up to the length its header declares and at most MAX_TRAILING
 * bytes more (a compressed file is then read to its end and checked). */
static enum kurc_status read_file(const char *path, struct growbuf *b, struct follower *fol,
                                  struct kurc_err *err) {
    FILE *f;
    struct kurc_gzip *z;
    enum kurc_status opened = open_input(path, &f, &z, err);
    if (opened != KURC_OK)
        return opened;
    struct stat st;
    uint64_t input_bytes = stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
    if (z)
        input_bytes = input_bytes > UINT64_MAX / INFLATE_MAX_RATIO
                          ? UINT64_MAX
                          : input_bytes * INFLATE_MAX_RATIO;
    enum { CHUNK = 1 << 20 };
    uint64_t want;
    long n = 0;
    while ((want = declared_length(b->data, b->len)) != 0) {
        uint64_t limit = read_limit(want);
        if (b->len >= limit) {
            close_input(f, z);
            return kurc_err_set(err, KURC_E_DATA, NULL,
                                "%s: more than %d bytes follow the IDX array, which ends at "
                                "offset %llu%s; not an IDX file",
                                path, MAX_TRAILING, (unsigned long long)want,
                                f ? "" : " of the decompressed data");
        }
        size_t ask = limit - b->len < CHUNK ? (size_t)(limit - b->len) : CHUNK;
        if (!grow(b, ask)) {
            close_input(f, z);
            return kurc_err_set(err, KURC_E_IO, NULL, "%s: out of memory after %zu bytes", path,
                                b->len);
        }
        if ((n = read_some(f, z, path, b->data + b->len, ask, err)) <= 0)
            break;
        b->len += (size_t)n;
        if (fol->running)
            follow_publish(fol, b->len);
        else if (!fol->tried)
            follow_start(fol, b, input_bytes);
    }
    close_input(f, z);
    /* a bad header (want 0) is the parser's to report */
    return n < 0 && want != 0 ? err->status : KURC_OK;
}

enum kurc_status kurc_idx_load(const char *path, struct kurc_idx *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    struct growbuf b = {NULL, 0, 0};
    struct follower fol = {.running = false};
    enum kurc_status st = read_file(path, &b, &fol, err);
    follow_stop(&fol);
    /* the follower's floats, when it converted every element */
    float *ready = st == KURC_OK && fol.done == fol.h.numel ? fol.data : NULL;
    if (fol.data != ready)
        free(fol.data);
    if (st == KURC_OK)
        st = parse_into(b.data, b.len, path, ready, out, err);
    free(b.data);
    return st;
}

enum kurc_status kurc_idx_describe(const char *path, struct kurc_idx *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    FILE *f;
    struct kurc_gzip *z;
    enum kurc_status opened = open_input(path, &f, &z, err);
    if (opened != KURC_OK)
        return opened;
    unsigned char buf[4 + 4 * KURC_MAX_DIMS];
    size_t len = 0;
    uint64_t stored = KURC_IDX_UNKNOWN;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        rewind(f);
        stored = size > 0 ? (uint64_t)size : 0;
    }
    /* the 4 fixed bytes, then the dimensions they announce */
    long n = 1;
    for (size_t want = 4; len < want && n > 0;) {
        if ((n = read_some(f, z, path, buf + len, want - len, err)) > 0)
            len += (size_t)n;
        if (len >= 4)
            want = buf[3] <= KURC_MAX_DIMS ? 4 + 4 * (size_t)buf[3] : len;
    }
    close_input(f, z);
    if (n < 0)
        return err->status;
    if (stored != KURC_IDX_UNKNOWN && len >= 4 && buf[3] <= KURC_MAX_DIMS) /* the data's bytes */
        stored = stored > 4 + 4 * (uint64_t)buf[3] ? stored - 4 - 4 * (uint64_t)buf[3] : 0;
    struct kurc_idx_header h;
    enum kurc_status st = check_header(buf, len, stored, path, &h, err);
    if (st == KURC_OK) {
        out->type = h.type;
        out->ndim = h.ndim;
        memcpy(out->dim, h.dim, sizeof out->dim);
        out->numel = (int64_t)h.numel;
    }
    return st;
}

void kurc_idx_release(struct kurc_idx *idx) {
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}

/* Writes all n bytes of buf to f; false on an error. */
static bool write_all(FILE *f, const unsigned char *buf, size_t n) {
    return fwrite(buf, 1, n, f) == n;
}

enum kurc_status kurc_idx_save_f32(const char *path, const struct kurc_shape *shape,
                                   const float *data, struct kurc_err *err) {
    unsigned char head[4 + 4 * KURC_MAX_DIMS] = {0, 0, KURC_IDX_F32, (unsigned char)shape->ndim};
    int64_t numel = 1;
    for (int d = 0; d < shape->ndim; d++) {
        if (shape->dim[d] < 0 || (uint64_t)shape->dim[d] > UINT32_MAX)
            return kurc_err_set(err, KURC_E_IO, NULL,
                                "cannot write %s: dimension %lld does not fit an IDX header", path,
                                (long long)shape->dim[d]);
        uint32_t v = (uint32_t)shape->dim[d];
        for (int b = 0; b < 4; b++)
            head[4 + 4 * d + b] = (unsigned char)(v >> (24 - 8 * b));
        numel *= shape->dim[d];
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot write %s: %s", path, strerror(errno));
    bool ok = write_all(f, head, 4 + 4 * (size_t)shape->ndim);
    unsigned char chunk[4096];
    size_t fill = 0;
    for (int64_t i = 0; i < numel && ok; i++) {
        uint32_t bits;
        memcpy(&bits, &data[i], sizeof bits);
        for (int b = 0; b < 4; b++)
            chunk[fill++] = (unsigned char)(bits >> (24 - 8 * b));
        if (fill == sizeof chunk) {
            ok = write_all(f, chunk, fill);
            fill = 0;
        }
    }
    ok = ok && write_all(f, chunk, fill) && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (ok)
        return KURC_OK;
    unlink(path);
    return kurc_err_set(err, KURC_E_IO, NULL, "cannot write %s: %s", path, strerror(saved));
}
