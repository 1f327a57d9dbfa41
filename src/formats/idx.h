/* idx.h - LeCun's IDX array files (MNIST; also Kur's weight and log files).
 *
 * Layout: bytes 00 00 TYPE NDIM, then NDIM big-endian uint32 dimensions,
 * then the elements, big-endian, row-major.  TYPE is 0x08 uint8, 0x09 int8,
 * 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64.  A file may be
 * gzip-compressed (recognised by its magic bytes 1f 8b, not its name).
 * kurc reads every type into float32: int32 values above 2^24 and float64
 * values lose precision, as they do in Kur's float32 sources.
 */
#ifndef KURC_IDX_H
#define KURC_IDX_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "core/tensor.h"

enum kurc_idx_type {
    KURC_IDX_U8 = 0x08,
    KURC_IDX_I8 = 0x09,
    KURC_IDX_I16 = 0x0B,
    KURC_IDX_I32 = 0x0C,
    KURC_IDX_F32 = 0x0D,
    KURC_IDX_F64 = 0x0E,
};

/* One array.  At most KURC_MAX_DIMS dimensions (more is an error). */
struct kurc_idx {
    enum kurc_idx_type type; /* the element type on disk */
    int ndim;
    int64_t dim[KURC_MAX_DIMS];
    int64_t numel; /* product of dim (1 for ndim 0) */
    float *data;   /* numel values, row-major; malloc'ed, owned */
};

/* Where the elements of an IDX image are, from its header. */
struct kurc_idx_header {
    enum kurc_idx_type type;
    int ndim;
    int64_t dim[KURC_MAX_DIMS];
    uint64_t numel;            /* product of dim (1 for ndim 0) */
    size_t size;               /* bytes per element */
    const unsigned char *body; /* numel elements, big-endian */
    size_t extra;              /* bytes after them */
};

/* Reads the header of an uncompressed IDX image of len bytes and checks
 * that the image holds the elements it announces; errors as
 * kurc_idx_load's, naming the file name. */
enum kurc_status kurc_idx_parse_header(const unsigned char *buf, size_t len, const char *name,
                                       struct kurc_idx_header *h, struct kurc_err *err);

/* Element i of an image whose header is h, as a double (exact for every
 * type). */
double kurc_idx_element(const struct kurc_idx_header *h, uint64_t i);

/* Reads the IDX file at path (plain or gzip).  Errors name the file and
 * what is wrong: a bad magic, an unknown type, too many dimensions, or a
 * truncated header or body ("expected N data bytes for shape ..., found M").  Up to 1 MiB
 * after the array is ignored with a warning, as in Kur; more is an error,
 * found without reading further.  On error *out is empty. */
enum kurc_status kurc_idx_load(const char *path, struct kurc_idx *out, struct kurc_err *err);

/* The type and dimensions of the IDX file at path, from its header alone
 * (a gzip file is decompressed no further than the header): out->data is
 * NULL.  The header is checked as kurc_idx_load checks it, and the length
 * of a plain file's data; a gzip file's data, read by kurc_idx_load, may
 * still be short or damaged. */
enum kurc_status kurc_idx_describe(const char *path, struct kurc_idx *out, struct kurc_err *err);

/* The same for an uncompressed IDX image in memory; name is the file the
 * bytes came from, for messages. */
enum kurc_status kurc_idx_parse(const unsigned char *buf, size_t len, const char *name,
                                struct kurc_idx *out, struct kurc_err *err);

/* Writes numel = product of shape's dimensions floats of data as an
 * uncompressed float32 IDX file (type 0x0D, big-endian, as Kur's idx.save
 * writes float arrays) at path, creating or truncating it, and syncs it to
 * disk.  Errors (KURC_E_IO) name the file; a file that failed part-way is
 * removed. */
enum kurc_status kurc_idx_save_f32(const char *path, const struct kurc_shape *shape,
                                   const float *data, struct kurc_err *err);

/* Frees the data; idx is left empty (safe to release twice). */
void kurc_idx_release(struct kurc_idx *idx);

/* "uint8", "int8", "int16", "int32", "float32", "float64" or "unknown". */
const char *kurc_idx_type_name(enum kurc_idx_type type);

#endif
