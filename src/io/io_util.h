/* io_util.h - what the file writers of src/io share: writing through a
 * temporary file (PATH.tmp, synced and renamed over PATH only when
 * complete), HDF5 files built in memory, and turning HDF5 failures into
 * kurc errors.
 *
 * HDF5 files are written in memory (the core driver) and their image
 * stored with plain writes: HDF5 1.10 does not survive a failed write to
 * disk (a full disk, a file size limit), since the file it cannot close
 * crashes the library when the process exits.
 *
 * Every function that reports an error names the file through the error's
 * place (err->file), so kurc_err_format prints "PATH: message".
 */
#ifndef KURC_IO_UTIL_H
#define KURC_IO_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <hdf5.h>

#include "base/status.h"

/* "PATH.tmp", newly allocated. */
char *kurc_io_tmp_path(const char *path);

/* Removes PATH.tmp (path may be NULL), which only a run killed while
 * saving leaves behind, with a warning naming it. */
void kurc_io_clean_tmp(const char *path);

/* Finishes a write to tmp: syncs it to disk and renames it to path.  On
 * failure (reported with status) tmp is removed and path is left as it
 * was. */
enum kurc_status kurc_io_commit(const char *tmp, const char *path, enum kurc_status status,
                                struct kurc_err *err);

/* Creates an empty HDF5 file in memory for path (see above); a negative
 * id on failure. */
hid_t kurc_h5_create(const char *path);

/* Opens path read-only.  Where the file system cannot lock files (NFS,
 * Lustre), HDF5 goes on without the lock instead of failing. */
hid_t kurc_h5_open_read(const char *path);

/* Closes a file from kurc_h5_create.  When st is KURC_OK, first stores its
 * image at path (through PATH.tmp); a failure there is reported with
 * status fail_status.  Returns the final status. */
enum kurc_status kurc_h5_finish(hid_t file, const char *path, enum kurc_status st,
                                enum kurc_status fail_status, struct kurc_err *err);

/* Records an error about path: status and message; h5_fail adds the
 * innermost message of the first HDF5 failure since kurc_h5_begin (or the
 * previous h5_fail), when there was one. */
enum kurc_status kurc_io_fail(struct kurc_err *err, enum kurc_status status, const char *path,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
enum kurc_status kurc_h5_fail(struct kurc_err *err, enum kurc_status status, const char *path,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Replaces HDF5's printing of its error stack with recording the first
 * failure for kurc_h5_fail (kurc reports errors itself).  Call before any
 * other HDF5 call of a public function. */
void kurc_h5_begin(void);

/* True when name can be one HDF5 link name: not empty, not ".", no '/'. */
bool kurc_h5_name_ok(const char *name);

/* Writes a scalar string attribute (is_attr) or dataset of obj, variable-
 * length UTF-8 (which h5py reads as str).  Returns a negative value on
 * failure. */
herr_t kurc_h5_write_str(hid_t obj, const char *name, const char *value, bool is_attr);

/* Reads a scalar string attribute (is_attr) or dataset of obj named name,
 * variable- or fixed-length; a new string, or NULL when it is missing or
 * not a string. */
char *kurc_h5_read_str(hid_t obj, const char *name, bool is_attr);

/* Writes a float32 dataset name in loc with dims (ndim 0: a scalar) from
 * data.  Returns a negative value on failure. */
herr_t kurc_h5_write_floats(hid_t loc, const char *name, int ndim, const hsize_t *dims,
                            const float *data);

/* Python's spelling of a tuple of dimensions: "(3, 3, 1, 64)", "(10,)",
 * "()".  buf should hold 24 bytes per dimension. */
void kurc_io_format_dims(const int64_t *dims, int ndim, char *buf, size_t size);

#endif
