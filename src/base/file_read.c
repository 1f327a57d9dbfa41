/* file_read.c - reading a whole file into memory (see file_read.h). */
#include "base/file_read.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int kurc_file_read(const char *path, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno;
    struct stat sb;
    int kind = 0;
    if (fstat(fileno(f), &sb) != 0)
        kind = errno;
    else if (S_ISDIR(sb.st_mode))
        kind = EISDIR;
    else if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode))
        kind = ENODEV;
    if (kind) {
        fclose(f);
        return kind;
    }
    size_t cap = 1 << 16, used = 0;
    char *buf = malloc(cap);
    int status = buf ? 0 : ENOMEM;
    while (buf) {
        used += fread(buf + used, 1, cap - used - 1, f);
        if (used < cap - 1)
            break;
        char *grown = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (!grown) {
            status = ENOMEM;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (status == 0 && ferror(f))
        status = EIO;
    fclose(f);
    if (status) {
        free(buf);
        return status;
    }
    buf[used] = '\0';
    *data = buf;
    *len = used;
    return 0;
}

const char *kurc_file_read_why(int e) {
    return e == ENODEV ? "it is a device, not a file" : strerror(e);
}
