/* backend_select.c - choosing and creating the compute backend (see
 * backend_select.h). */
#include "backend_select.h"

#include <string.h>
#include <unistd.h>

#include "cpu_backend.h"
#include "log.h"

static const char *backend_name(const struct kurc_value *settings) {
    const struct kurc_value *b = settings ? kurc_map_get(settings, "backend") : NULL;
    if (b && b->kind == KURC_STR)
        return b->u.str.s;
    const struct kurc_value *name = b && b->kind == KURC_MAP ? kurc_map_get(b, "name") : NULL;
    return name && name->kind == KURC_STR ? name->u.str.s : "auto";
}

static int threads_for(const struct kurc_value *settings, int local_size) {
    /* deterministic training: one thread, whatever BLAS would split */
    const struct kurc_value *d = settings ? kurc_map_get(settings, "deterministic") : NULL;
    if (d && d->kind == KURC_BOOL && d->u.b)
        return 1;
    const struct kurc_value *b = settings ? kurc_map_get(settings, "backend") : NULL;
    const struct kurc_value *t = b && b->kind == KURC_MAP ? kurc_map_get(b, "threads") : NULL;
    if (t && t->kind == KURC_INT && t->u.i > 0)
        return (int)t->u.i;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int per_rank = (int)(cores > 0 ? cores : 1) / (local_size > 0 ? local_size : 1);
    return per_rank > 0 ? per_rank : 1;
}

enum kurc_status kurc_backend_select(const struct kurc_value *settings, int local_rank,
                                     int local_size, struct kurc_backend **out,
                                     struct kurc_err *err) {
    (void)local_rank;
    const char *name = backend_name(settings);
    *out = NULL;
    if (strcmp(name, "cuda") == 0)
        return kurc_err_set(err, KURC_E_UNSUPPORTED, NULL,
                            "settings.backend asks for cuda, which this build does not have "
                            "(the CPU backend runs with backend: cpu or auto)");
    int threads = threads_for(settings, local_size);
    *out = kurc_cpu_backend_create(threads);
    if (!*out)
        return kurc_err_set(err, KURC_E_BACKEND, NULL, "cannot create the CPU backend");
    kurc_log(KURC_LOG_INFO, "backend: cpu with %d BLAS thread%s (settings.backend: %s)",
             threads, threads == 1 ? "" : "s", name);
    return KURC_OK;
}

void kurc_backend_release(struct kurc_backend *be) {
    if (be)
        kurc_cpu_backend_free(be);
}
