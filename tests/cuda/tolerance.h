/* tolerance.h - when a CUDA result agrees with the CPU's (the parity
 * tests), as pure functions that a unit test checks against synthetic
 * round-off without a GPU (test_tolerance.c).
 *
 * A sum computed in another order differs by round-off of the size of
 * what was summed, not of the result: near a zero result a relative test
 * fails correct kernels.  So an element's error is measured against a
 * scale: the magnitude of everything summed into it when the caller has
 * it (the CPU op run on absolute values; for a slot that accumulates, the
 * accumulator's start included), else |the CPU's value|, never below
 * `floor`.  A whole tensor may instead be compared in norm.  NaN must
 * meet NaN and an infinity the same infinity. */
#ifndef KURC_TOLERANCE_H
#define KURC_TOLERANCE_H

#include <stdint.h>

/* The worst element: its error and index (-1 for n = 0). */
struct ct_worst {
    double error;
    int64_t at;
};

/* max_i |got_i - want_i| / max(scale_i, floor), scale_i = mag[i], or
 * |want_i| when mag is NULL. */
struct ct_worst ct_compare(const float *want, const float *got, const float *mag, int64_t n,
                           double floor);

/* ||got - want||_2 / max(||want||_2, floor); infinite where NaN or an
 * infinity does not match. */
double ct_compare_norm(const float *want, const float *got, int64_t n, double floor);

/* The scale of an accumulating slot's result for ct_compare: what was
 * there before plus the increment, |before_i| + |want_i - before_i|, in
 * mag (which may be want itself: then it is overwritten). */
void ct_increment_magnitude(const float *before, const float *want, float *mag, int64_t n);

#endif
