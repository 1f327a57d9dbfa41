/* lazy_lib.c - opening a library on first use (lazy_lib.h): dlopen with
 * RTLD_NOW, then each listed function by dlsym; a failure is kept, so
 * every later use reports the same reason.  The state is set last, so a
 * thread that sees it loaded sees the functions too. */
#include "base/lazy_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void open_lib(struct kurc_lazy_lib *lib) {
    void *handle = dlopen(lib->file, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(lib->failure, sizeof lib->failure, "%s", why ? why : "unknown reason");
        lib->state = -1;
        return;
    }
    for (size_t i = 0; i < lib->n; i++) {
        void *addr = dlsym(handle, lib->names[i]);
        if (!addr) {
            snprintf(lib->failure, sizeof lib->failure, "it has no function %s", lib->names[i]);
            lib->state = -1;
            dlclose(handle);
            return;
        }
        /* POSIX: dlsym's object pointer holds a function's address */
        memcpy(&lib->fns[i], &addr, sizeof addr);
    }
    lib->state = 1;
}

enum kurc_status kurc_lazy_lib_load(struct kurc_lazy_lib *lib, const char *user,
                                    const struct kurc_loc *loc, struct kurc_err *err) {
    if (atomic_load(&lib->state) > 0) /* loaded: the common case, no lock */
        return KURC_OK;
    pthread_mutex_lock(&lock);
    if (lib->state == 0)
        open_lib(lib);
    int state = lib->state;
    pthread_mutex_unlock(&lock);
    if (state > 0)
        return KURC_OK;
    return kurc_err_set(err, KURC_E_UNSUPPORTED, loc, "%s needs %s, which cannot be loaded: %s",
                        user, lib->file, lib->failure);
}
