/* zip_store.c - stored-entry ZIP64 archives (see zip_store.h; the record
 * layouts are those of PKWARE's APPNOTE.TXT, sections 4.3 and 4.5.3). */
#include "formats/zip_store.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "base/xalloc.h"

struct kurc_zip_entry {
    char *name;
    uint32_t crc;
    uint64_t size;
    uint64_t offset; /* of its local header */
};

#define ZIP_VERSION 45        /* 4.5: ZIP64 */
#define ZIP_FLAGS 0x0800      /* names are UTF-8 */
#define ZIP_DOS_DATE 0x0021   /* 1980-01-01, time 00:00: reproducible output */
#define ZIP_MAX32 0xFFFFFFFFu /* "see the ZIP64 record" */

/* Little-endian fields appended to a record under construction. */
struct record {
    unsigned char *p;
    size_t len;
};

static void put16(struct record *r, uint32_t v) {
    r->p[r->len++] = (unsigned char)v;
    r->p[r->len++] = (unsigned char)(v >> 8);
}

static void put32(struct record *r, uint32_t v) {
    put16(r, v & 0xFFFF);
    put16(r, v >> 16);
}

static void put64(struct record *r, uint64_t v) {
    put32(r, (uint32_t)v);
    put32(r, (uint32_t)(v >> 32));
}

static bool emit(struct kurc_zip *z, const void *data, size_t size) {
    if (size && fwrite(data, 1, size, z->f) != size)
        return false;
    z->offset += size;
    return true;
}

void kurc_zip_init(struct kurc_zip *z, FILE *f) {
    memset(z, 0, sizeof *z);
    z->f = f;
}

bool kurc_zip_add(struct kurc_zip *z, const char *name, const void *const *parts,
                  const size_t *sizes, size_t n) {
    struct kurc_zip_entry e = {kurc_xstrdup(name), (uint32_t)crc32_z(0, Z_NULL, 0), 0, z->offset};
    for (size_t i = 0; i < n; i++) {
        e.crc = (uint32_t)crc32_z(e.crc, parts[i], sizes[i]);
        e.size += sizes[i];
    }
    if (z->n == z->cap) {
        z->cap = z->cap ? 2 * z->cap : 8;
        z->entries = kurc_xrealloc(z->entries, z->cap * sizeof *z->entries);
    }
    z->entries[z->n++] = e;

    size_t name_len = strlen(name);
    unsigned char head[50];
    struct record r = {head, 0};
    put32(&r, 0x04034b50); /* local file header */
    put16(&r, ZIP_VERSION);
    put16(&r, ZIP_FLAGS);
    put16(&r, 0); /* stored */
    put16(&r, 0);
    put16(&r, ZIP_DOS_DATE);
    put32(&r, e.crc);
    put32(&r, ZIP_MAX32); /* compressed and uncompressed sizes: in the extra */
    put32(&r, ZIP_MAX32);
    put16(&r, (uint32_t)name_len);
    put16(&r, 20);
    unsigned char extra[20];
    struct record x = {extra, 0};
    put16(&x, 0x0001); /* ZIP64 extended information */
    put16(&x, 16);
    put64(&x, e.size);
    put64(&x, e.size);
    if (!emit(z, head, r.len) || !emit(z, name, name_len) || !emit(z, extra, x.len))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!emit(z, parts[i], sizes[i]))
            return false;
    return true;
}

/* The central directory, the ZIP64 end record and its locator, and the
 * classic end record pointing at them. */
static bool write_directory(struct kurc_zip *z) {
    uint64_t start = z->offset;
    for (size_t i = 0; i < z->n; i++) {
        const struct kurc_zip_entry *e = &z->entries[i];
        size_t name_len = strlen(e->name);
        unsigned char head[46 + 28];
        struct record r = {head, 0};
        put32(&r, 0x02014b50); /* central directory header */
        put16(&r, ZIP_VERSION);
        put16(&r, ZIP_VERSION);
        put16(&r, ZIP_FLAGS);
        put16(&r, 0);
        put16(&r, 0);
        put16(&r, ZIP_DOS_DATE);
        put32(&r, e->crc);
        put32(&r, ZIP_MAX32);
        put32(&r, ZIP_MAX32);
        put16(&r, (uint32_t)name_len);
        put16(&r, 28);
        put16(&r, 0);         /* comment */
        put16(&r, 0);         /* disk */
        put16(&r, 0);         /* internal attributes */
        put32(&r, 0);         /* external attributes */
        put32(&r, ZIP_MAX32); /* local header offset: in the extra */
        size_t fixed = r.len;
        put16(&r, 0x0001);
        put16(&r, 24);
        put64(&r, e->size);
        put64(&r, e->size);
        put64(&r, e->offset);
        if (!emit(z, head, fixed) || !emit(z, e->name, name_len) ||
            !emit(z, head + fixed, r.len - fixed))
            return false;
    }
    uint64_t dir_size = z->offset - start, end64 = z->offset;
    unsigned char tail[56 + 20 + 22];
    struct record r = {tail, 0};
    put32(&r, 0x06064b50); /* ZIP64 end of central directory record */
    put64(&r, 44);
    put16(&r, ZIP_VERSION);
    put16(&r, ZIP_VERSION);
    put32(&r, 0);
    put32(&r, 0);
    put64(&r, z->n);
    put64(&r, z->n);
    put64(&r, dir_size);
    put64(&r, start);
    put32(&r, 0x07064b50); /* ZIP64 end of central directory locator */
    put32(&r, 0);
    put64(&r, end64);
    put32(&r, 1);
    put32(&r, 0x06054b50); /* end of central directory record */
    put16(&r, 0);
    put16(&r, 0);
    put16(&r, 0xFFFF);
    put16(&r, 0xFFFF);
    put32(&r, ZIP_MAX32);
    put32(&r, ZIP_MAX32);
    put16(&r, 0);
    return emit(z, tail, r.len);
}

bool kurc_zip_finish(struct kurc_zip *z) {
    bool ok = write_directory(z);
    for (size_t i = 0; i < z->n; i++)
        free(z->entries[i].name);
    free(z->entries);
    memset(z, 0, sizeof *z);
    return ok;
}
