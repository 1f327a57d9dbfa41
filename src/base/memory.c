/* memory.c - the memory available to this process (see memory.h). */
#include "base/memory.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The number in the file at path, or UINT64_MAX ("max", absent, unreadable). */
static uint64_t read_limit(const char *path) {
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    int got = f ? fscanf(f, "%llu", &v) : 0;
    if (f)
        fclose(f);
    return got == 1 ? (uint64_t)v : UINT64_MAX;
}

/* The cgroup memory limit: the process's own cgroup (v2 "0::/path", v1
 * ":memory:/path" in /proc/self/cgroup), else the root's. */
static uint64_t cgroup_limit(void) {
    char line[4096], path[4200];
    uint64_t best = UINT64_MAX;
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        const char *v2 = strncmp(line, "0::", 3) == 0 ? line + 3 : NULL;
        const char *v1 = strstr(line, ":memory:");
        uint64_t v = UINT64_MAX;
        if (v2) {
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", v2);
            v = read_limit(path);
        } else if (v1) {
            snprintf(path, sizeof path, "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", v1 + 8);
            v = read_limit(path);
        }
        best = v < best ? v : best;
    }
    if (f)
        fclose(f);
    uint64_t root = read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    return root < best ? root : best;
}

/* The memory available in bytes; *limit names what limits it. */
static uint64_t memory_available(const char **limit) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t best = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
    const char *why = "physical memory";
    uint64_t cg = cgroup_limit();
    if (cg < best) {
        best = cg;
        why = "the cgroup's memory limit";
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uint64_t)rl.rlim_cur < best) {
        best = (uint64_t)rl.rlim_cur;
        why = "RLIMIT_AS";
    }
    *limit = why;
    return best;
}

enum kurc_status kurc_memory_check(uint64_t need, enum kurc_status status, const char *what,
                                   struct kurc_err *err) {
    const char *limit;
    uint64_t have = memory_available(&limit);
    if (need <= have)
        return KURC_OK;
    return kurc_err_set(err, status, NULL,
                        "not enough memory for %s: %.3g GiB needed, %.3g GiB available (%s)", what,
                        (double)need / 1073741824.0, (double)have / 1073741824.0, limit);
}
