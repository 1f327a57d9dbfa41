/* backend_select.c - choosing and creating the compute backend (see
 * backend_select.h). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "train/backend_select.h"

#include <ctype.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "kernels/backends.h"

static const struct kurc_value *backend_section(const struct kurc_value *settings) {
    return settings ? kurc_map_get(settings, "backend") : NULL;
}

static const struct kurc_value *backend_key(const struct kurc_value *settings, const char *key) {
    const struct kurc_value *b = backend_section(settings);
    return b && b->kind == KURC_MAP ? kurc_map_get(b, key) : NULL;
}

static const char *backend_name(const struct kurc_value *settings) {
    const struct kurc_value *b = backend_section(settings);
    if (b && b->kind == KURC_STR)
        return b->u.str.s;
    const struct kurc_value *name = backend_key(settings, "name");
    return name && name->kind == KURC_STR ? name->u.str.s : "auto";
}

/* A positive thread count from the environment variable name, or 0. */
static int env_threads(const char *name) {
    const char *v = getenv(name);
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    return v && *v && *end == '\0' && n > 0 && n <= 4096 ? (int)n : 0;
}

/* The CPU backend's threads: settings.backend.threads, else what the
 * launcher asked for (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS), else the
 * cores this process may run on (its affinity: a SLURM allocation's or a
 * binding's) shared among the ranks on the node. */
static int threads_for(const struct kurc_value *settings, int local_size) {
    /* deterministic training: one thread, whatever BLAS would split */
    const struct kurc_value *d = settings ? kurc_map_get(settings, "deterministic") : NULL;
    if (d && d->kind == KURC_BOOL && d->u.b)
        return 1;
    const struct kurc_value *t = backend_key(settings, "threads");
    if (t && t->kind == KURC_INT && t->u.i > 0)
        return (int)t->u.i;
    int n = env_threads("OPENBLAS_NUM_THREADS");
    if (!n)
        n = env_threads("OMP_NUM_THREADS");
    if (n)
        return n;
    cpu_set_t allowed;
    long cores = sched_getaffinity(0, sizeof allowed, &allowed) == 0
                     ? CPU_COUNT(&allowed)
                     : sysconf(_SC_NPROCESSORS_ONLN);
    int per_rank = (int)(cores > 0 ? cores : 1) / (local_size > 0 ? local_size : 1);
    return per_rank > 0 ? per_rank : 1;
}

/* --- device specifications ------------------------------------------------ */

/* A GPU ordinal: digits, below KURC_MAX_GPUS.  Advances *p. */
static bool ordinal(const char **p, const char *end, int *out) {
    const char *s = *p;
    int v = 0;
    if (s == end || !isdigit((unsigned char)*s))
        return false;
    for (; s < end && isdigit((unsigned char)*s); s++) {
        v = v * 10 + (*s - '0');
        if (v >= KURC_MAX_GPUS)
            return false;
    }
    *p = s;
    *out = v;
    return true;
}

/* One term (without commas): cpu, gpu, gpuN, gpuA-B, gpu!N, gpu!A-B. */
static bool term(const char *s, const char *end, uint64_t *include, uint64_t *exclude,
                 bool *any_include, bool *cpu) {
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    size_t len = (size_t)(end - s);
    if (len == 3 && memcmp(s, "cpu", 3) == 0) {
        *cpu = true;
        return true;
    }
    if (len < 3 || memcmp(s, "gpu", 3) != 0)
        return false;
    s += 3;
    if (s == end) {
        *include = ~(uint64_t)0;
        *any_include = true;
        return true;
    }
    bool not = *s == '!';
    if (not )
        s++;
    int lo, hi;
    if (!ordinal(&s, end, &lo))
        return false;
    hi = lo;
    if (s < end && *s == '-') {
        s++;
        if (!ordinal(&s, end, &hi) || hi < lo)
            return false;
    }
    if (s != end)
        return false;
    uint64_t bits = 0;
    for (int i = lo; i <= hi; i++)
        bits |= (uint64_t)1 << i;
    if (not ) {
        *exclude |= bits;
    } else {
        *include |= bits;
        *any_include = true;
    }
    return true;
}

static enum kurc_status bad_device(const struct kurc_value *v, const char *text,
                                   struct kurc_err *err) {
    return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                        "settings.backend.device: '%s' is not a device specification (cpu, gpu, "
                        "gpuN, gpuA-B, gpu!N, joined by commas; GPUs 0 to %d)",
                        text, KURC_MAX_GPUS - 1);
}

/* One string or integer of the specification. */
static enum kurc_status spec_item(const struct kurc_value *v, uint64_t *include, uint64_t *exclude,
                                  bool *any_include, bool *cpu, struct kurc_err *err) {
    if (v->kind == KURC_INT) {
        if (v->u.i < 0 || v->u.i >= KURC_MAX_GPUS) {
            char text[32];
            snprintf(text, sizeof text, "%lld", (long long)v->u.i);
            return bad_device(v, text, err);
        }
        *include |= (uint64_t)1 << v->u.i;
        *any_include = true;
        return KURC_OK;
    }
    if (v->kind != KURC_STR)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                            "settings.backend.device: expected a string such as \"gpu0,gpu1\"");
    const char *s = v->u.str.s, *end = s + v->u.str.len;
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        if (!term(s, stop, include, exclude, any_include, cpu))
            return bad_device(v, v->u.str.s, err);
        s = stop + 1;
    }
    return KURC_OK;
}

enum kurc_status kurc_device_spec_parse(const struct kurc_value *device, int count,
                                        uint64_t *allowed, bool *cpu, struct kurc_err *err) {
    uint64_t include = 0, exclude = 0;
    bool any_include = false;
    *cpu = false;
    *allowed = 0;
    if (device && device->kind != KURC_NULL) {
        if (device->kind == KURC_LIST) {
            for (size_t i = 0; i < device->u.list.len; i++) {
                enum kurc_status st =
                    spec_item(device->u.list.items[i], &include, &exclude, &any_include, cpu, err);
                if (st)
                    return st;
            }
        } else {
            enum kurc_status st = spec_item(device, &include, &exclude, &any_include, cpu, err);
            if (st)
                return st;
        }
        if (*cpu && (any_include || exclude))
            return kurc_err_set(err, KURC_E_CONFIG, &device->loc,
                                "settings.backend.device: cpu cannot be combined with GPUs");
    }
    if (!any_include)
        include = ~(uint64_t)0;
    uint64_t visible = count >= KURC_MAX_GPUS ? ~(uint64_t)0
                       : count > 0            ? ((uint64_t)1 << count) - 1
                                              : 0;
    *allowed = include & ~exclude & visible;
    return KURC_OK;
}

/* --- creation ---------------------------------------------------------------- */

static bool env_on(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* Creates a backend of type t and logs what it runs on. */
static enum kurc_status make(const struct kurc_backend_type *t,
                             const struct kurc_backend_options *opt, const char *name,
                             const char *why, struct kurc_backend **out, struct kurc_err *err) {
    enum kurc_status st = t->create(opt, out, err);
    if (st)
        return st;
    char what[256];
    (*out)->ops->describe(*out, what, sizeof what);
    kurc_log(KURC_LOG_INFO, "backend: %s (settings.backend: %s%s%s)", what, name, why ? "; " : "",
             why ? why : "");
    return KURC_OK;
}

/* The `parallel` of settings.backend, 0 when absent. */
static int parallel_of(const struct kurc_value *backend) {
    const struct kurc_value *p = backend && backend->kind == KURC_MAP
                                     ? kurc_map_get(backend, "parallel")
                                     : NULL;
    return p && p->kind == KURC_INT && p->u.i > 0 && p->u.i <= KURC_MAX_GPUS ? (int)p->u.i : 0;
}

enum kurc_status kurc_device_choose(const struct kurc_value *backend, int local_rank, int visible,
                                    struct kurc_device_choice *out, struct kurc_err *err) {
    const struct kurc_value *device =
        backend && backend->kind == KURC_MAP ? kurc_map_get(backend, "device") : NULL;
    uint64_t allowed;
    *out = (struct kurc_device_choice){.device = -1};
    enum kurc_status st = kurc_device_spec_parse(device, visible, &allowed, &out->cpu, err);
    if (st || out->cpu)
        return st;
    int list[KURC_MAX_GPUS], n = 0;
    for (int i = 0; i < KURC_MAX_GPUS; i++)
        if (allowed & ((uint64_t)1 << i))
            list[n++] = i;
    int parallel = parallel_of(backend);
    if (parallel > 0 && parallel < n)
        n = parallel;
    out->usable = n;
    if (n == 0) {
        snprintf(out->why, sizeof out->why,
                 "settings.backend.device allows none of the %d visible GPU%s", visible,
                 visible == 1 ? "" : "s");
        return KURC_OK;
    }
    out->device = list[(local_rank > 0 ? local_rank : 0) % n];
    return KURC_OK;
}

/* auto, and Kur's names keras and pytorch: a GPU when there is one. */
static bool any_backend(const char *name) {
    return strcmp(name, "auto") == 0 || strcmp(name, "keras") == 0 || strcmp(name, "pytorch") == 0;
}

/* The device backend `name` asks for: the one it names, for auto the
 * registry's first; NULL when this build has none. */
static const struct kurc_backend_type *device_backend(const char *name) {
    if (!any_backend(name))
        return kurc_backend_type_find(name);
    for (const struct kurc_backend_type *const *t = kurc_backend_types; *t; t++)
        if ((*t)->memory == KURC_MEMORY_DEVICE)
            return *t;
    return NULL;
}

/* How many devices t can run on here.  Unless the Kurfile names t, a
 * machine where a cheap look finds no device for t is not asked further
 * (for CUDA: the module and its libraries stay unloaded). */
static int device_count(const struct kurc_backend_type *t, bool wanted, char *why,
                        size_t why_size) {
    if (!wanted && !kurc_backend_type_present(t)) {
        snprintf(why, why_size, "this machine has no %s device (no driver found)", t->name);
        return 0;
    }
    return t->available(why, why_size);
}

enum kurc_status kurc_backend_select(const struct kurc_value *settings, int rank, int local_rank,
                                     int local_size, struct kurc_backend **out,
                                     struct kurc_err *err) {
    const char *name = backend_name(settings);
    const struct kurc_backend_type *host = kurc_backend_type_find("cpu");
    const struct kurc_backend_type *asked = kurc_backend_type_find(name);
    struct kurc_backend_options opt = {.threads = threads_for(settings, local_size),
                                       .rank = rank,
                                       .allow_tf32 = env_on("KURC_CUDA_TF32"),
                                       .find = env_on("KURC_CUDNN_FIND")};
    *out = NULL;
    if (asked && asked->memory == KURC_MEMORY_HOST)
        return make(asked, &opt, name, NULL, out, err);
    const struct kurc_backend_type *device = device_backend(name);
    bool wanted = !any_backend(name);
    char why[768] = "";
    int count = device ? device_count(device, wanted, why, sizeof why) : 0;
    /* checked in every build, so that a Kurfile means the same */
    struct kurc_device_choice pick;
    enum kurc_status st =
        kurc_device_choose(backend_section(settings), local_rank, count, &pick, err);
    if (st)
        return st;
    if (!device) {
        if (wanted)
            return kurc_err_set(err, KURC_E_UNSUPPORTED, NULL,
                                "settings.backend asks for %s, which this build does not have "
                                "(the CPU backend runs with backend: cpu or auto)",
                                name);
        return make(host, &opt, name, NULL, out, err);
    }
    if (pick.cpu && wanted)
        return kurc_err_set(err, KURC_E_CONFIG, NULL,
                            "settings.backend asks for %s on device cpu: ask for one or the "
                            "other",
                            name);
    if (pick.cpu)
        return make(host, &opt, name, "device: cpu", out, err);
    if (count == 0) {
        if (wanted)
            return kurc_err_set(err, KURC_E_BACKEND, NULL,
                                "settings.backend asks for %s, but %s; use backend: cpu or auto to "
                                "run on the CPU",
                                name, why);
        return make(host, &opt, name, why, out, err);
    }
    if (pick.device < 0) {
        if (wanted)
            return kurc_err_set(err, KURC_E_CONFIG, NULL, "%s; use backend: cpu", pick.why);
        kurc_log(KURC_LOG_WARNING, "%s: running on the CPU", pick.why);
        return make(host, &opt, name, pick.why, out, err);
    }
    opt.device = pick.device;
    return make(device, &opt, name, NULL, out, err);
}

int kurc_visible_gpus(void) {
    int count = 0;
    for (const struct kurc_backend_type *const *t = kurc_backend_types; *t; t++) {
        char why[768];
        if ((*t)->memory == KURC_MEMORY_DEVICE)
            count += device_count(*t, false, why, sizeof why);
    }
    return count;
}
