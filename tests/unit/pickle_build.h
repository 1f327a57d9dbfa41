/* pickle_build.h - writes pickles byte by byte for the tests, in
 * particular CIFAR-10 batches laid out as Python 2's cPickle wrote the real
 * cifar-10-python.tar.gz (protocol 2, SHORT_BINSTRING keys, the pixels as
 * one BINSTRING), so the reader is tested on that format without Python. */
#ifndef KURC_PICKLE_BUILD_H
#define KURC_PICKLE_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct pb {
    unsigned char *b;
    size_t n, cap;
};

void pb_bytes(struct pb *p, const void *s, size_t n);
void pb_op(struct pb *p, unsigned char op);
void pb_u32(struct pb *p, uint32_t v);
/* SHORT_BINSTRING (U) of a C string. */
void pb_str(struct pb *p, const char *s);
/* BININT1, BININT2 or BININT: the shortest that holds v. */
void pb_int(struct pb *p, int32_t v);
/* GLOBAL (c) "module\nname\n". */
void pb_global(struct pb *p, const char *module, const char *name);

/* {'data': uint8 array (n, 3072), 'labels': [labels...], 'batch_label':
 * ..., 'filenames': [...]}, with data_len bytes of pixels (n * 3072 for a
 * well-formed batch). */
void pb_cifar_batch(struct pb *p, int n, const unsigned char *pixels, size_t data_len,
                    const unsigned char *labels);

void pb_free(struct pb *p);

#endif
