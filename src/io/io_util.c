/* io_util.c - temporary-file commits and HDF5 helpers shared by the weight,
 * checkpoint and destination writers (see io_util.h). */
#include "io/io_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"

char *kurc_io_tmp_path(const char *path) {
    return kurc_xasprintf("%s.tmp", path);
}

void kurc_io_clean_tmp(const char *path) {
    if (!path)
        return;
    char *tmp = kurc_io_tmp_path(path);
    if (unlink(tmp) == 0)
        kurc_log(KURC_LOG_WARNING, "removed %s, left by a run stopped while saving %s", tmp,
                 path);
    free(tmp);
}

enum kurc_status kurc_io_commit(const char *tmp, const char *path, enum kurc_status status,
                                struct kurc_err *err) {
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return kurc_io_fail(err, status, path, "cannot sync %s: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return kurc_io_fail(err, status, path, "cannot rename %s to it: %s", tmp, strerror(e));
    }
    return KURC_OK;
}

/* The core driver's growth step: small files waste little, large ones
 * reallocate rarely. */
#define H5_MEMORY_INCREMENT (4u << 20)

hid_t kurc_h5_create(const char *path) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    hid_t file = H5Pset_fapl_core(fapl, H5_MEMORY_INCREMENT, 0) >= 0
                     ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                     : -1;
    H5Pclose(fapl);
    return file;
}

hid_t kurc_h5_open_read(const char *path) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
#if H5_VERSION_GE(1, 10, 7)
    H5Pset_file_locking(fapl, 1, 1);
#endif
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return file;
}

/* Writes size bytes to PATH.tmp and commits it to path. */
static enum kurc_status write_file(const char *path, const void *data, size_t size,
                                   enum kurc_status status, struct kurc_err *err) {
    char *tmp = kurc_io_tmp_path(path);
    enum kurc_status st = KURC_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = kurc_io_fail(err, status, path, "cannot create %s: %s", tmp, strerror(errno));
    } else {
        bool ok = fwrite(data, 1, size, f) == size;
        int e = errno;
        if (fclose(f) != 0 && ok) {
            ok = false;
            e = errno;
        }
        if (!ok) {
            unlink(tmp);
            st = kurc_io_fail(err, status, path, "cannot write %s: %s", tmp, strerror(e));
        } else {
            st = kurc_io_commit(tmp, path, status, err);
        }
    }
    free(tmp);
    return st;
}

enum kurc_status kurc_h5_finish(hid_t file, const char *path, enum kurc_status st,
                                enum kurc_status fail_status, struct kurc_err *err) {
    void *image = NULL;
    ssize_t size = 0;
    if (!st) {
        size = H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0 ? H5Fget_file_image(file, NULL, 0) : -1;
        image = size >= 0 ? malloc(size ? (size_t)size : 1) : NULL;
        if (size >= 0 && !image)
            st = kurc_io_fail(err, fail_status, path, "out of memory for a %zd-byte file", size);
        else if (size < 0 || H5Fget_file_image(file, image, (size_t)size) != size)
            st = kurc_h5_fail(err, fail_status, path, "cannot build the file");
    }
    H5Fclose(file);
    if (!st)
        st = write_file(path, image, (size_t)size, fail_status, err);
    free(image);
    return st;
}

enum kurc_status kurc_io_fail(struct kurc_err *err, enum kurc_status status, const char *path,
                              const char *fmt, ...) {
    struct kurc_loc loc = {path, 0, 0};
    va_list ap;
    va_start(ap, fmt);
    kurc_err_vset(err, status, &loc, fmt, ap);
    va_end(ap);
    return status;
}

/* The first HDF5 failure since kurc_h5_begin or the last kurc_h5_fail:
 * recorded when it happens, since every later HDF5 call (closing handles)
 * clears HDF5's own error stack. */
static _Thread_local char h5_first_error[256];

/* H5Ewalk2 callback: keeps the first (innermost) description. */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
    if (n == 0 && e->desc)
        snprintf(data, sizeof h5_first_error, "%s", e->desc);
    return 0;
}

/* HDF5's automatic error handler, called as a failing API function
 * returns: records the useful part of the innermost description, the
 * system's message when it quotes one ("..., error message = 'File too
 * large', ...") or else the whole description. */
static herr_t record_error(hid_t stack, void *data) {
    (void)data;
    if (h5_first_error[0])
        return 0;
    char desc[sizeof h5_first_error] = "";
    H5Ewalk2(stack, H5E_WALK_UPWARD, innermost, desc);
    const char *key = "error message = '";
    const char *sys = strstr(desc, key);
    if (sys) {
        sys += strlen(key);
        const char *end = strchr(sys, '\'');
        snprintf(h5_first_error, sizeof h5_first_error, "%.*s",
                 (int)(end ? (size_t)(end - sys) : strlen(sys)), sys);
    } else {
        snprintf(h5_first_error, sizeof h5_first_error, "%s", desc[0] ? desc : "failed");
    }
    return 0;
}

enum kurc_status kurc_h5_fail(struct kurc_err *err, enum kurc_status status, const char *path,
                              const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (h5_first_error[0])
        kurc_io_fail(err, status, path, "%s (HDF5: %s)", msg, h5_first_error);
    else
        kurc_io_fail(err, status, path, "%s", msg);
    h5_first_error[0] = '\0';
    return status;
}

void kurc_h5_begin(void) {
    H5Eset_auto2(H5E_DEFAULT, record_error, NULL);
    h5_first_error[0] = '\0';
}

bool kurc_h5_name_ok(const char *name) {
    return name[0] && strcmp(name, ".") != 0 && !strchr(name, '/');
}

/* A variable-length UTF-8 string type; close with H5Tclose. */
static hid_t vlen_string_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

herr_t kurc_h5_write_str(hid_t obj, const char *name, const char *value, bool is_attr) {
    hid_t type = vlen_string_type();
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t id = -1;
    if (type >= 0 && space >= 0)
        id = is_attr ? H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT)
                     : H5Dcreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = id < 0    ? -1
                : is_attr ? H5Awrite(id, type, &value)
                          : H5Dwrite(id, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value);
    if (id >= 0 && (is_attr ? H5Aclose(id) : H5Dclose(id)) < 0)
        st = -1;
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    return st;
}

char *kurc_h5_read_str(hid_t obj, const char *name, bool is_attr) {
    if (is_attr ? H5Aexists(obj, name) <= 0 : H5Lexists(obj, name, H5P_DEFAULT) <= 0)
        return NULL;
    hid_t id = is_attr ? H5Aopen(obj, name, H5P_DEFAULT) : H5Dopen2(obj, name, H5P_DEFAULT);
    if (id < 0)
        return NULL;
    hid_t ftype = is_attr ? H5Aget_type(id) : H5Dget_type(id);
    hid_t space = is_attr ? H5Aget_space(id) : H5Dget_space(id);
    char *out = NULL;
    if (ftype >= 0 && space >= 0 && H5Tget_class(ftype) == H5T_STRING &&
        H5Sget_simple_extent_npoints(space) == 1) {
        if (H5Tis_variable_str(ftype) > 0) {
            hid_t mem = vlen_string_type();
            char *s = NULL;
            herr_t st = is_attr ? H5Aread(id, mem, &s)
                                : H5Dread(id, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s);
            if (st >= 0 && s) {
                out = kurc_xstrdup(s);
                H5free_memory(s);
            }
            H5Tclose(mem);
        } else {
            size_t size = H5Tget_size(ftype);
            char *s = kurc_xcalloc(size + 1, 1);
            herr_t st = is_attr ? H5Aread(id, ftype, s)
                                : H5Dread(id, ftype, H5S_ALL, H5S_ALL, H5P_DEFAULT, s);
            if (st >= 0)
                out = s;
            else
                free(s);
        }
    }
    if (space >= 0)
        H5Sclose(space);
    if (ftype >= 0)
        H5Tclose(ftype);
    if (is_attr)
        H5Aclose(id);
    else
        H5Dclose(id);
    return out;
}

herr_t kurc_h5_write_floats(hid_t loc, const char *name, int ndim, const hsize_t *dims,
                            const float *data) {
    hid_t space = ndim > 0 ? H5Screate_simple(ndim, dims, NULL) : H5Screate(H5S_SCALAR);
    if (space < 0)
        return -1;
    hid_t set = H5Dcreate2(loc, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st =
        set >= 0 ? H5Dwrite(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (set >= 0 && H5Dclose(set) < 0)
        st = -1;
    H5Sclose(space);
    return st;
}

void kurc_io_format_dims(const int64_t *dims, int ndim, char *buf, size_t size) {
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && used < size; i++)
        used +=
            (size_t)snprintf(buf + used, size - used, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (used < size)
        snprintf(buf + used, size - used, ndim == 1 ? ",)" : ")");
}
