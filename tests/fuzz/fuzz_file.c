/* fuzz_file.c - scratch files and supplier runs for the fuzz harnesses of
 * the data readers (see fuzz_file.h). */
#define _XOPEN_SOURCE 700
#include "fuzz_file.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "config/yaml_load.h"
#include "data/dataset.h"
#include "data/supplier.h"

char *fuzz_dir_create(void) {
    const char *tmp = getenv("TMPDIR");
    char *dir = kurc_xasprintf("%s/kurc-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        abort();
    }
    return dir;
}

char *fuzz_file_write(const char *dir, const char *name, const uint8_t *data, size_t size) {
    char *path = kurc_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

/* nftw callback: removes one entry (children before their directory). */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

void fuzz_dir_remove(char *dir) {
    if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        perror(dir);
        abort();
    }
    free(dir);
}

void fuzz_supply(const char *supplier, const char *key, const char *extra, const char *name,
                 const uint8_t *data, size_t size) {
    kurc_log_configure(KURC_LOG_ERROR, 0, -1);
    char *dir = fuzz_dir_create();
    char *path = fuzz_file_write(dir, name, data, size);
    char *yaml =
        kurc_xasprintf("- %s: {%s: '%s'%s%s}\n", supplier, key, path, *extra ? ", " : "", extra);
    struct kurc_value *list = NULL;
    struct kurc_err err;
    if (kurc_load_buffer(yaml, strlen(yaml), KURC_FORMAT_YAML, "fuzz.yml", &list, &err) !=
        KURC_OK) {
        fprintf(stderr, "fuzz_supply: %s: %s\n", yaml, err.msg);
        abort();
    }
    struct kurc_dataset d;
    if (kurc_data_load(list, &d, &err) == KURC_OK)
        kurc_dataset_release(&d);
    kurc_value_free(list);
    free(yaml);
    free(path);
    fuzz_dir_remove(dir);
}
