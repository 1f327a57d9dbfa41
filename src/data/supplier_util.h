/* supplier_util.h - what the file suppliers (csv, jsonl, hdf5) share:
 * reading typed parameters, finding the file that the standard packaging
 * keys name, reading a file whole, stepping through JSON-lines text,
 * splitting a transcript into characters and storing numbers as float32.
 *
 * Every error is reported at `where`, the supplier's place in the Kurfile;
 * messages start with the supplier's name ("csv: ...").
 */
#ifndef KURC_SUPPLIER_UTIL_H
#define KURC_SUPPLIER_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "config/value/value.h"

/* The string parameter key of params: *out is NULL when the key is absent
 * or null; any other kind is an error. */
enum kurc_status kurc_supplier_param_str(const struct kurc_value *params, const char *supplier,
                                         const char *key, const char **out,
                                         struct kurc_err *err);

/* The local file that params' packaging keys {path, url, checksum} name.
 * A path without url or checksum is the file itself (~ and $VAR expanded,
 * as Kur's package.install does); anything else goes through
 * kurc_package_fetch, which downloads and checks.  *path is a new string. */
enum kurc_status kurc_supplier_locate(const struct kurc_value *params, const char *supplier,
                                      const struct kurc_loc *where, char **path,
                                      struct kurc_err *err);

/* Reads a whole file into a new NUL-terminated buffer. */
enum kurc_status kurc_supplier_read_file(const char *path, const char *supplier,
                                         const struct kurc_loc *where, char **data,
                                         size_t *len, struct kurc_err *err);

/* A whole file in memory, mapped (a regular file) or read (a pipe). */
struct kurc_supplier_file {
    const unsigned char *data; /* NULL for an empty regular file */
    size_t len;
    bool mapped;
};

/* Maps a whole file read-only: its pages are read only where they are
 * touched, so a reader that skips parts of it leaves them on disk.  Errors
 * as kurc_supplier_read_file's.  Released by kurc_supplier_unmap_file. */
enum kurc_status kurc_supplier_map_file(const char *path, const char *supplier,
                                        const struct kurc_loc *where,
                                        struct kurc_supplier_file *file, struct kurc_err *err);
void kurc_supplier_unmap_file(struct kurc_supplier_file *file);

/* Steps through the lines of [*p, end) (JSON lines: jsonl, text, speech):
 * sets [*a, *b) to the next line that is not blank, without its leading
 * and trailing white space, and *line to its 1-based number (blank lines
 * count; start *line at 0); *p moves past it.  False at the end. */
bool kurc_supplier_next_line(const char **p, const char *end, const char **a, const char **b,
                             int *line);

/* The characters of s up to its NUL, as Python's list(str) splits it: one
 * new string per UTF-8 character (a byte that starts no well-formed
 * character stands alone, or with the continuation bytes after it).  The
 * array has room for strlen(s) + 1 entries, NULL after the *n used. */
char **kurc_supplier_chars(const char *s, size_t *n);

/* Stores v as a float32: false when v is NaN, infinite or beyond float32's
 * range (C leaves such a conversion undefined; numpy would make it
 * infinite), which no data may hold (it would train to NaN). */
bool kurc_supplier_to_float(double v, float *out);

#endif
