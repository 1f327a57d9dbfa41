/* finite.c - NaN and infinity search (see finite.h). */
#include "core/finite.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Blocks of a fixed length are tested with bit masks, which the compiler
 * vectorises (data sets of 10^8 values are checked as they load); the
 * block that holds a non-finite value is then searched element by
 * element. */
int64_t kurc_find_nonfinite(const float *x, int64_t n) {
    enum { BLOCK = 64 };
    int64_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK) {
        uint32_t bits[BLOCK], any = 0;
        memcpy(bits, x + i, sizeof bits);
        for (int k = 0; k < BLOCK; k++)
            any |= (bits[k] & 0x7f800000u) == 0x7f800000u; /* all exponent bits: inf or NaN */
        if (any)
            break;
    }
    for (; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return -1;
}

const char *kurc_nonfinite_name(float v) {
    return isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf";
}
