/* unpack.c - safe archive extraction, in-place member reading and the
 * manifest search (see unpack.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "data/speech/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/log.h"
#include "base/memory.h"
#include "base/paths.h"
#include "base/xalloc.h"
#include "formats/compressed.h"

/* The largest member unpacked or read: an utterance is seconds of audio
 * (1 GiB is hours of it), and a small archive can hold a member of
 * gigabytes of zeros that would fill the disk or the memory. */
#define MAX_MEMBER ((int64_t)1 << 30)

/* Refuses member `name` of archive, size bytes (as its header gives it, or
 * as many as were read when it holds more), for being more than limit;
 * what says what limits it. */
static enum kurc_status member_too_large(const char *archive, const char *name, int64_t size,
                                         int64_t limit, const char *what, struct kurc_err *err) {
    return kurc_err_set(err, KURC_E_DATA, NULL,
                        "%s: member '%s' is larger than %s (%lld bytes, %lld allowed)", archive,
                        name, what, (long long)size, (long long)limit);
}

static struct archive *open_archive(const char *path, struct kurc_err *err) {
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_zip(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        kurc_err_set(err, KURC_E_DATA, NULL, "%s: not a readable archive: %s", path,
                     archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Whether a member path is relative and has no `..` component. */
static bool safe_path(const char *p) {
    if (!p || !*p || p[0] == '/')
        return false;
    for (const char *c = p; *c;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return false;
        c += n;
        while (*c == '/')
            c++;
    }
    return true;
}

/* Whether a symbolic link at member path `at` with target `to` stays inside
 * the extraction directory (lexically: the target is relative and never
 * climbs above the root). */
static bool safe_link(const char *at, const char *to) {
    if (!to || !*to || to[0] == '/')
        return false;
    int depth = 0; /* directories of `at` below the root */
    for (const char *c = at; *c; c++)
        if (*c == '/' && c[1] && c[1] != '/')
            depth++;
    for (const char *c = to; *c;) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (n && !(n == 1 && c[0] == '.')) {
            depth++;
        }
        c += n;
        while (*c == '/')
            c++;
    }
    return true;
}

/* Extracts one member (its path name, hard link and symbolic link target
 * as the archive gives them) below dir. */
static enum kurc_status extract_entry(struct archive *a, struct archive *out,
                                      struct archive_entry *entry, const char *archive,
                                      const char *dir, const char *name, const char *hard,
                                      const char *sym, mode_t type, struct kurc_err *err) {
    if (!safe_path(name))
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: refusing to extract member '%s': its path is absolute or "
                            "climbs out with '..'",
                            archive, name);
    if (hard && !safe_path(hard))
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: refusing to extract member '%s': a hard link to '%s', outside "
                            "the archive's directory",
                            archive, name, hard);
    if (type == AE_IFLNK && !safe_link(name, sym))
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: refusing to extract member '%s': a symbolic link to '%s', "
                            "outside the archive's directory",
                            archive, name, sym ? sym : "");
    if (!hard && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
        kurc_log(KURC_LOG_DEBUG, "%s: skipping member %s (not a file, directory or link)", archive,
                 name);
        return KURC_OK;
    }
    char *target = kurc_xasprintf("%s/%s", dir, name);
    archive_entry_set_pathname(entry, target);
    free(target);
    if (hard) {
        char *link = kurc_xasprintf("%s/%s", dir, hard);
        archive_entry_set_hardlink(entry, link);
        free(link);
    }
    /* the disk's free space, or what a member may take, whichever is less */
    struct statvfs fs;
    int64_t room = statvfs(dir, &fs) == 0 ? (int64_t)(fs.f_bavail * fs.f_frsize) : MAX_MEMBER;
    int64_t limit = room < MAX_MEMBER ? room : MAX_MEMBER;
    const char *what = room < MAX_MEMBER ? "the free disk space" : "a member may be";
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > limit)
        return member_too_large(archive, name, archive_entry_size(entry), limit, what, err);
    if (archive_write_header(out, entry) != ARCHIVE_OK)
        return kurc_err_set(err, KURC_E_IO, NULL, "%s: cannot extract member '%s': %s", archive,
                            name, archive_error_string(out));
    const void *block;
    size_t size;
    la_int64_t offset;
    int rr;
    bool wrote = true;
    while ((rr = archive_read_data_block(a, &block, &size, &offset)) == ARCHIVE_OK) {
        if (offset > limit || (int64_t)size > limit - offset) { /* more than it declared */
            unlink(archive_entry_pathname(entry));              /* what was written of it */
            return member_too_large(archive, name, offset + (int64_t)size, limit, what, err);
        }
        if (archive_write_data_block(out, block, size, offset) != ARCHIVE_OK) {
            wrote = false;
            break;
        }
    }
    if (rr != ARCHIVE_EOF && wrote)
        return kurc_err_set(err, KURC_E_DATA, NULL, "%s: cannot read member '%s': %s", archive,
                            name, archive_error_string(a));
    if (!wrote || archive_write_finish_entry(out) != ARCHIVE_OK)
        return kurc_err_set(err, KURC_E_IO, NULL, "%s: cannot extract member '%s': %s", archive,
                            name, archive_error_string(out));
    return KURC_OK;
}

/* Extracts the archive into dir (created when missing), once its
 * compressed stream has been checked to its end. */
static enum kurc_status kurc_unpack(const char *archive, const char *dir, struct kurc_err *err) {
    enum kurc_status checked = kurc_compressed_check(archive, err);
    if (checked)
        return checked;
    char *failed = NULL;
    int e = kurc_path_make_dirs(dir, &failed);
    enum kurc_status st =
        e ? kurc_err_set(err, KURC_E_IO, NULL, "cannot create the directory %s: %s", failed,
                         strerror(e))
          : KURC_OK;
    free(failed);
    if (st)
        return st;
    /* Members go to <real dir>/<name>: every member name is checked to be
     * relative and free of `..` (safe_path), and dir itself may be absolute,
     * under `~` or reached through `..` or links, so libarchive is asked
     * only to refuse writing through a link, which the canonical dir has
     * none of above the members. */
    char *real = realpath(dir, NULL);
    if (!real)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot resolve the directory %s: %s", dir,
                            strerror(errno));
    struct archive *a = open_archive(archive, err);
    if (!a) {
        free(real);
        return KURC_E_DATA;
    }
    struct archive *out = archive_write_disk_new();
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS);
    struct archive_entry *entry;
    int r;
    while (st == KURC_OK && (r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
        const char *raw = archive_entry_pathname(entry);
        while (raw && raw[0] == '.' && raw[1] == '/')
            raw += 2;
        if (!raw || !*raw || strcmp(raw, ".") == 0)
            continue;
        /* copies: the entry's strings change when it is retargeted */
        char *name = kurc_xstrdup(raw);
        char *hard =
            archive_entry_hardlink(entry) ? kurc_xstrdup(archive_entry_hardlink(entry)) : NULL;
        const char *sym = archive_entry_symlink(entry);
        mode_t type = archive_entry_filetype(entry);
        st = extract_entry(a, out, entry, archive, real, name, hard, sym, type, err);
        free(name);
        free(hard);
    }
    if (st == KURC_OK && r != ARCHIVE_EOF)
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: not a readable archive: %s", archive,
                          archive_error_string(a));
    archive_write_free(out);
    archive_read_free(a);
    free(real);
    return st;
}

/* The archive's name without its extension, in its directory. */
static char *unpack_dir(const char *archive) {
    static const char *const exts[] = {".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz",
                                       ".tar.xz", ".txz", ".tar",     ".zip",  NULL};
    size_t n = strlen(archive);
    for (int i = 0; exts[i]; i++) {
        size_t e = strlen(exts[i]);
        const char *slash = strrchr(archive, '/');
        size_t base = slash ? (size_t)(slash - archive) + 1 : 0;
        if (n > e + base && strcasecmp(archive + n - e, exts[i]) == 0)
            return kurc_xstrndup(archive, n - e);
    }
    return kurc_xasprintf("%s.d", archive);
}

enum kurc_status kurc_unpack_cached(const char *archive, char **dir, struct kurc_err *err) {
    *dir = NULL;
    struct stat sb;
    if (stat(archive, &sb) != 0)
        return kurc_err_set(err, KURC_E_IO, NULL, "cannot read %s: %s", archive, strerror(errno));
    char stamp[64];
    snprintf(stamp, sizeof stamp, "%lld %lld\n", (long long)sb.st_size, (long long)sb.st_mtime);
    char *target = unpack_dir(archive);
    char *marker = kurc_xasprintf("%s/.kurc-unpacked", target);
    char have[64] = "";
    FILE *f = fopen(marker, "r");
    if (f) {
        if (!fgets(have, sizeof have, f))
            have[0] = '\0';
        fclose(f);
    }
    enum kurc_status st = KURC_OK;
    if (strcmp(have, stamp) != 0) {
        kurc_log(KURC_LOG_INFO, "unpacking %s into %s", archive, target);
        remove(marker);
        st = kurc_unpack(archive, target, err);
        if (st == KURC_OK) {
            f = fopen(marker, "w");
            if (!f || fputs(stamp, f) < 0 || fclose(f) != 0)
                st = kurc_err_set(err, KURC_E_IO, NULL, "cannot write %s: %s", marker,
                                  strerror(errno));
        }
    }
    free(marker);
    if (st)
        free(target);
    else
        *dir = target;
    return st;
}

enum kurc_status kurc_archive_each(const char *archive, bool (*want)(void *ctx, const char *name),
                                   enum kurc_status (*got)(void *ctx, const char *name,
                                                           const void *data, size_t len,
                                                           struct kurc_err *err),
                                   void *ctx, struct kurc_err *err) {
    struct archive *a = open_archive(archive, err);
    if (!a)
        return KURC_E_DATA;
    enum kurc_status st = KURC_OK;
    struct archive_entry *entry;
    int r;
    unsigned char *buf = NULL;
    size_t cap = 0;
    while (st == KURC_OK && (r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(entry);
        if (archive_entry_filetype(entry) != AE_IFREG || !name)
            continue;
        while (name[0] == '.' && name[1] == '/')
            name += 2;
        if ((want && !want(ctx, name)) || !got)
            continue;
        int64_t declared = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
        if (declared > MAX_MEMBER) {
            st = member_too_large(archive, name, declared, MAX_MEMBER, "a member may be", err);
            break;
        }
        char what[300];
        snprintf(what, sizeof what, "member '%.120s' of %.120s", name, archive);
        if ((st = kurc_memory_check((uint64_t)declared, KURC_E_DATA, what, err)))
            break;
        size_t n = 0;
        for (;;) {
            if (n == cap) { /* room for the declared size and one byte more */
                if (cap > (size_t)MAX_MEMBER) {
                    st = member_too_large(archive, name, (int64_t)n, MAX_MEMBER, "a member may be",
                                          err);
                    break;
                }
                size_t more = cap ? cap * 2 : (size_t)declared + 1;
                more = more < (1 << 20) ? 1 << 20 : more;
                cap = more < (size_t)MAX_MEMBER + 1 ? more : (size_t)MAX_MEMBER + 1;
                buf = kurc_xrealloc(buf, cap);
            }
            la_ssize_t k = archive_read_data(a, buf + n, cap - n);
            if (k < 0) {
                st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: cannot read member %s: %s", archive,
                                  name, archive_error_string(a));
                break;
            }
            if (k == 0)
                break;
            n += (size_t)k;
        }
        if (st == KURC_OK)
            st = got(ctx, name, buf, n, err);
    }
    if (st == KURC_OK && r != ARCHIVE_EOF)
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: not a readable archive: %s", archive,
                          archive_error_string(a));
    free(buf);
    archive_read_free(a);
    return st;
}

bool kurc_is_manifest_name(const char *name) {
    const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
    size_t n = strlen(base);
    return base[0] != '.' && n > 6 && strcasecmp(base + n - 6, ".jsonl") == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

char *kurc_find_manifest(const char *dir) {
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0)
        return NULL;
    char *found = NULL;
    for (int pass = 0; pass < 2 && !found; pass++) /* files, then directories */
        for (int i = 0; i < n && !found; i++) {
            const char *name = names[i]->d_name;
            if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                continue;
            char *path = kurc_xasprintf("%s/%s", dir, name);
            struct stat sb; /* directories: not through links, which may loop */
            if (pass == 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
                kurc_is_manifest_name(name))
                found = kurc_xstrdup(path);
            else if (pass == 1 && lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && name[0] != '.')
                found = kurc_find_manifest(path);
            free(path);
        }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return found;
}
