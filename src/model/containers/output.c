/* output.c - `output: NAME`: marks the tensor before it as a model output
 * named NAME (the name must be given at the container level with the dict
 * form, as in Kur).  It makes no op. */
#include "model/model.h"

static enum kurc_status output_parse(struct kurc_model *m, struct kurc_container *c,
                                     struct kurc_err *err) {
    (void)m;
    (void)err;
    c->sink = true;
    return KURC_OK;
}

const struct kurc_container_type kurc_container_output = {
    .name = "output",
    .anonymous = true,
    .passthrough = true,
    .named_by_args = true,
    .args = &(const struct kurc_schema){.types = KT_STR | KT_MAP | KT_NULL,
                                        .keys = (const struct kurc_schema_key[]){{NULL}}},
    .parse = output_parse,
};
