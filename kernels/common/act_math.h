/* act_math.h - the activation functions and their derivatives, one element
 * at a time, for every backend: the CPU kernels and the CUDA kernels
 * (host and device) compile this same code, so they compute the same
 * formulas in the same order.
 *
 * Kernels instantiate a loop per activation (KURC_ACT_CASES) and call these
 * with a constant activation, so the switch folds away.
 */
#ifndef KURC_ACT_MATH_H
#define KURC_ACT_MATH_H

#include <math.h>

#include "core/backend.h"
#include "base/rng.h" /* KURC_HOST_DEVICE */

/* Keras 2.0's SELU constants (Klambauer et al. 2017). */
#define KURC_SELU_ALPHA 1.6732632423543772f
#define KURC_SELU_SCALE 1.0507009873554805f

/* Every activation, for X-macro instantiation: F(KURC_ACT_...). */
#define KURC_ACT_CASES(F)                                                                          \
    F(KURC_ACT_LINEAR)                                                                             \
    F(KURC_ACT_RELU)                                                                               \
    F(KURC_ACT_TANH)                                                                               \
    F(KURC_ACT_SIGMOID)                                                                            \
    F(KURC_ACT_HARD_SIGMOID)                                                                       \
    F(KURC_ACT_SOFTPLUS)                                                                           \
    F(KURC_ACT_SOFTSIGN)                                                                           \
    F(KURC_ACT_ELU)                                                                                \
    F(KURC_ACT_SELU)                                                                               \
    F(KURC_ACT_LEAKY_RELU)

/* act(x).  softplus is max(x, 0) + log1p(e^-|x|): no overflow, and exact
 * to float precision for large |x|; sigmoid's exp(-x) overflows to inf for
 * very negative x, giving exactly 0. */
static inline KURC_HOST_DEVICE float kurc_act_value(int act, float alpha, float x) {
    switch (act) {
    case KURC_ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    case KURC_ACT_TANH:
        return tanhf(x);
    case KURC_ACT_SIGMOID:
        return 1.0f / (1.0f + expf(-x));
    case KURC_ACT_HARD_SIGMOID: {
        float t = 0.2f * x + 0.5f;
        return t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    }
    case KURC_ACT_SOFTPLUS:
        return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
    case KURC_ACT_SOFTSIGN:
        return x / (1.0f + fabsf(x));
    case KURC_ACT_ELU:
        return x > 0.0f ? x : alpha * expm1f(x);
    case KURC_ACT_SELU:
        return KURC_SELU_SCALE * (x > 0.0f ? x : KURC_SELU_ALPHA * expm1f(x));
    case KURC_ACT_LEAKY_RELU:
        return x > 0.0f ? x : alpha * x;
    default: /* linear */
        return x;
    }
}

/* act'(x) dy, where y = act(x): tanh and sigmoid read y, the others but
 * linear read x (so the unread one may be anything).  At a kink the
 * derivative is the left piece's (relu'(0) = 0, leaky'(0) = alpha);
 * hard_sigmoid's slope is 0.2 strictly inside (-2.5, 2.5); elu's alpha e^x
 * comes from x, not y + alpha, which cancels for x << 0. */
static inline KURC_HOST_DEVICE float kurc_act_grad(int act, float alpha, float x, float y,
                                                   float dy) {
    switch (act) {
    case KURC_ACT_RELU:
        return x > 0.0f ? dy : 0.0f;
    case KURC_ACT_TANH:
        return dy * (1.0f - y * y);
    case KURC_ACT_SIGMOID:
        return dy * y * (1.0f - y);
    case KURC_ACT_HARD_SIGMOID:
        return x > -2.5f && x < 2.5f ? 0.2f * dy : 0.0f;
    case KURC_ACT_SOFTPLUS:
        return dy / (1.0f + expf(-x));
    case KURC_ACT_SOFTSIGN: {
        float a = 1.0f + fabsf(x);
        return dy / (a * a);
    }
    case KURC_ACT_ELU:
        return x > 0.0f ? dy : dy * alpha * expf(x);
    case KURC_ACT_SELU:
        return KURC_SELU_SCALE * (x > 0.0f ? dy : dy * KURC_SELU_ALPHA * expf(x));
    case KURC_ACT_LEAKY_RELU:
        return x > 0.0f ? dy : alpha * dy;
    default: /* linear */
        return dy;
    }
}

/* act'(x) alone (y = act(x)), for the recurrent cells' chain rule. */
static inline KURC_HOST_DEVICE float kurc_act_slope(int act, float alpha, float x, float y) {
    return kurc_act_grad(act, alpha, x, y, 1.0f);
}

#endif
