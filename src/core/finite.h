/* finite.h - finding NaNs and infinities in float32 data and naming where
 * they are, for the readers of weights and data that refuse them (the
 * place: kurc_shape_format_index in tensor.h). */
#ifndef KURC_FINITE_H
#define KURC_FINITE_H

#include <stdint.h>

/* The index of the first of x[0..n) that is NaN or infinite, or -1. */
int64_t kurc_find_nonfinite(const float *x, int64_t n);

/* "NaN", "inf" or "-inf" for a non-finite v. */
const char *kurc_nonfinite_name(float v);

#endif
