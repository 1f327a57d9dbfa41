/* value.c - construction, copying, lookup and comparison of value trees. */
#include "config/value/value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static struct kurc_value *new_value(enum kurc_kind kind, const struct kurc_loc *loc) {
    struct kurc_value *v = kurc_xcalloc(1, sizeof *v);
    v->kind = kind;
    if (loc)
        v->loc = *loc;
    return v;
}

struct kurc_value *kurc_value_null(const struct kurc_loc *loc) {
    return new_value(KURC_NULL, loc);
}

struct kurc_value *kurc_value_bool(bool b, const struct kurc_loc *loc) {
    struct kurc_value *v = new_value(KURC_BOOL, loc);
    v->u.b = b;
    return v;
}

struct kurc_value *kurc_value_int(int64_t i, const struct kurc_loc *loc) {
    struct kurc_value *v = new_value(KURC_INT, loc);
    v->u.i = i;
    return v;
}

struct kurc_value *kurc_value_float(double f, const struct kurc_loc *loc) {
    struct kurc_value *v = new_value(KURC_FLOAT, loc);
    v->u.f = f;
    return v;
}

struct kurc_value *kurc_value_str_take(char *s, size_t len, const struct kurc_loc *loc) {
    struct kurc_value *v = new_value(KURC_STR, loc);
    v->u.str.s = s;
    v->u.str.len = len;
    return v;
}

struct kurc_value *kurc_value_str_buf(struct kurc_strbuf *sb, const struct kurc_loc *loc) {
    size_t len = sb->len;
    return kurc_value_str_take(kurc_strbuf_take(sb), len, loc);
}

struct kurc_value *kurc_value_strn(const char *s, size_t len, const struct kurc_loc *loc) {
    return kurc_value_str_take(kurc_xstrndup(s, len), len, loc);
}

struct kurc_value *kurc_value_str(const char *s, const struct kurc_loc *loc) {
    return kurc_value_strn(s, strlen(s), loc);
}

struct kurc_value *kurc_value_list(const struct kurc_loc *loc) {
    return new_value(KURC_LIST, loc);
}

struct kurc_value *kurc_value_map(const struct kurc_loc *loc) {
    return new_value(KURC_MAP, loc);
}

/* Frees what v owns but not v itself. */
static void free_contents(struct kurc_value *v) {
    switch (v->kind) {
    case KURC_STR:
        free(v->u.str.s);
        break;
    case KURC_LIST:
        for (size_t i = 0; i < v->u.list.len; i++)
            kurc_value_free(v->u.list.items[i]);
        free(v->u.list.items);
        break;
    case KURC_MAP:
        for (size_t i = 0; i < v->u.map.len; i++) {
            free(v->u.map.pairs[i].key);
            kurc_value_free(v->u.map.pairs[i].val);
        }
        free(v->u.map.pairs);
        break;
    default:
        break;
    }
}

void kurc_value_free(struct kurc_value *v) {
    if (!v)
        return;
    free_contents(v);
    free(v);
}

struct kurc_value *kurc_value_copy(const struct kurc_value *v) {
    struct kurc_value *c = new_value(v->kind, &v->loc);
    switch (v->kind) {
    case KURC_STR:
        c->u.str.s = kurc_xstrndup(v->u.str.s, v->u.str.len);
        c->u.str.len = v->u.str.len;
        break;
    case KURC_LIST:
        for (size_t i = 0; i < v->u.list.len; i++)
            kurc_list_append(c, kurc_value_copy(v->u.list.items[i]));
        break;
    case KURC_MAP:
        for (size_t i = 0; i < v->u.map.len; i++) {
            const struct kurc_pair *p = &v->u.map.pairs[i];
            kurc_map_set(c, p->key, &p->key_loc, kurc_value_copy(p->val));
        }
        break;
    default:
        c->u = v->u;
        break;
    }
    return c;
}

static void list_reserve(struct kurc_value *list) {
    if (list->u.list.len < list->u.list.cap)
        return;
    size_t cap = list->u.list.cap ? list->u.list.cap * 2 : 4;
    list->u.list.items = kurc_xrealloc(list->u.list.items, cap * sizeof *list->u.list.items);
    list->u.list.cap = cap;
}

void kurc_list_append(struct kurc_value *list, struct kurc_value *item) {
    list_reserve(list);
    list->u.list.items[list->u.list.len++] = item;
}

const struct kurc_pair *kurc_map_find(const struct kurc_value *map, const char *key) {
    if (!map || map->kind != KURC_MAP)
        return NULL;
    for (size_t i = 0; i < map->u.map.len; i++)
        if (strcmp(map->u.map.pairs[i].key, key) == 0)
            return &map->u.map.pairs[i];
    return NULL;
}

struct kurc_value *kurc_map_get(const struct kurc_value *map, const char *key) {
    const struct kurc_pair *p = kurc_map_find(map, key);
    return p ? p->val : NULL;
}

void kurc_map_set(struct kurc_value *map, const char *key, const struct kurc_loc *key_loc,
                  struct kurc_value *val) {
    for (size_t i = 0; i < map->u.map.len; i++) {
        struct kurc_pair *p = &map->u.map.pairs[i];
        if (strcmp(p->key, key) == 0) {
            kurc_value_free(p->val);
            p->val = val;
            if (key_loc)
                p->key_loc = *key_loc;
            return;
        }
    }
    if (map->u.map.len == map->u.map.cap) {
        size_t cap = map->u.map.cap ? map->u.map.cap * 2 : 4;
        map->u.map.pairs = kurc_xrealloc(map->u.map.pairs, cap * sizeof *map->u.map.pairs);
        map->u.map.cap = cap;
    }
    struct kurc_pair *p = &map->u.map.pairs[map->u.map.len++];
    p->key = kurc_xstrdup(key);
    p->key_loc = key_loc ? *key_loc : val->loc;
    p->val = val;
}

struct kurc_value *kurc_map_take(struct kurc_value *map, const char *key) {
    for (size_t i = 0; i < map->u.map.len; i++) {
        struct kurc_pair *p = &map->u.map.pairs[i];
        if (strcmp(p->key, key) == 0) {
            struct kurc_value *val = p->val;
            free(p->key);
            memmove(p, p + 1, (map->u.map.len - i - 1) * sizeof *p);
            map->u.map.len--;
            return val;
        }
    }
    return NULL;
}

static bool is_number(const struct kurc_value *v) {
    return v->kind == KURC_BOOL || v->kind == KURC_INT || v->kind == KURC_FLOAT;
}

static bool numbers_equal(const struct kurc_value *a, const struct kurc_value *b) {
    if (a->kind != KURC_FLOAT && b->kind != KURC_FLOAT) {
        int64_t x = a->kind == KURC_BOOL ? a->u.b : a->u.i;
        int64_t y = b->kind == KURC_BOOL ? b->u.b : b->u.i;
        return x == y;
    }
    double x = a->kind == KURC_FLOAT ? a->u.f : (double)(a->kind == KURC_BOOL ? a->u.b : a->u.i);
    double y = b->kind == KURC_FLOAT ? b->u.f : (double)(b->kind == KURC_BOOL ? b->u.b : b->u.i);
    return x == y;
}

static bool equal(const struct kurc_value *a, const struct kurc_value *b, bool strict) {
    if (!strict && is_number(a) && is_number(b))
        return numbers_equal(a, b);
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case KURC_NULL:
        return true;
    case KURC_BOOL:
        return a->u.b == b->u.b;
    case KURC_INT:
        return a->u.i == b->u.i;
    case KURC_FLOAT:
        return a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f) && strict);
    case KURC_STR:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case KURC_LIST:
        if (a->u.list.len != b->u.list.len)
            return false;
        for (size_t i = 0; i < a->u.list.len; i++)
            if (!equal(a->u.list.items[i], b->u.list.items[i], strict))
                return false;
        return true;
    case KURC_MAP:
        if (a->u.map.len != b->u.map.len)
            return false;
        for (size_t i = 0; i < a->u.map.len; i++) {
            const struct kurc_value *other = kurc_map_get(b, a->u.map.pairs[i].key);
            if (!other || !equal(a->u.map.pairs[i].val, other, strict))
                return false;
        }
        return true;
    }
    return false;
}

bool kurc_value_equal(const struct kurc_value *a, const struct kurc_value *b) {
    return equal(a, b, false);
}

bool kurc_value_identical(const struct kurc_value *a, const struct kurc_value *b) {
    return equal(a, b, true);
}

const char *kurc_kind_phrase(enum kurc_kind kind) {
    static const char *const phrases[] = {"null",     "a boolean", "an integer", "a float",
                                          "a string", "a list",    "a mapping"};
    return (unsigned)kind < sizeof phrases / sizeof phrases[0] ? phrases[kind] : "a value";
}

bool kurc_value_truthy(const struct kurc_value *v) {
    switch (v->kind) {
    case KURC_NULL:
        return false;
    case KURC_BOOL:
        return v->u.b;
    case KURC_INT:
        return v->u.i != 0;
    case KURC_FLOAT:
        return v->u.f != 0.0;
    case KURC_STR:
        return v->u.str.len != 0;
    case KURC_LIST:
        return v->u.list.len != 0;
    case KURC_MAP:
        return v->u.map.len != 0;
    }
    return false;
}
