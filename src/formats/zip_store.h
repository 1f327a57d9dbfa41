/* zip_store.h - writing .npz files: zip archives of stored (uncompressed)
 * entries, as numpy.savez writes them, through libarchive's zip writer.
 *
 * libarchive adds ZIP64 records where an entry or the archive passes
 * 4 GiB; Python's zipfile (and so numpy.load), Info-ZIP and libzip read
 * them.  Entry names are marked UTF-8.  Entry data is given as fragments
 * (an .npy header and the array) so nothing is copied.
 */
#ifndef KURC_ZIP_STORE_H
#define KURC_ZIP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct archive;

struct kurc_zip {
    struct archive *a;
};

/* Starts an archive written to f (open for writing, at its start).
 * Returns false when libarchive cannot start (errno says why). */
bool kurc_zip_init(struct kurc_zip *z, FILE *f);

/* Appends an entry whose data is the n fragments parts[i] (sizes[i] bytes
 * each) in order.  Returns false when writing fails (errno says why). */
bool kurc_zip_add(struct kurc_zip *z, const char *name, const void *const *parts,
                  const size_t *sizes, size_t n);

/* Writes the central directory and the end records, and frees what z
 * holds (also after a failure).  Returns false when writing fails (errno
 * says why).  Does not close f. */
bool kurc_zip_finish(struct kurc_zip *z);

#endif
