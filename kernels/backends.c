/* backends.c - the registry of compute backends (backends.h): a line per
 * backend. */
#include "kernels/backends.h"

#include <string.h>

#include "base/kurc_config.h"
#include "kernels/cpu/cpu_backend.h"
#if KURC_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

const struct kurc_backend_type *const kurc_backend_types[] = {
    &kurc_cpu_backend_type,
#if KURC_HAVE_CUDA
    &kurc_cuda_backend_type,
#endif
    NULL,
};

const struct kurc_backend_type *kurc_backend_type_find(const char *name) {
    for (const struct kurc_backend_type *const *t = kurc_backend_types; *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}
