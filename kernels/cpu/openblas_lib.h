/* openblas_lib.h - OpenBLAS, opened when the first CPU backend is created
 * (base/lazy_lib.h), so that `kurc --version`, `--help` and the commands
 * that compute nothing do not map it: the functions the backend calls, as
 * OPENBLAS(cblas_sgemm)(...). */
#ifndef KURC_OPENBLAS_LIB_H
#define KURC_OPENBLAS_LIB_H

#include <cblas.h>

#include "base/lazy_lib.h"

#define KURC_OPENBLAS_FUNCTIONS(X, P)                                                              \
    X(P, cblas_sgemm)                                                                              \
    X(P, openblas_get_num_threads)                                                                 \
    X(P, openblas_set_num_threads)

KURC_LAZY_DECLARE(KURC_OPENBLAS, KURC_OPENBLAS_FUNCTIONS, kurc_openblas_fns)

/* OpenBLAS's function f, once kurc_openblas_load succeeded. */
#define OPENBLAS(f) KURC_LAZY_CALL(kurc_openblas_fns, KURC_OPENBLAS, f)

/* Opens OpenBLAS (once per process); its failure names the soname. */
enum kurc_status kurc_openblas_load(struct kurc_err *err);

#endif
