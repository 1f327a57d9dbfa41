/* input.h - the settings of an `input` container, which the model builder
 * reads for shape inference. */
#ifndef KURC_CONTAINER_INPUT_H
#define KURC_CONTAINER_INPUT_H

#include <stdbool.h>

#include "core/tensor.h"

struct kurc_input_settings {
    bool has_shape;
    struct kurc_shape shape; /* a free (None) axis is -1 */
    char type[16];           /* dtype as written (default float32) */
};

#endif
