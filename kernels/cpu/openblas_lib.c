/* openblas_lib.c - OpenBLAS's functions for the CPU backend
 * (openblas_lib.h), from the soname CMake read off the library it found
 * (KURC_OPENBLAS_SONAME). */
#include "kernels/cpu/openblas_lib.h"

kurc_lazy_fn kurc_openblas_fns[KURC_OPENBLAS_COUNT];

static const char *const names[] = KURC_LAZY_NAMES(KURC_OPENBLAS, KURC_OPENBLAS_FUNCTIONS);

static struct kurc_lazy_lib openblas = {.file = KURC_OPENBLAS_SONAME,
                                        .names = names,
                                        .n = KURC_OPENBLAS_COUNT,
                                        .fns = kurc_openblas_fns};

enum kurc_status kurc_openblas_load(struct kurc_err *err) {
    return kurc_lazy_lib_load(&openblas, "the CPU backend", NULL, err);
}
