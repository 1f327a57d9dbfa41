/* fuzz_hdf5.c - libFuzzer harness for the `hdf5` supplier: the input is
 * written as an HDF5 file and loaded as a `data` list would load it
 * (kurc_data_load, with the supplier's checks and the data set's).  Bad
 * files must only ever produce errors: any crash, leak, hang or sanitizer
 * report is a bug in kurc's reading of the file's groups, links, types and
 * extents.
 *
 * HDF5 itself is not under test: it leaks parts of its metadata cache when
 * it fails to decode a damaged object header, so leaks of memory that
 * HDF5 allocated are not reported.  kurc's part - closing every file,
 * group, dataset, type and space it opened - is checked instead: no HDF5
 * identifier may remain open after a load. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <hdf5.h>

#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void) {
    return "leak:libhdf5\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_supply("hdf5", "path", "", "data.h5", data, size);
    ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open != 0) {
        fprintf(stderr, "fuzz_hdf5: %zd HDF5 identifiers left open\n", open);
        abort();
    }
    return 0;
}
