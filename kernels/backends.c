/* backends.c - the registry of compute backends (backends.h): a line per
 * backend.  In builds with CUDA, the "cuda" line is a stand-in that opens
 * the CUDA module (core/cuda_module.h) the first time it is asked whether
 * a GPU is there or to create a backend, and hands on to the module's
 * backend; a program that never asks maps nothing of CUDA. */
#include "kernels/backends.h"

#include <stdio.h>
#include <string.h>

#include "base/kurc_config.h"
#include "kernels/cpu/cpu_backend.h"
#if KURC_HAVE_CUDA
#include "core/cuda_module.h"

static int cuda_available(char *why, size_t why_size) {
    const struct kurc_cuda_module *m;
    struct kurc_err err;
    if (kurc_cuda_module_load(&m, &err)) {
        if (why && why_size)
            snprintf(why, why_size, "%s", err.msg);
        return 0;
    }
    return m->backend->available(why, why_size);
}

static enum kurc_status cuda_create(const struct kurc_backend_options *opt,
                                    struct kurc_backend **out, struct kurc_err *err) {
    const struct kurc_cuda_module *m;
    enum kurc_status st = kurc_cuda_module_load(&m, err);
    return st ? st : m->backend->create(opt, out, err);
}

static const struct kurc_backend_type cuda_module_type = {
    .name = "cuda",
    .memory = KURC_MEMORY_DEVICE,
    .available = cuda_available,
    .create = cuda_create,
};
#endif

const struct kurc_backend_type *const kurc_backend_types[] = {
    &kurc_cpu_backend_type,
#if KURC_HAVE_CUDA
    &cuda_module_type,
#endif
    NULL,
};

const struct kurc_backend_type *kurc_backend_type_find(const char *name) {
    for (const struct kurc_backend_type *const *t = kurc_backend_types; *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}

bool kurc_backend_type_present(const struct kurc_backend_type *t) {
#if KURC_HAVE_CUDA
    if (t == &cuda_module_type)
        return kurc_cuda_driver_present();
#endif
    (void)t;
    return true;
}
