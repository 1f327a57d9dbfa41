/* fuzz_jsonl.c - libFuzzer harness for the `jsonl` supplier: the input is
 * written as a JSON-lines file and loaded as a `data` list would load it
 * (kurc_data_load, with the supplier's checks and the data set's).  Bad
 * files must only ever produce errors: any crash, leak, hang or sanitizer
 * report is a bug in the reader. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_supply("jsonl", "source", "", "data.jsonl", data, size);
    return 0;
}
