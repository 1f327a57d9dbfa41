/* iotest.c - scratch directories for the file-format tests (iotest.h). */
#define _XOPEN_SOURCE 700
#include "iotest.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"

void iot_dir_make(struct iot_dir *d) {
    const char *base = getenv("TMPDIR");
    snprintf(d->path, sizeof d->path, "%s/kurc-io-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(d->path)) {
        perror(d->path);
        abort();
    }
}

/* nftw callback: removes each entry, children before their directory. */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void iot_dir_remove(struct iot_dir *d) {
    nftw(d->path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *iot_path(const struct iot_dir *d, const char *name) {
    return kurc_xasprintf("%s/%s", d->path, name);
}

char *iot_in(const struct iot_dir *d, const char *name) {
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", d->path, name);
    return p;
}

bool iot_exists(const struct iot_dir *d, const char *name) {
    char *path = iot_path(d, name);
    bool exists = access(path, F_OK) == 0;
    free(path);
    return exists;
}
