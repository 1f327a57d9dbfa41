/* schema.c - the schema checker (see schema.h). */
#include "config/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/suggest.h"
#include "base/xalloc.h"
#include "config/value/pyrepr.h"

const struct kurc_schema kurc_schema_string = {.types = KT_STR};
const struct kurc_schema kurc_schema_string_or_null = {.types = KT_STR | KT_NULL};
const struct kurc_schema kurc_schema_flag = {.types = KT_BOOL | KT_NULL};
const struct kurc_schema kurc_schema_number_or_null = {.types = KT_NUM | KT_NULL};
const struct kurc_schema kurc_schema_non_negative_or_null = {.types = KT_NUM | KT_NULL,
                                                             .has_min = true, .min = 0};

/* "a string", "an integer or a mapping", ... for a KT_* mask. */
static void kurc_schema_describe_types(unsigned types, char *buf, size_t size) {
    const char *parts[8];
    size_t n = 0;
    /* an integer-or-float is "a number" */
    bool number = (types & KT_NUM) == KT_NUM;
    for (int k = KURC_NULL; k <= KURC_MAP; k++) {
        if (!(types & (1u << k)))
            continue;
        if (number && k == KURC_INT) {
            parts[n++] = "a number";
            continue;
        }
        if (number && k == KURC_FLOAT)
            continue;
        parts[n++] = kurc_kind_phrase((enum kurc_kind)k);
    }
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == n ? " or " : ", ");
        int w = snprintf(buf + used, size - used, "%s%s", sep, parts[i]);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}

char *kurc_schema_path_key(const char *path, const char *key) {
    return *path ? kurc_xasprintf("%s.%s", path, key) : kurc_xstrdup(key);
}

static char *kurc_schema_path_index(const char *path, size_t index) {
    return kurc_xasprintf("%s[%zu]", path, index);
}

/* A short rendering of a value for messages: 'text' for strings, the Python
 * spelling otherwise, cut at 40 characters. */
static void short_value(const struct kurc_value *v, char *buf, size_t size) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    if (v->kind == KURC_LIST || v->kind == KURC_MAP)
        kurc_strbuf_puts(&sb, v->kind == KURC_LIST ? "[...]" : "{...}");
    else
        kurc_py_repr(v, &sb);
    if (sb.len > 40)
        snprintf(buf, size, "%.37s...", sb.data);
    else
        snprintf(buf, size, "%s", sb.data);
    kurc_strbuf_free(&sb);
}

/* Reports an unknown key of the mapping at path: "PATH: unknown key 'K'
 * [for WHAT]; did you mean 'C'?", or the list of candidates when none is
 * close.  candidates is NULL-terminated; what may be NULL. */
static enum kurc_status kurc_schema_unknown_key(const struct kurc_pair *pair, const char *path,
                                                const char *what, const char *const *candidates,
                                                struct kurc_err *err) {
    const char *hint = candidates ? kurc_suggest(pair->key, candidates) : NULL;
    if (hint)
        return kurc_err_set(err, KURC_E_CONFIG, &pair->key_loc,
                            "%s: unknown key '%s'%s%s; did you mean '%s'?", path, pair->key,
                            what ? " for " : "", what ? what : "", hint);
    struct kurc_strbuf list = KURC_STRBUF_INIT;
    for (const char *const *c = candidates; c && *c; c++)
        kurc_strbuf_printf(&list, "%s%s", c == candidates ? "" : ", ", *c);
    enum kurc_status st = kurc_err_set(err, KURC_E_CONFIG, &pair->key_loc,
                                       "%s: unknown key '%s'%s%s (expected %s)", path, pair->key,
                                       what ? " for " : "", what ? what : "",
                                       list.len ? list.data : "no keys");
    kurc_strbuf_free(&list);
    return st;
}

static enum kurc_status check_keys(const struct kurc_value *v, const struct kurc_schema *s,
                                   const char *path, const char *what,
                                   const struct kurc_components *components,
                                   struct kurc_err *err) {
    size_t n_keys = 0;
    while (s->keys[n_keys].name)
        n_keys++;
    const char **names = kurc_xcalloc(n_keys + 1, sizeof *names);
    for (size_t i = 0; i < n_keys; i++)
        names[i] = s->keys[i].name;
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < v->u.map.len && st == KURC_OK; i++) {
        const struct kurc_pair *p = &v->u.map.pairs[i];
        const struct kurc_schema_key *k = NULL;
        for (size_t j = 0; j < n_keys; j++)
            if (strcmp(s->keys[j].name, p->key) == 0)
                k = &s->keys[j];
        if (!k) {
            st = kurc_schema_unknown_key(p, path, what, names, err);
            break;
        }
        if (k->schema) {
            char *sub = kurc_schema_path_key(path, p->key);
            st = kurc_schema_check(p->val, k->schema, sub, components, err);
            free(sub);
        }
    }
    for (size_t j = 0; j < n_keys && st == KURC_OK; j++) {
        if (s->keys[j].required && !kurc_map_get(v, s->keys[j].name))
            st = kurc_err_set(err, KURC_E_CONFIG, &v->loc, "%s: missing required key '%s'",
                              *path ? path : "the Kurfile", s->keys[j].name);
    }
    free(names);
    return st;
}

enum kurc_status kurc_schema_check(const struct kurc_value *v, const struct kurc_schema *s,
                                   const char *path, const struct kurc_components *components,
                                   struct kurc_err *err) {
    return kurc_schema_check_as(v, s, path, NULL, components, err);
}

enum kurc_status kurc_schema_check_as(const struct kurc_value *v, const struct kurc_schema *s,
                                      const char *path, const char *what,
                                      const struct kurc_components *components,
                                      struct kurc_err *err) {
    if (!(s->types & (1u << v->kind))) {
        char want[128], got[64];
        kurc_schema_describe_types(s->types, want, sizeof want);
        short_value(v, got, sizeof got);
        if (v->kind == KURC_NULL || v->kind == KURC_LIST || v->kind == KURC_MAP)
            return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "%s: expected %s, found %s", path,
                                want, kurc_kind_phrase(v->kind));
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "%s: expected %s, found %s (%s)", path,
                            want, kurc_kind_phrase(v->kind), got);
    }
    enum kurc_status st = KURC_OK;
    if (v->kind == KURC_MAP && s->keys) {
        st = check_keys(v, s, path, what, components, err);
    } else if (v->kind == KURC_MAP && s->values) {
        for (size_t i = 0; i < v->u.map.len && st == KURC_OK; i++) {
            char *sub = kurc_schema_path_key(path, v->u.map.pairs[i].key);
            st = kurc_schema_check(v->u.map.pairs[i].val, s->values, sub, components, err);
            free(sub);
        }
    } else if (v->kind == KURC_LIST && s->items) {
        for (size_t i = 0; i < v->u.list.len && st == KURC_OK; i++) {
            char *sub = kurc_schema_path_index(path, i);
            st = kurc_schema_check(v->u.list.items[i], s->items, sub, components, err);
            free(sub);
        }
    } else if (v->kind == KURC_STR && s->choices) {
        bool found = false;
        for (const char *const *c = s->choices; *c && !found; c++)
            found = strcmp(*c, v->u.str.s) == 0;
        if (!found) {
            struct kurc_strbuf list = KURC_STRBUF_INIT;
            for (const char *const *c = s->choices; *c; c++)
                kurc_strbuf_printf(&list, "%s'%s'", c == s->choices ? "" : ", ", *c);
            const char *hint = kurc_suggest(v->u.str.s, s->choices);
            if (hint)
                st = kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                                  "%s: unknown value '%s'; did you mean '%s'? (expected one of "
                                  "%s)",
                                  path, v->u.str.s, hint, list.data);
            else
                st = kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                                  "%s: unknown value '%s' (expected one of %s)", path,
                                  v->u.str.s, list.data);
            kurc_strbuf_free(&list);
        }
    } else if ((v->kind == KURC_INT || v->kind == KURC_FLOAT) && s->has_min) {
        double x = v->kind == KURC_INT ? (double)v->u.i : v->u.f;
        if (!(x >= s->min)) {
            char got[64];
            short_value(v, got, sizeof got);
            st = kurc_err_set(err, KURC_E_CONFIG, &v->loc, "%s: must be at least %g, found %s",
                              path, s->min, got);
        }
    }
    if (st == KURC_OK && s->check)
        st = s->check(v, path, components, err);
    return st;
}
