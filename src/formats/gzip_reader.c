/* gzip_reader.c - a gzip file as a stream (gzip_reader.h), with ISA-L's
 * igzip inflate, which parses each member's header and checks its CRC-32
 * and length (ISAL_GZIP). */
#include "formats/gzip_reader.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

enum { IN_BYTES = 1 << 18 };

struct kurc_gzip {
    FILE *f;
    char *path;
    struct inflate_state st;
    unsigned char in[IN_BYTES];
    uint64_t total; /* bytes decompressed */
    bool eof;       /* the file is read to its end */
    bool done;      /* the last member is read */
};

enum kurc_status kurc_gzip_open(const char *path, struct kurc_gzip **out, struct kurc_err *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    struct kurc_gzip *z = kurc_xcalloc(1, sizeof *z);
    z->f = f;
    z->path = kurc_xstrdup(path);
    isal_inflate_init(&z->st);
    z->st.crc_flag = ISAL_GZIP;
    *out = z;
    return KURC_OK;
}

void kurc_gzip_close(struct kurc_gzip *z) {
    if (!z)
        return;
    fclose(z->f);
    free(z->path);
    free(z);
}

/* Moves the unread input to the front of the buffer and reads the file
 * behind it; false on a read error (errno set). */
static bool refill(struct kurc_gzip *z) {
    if (z->eof)
        return true;
    size_t keep = z->st.avail_in;
    if (keep) /* next_in is NULL before the first read */
        memmove(z->in, z->st.next_in, keep);
    size_t got = fread(z->in + keep, 1, sizeof z->in - keep, z->f);
    if (ferror(z->f))
        return false;
    if (got < sizeof z->in - keep)
        z->eof = true;
    z->st.next_in = z->in;
    z->st.avail_in = (uint32_t)(keep + got);
    return true;
}

/* isal_inflate can return with the upper halves of the vector registers
 * dirty: its gzip CRC-32 uses AVX-512 registers on CPUs that have them
 * (crc32_gzip_refl_by16_10), and the library has no vzeroupper.  Until they
 * are cleared, SSE code that follows on the thread runs slowly: measured
 * here, the MNIST images' normalisation after the read took 4 times as
 * long.  Clears them on CPUs with AVX (the instruction does not exist
 * without). */
static void clear_upper_vector_state(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx"))
        __asm__ volatile("vzeroupper" ::: "memory");
#endif
}

static const char *inflate_failure(int rc) {
    switch (rc) {
    case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
        return "invalid code in the deflate data";
    case ISAL_INVALID_LOOKBACK:
        return "a distance too far back";
    case ISAL_INVALID_WRAPPER:
        return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
        return "unknown compression method";
    case ISAL_INCORRECT_CHECKSUM:
        return "incorrect CRC-32 or length check";
    default:
        return "inflate failed";
    }
}

/* After a member: another one follows when the next bytes are the gzip
 * magic; anything else ends the data.  False on a read error. */
static bool next_member(struct kurc_gzip *z) {
    if (z->st.avail_in < 2 && !refill(z))
        return false;
    const unsigned char *p = z->st.next_in;
    if (!kurc_gzip_magic(p, z->st.avail_in)) {
        z->done = true;
        return true;
    }
    uint32_t avail = z->st.avail_in;
    isal_inflate_reset(&z->st);
    z->st.crc_flag = ISAL_GZIP;
    z->st.next_in = (uint8_t *)p;
    z->st.avail_in = avail;
    return true;
}

long kurc_gzip_read(struct kurc_gzip *z, void *buf, size_t n, struct kurc_err *err) {
    size_t got = 0;
    while (got < n && !z->done) {
        if (z->st.block_state == ISAL_BLOCK_FINISH) {
            if (!next_member(z))
                break;
            continue;
        }
        if (z->st.avail_in == 0 && !refill(z))
            break;
        size_t room = n - got < UINT32_MAX ? n - got : UINT32_MAX;
        z->st.next_out = (uint8_t *)buf + got;
        z->st.avail_out = (uint32_t)room;
        int rc = isal_inflate(&z->st);
        clear_upper_vector_state();
        size_t made = room - z->st.avail_out;
        got += made;
        if (rc < 0) {
            kurc_err_set(err, KURC_E_DATA, NULL,
                         "%s: corrupt gzip data after %llu decompressed bytes: %s", z->path,
                         (unsigned long long)(z->total + got), inflate_failure(rc));
            return -1;
        }
        if (made == 0 && z->st.avail_in == 0 && z->eof && z->st.block_state != ISAL_BLOCK_FINISH) {
            kurc_err_set(err, KURC_E_DATA, NULL,
                         "%s: truncated gzip data: the stream ends after %llu decompressed bytes",
                         z->path, (unsigned long long)(z->total + got));
            return -1;
        }
    }
    if (ferror(z->f)) {
        kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", z->path, strerror(errno));
        return -1;
    }
    z->total += got;
    return (long)got;
}
