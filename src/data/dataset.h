/* dataset.h - named data sources, as Kur's suppliers make them.
 *
 * A source is one named array of samples (images, labels, ...) held as
 * float32 on the host (class labels, indices and flags are whole numbers in
 * floats; float32 holds integers exactly up to 2^24).  A dataset is the
 * sources of one `data` list: the suppliers' sources merged by name,
 * sources with the same name stacked one after the other (Kur's
 * StackSource).  All sources of a dataset have the same number of samples.
 *
 * Fixed and variable-length sources.  Most sources are fixed: every sample
 * has the per-sample shape `shape`, and data holds count x numel(shape)
 * floats.  A variable-length (ragged) source - audio frames, transcripts -
 * has samples whose first axis varies: `lengths` is non-NULL, sample i has
 * shape (lengths[i], shape.dim[1], ...) and starts at float offset
 * offsets[i] of data (samples back to back, in order), and shape.dim[0] is
 * the dataset's longest sample.  A ragged source has at least one axis.  A
 * batch of a ragged source is padded to the longest sample of the batch
 * (provider.h): with zeros, or with Kur's `fill: loop` by repeating the
 * sample; `bucket` rounds the padded length up to a multiple of itself.
 *
 * Side tables.  A source may keep, per sample, the raw text it was made
 * from (`text`: a transcript as written in the manifest, a line of a text
 * file) and, for sources of symbol indices, the vocabulary the indices
 * point into (`vocab`); hooks use them to print decoded sequences (the
 * transcript hook).  They travel with the samples when sources stack.
 */
#ifndef KURC_DATASET_H
#define KURC_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "core/tensor.h"

/* How a ragged sample is padded to the batch's length. */
enum kurc_fill {
    KURC_FILL_ZERO, /* zeros after the sample */
    KURC_FILL_LOOP, /* the sample repeated until the length is filled (Kur's loop_copy) */
};

struct kurc_source {
    char *name;
    struct kurc_shape shape; /* per sample; ragged: dim[0] is the longest length */
    int64_t count;           /* samples */
    float *data;             /* fixed: count x numel(shape); ragged: see above; owned */
    char *origin;            /* where it came from, for messages ("train-images.gz") */
    int64_t *lengths;        /* ragged: first-axis length of each sample; NULL: fixed */
    int64_t *offsets;        /* ragged: float offset of each sample in data */
    enum kurc_fill fill;     /* ragged: padding */
    int64_t bucket;          /* ragged: padded lengths round up to a multiple (0: none) */
    char **text;             /* per sample raw text (entries may be NULL), or NULL */
    char **vocab;            /* the symbols that values index, or NULL */
    size_t n_vocab;
};

/* The optional parts of a new source (kurc_dataset_add_ex).  Every array
 * is malloc'ed and taken over by the dataset (freed if the call fails). */
struct kurc_source_extra {
    int64_t *lengths; /* count lengths: the source is ragged (data holds their sum x inner) */
    enum kurc_fill fill;
    int64_t bucket;
    char **text;      /* count strings (each malloc'ed, or NULL) */
    char **vocab;     /* n_vocab strings, each malloc'ed */
    size_t n_vocab;
    bool finite; /* the supplier made every value from integers: none can be NaN or
                  * infinite, and a fixed-shape source is not scanned for them */
};

struct kurc_dataset {
    struct kurc_source *sources;
    size_t n, cap;
    int64_t count; /* samples (the same in every source) */
    void *index;   /* GHashTable: name -> index + 1 (dataset.c) */
    bool shapes_only; /* sources keep their shapes and counts, not their
                       * values: data is NULL (kurc_data_describe) */
};

void kurc_dataset_init(struct kurc_dataset *d);
void kurc_dataset_release(struct kurc_dataset *d);

/* Adds a source whose data (count x numel(shape) floats, malloc'ed) the
 * dataset takes over (it is freed if the call fails).  A source with the
 * same name as an existing one is stacked after it (its shape must match).
 * origin names it in messages.  Every axis of a sample must have at least
 * 1 element and every value must be finite (errors name the sample). */
enum kurc_status kurc_dataset_add(struct kurc_dataset *d, const char *name,
                                  const struct kurc_shape *shape, int64_t count, float *data,
                                  const char *origin, struct kurc_err *err);

/* Checks that count samples of shape `sample` in data are finite; the
 * first NaN or infinity is a KURC_E_DATA error naming origin, the sample,
 * the source name and the index in the sample.  kurc_dataset_add checks
 * every source so; a supplier that transforms its data checks it first. */
enum kurc_status kurc_samples_finite(const char *name, const char *origin,
                                     const struct kurc_shape *sample, int64_t count,
                                     const float *data, struct kurc_err *err);

/* kurc_dataset_add with optional parts (extra may be NULL).  For a ragged
 * source, shape gives the axes after the first ((F,) for frames of F
 * features, () for a sequence of scalars): the source's shape becomes
 * (longest, ...).  Stacking a ragged source needs a ragged one with the
 * same inner axes and the same vocabulary. */
enum kurc_status kurc_dataset_add_ex(struct kurc_dataset *d, const char *name,
                                     const struct kurc_shape *shape, int64_t count, float *data,
                                     struct kurc_source_extra *extra, const char *origin,
                                     struct kurc_err *err);

/* Moves every source of src into d (stacking by name); src is left empty. */
enum kurc_status kurc_dataset_merge(struct kurc_dataset *d, struct kurc_dataset *src,
                                    struct kurc_err *err);

/* Checks that every source has the same number of samples and sets
 * d->count; where they differ, the error names the sources and counts. */
enum kurc_status kurc_dataset_seal(struct kurc_dataset *d, struct kurc_err *err);

/* The source of that name, or NULL. */
const struct kurc_source *kurc_dataset_find(const struct kurc_dataset *d, const char *name);

/* A 64-bit digest of every source's name, shape and values (0 if the
 * digest cannot be computed); equal datasets have equal digests. */
uint64_t kurc_dataset_digest(const struct kurc_dataset *d);

/* True for a variable-length source. */
static inline bool kurc_source_ragged(const struct kurc_source *s) {
    return s->lengths != NULL;
}

/* Floats per step of the first axis (numel(shape) / shape.dim[0]; 1 for
 * a scalar shape). */
int64_t kurc_source_inner(const struct kurc_source *s);

/* Sample i: its first float and its first-axis length (shape.dim[0] for a
 * fixed source, 1 for a scalar one). */
const float *kurc_source_sample(const struct kurc_source *s, int64_t i, int64_t *length);

#endif
