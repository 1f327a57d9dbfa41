/* torch_save.c - writing torch.save's zip format (see torch_zip.h): the
 * pickle of the state_dict, one storage per tensor, the version record. */
#include "formats/torch_zip.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "formats/zip_store.h"

/* Pickle opcodes (Python's pickle module names). */
enum {
    P_PROTO = 0x80, P_GLOBAL = 'c', P_EMPTY_TUPLE = ')', P_REDUCE = 'R', P_MARK = '(',
    P_BINUNICODE = 'X', P_BININT = 'J', P_TUPLE = 't', P_BINPERSID = 'Q', P_NEWFALSE = 0x89,
    P_SETITEMS = 'u', P_STOP = '.',
};

static void put_u32(struct kurc_strbuf *b, uint32_t v) {
    char le[4] = {(char)(v & 0xff), (char)((v >> 8) & 0xff), (char)((v >> 16) & 0xff),
                  (char)(v >> 24)};
    kurc_strbuf_append(b, le, 4);
}

static void put_str(struct kurc_strbuf *b, const char *s) {
    kurc_strbuf_putc(b, (char)P_BINUNICODE);
    put_u32(b, (uint32_t)strlen(s));
    kurc_strbuf_puts(b, s);
}

static void put_int(struct kurc_strbuf *b, int64_t v) {
    kurc_strbuf_putc(b, (char)P_BININT);
    put_u32(b, (uint32_t)(int32_t)v);
}

static void put_global(struct kurc_strbuf *b, const char *module, const char *name) {
    kurc_strbuf_printf(b, "%c%s\n%s\n", P_GLOBAL, module, name);
}

static void put_ordered_dict(struct kurc_strbuf *b) {
    put_global(b, "collections", "OrderedDict");
    kurc_strbuf_putc(b, (char)P_EMPTY_TUPLE);
    kurc_strbuf_putc(b, (char)P_REDUCE);
}

/* The pickle of the state_dict: OrderedDict([(name, tensor), ...]). */
static void pickle_state_dict(struct kurc_strbuf *b, const struct kurc_torch_tensor *t, size_t n) {
    kurc_strbuf_putc(b, (char)P_PROTO);
    kurc_strbuf_putc(b, 2);
    put_ordered_dict(b);
    kurc_strbuf_putc(b, (char)P_MARK);
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "%zu", i);
        put_str(b, t[i].name);
        put_global(b, "torch._utils", "_rebuild_tensor_v2");
        kurc_strbuf_putc(b, (char)P_MARK);
        /* the storage: persistent id ('storage', FloatStorage, key, 'cpu', numel) */
        kurc_strbuf_putc(b, (char)P_MARK);
        put_str(b, "storage");
        put_global(b, "torch", "FloatStorage");
        put_str(b, key);
        put_str(b, "cpu");
        put_int(b, t[i].numel);
        kurc_strbuf_putc(b, (char)P_TUPLE);
        kurc_strbuf_putc(b, (char)P_BINPERSID);
        put_int(b, 0); /* storage offset */
        kurc_strbuf_putc(b, (char)P_MARK);
        for (int d = 0; d < t[i].shape.ndim; d++)
            put_int(b, t[i].shape.dim[d]);
        kurc_strbuf_putc(b, (char)P_TUPLE);
        kurc_strbuf_putc(b, (char)P_MARK);
        int64_t stride = 1, strides[KURC_MAX_DIMS];
        for (int d = t[i].shape.ndim - 1; d >= 0; d--) {
            strides[d] = stride;
            stride *= t[i].shape.dim[d];
        }
        for (int d = 0; d < t[i].shape.ndim; d++)
            put_int(b, strides[d]);
        kurc_strbuf_putc(b, (char)P_TUPLE);
        kurc_strbuf_putc(b, (char)P_NEWFALSE); /* requires_grad */
        put_ordered_dict(b);                  /* backward hooks */
        kurc_strbuf_putc(b, (char)P_TUPLE);
        kurc_strbuf_putc(b, (char)P_REDUCE);
    }
    kurc_strbuf_putc(b, (char)P_SETITEMS);
    kurc_strbuf_putc(b, (char)P_STOP);
}

/* Float32 in little-endian byte order (a copy on big-endian hosts). */
static const void *little_endian(const float *data, int64_t numel, float **copy) {
    *copy = NULL;
    const uint16_t one = 1;
    if (*(const unsigned char *)&one == 1)
        return data;
    *copy = kurc_xmalloc((size_t)numel * 4);
    for (int64_t i = 0; i < numel; i++) {
        unsigned char b[4], *o = (unsigned char *)(*copy + i);
        memcpy(b, data + i, 4);
        o[0] = b[3], o[1] = b[2], o[2] = b[1], o[3] = b[0];
    }
    return *copy;
}

static bool write_archive(FILE *f, const struct kurc_torch_tensor *t, size_t n) {
    struct kurc_zip z;
    if (!kurc_zip_init(&z, f))
        return false;
    struct kurc_strbuf pkl = KURC_STRBUF_INIT;
    pickle_state_dict(&pkl, t, n);
    const void *part = pkl.data;
    size_t size = pkl.len;
    bool ok = kurc_zip_add(&z, "archive/data.pkl", &part, &size, 1);
    kurc_strbuf_free(&pkl);
    for (size_t i = 0; ok && i < n; i++) {
        char name[48];
        snprintf(name, sizeof name, "archive/data/%zu", i);
        float *copy;
        part = little_endian(t[i].data, t[i].numel, &copy);
        size = (size_t)t[i].numel * 4;
        ok = kurc_zip_add(&z, name, &part, &size, 1);
        free(copy);
    }
    part = "3\n";
    size = 2;
    ok = ok && kurc_zip_add(&z, "archive/version", &part, &size, 1);
    return kurc_zip_finish(&z) && ok;
}

enum kurc_status kurc_torch_save(const char *path, const struct kurc_torch_tensor *t, size_t n,
                                 struct kurc_err *err) {
    for (size_t i = 0; i < n; i++)
        if (t[i].numel > INT32_MAX)
            return kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                                "%s: tensor %s has %lld values, more than this writer stores",
                                path, t[i].name, (long long)t[i].numel);
    char *tmp = kurc_xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && write_archive(f, t, n);
    int e = errno;
    if (f && fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        e = errno;
    }
    if (!ok)
        remove(tmp);
    free(tmp);
    if (!ok)
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: cannot write: %s", path,
                            strerror(e));
    return KURC_OK;
}
