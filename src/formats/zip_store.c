/* zip_store.c - stored zip archives with libarchive (see zip_store.h). */
#include "formats/zip_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <sys/stat.h>

/* Takes libarchive's reason for a failure into errno; returns false. */
static bool failed(struct archive *a) {
    int e = a ? archive_errno(a) : ENOMEM;
    errno = e > 0 ? e : EIO;
    return false;
}

bool kurc_zip_init(struct kurc_zip *z, FILE *f) {
    z->a = archive_write_new();
    struct archive *a = z->a;
    /* no padding after the end record: a zip archive is not a tape */
    if (!a || archive_write_set_format_zip(a) != ARCHIVE_OK ||
        archive_write_set_options(a, "zip:compression=store") != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_FILE(a, f) != ARCHIVE_OK) {
        failed(a);
        int e = errno;
        archive_write_free(a);
        z->a = NULL;
        errno = e;
        return false;
    }
    return true;
}

bool kurc_zip_add(struct kurc_zip *z, const char *name, const void *const *parts,
                  const size_t *sizes, size_t n) {
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return failed(NULL);
    int64_t size = 0;
    for (size_t i = 0; i < n; i++)
        size += (int64_t)sizes[i];
    /* no times, owner or group: the same results make the same bytes */
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, size);
    /* libarchive marks a name UTF-8 where the locale's character set is
     * UTF-8; kurc's names are UTF-8 whatever the locale */
    locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    locale_t was = utf8 ? uselocale(utf8) : (locale_t)0;
    bool ok = archive_write_header(z->a, e) == ARCHIVE_OK;
    if (utf8) {
        uselocale(was);
        freelocale(utf8);
    }
    archive_entry_free(e);
    for (size_t i = 0; ok && i < n; i++)
        ok = sizes[i] == 0 || archive_write_data(z->a, parts[i], sizes[i]) == (la_ssize_t)sizes[i];
    return ok || failed(z->a);
}

bool kurc_zip_finish(struct kurc_zip *z) {
    bool ok = archive_write_close(z->a) == ARCHIVE_OK || failed(z->a);
    int e = errno;
    archive_write_free(z->a);
    z->a = NULL;
    errno = e;
    return ok;
}
