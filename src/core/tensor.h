/* tensor.h - shapes of float32 tensors.
 *
 * Shapes in kurc follow Kur: channels last, and the batch axis is left out
 * of every per-sample shape (a 28x28 grey image is (28, 28, 1)).  The
 * batch size is a run-time quantity of the executor.
 */
#ifndef KURC_TENSOR_H
#define KURC_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KURC_MAX_DIMS 6

struct kurc_shape {
    int ndim;
    int64_t dim[KURC_MAX_DIMS];
};

/* A shape from a list of dimensions. */
struct kurc_shape kurc_shape_make(int ndim, const int64_t *dims);

/* Product of the dimensions (1 for a scalar shape ()). */
int64_t kurc_shape_numel(const struct kurc_shape *s);

/* The most elements a shape may have: its floats, their gradients and two
 * optimizer states stay below 2^62 bytes, so sizes in bytes never
 * overflow. */
#define KURC_MAX_NUMEL (INT64_C(1) << 58)

/* True when no dimension is negative and the product is at most
 * KURC_MAX_NUMEL (shapes from Kurfiles and data are checked with it
 * before kurc_shape_numel is used on them). */
bool kurc_shape_numel_ok(const struct kurc_shape *s);

bool kurc_shape_equal(const struct kurc_shape *a, const struct kurc_shape *b);

/* Writes the shape as Python prints a tuple: "(28, 28, 1)", "(10,)", "()";
 * a free axis (< 0) is "None", as Kur printed Keras's shapes.  buf should
 * hold at least 96 bytes. */
void kurc_shape_format(const struct kurc_shape *s, char *buf, size_t size);

/* Writes the position of element `flat` (row-major) of a tensor of shape
 * s as "[2, 0, 5]" ("[]" for a scalar shape). */
void kurc_shape_format_index(const struct kurc_shape *s, int64_t flat, char *buf, size_t size);

#endif
