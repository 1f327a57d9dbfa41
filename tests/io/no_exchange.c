/* no_exchange.c - an LD_PRELOAD shim for tests/io/kur_dir.sh: renameat2
 * fails with EINVAL, as on file systems that cannot exchange two names
 * (NFS), so that saving a Kur weight directory takes its two-rename
 * path.  It says so on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags) {
    (void)olddirfd, (void)oldpath, (void)newdirfd, (void)newpath, (void)flags;
    fputs("no_exchange: renameat2 refused\n", stderr);
    errno = EINVAL;
    return -1;
}
