/* compressed.c - reading a compressed file to its end to check it (see
 * compressed.h), and the end of every gzip read in formats/ (gzip_end.h). */
#include "formats/compressed.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/xalloc.h"
#include "formats/gzip_end.h"

enum { CHUNK = 1 << 20 };

/* gzip, with zlib, which checks each member's CRC-32 and length (libarchive
 * does not). */
static enum kurc_status check_gzip(const char *path, struct kurc_err *err) {
    gzFile z = gzopen(path, "rb");
    if (!z)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno));
    char *buf = kurc_xmalloc(CHUNK);
    uint64_t total = 0;
    int n;
    while ((n = gzread(z, buf, CHUNK)) > 0)
        total += (uint64_t)n;
    free(buf);
    return kurc_gzip_end(z, n, path, total, err);
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
    unsigned char magic[2] = {0, 0};
    bool gz = fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    fclose(f);
    return gz ? check_gzip(path, err) : check_other(path, err);
}

enum kurc_status kurc_gzip_end(gzFile z, int n, const char *path, uint64_t total,
                               struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    if (n < 0) {
        int code;
        const char *msg = gzerror(z, &code);
        size_t plen = strlen(path); /* zlib's message starts "PATH: " */
        if (strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
            msg += plen + 2;
        st = code == Z_ERRNO
                 ? kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", path, strerror(errno))
                 : kurc_err_set(err, KURC_E_DATA, NULL,
                                "%s: corrupt gzip data after %llu decompressed bytes: %s", path,
                                (unsigned long long)total, msg);
    }
    /* A stream cut short reads as a clean end of file; only closing tells. */
    if (gzclose_r(z) == Z_BUF_ERROR && st == KURC_OK)
        st = kurc_err_set(err, KURC_E_DATA, NULL,
                          "%s: truncated gzip data: the stream ends after %llu decompressed bytes",
                          path, (unsigned long long)total);
    return st;
}
