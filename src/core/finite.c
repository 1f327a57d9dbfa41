/* finite.c - NaN and infinity search (see finite.h). */
#include "core/finite.h"

#include <math.h>

int64_t kurc_find_nonfinite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return -1;
}

const char *kurc_nonfinite_name(float v) {
    return isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf";
}
