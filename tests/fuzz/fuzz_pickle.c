/* fuzz_pickle.c - libFuzzer harness for the `pickle` supplier: the input is
 * written as a pickle file and loaded as a `data` list would load it
 * (kurc_data_load, with the supplier's checks and the data set's).  Bad
 * files must only ever produce errors: any crash, leak, hang or sanitizer
 * report is a bug in the reader. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_supply("pickle", "source", "", "data.pkl", data, size);
    return 0;
}
