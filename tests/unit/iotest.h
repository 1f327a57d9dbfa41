/* iotest.h - scratch directories for the file-format tests. */
#ifndef KURC_IOTEST_H
#define KURC_IOTEST_H

#include <stdbool.h>
#include <stdint.h>

struct iot_dir {
    char path[256];
};

/* Creates a new empty directory under $TMPDIR (or /tmp); aborts on failure. */
void iot_dir_make(struct iot_dir *d);

/* Removes the directory and everything in it. */
void iot_dir_remove(struct iot_dir *d);

/* "DIR/name", newly allocated. */
char *iot_path(const struct iot_dir *d, const char *name);

/* "DIR/name" in one of four static buffers that later calls reuse in
 * turn (so up to four such paths can be used together). */
char *iot_in(const struct iot_dir *d, const char *name);

/* True when DIR/name exists. */
bool iot_exists(const struct iot_dir *d, const char *name);

/* Flips the lowest bit of the byte `back` bytes before the end of path;
 * aborts on failure. */
void iot_flip_from_end(const char *path, long back);

/* Writes a plain tar file at path whose one member, name, declares size
 * bytes in its header but holds 512 (the file ends there): a member of
 * gigabytes in a small file, as a compressed archive of zeros holds one. */
void iot_tar_declaring(const char *path, const char *name, uint64_t size);

#endif
