/* compressed.c - reading a compressed file to its end to check it (see
 * compressed.h). */
#include "formats/compressed.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "formats/gzip_reader.h"

enum { CHUNK = 1 << 20 };

/* gzip, with the gzip reader, which checks each member's CRC-32 and length
 * (libarchive does not). */
static enum kurc_status check_gzip(const char *path, struct kurc_err *err) {
    struct kurc_gzip *z;
    enum kurc_status st = kurc_gzip_open(path, &z, err);
    if (st != KURC_OK)
        return st;
    char *buf = kurc_xmalloc(CHUNK);
    long n;
    while ((n = kurc_gzip_read(z, buf, CHUNK, err)) > 0)
        continue;
    free(buf);
    kurc_gzip_close(z);
    return n < 0 ? err->status : KURC_OK;
}

/* Any other compression libarchive reads, through its raw format: reading
 * the one raw entry to its end runs the filter's own checks. */
static enum kurc_status check_other(const char *path, struct kurc_err *err) {
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct archive_entry *entry;
    enum kurc_status st = KURC_OK;
    /* a file libarchive cannot open is left to the caller's reader to report */
    if (archive_read_open_filename(a, path, CHUNK) == ARCHIVE_OK &&
        archive_read_next_header(a, &entry) == ARCHIVE_OK &&
        archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE) {
        char *buf = kurc_xmalloc(CHUNK);
        uint64_t total = 0;
        la_ssize_t n;
        while ((n = archive_read_data(a, buf, CHUNK)) > 0)
            total += (uint64_t)n;
        free(buf);
        if (n < 0)
            st = kurc_err_set(err, KURC_E_DATA, NULL,
                              "%s: corrupt %s data after %llu decompressed bytes: %s", path,
                              archive_filter_name(a, 0), (unsigned long long)total,
                              archive_error_string(a));
    }
    archive_read_free(a);
    return st;
}

enum kurc_status kurc_compressed_check(const char *path, struct kurc_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    unsigned char magic[2];
    bool gz = kurc_gzip_magic(magic, fread(magic, 1, 2, f));
    fclose(f);
    return gz ? check_gzip(path, err) : check_other(path, err);
}
