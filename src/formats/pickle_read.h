/* pickle_read.h - a restricted reader for Python pickles of data sets (the
 * CIFAR-10 batches, Kur's pickle supplier): dicts, lists, tuples, numbers,
 * strings and numpy arrays, and nothing else.
 *
 * Unlike Python's pickle module this reader never calls anything.  It
 * accepts the opcodes of protocols 2 to 4 that such files use and only the
 * globals that rebuild numpy arrays and byte strings
 * (numpy.core.multiarray._reconstruct, numpy.ndarray, numpy.dtype and
 * codecs.encode / _codecs.encode with latin1), each interpreted by kurc
 * itself.  Every other opcode or global is an error naming the file, the
 * opcode and its byte offset.
 *
 * The objects of one pickle belong to a struct kurc_pickle_doc and are freed
 * together (pickles can make reference cycles, so there is no per-object
 * ownership).
 */
#ifndef KURC_PICKLE_READ_H
#define KURC_PICKLE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

enum kurc_pickle_kind {
    KURC_PICKLE_NONE,
    KURC_PICKLE_BOOL,
    KURC_PICKLE_INT,    /* fits in int64 (larger integers are an error) */
    KURC_PICKLE_FLOAT,  /* a Python float (BINFLOAT) */
    KURC_PICKLE_BYTES,  /* Python 2 str or Python 3 bytes */
    KURC_PICKLE_STR,    /* Python 3 str (unicode), held as UTF-8 */
    KURC_PICKLE_LIST,
    KURC_PICKLE_TUPLE,
    KURC_PICKLE_DICT,
    KURC_PICKLE_ARRAY,  /* numpy.ndarray */
    KURC_PICKLE_DTYPE,  /* numpy.dtype */
    KURC_PICKLE_GLOBAL, /* an allowed callable, before it is called */
};

#define KURC_PICKLE_MAX_DIMS 8

/* A numpy dtype: kind 'u' (unsigned), 'i' (signed), 'f' (float) or 'b'
 * (bool), itemsize in bytes. */
struct kurc_pickle_dtype {
    char kind;
    int itemsize;
    bool big_endian;
};

struct kurc_pickle {
    enum kurc_pickle_kind kind;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *s; /* NUL-terminated; len bytes before the NUL */
            size_t len;
            bool skipped; /* kurc_pickle_scan: s is "", len the bytes' count */
        } bytes; /* BYTES and STR */
        struct {
            struct kurc_pickle **items;
            size_t len, cap;
        } seq; /* LIST and TUPLE */
        struct {
            struct kurc_pickle **keys, **vals;
            size_t len, cap;
        } dict; /* in stream order; a key set twice appears twice (the last wins) */
        struct {
            struct kurc_pickle_dtype dtype;
            int ndim;
            int64_t dim[KURC_PICKLE_MAX_DIMS];
            unsigned char *data; /* product(dim) * itemsize bytes, C order, as stored;
                                  * NULL from kurc_pickle_scan */
            size_t nbytes;
            bool built; /* false until BUILD gave it its shape and data */
        } array;
        struct kurc_pickle_dtype dtype;
        int global; /* internal: which allowed callable */
    } u;
};

struct kurc_pickle_doc;

/* Reads one pickle from buf (len bytes).  name is where the bytes came
 * from ("cifar-10-python.tar.gz:cifar-10-batches-py/data_batch_1"), for
 * messages.  On success *doc owns every object; kurc_pickle_root gives the
 * result.  Errors are KURC_E_DATA. */
enum kurc_status kurc_pickle_load(const unsigned char *buf, size_t len, const char *name,
                                  struct kurc_pickle_doc **doc, struct kurc_err *err);

/* kurc_pickle_load for the structure only (shapes, for describe): a byte
 * string or str of more than KURC_PICKLE_SCAN_SKIP bytes is not copied
 * (bytes.skipped; a str is read only to count its characters, which
 * codecs.encode's latin1 bytes number), and numpy arrays built from them
 * have their dtype, shape and nbytes (checked as by load) but no data.
 * What only the skipped bytes could show (a str that is not latin1) is left
 * to kurc_pickle_load. */
#define KURC_PICKLE_SCAN_SKIP 4096
enum kurc_status kurc_pickle_scan(const unsigned char *buf, size_t len, const char *name,
                                  struct kurc_pickle_doc **doc, struct kurc_err *err);

const struct kurc_pickle *kurc_pickle_root(const struct kurc_pickle_doc *doc);

/* Frees every object of the pickle; doc may be NULL. */
void kurc_pickle_doc_free(struct kurc_pickle_doc *doc);

/* The value of a dict under a string key, matching str and bytes keys alike
 * (a Python 2 'data' and a Python 3 b'data' are both found as "data"), or
 * NULL when dict is not a dict or lacks the key. */
const struct kurc_pickle *kurc_pickle_dict_get(const struct kurc_pickle *dict, const char *key);

/* "None", "bool", "int", "float", "bytes", "str", "list", "tuple", "dict",
 * "numpy array", "numpy dtype", "global". */
const char *kurc_pickle_kind_name(enum kurc_pickle_kind kind);

#endif
