/* file_read.h - reading a whole file into memory. */
#ifndef KURC_FILE_READ_H
#define KURC_FILE_READ_H

#include <stddef.h>

/* Reads the file at path into a new NUL-terminated buffer (*data, freed by
 * the caller; *len bytes before the NUL).  Returns 0, or an errno value
 * with *data NULL: ENOMEM when the file does not fit in memory, EISDIR for
 * a directory, ENODEV for a device (/dev/zero would never end; pipes are
 * read, so a Kurfile can come from a process substitution). */
int kurc_file_read(const char *path, char **data, size_t *len);

/* What a kurc_file_read error means, for messages: strerror's text, or
 * "it is a device, not a file" for ENODEV. */
const char *kurc_file_read_why(int e);

#endif
