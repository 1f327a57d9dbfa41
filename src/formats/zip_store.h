/* zip_store.h - a minimal ZIP writer for .npz files: stored (uncompressed)
 * entries, as numpy.savez writes them, with CRC-32 from zlib.
 *
 * Every entry and the archive's end carry ZIP64 records, so entries and
 * archives past 4 GiB need no second code path; Python's zipfile (and so
 * numpy.load), Info-ZIP and libzip all read them.  Entry data is given as
 * fragments (an .npy header and the array) so nothing is copied.
 */
#ifndef KURC_ZIP_STORE_H
#define KURC_ZIP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct kurc_zip_entry;

struct kurc_zip {
    FILE *f;
    uint64_t offset; /* bytes written so far */
    struct kurc_zip_entry *entries;
    size_t n;
    size_t cap;
};

/* Starts an archive written to f (open for writing, at its start). */
void kurc_zip_init(struct kurc_zip *z, FILE *f);

/* Appends an entry whose data is the n fragments parts[i] (sizes[i] bytes
 * each) in order.  Returns false when writing fails (errno says why). */
bool kurc_zip_add(struct kurc_zip *z, const char *name, const void *const *parts,
                  const size_t *sizes, size_t n);

/* Writes the central directory and the end records, and frees what z
 * holds (also after a failure).  Returns false when writing fails.  Does
 * not close f. */
bool kurc_zip_finish(struct kurc_zip *z);

#endif
