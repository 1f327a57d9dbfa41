/* gather_row.h - the table row an embedding index names, as the CPU and
 * CUDA gather kernels read it (host and device).
 */
#ifndef KURC_GATHER_ROW_H
#define KURC_GATHER_ROW_H

#include <stdint.h>

#include "base/rng.h" /* KURC_HOST_DEVICE */

/* The row of index v (a float holding an integer; a fraction is cut off)
 * in a table of `rows` rows, or -1 when v is outside [0, rows) or NaN. */
static inline KURC_HOST_DEVICE int64_t kurc_gather_row(float v, int64_t rows) {
    return v >= 0.0f && (double)v < (double)rows ? (int64_t)v : -1;
}

#endif
