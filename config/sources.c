/* sources.c - interned file names for value locations. */
#include "config/sources.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct kurc_sources {
    char **names;
    size_t len;
    size_t cap;
};

struct kurc_sources *kurc_sources_create(void) {
    return kurc_xcalloc(1, sizeof(struct kurc_sources));
}

void kurc_sources_free(struct kurc_sources *sources) {
    if (!sources)
        return;
    for (size_t i = 0; i < sources->len; i++)
        free(sources->names[i]);
    free(sources->names);
    free(sources);
}

const char *kurc_sources_intern(struct kurc_sources *sources, const char *name) {
    for (size_t i = 0; i < sources->len; i++)
        if (strcmp(sources->names[i], name) == 0)
            return sources->names[i];
    if (sources->len == sources->cap) {
        sources->cap = sources->cap ? 2 * sources->cap : 8;
        sources->names = kurc_xrealloc(sources->names, sources->cap * sizeof *sources->names);
    }
    sources->names[sources->len] = kurc_xstrdup(name);
    return sources->names[sources->len++];
}
