/* axis.h - the half that expand and squeeze share: both take one per-sample
 * axis, `TYPE: DIM` or `TYPE: {dimension: DIM}`, and reshape their single
 * input (no data moves); only the new shape differs. */
#ifndef KURC_CONTAINERS_AXIS_H
#define KURC_CONTAINERS_AXIS_H

#include <stdint.h>

#include "model/model.h"

/* The arguments: an integer, or a mapping with the integer `dimension`. */
extern const struct kurc_schema kurc_axis_args;

/* Reads the axis into c->priv (an int64_t, freed with free). */
enum kurc_status kurc_axis_parse(struct kurc_model *m, struct kurc_container *c,
                                 struct kurc_err *err);

/* Computes the result's shape *ys from the input's shape xs for axis dim as
 * written, or reports an error about c; have is xs formatted for messages. */
typedef enum kurc_status (*kurc_axis_shape_fn)(const struct kurc_container *c, int64_t dim,
                                               const struct kurc_shape *xs, const char *have,
                                               struct kurc_shape *ys, struct kurc_err *err);

/* Checks that there is one input, and emits its reshape to the shape that
 * shape computes. */
enum kurc_status kurc_axis_build(struct kurc_model *m, struct kurc_container *c, const int *inputs,
                                 int n_inputs, kurc_axis_shape_fn shape, int *out,
                                 struct kurc_err *err);

#endif
