/* file_read.h - reading a whole file into memory. */
#ifndef KURC_FILE_READ_H
#define KURC_FILE_READ_H

#include <stddef.h>

/* Reads the file at path into a new NUL-terminated buffer (*data, freed by
 * the caller; *len bytes before the NUL).  Returns 0, or an errno value
 * (ENOMEM when the file does not fit in memory) with *data NULL. */
int kurc_file_read(const char *path, char **data, size_t *len);

#endif
