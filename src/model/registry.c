/* registry.c - the table of container types.  Type `x` is the struct
 * kurc_container_x defined in containers/x.c (`each`, for_each's other
 * spelling, in for_each.c).  model/containers.def lists those definitions,
 * sorted; the build generates it (kurc_registry, CMakeLists.txt), so a
 * container type is registered by being defined. */
#include <string.h>

#include "model/container.h"

#define KURC_REGISTER(x) extern const struct kurc_container_type kurc_container_##x;
#include "model/containers.def"
#undef KURC_REGISTER
#define KURC_REGISTER(x) &kurc_container_##x,
static const struct kurc_container_type *const types[] = {
#include "model/containers.def"
    NULL};
#undef KURC_REGISTER

const struct kurc_container_type *const *kurc_container_types(void) {
    return types;
}

const struct kurc_container_type *kurc_container_type_find(const char *name) {
    for (const struct kurc_container_type *const *t = types; *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}
