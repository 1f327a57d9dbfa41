/* dataset.h - named data sources, as Kur's suppliers make them.
 *
 * A source is one named array of samples (images, labels, ...), every
 * sample of the same per-sample shape, held as float32 on the host (class
 * labels, indices and flags are whole numbers in floats; float32 holds
 * integers exactly up to 2^24).  A dataset is the sources of one `data`
 * list: the suppliers' sources merged by name, sources with the same name
 * stacked one after the other (Kur's StackSource).  All sources of a
 * dataset have the same number of samples.
 */
#ifndef KURC_DATASET_H
#define KURC_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tensor.h"

struct kurc_source {
    char *name;
    struct kurc_shape shape; /* per sample */
    int64_t count;           /* samples */
    float *data;             /* count x numel(shape), row-major; owned */
    char *origin;            /* where it came from, for messages ("train-images.gz") */
};

struct kurc_dataset {
    struct kurc_source *sources;
    size_t n;
    int64_t count; /* samples (the same in every source) */
};

void kurc_dataset_init(struct kurc_dataset *d);
void kurc_dataset_release(struct kurc_dataset *d);

/* Adds a source whose data (count x numel(shape) floats, malloc'ed) the
 * dataset takes over (it is freed if the call fails).  A source with the same name as an existing one is
 * stacked after it (its shape must match).  origin names it in messages. */
enum kurc_status kurc_dataset_add(struct kurc_dataset *d, const char *name,
                                  const struct kurc_shape *shape, int64_t count, float *data,
                                  const char *origin, struct kurc_err *err);

/* Moves every source of src into d (stacking by name); src is left empty. */
enum kurc_status kurc_dataset_merge(struct kurc_dataset *d, struct kurc_dataset *src,
                                    struct kurc_err *err);

/* Checks that every source has the same number of samples and sets
 * d->count; where they differ, the error names the sources and counts. */
enum kurc_status kurc_dataset_seal(struct kurc_dataset *d, struct kurc_err *err);

/* The source of that name, or NULL. */
const struct kurc_source *kurc_dataset_find(const struct kurc_dataset *d, const char *name);

#endif
