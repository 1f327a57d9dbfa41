/* paths.c - ~/$VAR expansion, joining and recursive globbing of file names. */
#include "base/paths.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/xalloc.h"

static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static void expand_vars(const char *p, struct kurc_strbuf *out) {
    while (*p) {
        if (*p != '$') {
            kurc_strbuf_putc(out, *p++);
            continue;
        }
        const char *start = p + 1;
        const char *end;
        const char *resume;
        if (*start == '{') {
            end = strchr(start + 1, '}');
            if (!end) {
                kurc_strbuf_putc(out, *p++);
                continue;
            }
            start++;
            resume = end + 1;
        } else {
            end = start;
            while (is_name_char(*end))
                end++;
            resume = end;
        }
        char *name = kurc_xstrndup(start, (size_t)(end - start));
        const char *value = *name ? getenv(name) : NULL;
        free(name);
        if (value)
            kurc_strbuf_puts(out, value);
        else
            kurc_strbuf_append(out, p, (size_t)(resume - p));
        p = resume;
    }
}

char *kurc_path_expand(const char *path) {
    struct kurc_strbuf vars = KURC_STRBUF_INIT;
    expand_vars(path, &vars);
    char *s = kurc_strbuf_take(&vars);
    if (s[0] != '~')
        return s;
    const char *rest = strchr(s, '/');
    size_t user_len = rest ? (size_t)(rest - s - 1) : strlen(s) - 1;
    const char *home = NULL;
    if (user_len == 0) {
        home = getenv("HOME");
        if (!home) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
    } else {
        char *user = kurc_xstrndup(s + 1, user_len);
        struct passwd *pw = getpwnam(user);
        free(user);
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return s;
    char *result = kurc_xasprintf("%s%s", home, rest ? rest : "");
    free(s);
    return result;
}

char *kurc_path_join(const char *dir, const char *name) {
    if (name[0] == '/' || !dir[0])
        return kurc_xstrdup(name);
    size_t n = strlen(dir);
    return kurc_xasprintf("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

char *kurc_path_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return kurc_xstrdup("");
    size_t n = (size_t)(slash - path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    return kurc_xstrndup(path, n ? n : 1);
}

int kurc_path_make_dirs(const char *dir, char **failed) {
    char *p = kurc_xstrdup(dir);
    int e = 0;
    for (char *c = p; !e; c++) {
        bool end = *c == '\0';
        if (!end && (*c != '/' || c == p))
            continue;
        *c = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            e = errno;
        if (end)
            break;
        *c = '/';
    }
    if (e && failed)
        *failed = p;
    else
        free(p);
    return e;
}

bool kurc_path_has_magic(const char *path) {
    return strpbrk(path, "*?[") != NULL;
}

struct path_list {
    char **items;
    size_t len;
    size_t cap;
};

static void list_add(struct path_list *l, const char *path) {
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i], path) == 0)
            return;
    if (l->len == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->items = kurc_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->len++] = kurc_xstrdup(path);
}

static void glob_plain(const char *pattern, struct path_list *out) {
    glob_t g;
    if (glob(pattern, 0, NULL, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; i++)
            list_add(out, g.gl_pathv[i]);
    globfree(&g);
}

static void glob_into(const char *pattern, int depth, struct path_list *out);

/* Applies tail (the pattern after a `**` component) in dir and in every
 * non-hidden directory below it. */
static void glob_recursive(const char *dir, const char *tail, int depth, struct path_list *out) {
    if (depth > 64)
        return;
    char *pattern = kurc_path_join(dir, tail);
    glob_into(pattern, depth + 1, out);
    free(pattern);
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *sub = kurc_path_join(dir, e->d_name);
        struct stat st;
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            glob_recursive(sub, tail, depth + 1, out);
        free(sub);
    }
    closedir(d);
}

static int compare_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the matches of pattern to out; depth bounds nested `**`. */
static void glob_into(const char *pattern, int depth, struct path_list *out) {
    const char *star2 = strstr(pattern, "**");
    bool whole = star2 && (star2 == pattern || star2[-1] == '/') && (star2[2] == '/' || !star2[2]);
    if (whole) {
        char *dir = kurc_xstrndup(pattern, (size_t)(star2 - pattern));
        if (dir[0] && dir[strlen(dir) - 1] == '/' && strlen(dir) > 1)
            dir[strlen(dir) - 1] = '\0';
        const char *tail = star2[2] ? star2 + 3 : "*";
        struct path_list dirs = {0};
        if (kurc_path_has_magic(dir))
            glob_plain(dir, &dirs);
        else
            list_add(&dirs, dir);
        for (size_t i = 0; i < dirs.len; i++) {
            glob_recursive(dirs.items[i], tail, depth, out);
            free(dirs.items[i]);
        }
        free(dirs.items);
        free(dir);
    } else if (kurc_path_has_magic(pattern)) {
        glob_plain(pattern, out);
    } else {
        struct stat st;
        if (stat(pattern, &st) == 0)
            list_add(out, pattern);
    }
}

void kurc_path_glob(const char *pattern, char ***matches, size_t *count) {
    struct path_list out = {0};
    glob_into(pattern, 0, &out);
    if (out.len > 1)
        qsort(out.items, out.len, sizeof *out.items, compare_paths);
    *matches = out.items;
    *count = out.len;
}

void kurc_path_list_free(char **list, size_t count) {
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}
