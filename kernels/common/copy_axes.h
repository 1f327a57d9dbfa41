/* copy_axes.h - the simplification of a strided copy (struct kurc_strided,
 * src/core/backend.h) that the CPU and CUDA copy kernels share: the fewest axes
 * that describe the same copy.
 */
#ifndef KURC_COPY_AXES_H
#define KURC_COPY_AXES_H

#include <stdint.h>

#include "core/backend.h"

/* One axis of a strided copy: length and element strides in src and dst. */
struct kurc_copy_axis {
    int64_t n, s, d;
};

/* Reduces a view to the fewest axes that describe the same copy: length-1
 * axes go, and an axis merges into its outer neighbour when both strides
 * continue it (s_outer == n_inner s_inner, likewise d), so a contiguous
 * block of any rank becomes one axis.  axes holds KURC_MAX_COPY_DIMS.
 * Returns the axis count, or -1 when the view has no elements. */
static inline int kurc_copy_simplify(const struct kurc_strided *view, struct kurc_copy_axis *axes) {
    int m = 0;
    for (int i = 0; i < view->ndim; i++) {
        int64_t n = view->dims[i], s = view->src_strides[i], d = view->dst_strides[i];
        if (n == 0)
            return -1;
        if (n == 1)
            continue;
        if (m > 0 && axes[m - 1].s == n * s && axes[m - 1].d == n * d) {
            axes[m - 1].n *= n;
            axes[m - 1].s = s;
            axes[m - 1].d = d;
        } else {
            axes[m].n = n;
            axes[m].s = s;
            axes[m].d = d;
            m++;
        }
    }
    return m;
}

#endif
