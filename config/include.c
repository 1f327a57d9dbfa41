/* include.c - loading a Kurfile with its `include`s, merged (see include.h).
 *
 * Each file's `include` entries are processed in order, depth first; for each
 * included file F, data = merge(F, data) with the method named on F's entry,
 * so the including file wins.  (Kur applied an entry's method one level too
 * deep; kurc applies it where Kur's documentation says.)  A file that is its
 * own ancestor is a cycle and an error; a file reached a second time through
 * another branch is skipped with a warning, as Kur does.
 */
#include "config/include.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/strbuf.h"
#include "base/suggest.h"
#include "base/xalloc.h"
#include "config/merge.h"
#include "config/yaml_load.h"

#define MAX_INCLUDE_DEPTH 64

struct visit {
    dev_t dev;
    ino_t ino;
    const char *path; /* interned */
};

struct visits {
    struct visit *items;
    size_t len;
    size_t cap;
};

struct include_state {
    struct kurc_sources *sources;
    struct visits loaded; /* every file read so far */
    struct visits stack;  /* the chain of files now being read */
    struct kurc_err *err;
};

/* One include entry: a file name or glob, and how to merge it. */
struct include_entry {
    const struct kurc_value *source; /* a string */
    enum kurc_merge_method method;
};

static void visits_push(struct visits *v, dev_t dev, ino_t ino, const char *path) {
    if (v->len == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 8;
        v->items = kurc_xrealloc(v->items, v->cap * sizeof *v->items);
    }
    v->items[v->len++] = (struct visit){dev, ino, path};
}

static const struct visit *visits_find(const struct visits *v, dev_t dev, ino_t ino) {
    for (size_t i = 0; i < v->len; i++)
        if (v->items[i].dev == dev && v->items[i].ino == ino)
            return &v->items[i];
    return NULL;
}

static enum kurc_status cycle_error(struct include_state *S, const struct visit *first,
                                    const char *path, const struct kurc_loc *where) {
    struct kurc_strbuf chain = KURC_STRBUF_INIT;
    for (size_t i = (size_t)(first - S->stack.items); i < S->stack.len; i++) {
        kurc_strbuf_puts(&chain, S->stack.items[i].path);
        kurc_strbuf_puts(&chain, " -> ");
    }
    kurc_strbuf_puts(&chain, path);
    enum kurc_status st =
        kurc_err_set(S->err, KURC_E_CONFIG, where, "include cycle: %s", chain.data);
    kurc_strbuf_free(&chain);
    return st;
}

static const char *const entry_keys[] = {"source", "method", NULL};

/* Checks one include entry's source (a string or a list of strings) and
 * appends it to entries. */
static enum kurc_status add_sources(struct include_state *S, const struct kurc_value *source,
                                    enum kurc_merge_method method, struct include_entry **entries,
                                    size_t *n) {
    const struct kurc_value *const *items = &source;
    size_t count = 1;
    if (source->kind == KURC_LIST) {
        items = (const struct kurc_value *const *)source->u.list.items;
        count = source->u.list.len;
    }
    for (size_t i = 0; i < count; i++) {
        if (items[i]->kind != KURC_STR)
            return kurc_err_set(S->err, KURC_E_CONFIG, &items[i]->loc,
                                "include: expected a file name (string), found %s",
                                
kurc_kind_phrase(items[i]->kind));
        *entries = kurc_xrealloc(*entries, (*n + 1) * sizeof **entries);
        (*entries)[(*n)++] = (struct include_entry){items[i], method};
    }
    return KURC_OK;
}

static enum kurc_status parse_entry_map(struct include_state *S, const struct kurc_value *m,
                                        struct include_entry **entries, size_t *n) {
    for (size_t i = 0; i < m->u.map.len; i++) {
        const struct kurc_pair *p = &m->u.map.pairs[i];
        if (strcmp(p->key, "source") && strcmp(p->key, "method")) {
            const char *hint = kurc_suggest(p->key, entry_keys);
            return kurc_err_set(S->err, KURC_E_CONFIG, &p->key_loc,
                                "include: unknown key '%s'%s%s%s (an include entry has 'source' "
                                "and 'method')",
                                p->key, hint ? "; did you mean '" : "", hint ? hint : "",
                                hint ? "'?" : "");
        }
    }
    const struct kurc_value *source = kurc_map_get(m, "source");
    if (!source)
        return kurc_err_set(S->err, KURC_E_CONFIG, &m->loc,
                            "include: an include entry needs a 'source' key");
    enum kurc_merge_method method = KURC_MERGE_BLEND;
    const struct kurc_value *mv = kurc_map_get(m, "method");
    if (mv && mv->kind != KURC_NULL) {
        int parsed = mv->kind == KURC_STR ? kurc_merge_method_parse(mv->u.str.s) : -1;
        if (parsed < 0 && mv->kind == KURC_STR)
            return kurc_err_set(S->err, KURC_E_CONFIG, &mv->loc,
                                "include: unknown merge method '%s' (expected blend, merge or "
                                "concat)",
                                mv->u.str.s);
        if (parsed < 0)
            return kurc_err_set(S->err, KURC_E_CONFIG, &mv->loc,
                                "include: the merge method must be blend, merge or concat, not %s",
                                kurc_kind_phrase(mv->kind));
        method = (enum kurc_merge_method)parsed;
    }
    return add_sources(S, source, method, entries, n);
}

/* Normalises the `include` value into a list of entries. */
static enum kurc_status parse_includes(struct include_state *S, const struct kurc_value *inc,
                                       struct include_entry **entries, size_t *n) {
    *entries = NULL;
    *n = 0;
    switch (inc->kind) {
    case KURC_NULL:
        return KURC_OK;
    case KURC_STR:
        return add_sources(S, inc, KURC_MERGE_BLEND, entries, n);
    case KURC_MAP:
        return parse_entry_map(S, inc, entries, n);
    case KURC_LIST:
        for (size_t i = 0; i < inc->u.list.len; i++) {
            const struct kurc_value *e = inc->u.list.items[i];
            enum kurc_status st;
            if (e->kind == KURC_STR)
                st = add_sources(S, e, KURC_MERGE_BLEND, entries, n);
            else if (e->kind == KURC_MAP)
                st = parse_entry_map(S, e, entries, n);
            else
                st = kurc_err_set(S->err, KURC_E_CONFIG, &e->loc,
                                  "include: expected a file name or {source, method}, found %s",
                                  
kurc_kind_phrase(e->kind));
            if (st)
                return st;
        }
        return KURC_OK;
    default:
        return kurc_err_set(S->err, KURC_E_CONFIG, &inc->loc,
                            "include: expected a file name, a list, or {source, method}, found "
                            "%s",
                            kurc_kind_phrase(inc->kind));
    }
}

static enum kurc_status load_tree(struct include_state *S, const char *path,
                                  const struct kurc_loc *where, struct kurc_value **out);

/* Loads every file one include entry names and merges each into *data. */
static enum kurc_status apply_entry(struct include_state *S, const char *including,
                                    const struct include_entry *e, struct kurc_value **data) {
    char *expanded = kurc_path_expand(e->source->u.str.s);
    char *dir = kurc_path_dirname(including);
    char *pattern = kurc_path_join(dir, expanded);
    free(expanded);
    free(dir);
    char **matches;
    size_t count;
    kurc_path_glob(pattern, &matches, &count);
    enum kurc_status st = KURC_OK;
    if (count == 0)
        st = kurc_err_set(S->err, KURC_E_CONFIG, &e->source->loc,
                          kurc_path_has_magic(pattern) ? "include: no file matches '%s'"
                                                       : "include: file '%s' not found",
                          pattern);
    for (size_t i = 0; i < count && st == KURC_OK; i++) {
        struct kurc_value *sub = NULL;
        st = load_tree(S, matches[i], &e->source->loc, &sub);
        if (st == KURC_OK && sub)
            *data = kurc_merge(sub, *data, e->method);
    }
    kurc_path_list_free(matches, count);
    free(pattern);
    return st;
}

/* Reads path and everything it includes; *out is NULL when path was already
 * read through another branch. */
static enum kurc_status load_tree(struct include_state *S, const char *path,
                                  const struct kurc_loc *where, struct kurc_value **out) {
    *out = NULL;
    struct stat st_buf;
    if (stat(path, &st_buf) != 0)
        return kurc_err_set(S->err, KURC_E_CONFIG, where, "cannot read Kurfile '%s': %s", path,
                            strerror(errno));
    if (S_ISDIR(st_buf.st_mode))
        return kurc_err_set(S->err, KURC_E_CONFIG, where,
                            "cannot read Kurfile '%s': it is a directory", path);
    const struct visit *seen = visits_find(&S->stack, st_buf.st_dev, st_buf.st_ino);
    if (seen)
        return cycle_error(S, seen, path, where);
    if (visits_find(&S->loaded, st_buf.st_dev, st_buf.st_ino)) {
        kurc_log_at(KURC_LOG_WARNING, where,
                    "skipping '%s': it was already included through another file", path);
        return KURC_OK;
    }
    if (S->stack.len >= MAX_INCLUDE_DEPTH)
        return kurc_err_set(S->err, KURC_E_CONFIG, where, "includes nest deeper than %d files",
                            MAX_INCLUDE_DEPTH);

    struct kurc_value *data = NULL;
    enum kurc_status st = kurc_load_file(S->sources, path, where, &data, S->err);
    if (st)
        return st;
    const char *name = kurc_sources_intern(S->sources, path);
    struct kurc_loc top = {name, 1, 1};
    if (!data)
        return kurc_err_set(S->err, KURC_E_CONFIG, &top,
                            "the Kurfile is empty: its top level must be a mapping of sections");
    if (data->kind != KURC_MAP) {
        st = kurc_err_set(S->err, KURC_E_CONFIG, &data->loc,
                          "the top level of a Kurfile must be a mapping of sections, not %s",
                          kurc_kind_phrase(data->kind));
        kurc_value_free(data);
        return st;
    }
    visits_push(&S->loaded, st_buf.st_dev, st_buf.st_ino, name);
    visits_push(&S->stack, st_buf.st_dev, st_buf.st_ino, name);

    struct kurc_value *inc = kurc_map_take(data, "include");
    struct include_entry *entries = NULL;
    size_t n = 0;
    if (inc)
        st = parse_includes(S, inc, &entries, &n);
    for (size_t i = 0; i < n && st == KURC_OK; i++)
        st = apply_entry(S, name, &entries[i], &data);
    free(entries);
    kurc_value_free(inc);
    S->stack.len--;
    if (st) {
        kurc_value_free(data);
        return st;
    }
    *out = data;
    return KURC_OK;
}

enum kurc_status kurc_include_load(struct kurc_sources *sources, const char *path,
                                   struct kurc_value **out, struct kurc_err *err) {
    struct include_state S = {.sources = sources, .err = err};
    char *expanded = kurc_path_expand(path);
    enum kurc_status st = load_tree(&S, expanded, NULL, out);
    free(expanded);
    free(S.loaded.items);
    free(S.stack.items);
    return st;
}
