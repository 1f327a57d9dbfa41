/* cuda_module.c - opening the CUDA module (cuda_module.h): dlopen with
 * RTLD_NOW, so that a CUDA library it needs and cannot find fails here,
 * with the loader's message, rather than at the first call. */
#include "core/cuda_module.h"

#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

static const struct kurc_cuda_module *module;
static char failure[512];

static void open_module(void) {
    void *handle = dlopen(KURC_CUDA_MODULE_FILE, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "%s", why ? why : "unknown reason");
        return;
    }
    const struct kurc_cuda_module *m = dlsym(handle, KURC_CUDA_MODULE_SYMBOL);
    if (!m) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "%s", why ? why : "no " KURC_CUDA_MODULE_SYMBOL);
    } else if (m->abi != KURC_CUDA_MODULE_ABI) {
        snprintf(failure, sizeof failure,
                 "it is of another kurc (interface %d, this program's %d)", m->abi,
                 KURC_CUDA_MODULE_ABI);
    } else {
        module = m;
        return;
    }
    dlclose(handle);
}

enum kurc_status kurc_cuda_module_load(const struct kurc_cuda_module **out, struct kurc_err *err) {
    static bool tried;
    if (!tried) {
        tried = true;
        open_module();
    }
    *out = module;
    if (module)
        return KURC_OK;
    return kurc_err_set(err, KURC_E_BACKEND, NULL,
                        "cannot load the CUDA module " KURC_CUDA_MODULE_FILE
                        " (looked for in LD_LIBRARY_PATH and in lib/kurc/ beside the program's "
                        "bin/ folder): %s",
                        failure);
}

bool kurc_cuda_driver_present(void) {
    return access("/proc/driver/nvidia", F_OK) == 0 || access("/dev/nvidiactl", F_OK) == 0 ||
           access("/dev/dxg", F_OK) == 0;
}
