/* supplier_util.c - parameters, file location and reading, line stepping
 * and float32 conversion shared by the file suppliers (see supplier_util.h). */
#include "data/supplier_util.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file_read.h"
#include "base/paths.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "data/package.h"

enum kurc_status kurc_supplier_param_str(const struct kurc_value *params, const char *supplier,
                                         const char *key, const char **out,
                                         struct kurc_err *err) {
    const struct kurc_value *v = kurc_map_get(params, key);
    *out = NULL;
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind != KURC_STR)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "%s: '%s' must be a string, not %s",
                            supplier, key, kurc_kind_phrase(v->kind));
    *out = v->u.str.s;
    return KURC_OK;
}

enum kurc_status kurc_supplier_locate(const struct kurc_value *params, const char *supplier,
                                      const struct kurc_loc *where, char **path,
                                      struct kurc_err *err) {
    static const char *const keys[] = {"path", "url", "checksum"};
    const char *given[3];
    *path = NULL;
    for (int i = 0; i < 3; i++) {
        enum kurc_status st = kurc_supplier_param_str(params, supplier, keys[i], &given[i], err);
        if (st)
            return st;
    }
    if (!given[1] && !given[2]) {
        if (!given[0])
            return kurc_err_set(err, KURC_E_CONFIG, where, "%s: needs a 'path' or a 'url'",
                                supplier);
        *path = kurc_path_expand(given[0]);
        return KURC_OK;
    }
    /* Only the packaging keys go to the fetcher. */
    struct kurc_value *spec = kurc_value_map(where);
    for (int i = 0; i < 3; i++) {
        const struct kurc_pair *p = kurc_map_find(params, keys[i]);
        if (given[i])
            kurc_map_set(spec, keys[i], &p->key_loc, kurc_value_copy(p->val));
    }
    enum kurc_status st = kurc_package_fetch(spec, path, err);
    kurc_value_free(spec);
    if (st && err->file[0] == '\0' && where && where->file) {
        /* Give a place-less fetch error the supplier's place. */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        kurc_err_set(err, st, where, "%s: %s", supplier, msg);
    }
    return st;
}

enum kurc_status kurc_supplier_read_file(const char *path, const char *supplier,
                                         const struct kurc_loc *where, char **data,
                                         size_t *len, struct kurc_err *err) {
    *data = NULL;
    *len = 0;
    int e = kurc_file_read(path, data, len);
    if (e == ENOMEM)
        return kurc_err_set(err, KURC_E_IO, where, "%s: out of memory reading %s", supplier,
                            path);
    if (e)
        return kurc_err_set(err, KURC_E_IO, where, "%s: cannot open %s: %s", supplier, path,
                            kurc_file_read_why(e));
    return KURC_OK;
}

enum kurc_status kurc_supplier_map_file(const char *path, const char *supplier,
                                        const struct kurc_loc *where,
                                        struct kurc_supplier_file *file, struct kurc_err *err) {
    *file = (struct kurc_supplier_file){NULL, 0, false};
    struct stat sb;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        char *data; /* not a regular file: read (or refused) as by kurc_file_read */
        enum kurc_status st = kurc_supplier_read_file(path, supplier, where, &data, &file->len, err);
        file->data = (const unsigned char *)data;
        return st;
    }
    void *p = sb.st_size > 0 ? mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                             : NULL;
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return kurc_err_set(err, KURC_E_IO, where, "%s: cannot map %s: %s", supplier, path,
                            strerror(e));
    *file = (struct kurc_supplier_file){p, (size_t)sb.st_size, true};
    return KURC_OK;
}

void kurc_supplier_unmap_file(struct kurc_supplier_file *file) {
    if (file->mapped && file->data)
        munmap((void *)file->data, file->len);
    else
        free((void *)file->data);
    *file = (struct kurc_supplier_file){NULL, 0, false};
}

bool kurc_supplier_next_line(const char **p, const char *end, const char **a, const char **b,
                             int *line) {
    while (*p < end) {
        const char *eol = memchr(*p, '\n', (size_t)(end - *p));
        *a = *p;
        *b = eol ? eol : end;
        *p = eol ? eol + 1 : end;
        ++*line;
        while (*a < *b && strchr(" \t\r\f\v", **a))
            ++*a;
        while (*b > *a && strchr(" \t\r\f\v", (*b)[-1]))
            --*b;
        if (*a < *b)
            return true;
    }
    return false;
}

char **kurc_supplier_chars(const char *s, size_t *n) {
    size_t len = strlen(s);
    char **out = kurc_xcalloc(len + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = kurc_utf8_decode(s + i, len - i, &cp);
        out[(*n)++] = kurc_xstrndup(s + i, k);
        i += k;
    }
    return out;
}

bool kurc_supplier_to_float(double v, float *out) {
    if (!isfinite(v))
        return false;
    if (fabs(v) > FLT_MAX) {
        /* Values that round to FLT_MAX are still representable. */
        if (fabs(v) >= (double)FLT_MAX + ldexp(1.0, 103))
            return false;
        *out = v < 0 ? -FLT_MAX : FLT_MAX;
        return true;
    }
    *out = (float)v;
    return true;
}
