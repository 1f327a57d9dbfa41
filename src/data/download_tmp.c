/* download_tmp.c - temporary download files and their cleaning (see
 * download_tmp.h). */
#define _XOPEN_SOURCE 700 /* gethostname */
#include "data/download_tmp.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/xalloc.h"

/* "DIR/.NAME.kurc-HOST-" for target DIR/NAME: the temporary names of its
 * downloads on this host, before the PID. */
static char *tmp_prefix(const char *target) {
    char host[256] = "localhost";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    char *dir = kurc_path_dirname(target);
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    char *prefix = kurc_xasprintf("%s%s.%s.kurc-%s-", dir, *dir ? "/" : "", base, host);
    free(dir);
    return prefix;
}

char *kurc_download_tmp_name(const char *target) {
    char *prefix = tmp_prefix(target);
    char *name = kurc_xasprintf("%s%ld.part", prefix, (long)getpid());
    free(prefix);
    return name;
}

void kurc_download_tmp_clean(const char *target) {
    char *prefix = tmp_prefix(target);
    const char *slash = strrchr(prefix, '/');
    char *dir = slash ? kurc_xstrndup(prefix, (size_t)(slash - prefix)) : kurc_xstrdup(".");
    const char *stem = slash ? slash + 1 : prefix;
    size_t n = strlen(stem);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, stem, n) != 0)
            continue;
        errno = 0;
        long pid = strtol(e->d_name + n, &end, 10);
        if (errno || pid <= 0 || strcmp(end, ".part") != 0 || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *path = kurc_xasprintf("%s/%s", dir, e->d_name);
        if (unlink(path) == 0)
            kurc_log(KURC_LOG_WARNING, "removed %s, left by a download of %s that was stopped",
                     path, target);
        free(path);
    }
    if (d)
        closedir(d);
    free(dir);
    free(prefix);
}
