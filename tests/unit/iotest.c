/* iotest.c - scratch directories for the file-format tests (iotest.h). */
#define _XOPEN_SOURCE 700
#include "iotest.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

void iot_tar_declaring(const char *path, const char *name, uint64_t size) {
    unsigned char block[1024] = {0}; /* the header, then 512 bytes of the member */
    snprintf((char *)block, 100, "%s", name);
    snprintf((char *)block + 100, 8, "0000644");
    snprintf((char *)block + 108, 8, "0000000");
    snprintf((char *)block + 116, 8, "0000000");
    snprintf((char *)block + 124, 12, "%011llo", (unsigned long long)size);
    snprintf((char *)block + 136, 12, "%011o", 0);
    block[156] = '0';
    memcpy(block + 257,
           "ustar\0"
           "00",
           8);
    memset(block + 148, ' ', 8); /* the checksum counts its own field as spaces */
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += block[i];
    snprintf((char *)block + 148, 8, "%06o", sum);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(block, 1, sizeof block, f) != sizeof block || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

void iot_flip_from_end(const char *path, long back) {
    FILE *f = fopen(path, "r+b");
    int c = EOF;
    if (f && fseek(f, -back, SEEK_END) == 0)
        c = fgetc(f);
    if (c == EOF || fseek(f, -back, SEEK_END) != 0 || fputc(c ^ 1, f) == EOF) {
        perror(path);
        abort();
    }
    fclose(f);
}
