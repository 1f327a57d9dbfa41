/* args.h - reading a container's evaluated arguments: integers and lists
 * of integers with bounds, and activation names.  Errors name the container
 * and the argument. */
#ifndef KURC_ARGS_H
#define KURC_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "config/value/value.h"
#include "core/backend.h"
#include "model/container.h"

/* v is an integer or a list of 1..max_len integers, each >= min; a single
 * integer is repeated `repeat` times (0: once).  *n is the count. */
enum kurc_status kurc_arg_ints(const struct kurc_container *c, const struct kurc_value *v,
                               const char *what, int max_len, int64_t min, int repeat,
                               int64_t *out, int *n, struct kurc_err *err);

/* One integer >= min. */
enum kurc_status kurc_arg_int(const struct kurc_container *c, const struct kurc_value *v,
                              const char *what, int64_t min, int64_t *out, struct kurc_err *err);

/* An activation by its Keras name (none/null/linear, relu, tanh, sigmoid,
 * hard_sigmoid, softplus, softsign, elu, selu, leakyrelu, softmax); softmax
 * is reported through *softmax.  *alpha gets the activation's default
 * parameter. */
bool kurc_activation_lookup(const char *name, enum kurc_act *act, bool *softmax, float *alpha);

/* The names kurc_activation_lookup accepts, NULL-terminated. */
extern const char *const kurc_activation_names[];

#endif
