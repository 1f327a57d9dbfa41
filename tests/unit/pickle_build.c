/* pickle_build.c - byte-level pickle writer for the tests (pickle_build.h). */
#include "pickle_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void pb_bytes(struct pb *p, const void *s, size_t n) {
    if (p->cap - p->n < n) {
        while (p->cap - p->n < n)
            p->cap = p->cap ? 2 * p->cap : 256;
        p->b = kurc_xrealloc(p->b, p->cap);
    }
    memcpy(p->b + p->n, s, n);
    p->n += n;
}

void pb_op(struct pb *p, unsigned char op) {
    pb_bytes(p, &op, 1);
}

void pb_u32(struct pb *p, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    pb_bytes(p, b, 4);
}

void pb_str(struct pb *p, const char *s) {
    pb_op(p, 'U');
    pb_op(p, (unsigned char)strlen(s));
    pb_bytes(p, s, strlen(s));
}

void pb_int(struct pb *p, int32_t v) {
    if (v >= 0 && v < 256) {
        pb_op(p, 'K');
        pb_op(p, (unsigned char)v);
    } else if (v >= 0 && v < 65536) {
        pb_op(p, 'M');
        pb_op(p, (unsigned char)v);
        pb_op(p, (unsigned char)(v >> 8));
    } else {
        pb_op(p, 'J');
        pb_u32(p, (uint32_t)v);
    }
}

void pb_global(struct pb *p, const char *module, const char *name) {
    pb_op(p, 'c');
    pb_bytes(p, module, strlen(module));
    pb_op(p, '\n');
    pb_bytes(p, name, strlen(name));
    pb_op(p, '\n');
}

/* BINPUT with the next memo number, as cPickle numbers them (from 1). */
static void put(struct pb *p, int *memo) {
    pb_op(p, 'q');
    pb_op(p, (unsigned char)(*memo)++);
}

void pb_cifar_batch(struct pb *p, int n, const unsigned char *pixels, size_t data_len,
                    const unsigned char *labels) {
    int memo = 1;
    pb_bytes(p, "\x80\x02}", 3);
    put(p, &memo);
    pb_op(p, '(');
    pb_str(p, "data");
    put(p, &memo);
    pb_global(p, "numpy.core.multiarray", "_reconstruct");
    put(p, &memo);
    pb_global(p, "numpy", "ndarray");
    put(p, &memo);
    pb_bytes(p, "K\x00\x85", 3); /* (0,) */
    pb_str(p, "b");
    pb_bytes(p, "\x87R", 2);
    put(p, &memo);
    pb_bytes(p, "(K\x01", 3); /* state: (1, (n, 3072), dtype, False, data) */
    pb_int(p, n);
    pb_int(p, 3072);
    pb_op(p, 0x86);
    pb_global(p, "numpy", "dtype");
    put(p, &memo);
    pb_str(p, "u1");
    pb_bytes(p, "K\x00K\x01\x87R", 6); /* dtype('u1', 0, 1) */
    put(p, &memo);
    pb_bytes(p, "(K\x03", 3);
    pb_str(p, "|");
    pb_bytes(p, "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb", 17);
    pb_op(p, 0x89); /* NEWFALSE: C order */
    pb_op(p, 'T');
    pb_u32(p, (uint32_t)data_len);
    pb_bytes(p, pixels, data_len);
    pb_bytes(p, "tb", 2);
    pb_str(p, "labels");
    put(p, &memo);
    pb_op(p, ']');
    put(p, &memo);
    if (n == 1) {
        pb_int(p, labels[0]);
        pb_op(p, 'a');
    } else if (n > 1) {
        pb_op(p, '(');
        for (int i = 0; i < n; i++)
            pb_int(p, labels[i]);
        pb_op(p, 'e');
    }
    pb_str(p, "batch_label");
    put(p, &memo);
    pb_str(p, "training batch 1 of 5");
    put(p, &memo);
    pb_str(p, "filenames");
    put(p, &memo);
    pb_op(p, ']');
    put(p, &memo);
    pb_op(p, '(');
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "image_%d.png", i);
        pb_str(p, name);
    }
    pb_bytes(p, "eu.", 3);
}

void pb_free(struct pb *p) {
    free(p->b);
    p->b = NULL;
    p->n = p->cap = 0;
}
