/* fuzz_idx.c - libFuzzer harness for the IDX reader (formats/idx.h): the
 * input is written to a file and read with kurc_idx_load, plain or, when
 * it starts with gzip's magic bytes, gzip-compressed.  Bad files must only
 * ever produce errors: any crash, leak, hang or sanitizer report is a bug
 * in the reader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/log.h"
#include "formats/idx.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kurc_log_configure(KURC_LOG_ERROR, 0, -1);
    char *dir = fuzz_dir_create();
    char *path = fuzz_file_write(dir, "data.idx", data, size);
    struct kurc_idx idx;
    struct kurc_err err;
    if (kurc_idx_load(path, &idx, &err) == KURC_OK)
        kurc_idx_release(&idx);
    free(path);
    fuzz_dir_remove(dir);
    return 0;
}
