/* kur_dir_save.c - writing a Kur weight directory (kur_dir.h) in Keras on
 * TensorFlow naming: the files go to DIR.tmp, which is then exchanged with
 * DIR (renameat2 RENAME_EXCHANGE, or two renames where the file system
 * cannot exchange); the files of DIR that are not weights follow into the
 * new directory and the old weights are deleted.  A crash leaves DIR
 * whole, old or new, and at worst DIR.tmp (or DIR.old) beside it, which
 * the next save removes when it holds only weights; in the two-rename
 * fallback, a crash between the renames leaves DIR.old and DIR.tmp, both
 * complete, and no DIR. */
#define _GNU_SOURCE /* renameat2 */
#include "io/kur_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "formats/idx.h"
#include "io/io_util.h"
#include "io/kur_map.h"

bool kurc_kur_dir_wanted(const char *path) {
    struct stat s;
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    return (stat(path, &s) == 0 && S_ISDIR(s.st_mode)) ||
           (len > 4 && strncmp(path + len - 4, ".kur", 4) == 0);
}

static bool is_kur_name(const char *name) {
    size_t len = strlen(name);
    return len > 4 && strcmp(name + len - 4, ".kur") == 0;
}

/* Deletes the *.kur files of dir and of its subdirectories; with
 * only_weights, first checks that dir holds nothing else (no
 * subdirectories either) and returns false, deleting nothing, when it
 * does. */
static bool delete_weights(const char *dir, bool only_weights) {
    DIR *d = opendir(dir);
    if (!d)
        return !only_weights;
    struct dirent *e;
    bool pure = true;
    while (only_weights && pure && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = kurc_xasprintf("%s/%s", dir, e->d_name);
        struct stat s;
        pure = lstat(path, &s) == 0 && S_ISREG(s.st_mode) && is_kur_name(e->d_name);
        free(path);
    }
    if (!pure) {
        closedir(d);
        return false;
    }
    rewinddir(d);
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = kurc_xasprintf("%s/%s", dir, e->d_name);
        struct stat s;
        if (lstat(path, &s) == 0 && S_ISDIR(s.st_mode))
            delete_weights(path, false);
        else if (is_kur_name(e->d_name))
            unlink(path);
        free(path);
    }
    closedir(d);
    return true;
}

/* Removes what an interrupted save left at path (DIR.tmp or DIR.old):
 * only a directory of weights; anything else is the user's to sort out. */
static enum kurc_status clear_leftover(const char *dir, const char *path, struct kurc_err *err) {
    struct stat s;
    if (lstat(path, &s) != 0)
        return KURC_OK;
    if (S_ISDIR(s.st_mode) && delete_weights(path, true) && rmdir(path) == 0) {
        kurc_log(KURC_LOG_WARNING, "removed %s, left by a run stopped while saving %s", path, dir);
        return KURC_OK;
    }
    return kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                        "%s, left by an interrupted save, holds more than weights; move what "
                        "you need from it and remove it",
                        path);
}

/* Syncs a directory's entries to disk (best effort: some file systems
 * cannot). */
static void sync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Writes every tensor of layers into tmp. */
static enum kurc_status write_files(const char *dir, const char *tmp,
                                    const struct kurc_params *p,
                                    const struct kurc_kur_layer *layers, size_t n,
                                    struct kurc_err *err) {
    float *host = kurc_xmalloc((p->total ? p->total : 1) * sizeof *host);
    p->be->ops->download(p->be, host, p->values, p->total * sizeof *host);
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const struct kurc_kur_layer *l = &layers[i];
        for (int k = 0; k < l->n && !st; k++) {
            const struct kurc_kur_tensor *t = &l->t[k];
            char *name = kurc_xasprintf("%s+%s_%s:0.kur", l->name, l->name, t->name);
            char *path = kurc_xasprintf("%s/%s", tmp, name);
            if (strlen(name) > 255) {
                st = kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                                  "layer '%s': the file name %s is too long", l->container, name);
            } else if (t->param >= 0) {
                st = kurc_idx_save_f32(path, &t->disk, host + p->items[t->param].offset, err);
            } else { /* batch norm's moving mean (zeros) and variance (ones) */
                int64_t numel = kurc_shape_numel(&t->disk);
                float *v = kurc_xmalloc((size_t)(numel ? numel : 1) * sizeof *v);
                for (int64_t j = 0; j < numel; j++)
                    v[j] = strcmp(t->name, "moving_variance") == 0 ? 1.0f : 0.0f;
                st = kurc_idx_save_f32(path, &t->disk, v, err);
                free(v);
            }
            free(name);
            free(path);
        }
    }
    free(host);
    return st;
}

/* Moves the entries of from that are not weight files into to (the
 * user's other files), then deletes the weights left in from and from
 * itself; failures are warnings (the new weights are in place). */
static void adopt_and_remove(const char *from, const char *to) {
    DIR *d = opendir(from);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *a = kurc_xasprintf("%s/%s", from, e->d_name);
        struct stat s;
        if (lstat(a, &s) == 0 && (S_ISDIR(s.st_mode) || !is_kur_name(e->d_name))) {
            char *b = kurc_xasprintf("%s/%s", to, e->d_name);
            if (rename(a, b) != 0)
                kurc_log(KURC_LOG_WARNING, "cannot move %s to %s: %s", a, b, strerror(errno));
            else if (S_ISDIR(s.st_mode))
                delete_weights(b, false);
            free(b);
        }
        free(a);
    }
    if (d)
        closedir(d);
    delete_weights(from, false);
    if (rmdir(from) != 0)
        kurc_log(KURC_LOG_WARNING, "cannot remove %s: %s", from, strerror(errno));
}

/* Puts the complete directory tmp in dir's place. */
static enum kurc_status replace(const char *dir, const char *tmp, bool exists,
                                struct kurc_err *err) {
    if (!exists) {
        if (rename(tmp, dir) != 0)
            return kurc_io_fail(err, KURC_E_IO, dir, "cannot rename %s to it: %s", tmp,
                                strerror(errno));
        return KURC_OK;
    }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
        adopt_and_remove(tmp, dir);
        return KURC_OK;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return kurc_io_fail(err, KURC_E_IO, dir, "cannot exchange it with %s: %s", tmp,
                            strerror(errno));
    char *old = kurc_xasprintf("%s.old", dir);
    enum kurc_status st = clear_leftover(dir, old, err);
    if (!st && rename(dir, old) != 0)
        st = kurc_io_fail(err, KURC_E_IO, dir, "cannot rename it to %s: %s", old, strerror(errno));
    if (!st && rename(tmp, dir) != 0) {
        st = kurc_io_fail(err, KURC_E_IO, dir, "cannot rename %s to it: %s", tmp, strerror(errno));
        rename(old, dir);
    }
    if (!st)
        adopt_and_remove(old, dir);
    free(old);
    return st;
}

/* The directory that holds path ("." for a bare name), new. */
static char *parent_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return kurc_xstrdup(".");
    return slash == path ? kurc_xstrdup("/") : kurc_xasprintf("%.*s", (int)(slash - path), path);
}

/* Saves into dir, a path without a trailing '/' that is not a link. */
static enum kurc_status save_to(const char *dir, const struct kurc_params *p,
                                struct kurc_err *err) {
    for (size_t i = 0; i < p->n; i++)
        if (!p->items[i].layer[0] || strpbrk(p->items[i].layer, "/+"))
            return kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                                "layer '%s' cannot be a Kur weight file's layer (empty, or holds "
                                "'/' or '+')",
                                p->items[i].layer);
    struct stat s;
    bool exists = stat(dir, &s) == 0;
    if (exists && !S_ISDIR(s.st_mode))
        return kurc_io_fail(err, KURC_E_CHECKPOINT, dir,
                            "exists and is not a directory, but Kur weights (a name ending in "
                            ".kur) are a directory; move the file or choose another name");
    struct kurc_kur_layer *layers;
    size_t n;
    enum kurc_status st = kurc_kur_layers(p, KURC_KUR_TENSORFLOW, dir, &layers, &n, err);
    if (st)
        return st;
    char *tmp = kurc_io_tmp_path(dir);
    st = clear_leftover(dir, tmp, err);
    if (!st && mkdir(tmp, 0777) != 0)
        st = kurc_io_fail(err, KURC_E_IO, dir, "cannot create %s: %s", tmp, strerror(errno));
    else if (!st) {
        st = write_files(dir, tmp, p, layers, n, err);
        if (!st) {
            sync_dir(tmp);
            st = replace(dir, tmp, exists, err);
        }
        if (st) {
            delete_weights(tmp, false);
            rmdir(tmp);
        } else {
            char *parent = parent_of(dir);
            sync_dir(parent);
            free(parent);
        }
    }
    free(tmp);
    kurc_kur_layers_free(layers, n);
    return st;
}

enum kurc_status kurc_kur_dir_save(const char *dir, const struct kurc_params *p,
                                   struct kurc_err *err) {
    /* "w.kur/" is w.kur (DIR.tmp must be beside it), and a link to a
     * directory saves into the directory it names (the link stays) */
    char *target = kurc_xstrdup(dir);
    for (size_t len = strlen(target); len > 1 && target[len - 1] == '/'; len--)
        target[len - 1] = '\0';
    struct stat ls, s;
    if (lstat(target, &ls) == 0 && S_ISLNK(ls.st_mode) && stat(target, &s) == 0 &&
        S_ISDIR(s.st_mode)) {
        char *real = realpath(target, NULL);
        if (real) {
            free(target);
            target = real;
        }
    }
    enum kurc_status st = save_to(target, p, err);
    free(target);
    return st;
}
