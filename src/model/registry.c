/* registry.c - the table of container types: every type, one line each.
 * Type `x` is the struct kurc_container_x defined in containers/x.c
 * (`each`, for_each's other spelling, in for_each.c). */
#include <string.h>

#include "model/container.h"

#define KURC_CONTAINERS(X) \
    X(activation)          \
    X(assert)              \
    X(batch_normalization) \
    X(convolution)         \
    X(debug)               \
    X(dense)               \
    X(dropout)             \
    X(each)                \
    X(embedding)           \
    X(expand)              \
    X(flatten)             \
    X(for)                 \
    X(for_each)            \
    X(input)               \
    X(merge)               \
    X(meta)                \
    X(output)              \
    X(parallel)            \
    X(pool)                \
    X(recurrent)           \
    X(repeat)              \
    X(reuse)               \
    X(squeeze)             \
    X(transpose)

#define DECLARE_CONTAINER(x) extern const struct kurc_container_type kurc_container_##x;
KURC_CONTAINERS(DECLARE_CONTAINER)

#define CONTAINER_ENTRY(x) &kurc_container_##x,
static const struct kurc_container_type *const types[] = {KURC_CONTAINERS(CONTAINER_ENTRY) NULL};

const struct kurc_container_type *const *kurc_container_types(void) {
    return types;
}

const struct kurc_container_type *kurc_container_type_find(const char *name) {
    for (const struct kurc_container_type *const *t = types; *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}
