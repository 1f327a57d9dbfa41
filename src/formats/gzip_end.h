/* gzip_end.h - ending a read of a gzip file with zlib's gz functions, for
 * the readers in formats/ (idx.c, compressed.c): the errors a read loop
 * ends with, and the truncation only closing reveals. */
#ifndef KURC_GZIP_END_H
#define KURC_GZIP_END_H

#include <stdint.h>
#include <zlib.h>

#include "base/status.h"

/* Closes z after a loop of gzread calls whose last returned n, having
 * decompressed `total` bytes of path: a system error is KURC_E_IO, damaged
 * data (a CRC-32 or length that fails, bad deflate data) or a stream cut
 * short KURC_E_DATA, each naming path and how far it got. */
enum kurc_status kurc_gzip_end(gzFile z, int n, const char *path, uint64_t total,
                               struct kurc_err *err);

#endif
