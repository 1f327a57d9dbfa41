/* datatest.c - scratch files, YAML snippets and error checks for the data
 * tests (see datatest.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datatest.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "config/sources.h"
#include "config/yaml_load.h"

static char scratch[PATH_MAX];
static char first_cwd[PATH_MAX];
static struct kurc_sources *sources;
static struct kurc_value **trees;
static size_t n_trees;

int dt_setup(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/kurc-data-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(scratch) || !getcwd(first_cwd, sizeof first_cwd) || chdir(scratch) != 0)
        return -1;
    sources = kurc_sources_create();
    return 0;
}

int dt_teardown(void **state) {
    (void)state;
    for (size_t i = 0; i < n_trees; i++)
        kurc_value_free(trees[i]);
    free(trees);
    trees = NULL;
    n_trees = 0;
    kurc_sources_free(sources);
    sources = NULL;
    if (chdir(first_cwd) != 0)
        return -1;
    DIR *d = opendir(scratch);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = dt_path(e->d_name);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    return rmdir(scratch) == 0 ? 0 : -1;
}

char *dt_path(const char *name) {
    return kurc_xasprintf("%s/%s", scratch, name);
}

void dt_write(const char *name, const char *text) {
    char *p = dt_path(name);
    FILE *f = fopen(p, "wb");
    free(p);
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

struct kurc_value *dt_yaml(const char *text) {
    struct kurc_value *v = NULL;
    struct kurc_err err;
    const char *file = kurc_sources_intern(sources, "test.yml");
    dt_expect_ok(kurc_load_buffer(text, strlen(text), KURC_FORMAT_YAML, file, &v, &err), &err);
    trees = kurc_xrealloc(trees, (n_trees + 1) * sizeof *trees);
    trees[n_trees++] = v;
    return v;
}

void dt_expect_error(enum kurc_status got, const struct kurc_err *err, enum kurc_status want,
                     const char *needle) {
    char text[2200];
    if (got == KURC_OK) {
        print_error("expected an error containing \"%s\", got success\n", needle);
        fail();
    }
    kurc_err_format(err, text, sizeof text);
    print_message("error: %s\n", text);
    if (got != want || !strstr(text, needle)) {
        print_error("expected status %d containing \"%s\", got status %d: %s\n", (int)want,
                    needle, (int)got, text);
        fail();
    }
}

void dt_expect_ok(enum kurc_status st, const struct kurc_err *err) {
    if (st != KURC_OK) {
        char text[2200];
        kurc_err_format(err, text, sizeof text);
        print_error("unexpected error: %s\n", text);
        fail();
    }
}
