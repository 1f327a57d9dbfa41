/* compressed.h - checking a compressed file's integrity to its end.
 *
 * A tar reader stops at the archive's end-of-archive blocks, so the
 * checksum that closes a compressed stream is never read, and libarchive
 * (3.6) does not check gzip's CRC-32 at all: a damaged .tar.gz reads as
 * good data.  Suppliers that read archives call kurc_compressed_check
 * first, so that nothing from a damaged file is used or extracted.
 */
#ifndef KURC_COMPRESSED_H
#define KURC_COMPRESSED_H

#include "base/status.h"

/* Decompresses the file at path to its end, discarding the output, and
 * checks every checksum and length the compression format carries: gzip
 * (every member's CRC-32 and size, with zlib), bzip2, xz, lzma, zstd and
 * the other filters libarchive reads (their own checks).  A file that is
 * not compressed, or that libarchive cannot open, passes (its reader
 * reports what is wrong with it).  A damaged or truncated stream is a
 * KURC_E_DATA error naming the file and how many bytes decompressed
 * before it failed; an unreadable file is KURC_E_IO. */
enum kurc_status kurc_compressed_check(const char *path, struct kurc_err *err);

#endif
