/* dataset_double.c - a test double for the dataset functions that the mnist
 * and cifar suppliers call (dataset.h): it keeps each added source as
 * given, so the supplier tests see exactly what a supplier produced,
 * independent of how dataset.c stacks and checks sources.  A second source
 * with the same name is refused (these tests never stack). */
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "xalloc.h"

void kurc_dataset_init(struct kurc_dataset *d) {
    memset(d, 0, sizeof *d);
}

void kurc_dataset_release(struct kurc_dataset *d) {
    for (size_t i = 0; i < d->n; i++) {
        free(d->sources[i].name);
        free(d->sources[i].data);
        free(d->sources[i].origin);
    }
    free(d->sources);
    memset(d, 0, sizeof *d);
}

enum kurc_status kurc_dataset_add(struct kurc_dataset *d, const char *name,
                                  const struct kurc_shape *shape, int64_t count, float *data,
                                  const char *origin, struct kurc_err *err) {
    if (kurc_dataset_find(d, name)) {
        free(data);
        return kurc_err_set(err, KURC_E_INVALID, NULL, "dataset double: source %s added twice",
                            name);
    }
    d->sources = kurc_xrealloc(d->sources, (d->n + 1) * sizeof *d->sources);
    d->sources[d->n++] = (struct kurc_source){.name = kurc_xstrdup(name),
                                              .shape = *shape,
                                              .count = count,
                                              .data = data,
                                              .origin = kurc_xstrdup(origin)};
    d->count = count;
    return KURC_OK;
}

const struct kurc_source *kurc_dataset_find(const struct kurc_dataset *d, const char *name) {
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->sources[i].name, name) == 0)
            return &d->sources[i];
    return NULL;
}
