/* fuzz_tar.c - libFuzzer harness for kurc's archive readers: the input is
 * written as an archive (tar, possibly compressed, or zip) into a scratch
 * directory; the speech supplier unpacks it beside itself and looks for
 * its manifest (data/speech/unpack.h), then the cifar supplier reads batch
 * 1 from it in place.  The directory is removed afterwards.  Bad archives
 * must only ever produce errors: any crash, leak, hang or sanitizer
 * report is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/log.h"
#include "data/speech/unpack.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kurc_log_configure(KURC_LOG_ERROR, 0, -1);
    char *dir = fuzz_dir_create();
    char *path = fuzz_file_write(dir, "data.tar.gz", data, size);
    char *unpacked = NULL;
    struct kurc_err err;
    if (kurc_unpack_cached(path, &unpacked, &err) == KURC_OK)
        free(kurc_find_manifest(unpacked));
    free(unpacked);
    free(path);
    fuzz_dir_remove(dir);
    fuzz_supply("cifar", "path", "parts: 1", "cifar.tar.gz", data, size);
    return 0;
}
