/* registry.c - every container type, one line each. */
#include <string.h>

#include "model/container.h"

extern const struct kurc_container_type kurc_container_activation;
extern const struct kurc_container_type kurc_container_assert;
extern const struct kurc_container_type kurc_container_batch_normalization;
extern const struct kurc_container_type kurc_container_convolution;
extern const struct kurc_container_type kurc_container_debug;
extern const struct kurc_container_type kurc_container_dense;
extern const struct kurc_container_type kurc_container_dropout;
extern const struct kurc_container_type kurc_container_each;
extern const struct kurc_container_type kurc_container_embedding;
extern const struct kurc_container_type kurc_container_expand;
extern const struct kurc_container_type kurc_container_flatten;
extern const struct kurc_container_type kurc_container_for;
extern const struct kurc_container_type kurc_container_for_each;
extern const struct kurc_container_type kurc_container_input;
extern const struct kurc_container_type kurc_container_merge;
extern const struct kurc_container_type kurc_container_meta;
extern const struct kurc_container_type kurc_container_output;
extern const struct kurc_container_type kurc_container_parallel;
extern const struct kurc_container_type kurc_container_pool;
extern const struct kurc_container_type kurc_container_recurrent;
extern const struct kurc_container_type kurc_container_repeat;
extern const struct kurc_container_type kurc_container_reuse;
extern const struct kurc_container_type kurc_container_squeeze;
extern const struct kurc_container_type kurc_container_transpose;

static const struct kurc_container_type *const types[] = {
    &kurc_container_activation,
    &kurc_container_assert,
    &kurc_container_batch_normalization,
    &kurc_container_convolution,
    &kurc_container_debug,
    &kurc_container_dense,
    &kurc_container_dropout,
    &kurc_container_each,
    &kurc_container_embedding,
    &kurc_container_expand,
    &kurc_container_flatten,
    &kurc_container_for,
    &kurc_container_for_each,
    &kurc_container_input,
    &kurc_container_merge,
    &kurc_container_meta,
    &kurc_container_output,
    &kurc_container_parallel,
    &kurc_container_pool,
    &kurc_container_recurrent,
    &kurc_container_repeat,
    &kurc_container_reuse,
    &kurc_container_squeeze,
    &kurc_container_transpose,
    NULL,
};

const struct kurc_container_type *const *kurc_container_types(void) {
    return types;
}

const struct kurc_container_type *kurc_container_type_find(const char *name) {
    for (const struct kurc_container_type *const *t = types; *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}
