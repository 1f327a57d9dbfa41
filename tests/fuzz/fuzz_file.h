/* fuzz_file.h - scratch files for the harnesses of kurc's file readers: a
 * fresh directory per input, the input written into it as a named file,
 * the directory removed afterwards with everything the reader left in it,
 * and a supplier of a `data` list run on such a file. */
#ifndef KURC_FUZZ_FILE_H
#define KURC_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>

/* A new empty directory under $TMPDIR (or /tmp); aborts when none can be
 * made (the harness cannot run without one).  A new string. */
char *fuzz_dir_create(void);

/* Writes size bytes of data as dir/name and returns that path (a new
 * string); aborts when the file cannot be written. */
char *fuzz_file_write(const char *dir, const char *name, const uint8_t *data, size_t size);

/* Removes dir and everything under it (links are removed, not followed),
 * and frees the string. */
void fuzz_dir_remove(char *dir);

/* Writes the input as a file `name` in a scratch directory and loads the
 * `data` list `- SUPPLIER: {KEY: PATH, EXTRA}` through kurc_data_load,
 * where KEY is the parameter that names the file ("path", "source") and
 * EXTRA more parameters in YAML flow style ("" for none); frees the data
 * set and removes the directory.  Errors are the expected outcome of most
 * inputs and are dropped. */
void fuzz_supply(const char *supplier, const char *key, const char *extra, const char *name,
                 const uint8_t *data, size_t size);

#endif
