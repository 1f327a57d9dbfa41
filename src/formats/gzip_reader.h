/* gzip_reader.h - reading a gzip file as a stream, for the readers in
 * formats/ (idx.c, compressed.c), with ISA-L's inflate (igzip: about
 * twice zlib's speed on the MNIST files).  Every member is read in turn,
 * its header parsed and its CRC-32 and length checked; bytes after the
 * last member that do not start another are ignored, as gzip and zlib
 * ignore them. */
#ifndef KURC_GZIP_READER_H
#define KURC_GZIP_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"

struct kurc_gzip;

/* Whether the n bytes at p start with the gzip magic bytes (1f 8b). */
static inline bool kurc_gzip_magic(const unsigned char *p, size_t n) {
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* Opens path (which starts with the gzip magic bytes) for reading. */
enum kurc_status kurc_gzip_open(const char *path, struct kurc_gzip **out, struct kurc_err *err);

/* Decompresses up to n bytes into buf: the count (less than n only at the
 * end), 0 at the end of the data; -1 with err set on a read error
 * (KURC_E_IO), damaged data ("PATH: corrupt gzip data after N decompressed
 * bytes: WHY") or data cut short ("PATH: truncated gzip data: the stream
 * ends after N decompressed bytes"), both KURC_E_DATA. */
long kurc_gzip_read(struct kurc_gzip *z, void *buf, size_t n, struct kurc_err *err);

void kurc_gzip_close(struct kurc_gzip *z);

#endif
