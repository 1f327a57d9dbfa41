/* fuzz_model.c - libFuzzer harness for the model builder: the input is a
 * Kurfile (YAML); it is parsed, its model section turned into containers,
 * wired, and built with declared shapes (a bare build).  Bad Kurfiles must
 * only ever produce errors: any crash, leak, hang or sanitizer report is a
 * bug in the containers, the wiring or the shape checks. */
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "config/kurfile.h"
#include "model/model.h"
#include "train/components.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kurc_log_configure(KURC_LOG_ERROR, 0, -1);
    struct kurc_kurfile *kf = NULL;
    struct kurc_err err;
    if (kurc_kurfile_from_text((const char *)data, size, "fuzz.yml", &kf, &err) != KURC_OK)
        return 0;
    struct kurc_model *m = NULL;
    if (kurc_kurfile_parse(kf, kurc_all_components(), &err) == KURC_OK &&
        kurc_model_parse(kf, 1, &m, &err) == KURC_OK)
        kurc_model_build(m, NULL, &err);
    kurc_model_free(m);
    kurc_kurfile_free(kf);
    return 0;
}
