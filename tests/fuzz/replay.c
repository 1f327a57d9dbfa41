/* replay.c - runs a fuzz harness over its seed corpus without libFuzzer:
 * every file named on the command line, or every file of a directory
 * named there, goes through LLVMFuzzerTestOneInput once.  So the harnesses
 * build in every configuration and their corpora (the inputs that once
 * crashed kurc among them) are regression tests of every build. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/file_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the harness on one file; returns 0, or 1 when it cannot be read. */
static int replay_file(const char *path) {
    size_t size = 0;
    char *data = NULL;
    if (kurc_file_read(path, &data, &size) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, size);
    free(data);
    return 0;
}

/* Runs the harness on every regular file of a directory. */
static int replay_dir(const char *dir, int *count) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return 1;
    }
    int failed = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            failed |= replay_file(path);
            ++*count;
        }
    }
    closedir(d);
    return failed;
}

int main(int argc, char **argv) {
    int failed = 0, count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            failed |= replay_dir(argv[i], &count);
        } else {
            failed |= replay_file(argv[i]);
            count++;
        }
    }
    printf("replayed %d input(s)\n", count);
    return failed || count == 0;
}
