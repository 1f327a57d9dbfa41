/* template_filters.c - Jinja's stock filters and Kur's own.
 *
 * Each filter follows jinja2/filters.py (and Kur's jinja_engine.py for
 * basename, dirname, splitext, combine, as_dict and ternary), with two
 * deliberate differences: filters that return Python generators or
 * iterators in Jinja (map, select, reject, selectattr, rejectattr, unique,
 * reverse, items) return lists, and only `default`, `d` and `ternary`
 * accept an undefined value; every other filter reports it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"

#define F_VARARGS 1 /* gets the raw arguments instead of bound slots */
#define F_UNDEF 2   /* accepts an undefined value */

typedef int (*filter_fn)(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                         struct tv *out);

struct filter {
    const char *name;
    filter_fn fn;
    int flags;
    size_t nreq;
    const char *params[4];
};

int tmpl_bind(struct rt *rt, int line, const char *what, const char *const *params, size_t nparams,
              size_t nreq, struct targs *args, struct tv **slots) {
    for (size_t i = 0; i < nparams; i++)
        slots[i] = NULL;
    if (args->npos > nparams && nparams == 0)
        return tmpl_fail(rt->diag, line, "%s takes no arguments (%zu given)", what, args->npos);
    if (args->npos > nparams)
        return tmpl_fail(rt->diag, line, "%s takes at most %zu argument%s (%zu given)", what,
                         nparams, nparams == 1 ? "" : "s", args->npos);
    for (size_t i = 0; i < args->npos; i++)
        slots[i] = &args->pos[i];
    for (size_t k = 0; k < args->nkw; k++) {
        size_t j = 0;
        while (j < nparams && strcmp(params[j], args->kwnames[k]) != 0)
            j++;
        if (j == nparams)
            return tmpl_fail(rt->diag, line, "%s got an unexpected keyword argument '%s'", what,
                             args->kwnames[k]);
        if (slots[j])
            return tmpl_fail(rt->diag, line, "%s got multiple values for argument '%s'", what,
                             params[j]);
        slots[j] = &args->kw[k];
    }
    for (size_t i = 0; i < nreq; i++)
        if (!slots[i])
            return tmpl_fail(rt->diag, line, "%s missing required argument '%s'", what, params[i]);
    return 0;
}

int tmpl_arg(struct rt *rt, int line, struct tv *slot, const struct kurc_value **out) {
    *out = NULL;
    if (!slot)
        return 0;
    if (tmpl_need(rt, line, slot) < 0)
        return -1;
    *out = slot->v;
    return 0;
}

/* An optional boolean argument (Python truthiness). */
static int flag_arg(struct rt *rt, int line, struct tv *slot, bool *out) {
    const struct kurc_value *v;
    if (tmpl_arg(rt, line, slot, &v) < 0)
        return -1;
    *out = v && kurc_value_truthy(v);
    return 0;
}

/* An optional integer argument. */
static int int_arg(struct rt *rt, int line, struct tv *slot, const char *what, int64_t dflt,
                   int64_t *out) {
    const struct kurc_value *v;
    if (tmpl_arg(rt, line, slot, &v) < 0)
        return -1;
    *out = dflt;
    return v ? tmpl_int_of(rt, line, v, what, out) : 0;
}

/* An optional string argument; str() of whatever was passed. */
static int str_arg(struct rt *rt, int line, struct tv *slot, struct kurc_value **out) {
    const struct kurc_value *v;
    *out = NULL;
    if (tmpl_arg(rt, line, slot, &v) < 0)
        return -1;
    if (v)
        *out = tmpl_str_value(v);
    return 0;
}

static void own_str(struct tv *out, struct kurc_strbuf *sb) {
    kurc_strbuf_append(sb, "", 0);
    tv_own(out, kurc_value_str_buf(sb, NULL));
}

/* Python's len(). */
static int py_len(struct rt *rt, int line, const struct kurc_value *v, size_t *n) {
    if (tmpl_is_seq(tmpl_pytype(v))) {
        *n = v->u.list.len;
        return 0;
    }
    switch (tmpl_pytype(v)) {
    case PT_STR:
        *n = kurc_utf8_count(v->u.str.s, v->u.str.len);
        return 0;
    case PT_DICT:
        *n = v->u.map.len;
        return 0;
    case PT_LOOP:
        *n = (size_t)kurc_map_get(v, "length")->u.i;
        return 0;
    default:
        return tmpl_fail(rt->diag, line, "object of type '%s' has no len()", tmpl_type_name(v));
    }
}

/* ---- simple filters ------------------------------------------------------- */

static int f_abs(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                 struct tv *out) {
    (void)a;
    (void)args;
    const struct kurc_value *v = val->v;
    if (v->kind == KURC_FLOAT) {
        tv_own(out, kurc_value_float(fabs(v->u.f), NULL));
        return 0;
    }
    if (v->kind != KURC_INT && v->kind != KURC_BOOL)
        return tmpl_fail(rt->diag, line, "bad operand type for abs(): '%s'", tmpl_type_name(v));
    int64_t x = v->kind == KURC_INT ? v->u.i : v->u.b;
    if (x == INT64_MIN)
        return tmpl_fail(rt->diag, line, "integer overflow");
    tv_own(out, kurc_value_int(x < 0 ? -x : x, NULL));
    return 0;
}

static int f_attr(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                  struct tv *out) {
    (void)args;
    const struct kurc_value *name;
    if (tmpl_arg(rt, line, a[0], &name) < 0)
        return -1;
    if (name->kind != KURC_STR)
        return tmpl_fail(rt->diag, line, "attribute name must be a string, not %s",
                         tmpl_type_name(name));
    if (tmpl_pytype(val->v) == PT_LOOP)
        return tmpl_getattr(rt, line, val, name->u.str.s, "loop", out);
    tv_undef(out, "'%s' object has no attribute '%s'", tmpl_type_name(val->v), name->u.str.s);
    return 0;
}

static int change_case(struct tv *val, enum tmpl_case mode, struct tv *out) {
    struct kurc_value *s = tmpl_str_value(val->v);
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    tmpl_case(s->u.str.s, s->u.str.len, mode, &sb);
    kurc_value_free(s);
    own_str(out, &sb);
    return 0;
}

/* capitalize, lower, upper and title: one filter each over change_case */
#define CASE_FILTER(name, mode)                                                                    \
    static int name(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,    \
                    struct tv *out) {                                                              \
        (void)rt, (void)line, (void)a, (void)args;                                                 \
        return change_case(val, mode, out);                                                        \
    }
CASE_FILTER(f_capitalize, CASE_CAPITALIZE)
CASE_FILTER(f_lower, CASE_LOWER)
CASE_FILTER(f_upper, CASE_UPPER)
CASE_FILTER(f_title, CASE_TITLE)
#undef CASE_FILTER

static int f_center(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                    struct tv *out) {
    (void)args;
    int64_t width;
    if (int_arg(rt, line, a[0], "center", 80, &width) < 0)
        return -1;
    if (width > TMPL_MAX_SIZE)
        return tmpl_check_size(rt, line, (size_t)width);
    struct kurc_value *s = tmpl_str_value(val->v);
    int64_t len = (int64_t)kurc_utf8_count(s->u.str.s, s->u.str.len);
    int64_t marg = width > len ? width - len : 0;
    int64_t left = marg / 2 + (marg & width & 1); /* CPython's split of the padding */
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    for (int64_t i = 0; i < marg; i++) {
        if (i == left)
            kurc_strbuf_append(&sb, s->u.str.s, s->u.str.len);
        kurc_strbuf_putc(&sb, ' ');
    }
    if (marg == left)
        kurc_strbuf_append(&sb, s->u.str.s, s->u.str.len);
    kurc_value_free(s);
    own_str(out, &sb);
    return 0;
}

static int f_length(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                    struct tv *out) {
    (void)a, (void)args;
    size_t n = 0;
    if (py_len(rt, line, val->v, &n) < 0)
        return -1;
    tv_own(out, kurc_value_int((int64_t)n, NULL));
    return 0;
}

static int f_default(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                     struct tv *out) {
    (void)args;
    bool boolean;
    if (flag_arg(rt, line, a[1], &boolean) < 0)
        return -1;
    bool use_default = tv_is_undef(val) || (boolean && !(val->v && kurc_value_truthy(val->v)));
    if (!use_default)
        tv_move(out, val);
    else if (a[0])
        tv_move(out, a[0]);
    else
        tv_own(out, kurc_value_str("", NULL));
    return 0;
}

static int f_escape(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                    struct tv *out) {
    (void)rt, (void)line, (void)a, (void)args;
    struct kurc_value *s = tmpl_str_value(val->v);
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    for (size_t i = 0; i < s->u.str.len; i++) {
        char c = s->u.str.s[i];
        const char *rep = c == '&'    ? "&amp;"
                          : c == '<'  ? "&lt;"
                          : c == '>'  ? "&gt;"
                          : c == '"'  ? "&#34;"
                          : c == '\'' ? "&#39;"
                                      : NULL;
        if (rep)
            kurc_strbuf_puts(&sb, rep);
        else
            kurc_strbuf_putc(&sb, c);
    }
    kurc_value_free(s);
    own_str(out, &sb);
    return 0;
}

static int f_safe(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                  struct tv *out) {
    (void)rt, (void)line, (void)a, (void)args;
    tv_own(out, tmpl_str_value(val->v));
    return 0;
}

static int f_string(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                    struct tv *out) {
    return f_safe(rt, line, val, a, args, out);
}

/* first and last: the end item of a list, string or mapping. */
static int end_item(struct rt *rt, int line, struct tv *val, bool last, struct tv *out) {
    struct kurc_value **items, *owner;
    size_t n;
    if (tmpl_iterate(rt, line, val->v, &items, &n, &owner) < 0)
        return -1;
    if (n == 0)
        tv_undef(out, "No %s item, sequence was empty.", last ? "last" : "first");
    else
        tv_own(out, kurc_value_copy(items[last ? n - 1 : 0]));
    kurc_value_free(owner);
    return 0;
}

static int f_first(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                   struct tv *out) {
    (void)a, (void)args;
    return end_item(rt, line, val, false, out);
}

static int f_last(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                  struct tv *out) {
    (void)a, (void)args;
    return end_item(rt, line, val, true, out);
}

static int f_float(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                   struct tv *out) {
    (void)rt, (void)line, (void)args;
    const struct kurc_value *v = val->v;
    double f;
    if (tmpl_is_number(v)) {
        f = tmpl_num(v);
    } else if (v->kind != KURC_STR || tmpl_parse_float(v->u.str.s, v->u.str.len, &f) < 0) {
        if (a[0])
            tv_move(out, a[0]);
        else
            tv_own(out, kurc_value_float(0.0, NULL));
        return 0;
    }
    tv_own(out, kurc_value_float(f, NULL));
    return 0;
}

/* Python's int(float): truncation, failing where Python raises. */
static int trunc_float(struct rt *rt, int line, double f, int64_t *out) {
    if (isinf(f))
        return tmpl_fail(rt->diag, line, "cannot convert float infinity to integer");
    if (f >= 9223372036854775808.0 || f < -9223372036854775808.0)
        return tmpl_fail(rt->diag, line, "integer overflow");
    *out = (int64_t)f;
    return 0;
}

static int f_int(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                 struct tv *out) {
    (void)args;
    const struct kurc_value *v = val->v;
    int64_t base, i = 0;
    double f;
    if (int_arg(rt, line, a[1], "int", 10, &base) < 0)
        return -1;
    bool ok = true;
    if (v->kind == KURC_INT || v->kind == KURC_BOOL) {
        i = v->kind == KURC_INT ? v->u.i : v->u.b;
    } else if (v->kind == KURC_FLOAT && !isnan(v->u.f)) {
        if (trunc_float(rt, line, v->u.f, &i) < 0)
            return -1;
    } else if (v->kind == KURC_STR) {
        int rc =
            base >= 0 && base <= 36 ? tmpl_parse_int(v->u.str.s, v->u.str.len, (int)base, &i) : -1;
        if (rc == -2)
            return tmpl_fail(rt->diag, line, "integer overflow");
        if (rc < 0) {
            ok = tmpl_parse_float(v->u.str.s, v->u.str.len, &f) == 0 && !isnan(f);
            if (ok && trunc_float(rt, line, f, &i) < 0)
                return -1;
        }
    } else {
        ok = false;
    }
    if (ok)
        tv_own(out, kurc_value_int(i, NULL));
    else if (a[0])
        tv_move(out, a[0]);
    else
        tv_own(out, kurc_value_int(0, NULL));
    return 0;
}

static int f_list(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                  struct tv *out) {
    (void)a, (void)args;
    struct kurc_value *l;
    if (tmpl_to_list(rt, line, val->v, &l) < 0)
        return -1;
    l->loc.file = NULL;
    tv_own(out, l);
    return 0;
}

static int f_items(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                   struct tv *out) {
    (void)a, (void)args;
    const struct kurc_value *v = val->v;
    if (tmpl_pytype(v) != PT_DICT)
        return tmpl_fail(rt->diag, line, "Can only get item pairs from a mapping.");
    struct kurc_value *l = kurc_value_list(NULL);
    for (size_t i = 0; i < v->u.map.len; i++) {
        struct kurc_value *pair = tmpl_new_seq(PT_TUPLE);
        kurc_list_append(pair, kurc_value_str(v->u.map.pairs[i].key, NULL));
        kurc_list_append(pair, kurc_value_copy(v->u.map.pairs[i].val));
        kurc_list_append(l, pair);
    }
    tv_own(out, l);
    return 0;
}

/* The key of an item for sorting, grouping and comparing: an attribute
 * path (comma-separated paths give a tuple when multi), lower-cased when
 * case does not count. */
static int item_key(struct rt *rt, int line, const struct kurc_value *item, const char *attr,
                    bool multi, bool fold_case, struct kurc_value **out) {
    struct kurc_value *key;
    if (!attr) {
        key = kurc_value_copy(item);
    } else if (multi && strchr(attr, ',')) {
        key = tmpl_new_seq(PT_LIST);
        char *paths = kurc_xstrdup(attr), *save = NULL;
        for (char *p = strtok_r(paths, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            struct kurc_value *part;
            if (item_key(rt, line, item, p, false, fold_case, &part) < 0) {
                free(paths);
                kurc_value_free(key);
                return -1;
            }
            kurc_list_append(key, part);
        }
        free(paths);
        *out = key;
        return 0;
    } else {
        struct tv t;
        if (tmpl_getpath(rt, line, item, attr, &t) < 0)
            return -1;
        if (tmpl_need(rt, line, &t) < 0) {
            tv_free(&t);
            return -1;
        }
        key = tv_take(&t);
    }
    if (fold_case && key->kind == KURC_STR) {
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        tmpl_case(key->u.str.s, key->u.str.len, CASE_LOWER, &sb);
        kurc_value_free(key);
        kurc_strbuf_append(&sb, "", 0);
        key = kurc_value_str_buf(&sb, NULL);
    }
    *out = key;
    return 0;
}

static int attr_arg(struct rt *rt, int line, struct tv *slot, char **out) {
    const struct kurc_value *v;
    *out = NULL;
    if (tmpl_arg(rt, line, slot, &v) < 0)
        return -1;
    if (!v || v->kind == KURC_NULL)
        return 0;
    if (v->kind == KURC_INT)
        *out = kurc_xasprintf("%lld", (long long)v->u.i);
    else if (v->kind == KURC_STR)
        *out = kurc_xstrdup(v->u.str.s);
    else
        return tmpl_fail(rt->diag, line, "attribute must be a string or an integer, not %s",
                         tmpl_type_name(v));
    return 0;
}

static int f_join(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                  struct tv *out) {
    (void)args;
    struct kurc_value *sep, **items, *owner;
    char *attr;
    size_t n;
    if (str_arg(rt, line, a[0], &sep) < 0)
        return -1;
    if (attr_arg(rt, line, a[1], &attr) < 0 ||
        tmpl_iterate(rt, line, val->v, &items, &n, &owner) < 0) {
        kurc_value_free(sep);
        free(attr);
        return -1;
    }
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct kurc_value *item = NULL;
        rc = item_key(rt, line, items[i], attr, false, false, &item);
        if (rc < 0)
            break;
        if (i && sep)
            kurc_strbuf_append(&sb, sep->u.str.s, sep->u.str.len);
        tmpl_str(item, &sb);
        kurc_value_free(item);
        rc = tmpl_check_size(rt, line, sb.len);
    }
    kurc_value_free(sep);
    kurc_value_free(owner);
    free(attr);
    if (rc < 0) {
        kurc_strbuf_free(&sb);
        return -1;
    }
    own_str(out, &sb);
    return 0;
}

static int f_replace(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                     struct tv *out) {
    (void)args;
    struct kurc_value *old = NULL, *new_ = NULL;
    const struct kurc_value *count_v;
    int rc = str_arg(rt, line, a[0], &old);
    if (rc == 0)
        rc = str_arg(rt, line, a[1], &new_);
    if (rc == 0)
        rc = tmpl_arg(rt, line, a[2], &count_v);
    int64_t count = -1;
    if (rc == 0 && count_v && count_v->kind != KURC_NULL)
        rc = tmpl_int_of(rt, line, count_v, "replace", &count);
    if (rc == 0) {
        struct kurc_value *s = tmpl_str_value(val->v);
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        tmpl_replace(s->u.str.s, s->u.str.len, old->u.str.s, old->u.str.len, new_->u.str.s,
                     new_->u.str.len, count, &sb);
        kurc_value_free(s);
        rc = tmpl_check_size(rt, line, sb.len);
        if (rc == 0)
            own_str(out, &sb);
        else
            kurc_strbuf_free(&sb);
    }
    kurc_value_free(old);
    kurc_value_free(new_);
    return rc;
}

static int f_reverse(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                     struct tv *out) {
    (void)a, (void)args;
    const struct kurc_value *v = val->v;
    if (v->kind == KURC_STR) {
        size_t n, *offs = tmpl_u8_offsets(v->u.str.s, v->u.str.len, &n);
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        for (size_t i = n; i-- > 0;)
            kurc_strbuf_append(&sb, v->u.str.s + offs[i], offs[i + 1] - offs[i]);
        free(offs);
        own_str(out, &sb);
        return 0;
    }
    struct kurc_value *l;
    if (tmpl_pytype(v) == PT_LOOP || tmpl_to_list(rt, line, v, &l) < 0)
        return tmpl_fail(rt->diag, line, "argument must be iterable");
    l->loc.file = NULL;
    for (size_t i = 0, j = l->u.list.len; i + 1 < j; i++, j--) {
        struct kurc_value *t = l->u.list.items[i];
        l->u.list.items[i] = l->u.list.items[j - 1];
        l->u.list.items[j - 1] = t;
    }
    tv_own(out, l);
    return 0;
}

static int f_trim(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                  struct tv *out) {
    (void)args;
    const struct kurc_value *chars;
    if (tmpl_arg(rt, line, a[0], &chars) < 0)
        return -1;
    if (chars && chars->kind != KURC_NULL && chars->kind != KURC_STR)
        return tmpl_fail(rt->diag, line, "strip arg must be None or str");
    bool have = chars && chars->kind == KURC_STR;
    struct kurc_value *s = tmpl_str_value(val->v);
    size_t b, e;
    tmpl_strip(s->u.str.s, s->u.str.len, have ? chars->u.str.s : NULL, have ? chars->u.str.len : 0,
               true, true, &b, &e);
    tv_own(out, kurc_value_strn(s->u.str.s + b, e - b, NULL));
    kurc_value_free(s);
    return 0;
}

static int f_wordcount(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                       struct tv *out) {
    (void)rt, (void)line, (void)a, (void)args;
    struct kurc_value *s = tmpl_str_value(val->v);
    int64_t words = 0;
    bool in_word = false;
    for (size_t i = 0; i < s->u.str.len;) {
        uint32_t cp;
        i = kurc_utf8_next(s->u.str.s, s->u.str.len, i, &cp);
        bool w = (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                 cp == '_' || (cp >= 0x80 && !tmpl_py_space(cp));
        words += w && !in_word;
        in_word = w;
    }
    kurc_value_free(s);
    tv_own(out, kurc_value_int(words, NULL));
    return 0;
}

static int f_tojson(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                    struct tv *out) {
    (void)args;
    const struct kurc_value *ind;
    if (tmpl_arg(rt, line, a[0], &ind) < 0)
        return -1;
    char *indent = NULL;
    if (ind && (ind->kind == KURC_INT || ind->kind == KURC_BOOL)) {
        int64_t n = ind->kind == KURC_INT ? ind->u.i : ind->u.b;
        if (n > 1000)
            return tmpl_fail(rt->diag, line, "tojson indent %lld is too large", (long long)n);
        indent = kurc_xcalloc((size_t)(n > 0 ? n : 0) + 1, 1);
        memset(indent, ' ', (size_t)(n > 0 ? n : 0));
    } else if (ind && ind->kind == KURC_STR) {
        indent = kurc_xstrdup(ind->u.str.s);
    } else if (ind && ind->kind != KURC_NULL) {
        return tmpl_fail(rt->diag, line, "tojson indent must be an integer or a string");
    }
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    const char *bad = NULL;
    int rc = tmpl_json(val->v, indent, &sb, &bad);
    free(indent);
    if (rc < 0) {
        kurc_strbuf_free(&sb);
        return tmpl_fail(rt->diag, line, "Object of type %s is not JSON serializable", bad);
    }
    if (tmpl_check_size(rt, line, sb.len) < 0) {
        kurc_strbuf_free(&sb);
        return -1;
    }
    own_str(out, &sb);
    return 0;
}

/* ---- numbers --------------------------------------------------------------- */

/* Python's round(float, ndigits) for ndigits < 0: round half to even at
 * 10**-ndigits, done on the exact decimal digits of the value. */
static double round_negative(double x, int64_t ndigits) {
    double ax = fabs(x);
    bool frac = ax != floor(ax);
    int n = snprintf(NULL, 0, "%.0f", floor(ax));
    char *d = kurc_xmalloc((size_t)n + 2);
    snprintf(d + 1, (size_t)n + 1, "%.0f", floor(ax));
    d[0] = '0';
    size_t len = (size_t)n + 1, k = (size_t)-ndigits;
    double r;
    if (k >= len) {
        r = 0.0;
    } else {
        size_t cut = len - k;
        bool up = d[cut] > '5';
        if (d[cut] == '5') {
            bool rest = frac;
            for (size_t i = cut + 1; i < len; i++)
                rest |= d[i] != '0';
            up = rest || (d[cut - 1] - '0') % 2 == 1;
        }
        for (size_t i = cut; i < len; i++)
            d[i] = '0';
        for (size_t i = cut; up && i-- > 0;) {
            if (d[i] == '9') {
                d[i] = '0';
            } else {
                d[i]++;
                up = false;
            }
        }
        r = strtod(d, NULL);
    }
    free(d);
    return copysign(r, x);
}

static int round_common(struct rt *rt, int line, const struct kurc_value *v, int64_t prec,
                        struct tv *out) {
    if (v->kind != KURC_FLOAT) {
        int64_t x = v->kind == KURC_INT ? v->u.i : v->u.b;
        if (prec < 0) {
            int64_t m = 1;
            for (int64_t i = 0; i < -prec && m <= INT64_MAX / 10; i++)
                m *= 10;
            bool beyond = -prec > 18;
            int64_t q = beyond ? 0 : x / m, r = beyond ? x : x % m;
            if (r < 0) {
                q--;
                r += m;
            }
            if (!beyond && (r > m - r || (r == m - r && q % 2 != 0)))
                q++;
            if (!beyond && __builtin_mul_overflow(q, m, &x))
                return tmpl_fail(rt->diag, line, "integer overflow");
            if (beyond)
                x = 0;
        }
        tv_own(out, kurc_value_int(x, NULL));
        return 0;
    }
    double x = v->u.f, r;
    if (!isfinite(x) || prec > 323) {
        r = x;
    } else if (prec < -308) {
        r = copysign(0.0, x);
    } else if (prec < 0) {
        r = round_negative(x, prec);
    } else {
        int n = snprintf(NULL, 0, "%.*f", (int)prec, x);
        char *buf = kurc_xmalloc((size_t)n + 1);
        snprintf(buf, (size_t)n + 1, "%.*f", (int)prec, x);
        r = strtod(buf, NULL);
        free(buf);
    }
    tv_own(out, kurc_value_float(r, NULL));
    return 0;
}

static int f_round(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                   struct tv *out) {
    (void)args;
    int64_t prec;
    const struct kurc_value *method;
    if (int_arg(rt, line, a[0], "round", 0, &prec) < 0 || tmpl_arg(rt, line, a[1], &method) < 0)
        return -1;
    const char *m = method && method->kind == KURC_STR ? method->u.str.s : method ? "" : "common";
    bool ceil_ = strcmp(m, "ceil") == 0, floor_ = strcmp(m, "floor") == 0;
    if (!ceil_ && !floor_ && strcmp(m, "common") != 0)
        return tmpl_fail(rt->diag, line, "method must be common, ceil or floor");
    const struct kurc_value *v = val->v;
    if (!tmpl_is_number(v))
        return tmpl_fail(rt->diag, line, "type %s doesn't define __round__ method",
                         tmpl_type_name(v));
    if (!ceil_ && !floor_)
        return round_common(rt, line, v, prec, out);
    double scale = pow(10.0, (double)prec);
    double x = tmpl_num(v) * scale;
    if (isinf(x))
        return tmpl_fail(rt->diag, line, "cannot convert float infinity to integer");
    if (isnan(x))
        return tmpl_fail(rt->diag, line, "cannot convert float NaN to integer");
    tv_own(out, kurc_value_float((ceil_ ? ceil(x) : floor(x)) / scale, NULL));
    return 0;
}

static int f_sum(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                 struct tv *out) {
    (void)args;
    char *attr;
    const struct kurc_value *start;
    struct kurc_value **items, *owner;
    size_t n;
    if (tmpl_arg(rt, line, a[1], &start) < 0 || attr_arg(rt, line, a[0], &attr) < 0)
        return -1;
    if (tmpl_iterate(rt, line, val->v, &items, &n, &owner) < 0) {
        free(attr);
        return -1;
    }
    struct tv acc;
    tv_own(&acc, start ? kurc_value_copy(start) : kurc_value_int(0, NULL));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct kurc_value *item;
        struct tv next;
        if ((rc = item_key(rt, line, items[i], attr, false, false, &item)) < 0)
            break;
        rc = tmpl_binop(rt, line, T_ADD, acc.v, item, &next);
        kurc_value_free(item);
        if (rc == 0) {
            tv_free(&acc);
            tv_move(&acc, &next);
        }
    }
    kurc_value_free(owner);
    free(attr);
    if (rc < 0) {
        tv_free(&acc);
        return -1;
    }
    tv_move(out, &acc);
    return 0;
}

/* ---- sorting and picking ------------------------------------------------- */

/* Items of val with their keys (attribute, case folding). */
static int keyed_items(struct rt *rt, int line, const struct kurc_value *v, struct tv *attr_slot,
                       bool multi, bool case_sensitive, struct kurc_value **list,
                       struct kurc_value ***keys) {
    char *attr;
    if (attr_arg(rt, line, attr_slot, &attr) < 0)
        return -1;
    if (tmpl_to_list(rt, line, v, list) < 0) {
        free(attr);
        return -1;
    }
    size_t n = (*list)->u.list.len;
    *keys = kurc_xcalloc(n ? n : 1, sizeof **keys);
    for (size_t i = 0; i < n; i++)
        if (item_key(rt, line, (*list)->u.list.items[i], attr, multi, !case_sensitive,
                     &(*keys)[i]) < 0) {
            for (size_t k = 0; k < i; k++)
                kurc_value_free((*keys)[k]);
            free(*keys);
            kurc_value_free(*list);
            free(attr);
            return -1;
        }
    free(attr);
    return 0;
}

static void free_keys(struct kurc_value **keys, size_t n) {
    for (size_t i = 0; i < n; i++)
        kurc_value_free(keys[i]);
    free(keys);
}

static int f_sort(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                  struct tv *out) {
    (void)args;
    bool reverse, case_sensitive;
    struct kurc_value *list, **keys;
    if (flag_arg(rt, line, a[0], &reverse) < 0 || flag_arg(rt, line, a[1], &case_sensitive) < 0 ||
        keyed_items(rt, line, val->v, a[2], true, case_sensitive, &list, &keys) < 0)
        return -1;
    size_t n = list->u.list.len;
    int rc = tmpl_sort(rt, line, list->u.list.items, keys, n, reverse);
    free_keys(keys, n);
    list->loc.file = NULL;
    if (rc < 0)
        kurc_value_free(list);
    else
        tv_own(out, list);
    return rc;
}

static int f_dictsort(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                      struct tv *out) {
    (void)args;
    bool case_sensitive, reverse;
    const struct kurc_value *by;
    if (flag_arg(rt, line, a[0], &case_sensitive) < 0 || tmpl_arg(rt, line, a[1], &by) < 0 ||
        flag_arg(rt, line, a[2], &reverse) < 0)
        return -1;
    int pos = !by || (by->kind == KURC_STR && strcmp(by->u.str.s, "key") == 0) ? 0
              : by->kind == KURC_STR && strcmp(by->u.str.s, "value") == 0      ? 1
                                                                               : -1;
    if (pos < 0)
        return tmpl_fail(rt->diag, line, "You can only sort by either \"key\" or \"value\"");
    const struct kurc_value *v = val->v;
    if (tmpl_pytype(v) != PT_DICT)
        return tmpl_fail(rt->diag, line, "'%s' object has no attribute 'items'", tmpl_type_name(v));
    size_t n = v->u.map.len;
    struct kurc_value *list = kurc_value_list(NULL);
    struct kurc_value **keys = kurc_xcalloc(n ? n : 1, sizeof *keys);
    for (size_t i = 0; i < n; i++) {
        struct kurc_value *pair = tmpl_new_seq(PT_TUPLE);
        kurc_list_append(pair, kurc_value_str(v->u.map.pairs[i].key, NULL));
        kurc_list_append(pair, kurc_value_copy(v->u.map.pairs[i].val));
        kurc_list_append(list, pair);
        item_key(rt, line, pair->u.list.items[pos], NULL, false, !case_sensitive, &keys[i]);
    }
    int rc = tmpl_sort(rt, line, list->u.list.items, keys, n, reverse);
    free_keys(keys, n);
    if (rc < 0)
        kurc_value_free(list);
    else
        tv_own(out, list);
    return rc;
}

/* A hash consistent with tmpl_equal, for unique; fails on unhashable
 * values as Python does. */
static int hash_value(struct rt *rt, int line, const struct kurc_value *v, uint64_t *h) {
    enum pytype t = tmpl_pytype(v);
    double f;
    switch (t) {
    case PT_NONE:
        *h = 0x9e3779b97f4a7c15u;
        return 0;
    case PT_BOOL:
    case PT_INT:
        *h = (uint64_t)(v->kind == KURC_INT ? v->u.i : v->u.b) * 0x100000001b3u;
        return 0;
    case PT_FLOAT:
        f = v->u.f;
        if (f == floor(f) && f >= -9223372036854775808.0 && f < 9223372036854775808.0)
            *h = (uint64_t)(int64_t)f * 0x100000001b3u;
        else
            memcpy(h, &f, sizeof f);
        return 0;
    case PT_STR:
        *h = 0xcbf29ce484222325u;
        for (size_t i = 0; i < v->u.str.len; i++)
            *h = (*h ^ (unsigned char)v->u.str.s[i]) * 0x100000001b3u;
        return 0;
    case PT_TUPLE:
        *h = 0x345678u;
        for (size_t i = 0; i < v->u.list.len; i++) {
            uint64_t x;
            if (hash_value(rt, line, v->u.list.items[i], &x) < 0)
                return -1;
            *h = (*h ^ x) * 0x100000001b3u;
        }
        return 0;
    default:
        return tmpl_fail(rt->diag, line, "unhashable type: '%s'", tmpl_pytype_name(t));
    }
}

static int f_unique(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                    struct tv *out) {
    (void)args;
    bool case_sensitive;
    struct kurc_value *list, **keys;
    if (flag_arg(rt, line, a[0], &case_sensitive) < 0 ||
        keyed_items(rt, line, val->v, a[1], false, case_sensitive, &list, &keys) < 0)
        return -1;
    size_t n = list->u.list.len, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    size_t *table = kurc_xmalloc(cap * sizeof *table); /* index + 1 of a kept item */
    memset(table, 0, cap * sizeof *table);
    struct kurc_value *res = kurc_value_list(NULL);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t h;
        if ((rc = hash_value(rt, line, keys[i], &h)) < 0)
            break;
        size_t slot = (size_t)(h ^ h >> 29) & (cap - 1);
        bool seen = false;
        while (table[slot] && !seen) {
            seen = tmpl_equal(keys[table[slot] - 1], keys[i]);
            slot = (slot + 1) & (cap - 1);
        }
        if (!seen) {
            table[slot] = i + 1;
            kurc_list_append(res, kurc_value_copy(list->u.list.items[i]));
        }
    }
    free(table);
    free_keys(keys, n);
    kurc_value_free(list);
    if (rc < 0)
        kurc_value_free(res);
    else
        tv_own(out, res);
    return rc;
}

static int min_max(struct rt *rt, int line, struct tv *val, struct tv **a, bool max,
                   struct tv *out) {
    bool case_sensitive;
    struct kurc_value *list, **keys;
    if (flag_arg(rt, line, a[0], &case_sensitive) < 0 ||
        keyed_items(rt, line, val->v, a[1], false, case_sensitive, &list, &keys) < 0)
        return -1;
    size_t n = list->u.list.len, best = 0;
    int rc = 0;
    for (size_t i = 1; rc == 0 && i < n; i++) {
        bool better = false;
        rc = tmpl_order(rt, line, max ? CMP_GT : CMP_LT, keys[i], keys[best], &better);
        if (better)
            best = i;
    }
    if (rc == 0 && n == 0)
        tv_undef(out, "No aggregated item, sequence was empty.");
    else if (rc == 0)
        tv_own(out, kurc_value_copy(list->u.list.items[best]));
    free_keys(keys, n);
    kurc_value_free(list);
    return rc;
}

static int f_max(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                 struct tv *out) {
    (void)args;
    return min_max(rt, line, val, a, true, out);
}

static int f_min(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                 struct tv *out) {
    (void)args;
    return min_max(rt, line, val, a, false, out);
}

/* ---- filters that call filters and tests ----------------------------------- */

/* args without its first `skip` positional arguments (borrowed views). */
static struct targs rest_args(struct targs *args, size_t skip) {
    struct targs r = *args;
    r.pos += skip;
    r.npos -= skip;
    return r;
}

static int f_map(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                 struct tv *out) {
    (void)a;
    const char *attr = NULL;
    struct tv *dflt = NULL;
    if (args->npos == 0) {
        for (size_t k = 0; k < args->nkw; k++) {
            if (strcmp(args->kwnames[k], "attribute") == 0 && args->kw[k].v &&
                args->kw[k].v->kind == KURC_STR)
                attr = args->kw[k].v->u.str.s;
            else if (strcmp(args->kwnames[k], "default") == 0)
                dflt = &args->kw[k];
            else if (strcmp(args->kwnames[k], "attribute") != 0)
                return tmpl_fail(rt->diag, line, "Unexpected keyword argument '%s'",
                                 args->kwnames[k]);
        }
        if (!attr)
            return tmpl_fail(rt->diag, line, "map requires a filter argument");
    } else if (tmpl_need(rt, line, &args->pos[0]) < 0) {
        return -1;
    } else if (args->pos[0].v->kind != KURC_STR) {
        return tmpl_fail(rt->diag, line, "map: the filter name must be a string");
    }
    if (dflt && tmpl_need(rt, line, dflt) < 0)
        return -1;
    struct kurc_value **items, *owner;
    size_t n;
    if (tmpl_iterate(rt, line, val->v, &items, &n, &owner) < 0)
        return -1;
    struct kurc_value *res = kurc_value_list(NULL);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct tv item, r = {0};
        if (attr) {
            rc = tmpl_getpath(rt, line, items[i], attr, &r);
            if (rc == 0 && tv_is_undef(&r) && dflt) {
                tv_free(&r);
                tv_borrow(&r, dflt->v);
            }
        } else {
            struct targs rest = rest_args(args, 1);
            tv_borrow(&item, items[i]);
            rc = tmpl_filter(rt, line, args->pos[0].v->u.str.s, &item, &rest, &r);
        }
        if (rc == 0)
            rc = tmpl_need(rt, line, &r);
        if (rc == 0)
            kurc_list_append(res, tv_take(&r));
        else
            tv_free(&r);
    }
    kurc_value_free(owner);
    if (rc < 0)
        kurc_value_free(res);
    else
        tv_own(out, res);
    return rc;
}

/* select, reject, selectattr, rejectattr. */
static int select_items(struct rt *rt, int line, struct tv *val, struct targs *args, bool attr,
                        bool keep, struct tv *out) {
    size_t skip = attr ? 1 : 0;
    const char *path = NULL, *test = NULL;
    if (attr) {
        if (args->npos < 1)
            return tmpl_fail(rt->diag, line, "Missing parameter for attribute name");
        if (tmpl_need(rt, line, &args->pos[0]) < 0)
            return -1;
        if (args->pos[0].v->kind != KURC_STR)
            return tmpl_fail(rt->diag, line, "attribute name must be a string");
        path = args->pos[0].v->u.str.s;
    }
    if (args->npos > skip) {
        if (tmpl_need(rt, line, &args->pos[skip]) < 0)
            return -1;
        if (args->pos[skip].v->kind != KURC_STR)
            return tmpl_fail(rt->diag, line, "the test name must be a string");
        test = args->pos[skip].v->u.str.s;
    }
    struct kurc_value **items, *owner;
    size_t n;
    if (tmpl_iterate(rt, line, val->v, &items, &n, &owner) < 0)
        return -1;
    struct kurc_value *res = kurc_value_list(NULL);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct tv subject;
        bool pass = false;
        if (path)
            rc = tmpl_getpath(rt, line, items[i], path, &subject);
        else
            tv_borrow(&subject, items[i]);
        if (rc == 0 && test) {
            struct targs rest = rest_args(args, skip + 1);
            rc = tmpl_test(rt, line, test, &subject, &rest, &pass);
        } else if (rc == 0) {
            pass = subject.v ? kurc_value_truthy(subject.v) : subject.fn != FN_NONE;
        }
        tv_free(&subject);
        if (rc == 0 && pass == keep)
            kurc_list_append(res, kurc_value_copy(items[i]));
    }
    kurc_value_free(owner);
    if (rc < 0)
        kurc_value_free(res);
    else
        tv_own(out, res);
    return rc;
}

/* select, reject, selectattr and rejectattr: one filter each over select_items */
#define SELECT_FILTER(name, by_attr, keep)                                                         \
    static int name(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,    \
                    struct tv *out) {                                                              \
        (void)a;                                                                                   \
        return select_items(rt, line, val, args, by_attr, keep, out);                              \
    }
SELECT_FILTER(f_select, false, true)
SELECT_FILTER(f_reject, false, false)
SELECT_FILTER(f_selectattr, true, true)
SELECT_FILTER(f_rejectattr, true, false)
#undef SELECT_FILTER

static int f_format(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                    struct tv *out) {
    (void)a;
    if (args->npos && args->nkw)
        return tmpl_fail(rt->diag, line,
                         "can't handle positional and keyword arguments at the same time");
    struct kurc_value *params = args->nkw ? kurc_value_map(NULL) : tmpl_new_seq(PT_TUPLE);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < args->npos; i++)
        if ((rc = tmpl_need(rt, line, &args->pos[i])) == 0)
            kurc_list_append(params, kurc_value_copy(args->pos[i].v));
    for (size_t i = 0; rc == 0 && i < args->nkw; i++)
        if ((rc = tmpl_need(rt, line, &args->kw[i])) == 0)
            kurc_map_set(params, args->kwnames[i], NULL, kurc_value_copy(args->kw[i].v));
    if (rc == 0) {
        struct kurc_value *fmt = tmpl_str_value(val->v);
        rc = tmpl_percent(rt, line, fmt, params, out);
        kurc_value_free(fmt);
    }
    kurc_value_free(params);
    return rc;
}

/* ---- Kur's filters ------------------------------------------------------------ */

static int path_arg(struct rt *rt, int line, const struct kurc_value *v) {
    if (v->kind != KURC_STR)
        return tmpl_fail(rt->diag, line, "expected str, bytes or os.PathLike object, not %s",
                         tmpl_type_name(v));
    return 0;
}

static int f_basename(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                      struct tv *out) {
    (void)a, (void)args;
    const struct kurc_value *v = val->v;
    if (path_arg(rt, line, v) < 0)
        return -1;
    const char *slash = strrchr(v->u.str.s, '/');
    size_t start = slash ? (size_t)(slash - v->u.str.s) + 1 : 0;
    tv_own(out, kurc_value_strn(v->u.str.s + start, v->u.str.len - start, NULL));
    return 0;
}

static int f_dirname(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                     struct tv *out) {
    (void)a, (void)args;
    const struct kurc_value *v = val->v;
    if (path_arg(rt, line, v) < 0)
        return -1;
    const char *slash = strrchr(v->u.str.s, '/');
    size_t end = slash ? (size_t)(slash - v->u.str.s) + 1 : 0, all = 0;
    while (all < end && v->u.str.s[all] == '/')
        all++;
    if (all < end) /* not only slashes: drop the trailing ones */
        while (end > 0 && v->u.str.s[end - 1] == '/')
            end--;
    tv_own(out, kurc_value_strn(v->u.str.s, end, NULL));
    return 0;
}

static int f_splitext(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                      struct tv *out) {
    (void)a, (void)args;
    const struct kurc_value *v = val->v;
    if (path_arg(rt, line, v) < 0)
        return -1;
    const char *s = v->u.str.s, *slash = strrchr(s, '/'), *dot = strrchr(s, '.');
    size_t split = v->u.str.len;
    if (dot && (!slash || dot > slash)) {
        /* a name made of leading dots only (".bashrc") has no extension */
        for (const char *p = slash ? slash + 1 : s; p < dot; p++)
            if (*p != '.') {
                split = (size_t)(dot - s);
                break;
            }
    }
    struct kurc_value *t = tmpl_new_seq(PT_TUPLE);
    kurc_list_append(t, kurc_value_strn(s, split, NULL));
    kurc_list_append(t, kurc_value_strn(s + split, v->u.str.len - split, NULL));
    tv_own(out, t);
    return 0;
}

/* dict(x) for a mapping or a list of pairs, merged into m. */
static int merge_into(struct rt *rt, int line, struct kurc_value *m, const struct kurc_value *x) {
    if (tmpl_pytype(x) == PT_DICT) {
        for (size_t i = 0; i < x->u.map.len; i++)
            kurc_map_set(m, x->u.map.pairs[i].key, NULL, kurc_value_copy(x->u.map.pairs[i].val));
        return 0;
    }
    struct kurc_value **items, *owner;
    size_t n;
    if (tmpl_pytype(x) == PT_STR || tmpl_iterate(rt, line, x, &items, &n, &owner) < 0)
        return tmpl_fail(rt->diag, line, "cannot convert %s to a dictionary", tmpl_type_name(x));
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct kurc_value *p = items[i];
        enum pytype t = tmpl_pytype(p);
        if ((t != PT_LIST && t != PT_TUPLE) || p->u.list.len != 2)
            rc = tmpl_fail(rt->diag, line, "dictionary update sequence element #%zu is not a pair",
                           i);
        else if (p->u.list.items[0]->kind != KURC_STR)
            rc = tmpl_fail(rt->diag, line,
                           "dictionary keys must be strings in kurc templates, not %s",
                           tmpl_type_name(p->u.list.items[0]));
        else
            kurc_map_set(m, p->u.list.items[0]->u.str.s, NULL, kurc_value_copy(p->u.list.items[1]));
    }
    kurc_value_free(owner);
    return rc;
}

static int f_combine(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                     struct tv *out) {
    (void)args;
    const struct kurc_value *update;
    if (tmpl_arg(rt, line, a[0], &update) < 0)
        return -1;
    struct kurc_value *m = kurc_value_map(NULL);
    int rc = merge_into(rt, line, m, val->v);
    if (rc == 0 && update && kurc_value_truthy(update))
        rc = merge_into(rt, line, m, update);
    if (rc < 0)
        kurc_value_free(m);
    else
        tv_own(out, m);
    return rc;
}

static int f_as_dict(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                     struct tv *out) {
    (void)args;
    const struct kurc_value *key;
    if (tmpl_arg(rt, line, a[0], &key) < 0)
        return -1;
    if (key->kind != KURC_STR)
        return tmpl_fail(rt->diag, line,
                         "dictionary keys must be strings in kurc templates, not %s",
                         tmpl_type_name(key));
    struct kurc_value *m = kurc_value_map(NULL);
    kurc_map_set(m, key->u.str.s, NULL, tv_take(val));
    tv_own(out, m);
    return 0;
}

static int f_ternary(struct rt *rt, int line, struct tv *val, struct tv **a, struct targs *args,
                     struct tv *out) {
    (void)rt, (void)line, (void)args;
    bool yes = val->v ? kurc_value_truthy(val->v) : val->fn != FN_NONE;
    tv_move(out, a[yes ? 0 : 1]);
    return 0;
}

static const struct filter filters[] = {
    {"abs", f_abs, 0, 0, {NULL}},
    {"as_dict", f_as_dict, 0, 1, {"key"}},
    {"attr", f_attr, 0, 1, {"name"}},
    {"basename", f_basename, 0, 0, {NULL}},
    {"capitalize", f_capitalize, 0, 0, {NULL}},
    {"center", f_center, 0, 0, {"width"}},
    {"combine", f_combine, 0, 0, {"new"}},
    {"count", f_length, 0, 0, {NULL}},
    {"d", f_default, F_UNDEF, 0, {"default_value", "boolean"}},
    {"default", f_default, F_UNDEF, 0, {"default_value", "boolean"}},
    {"dictsort", f_dictsort, 0, 0, {"case_sensitive", "by", "reverse"}},
    {"dirname", f_dirname, 0, 0, {NULL}},
    {"e", f_escape, 0, 0, {NULL}},
    {"escape", f_escape, 0, 0, {NULL}},
    {"first", f_first, 0, 0, {NULL}},
    {"float", f_float, 0, 0, {"default"}},
    {"format", f_format, F_VARARGS, 0, {NULL}},
    {"int", f_int, 0, 0, {"default", "base"}},
    {"items", f_items, 0, 0, {NULL}},
    {"join", f_join, 0, 0, {"d", "attribute"}},
    {"last", f_last, 0, 0, {NULL}},
    {"length", f_length, 0, 0, {NULL}},
    {"list", f_list, 0, 0, {NULL}},
    {"lower", f_lower, 0, 0, {NULL}},
    {"map", f_map, F_VARARGS, 0, {NULL}},
    {"max", f_max, 0, 0, {"case_sensitive", "attribute"}},
    {"min", f_min, 0, 0, {"case_sensitive", "attribute"}},
    {"reject", f_reject, F_VARARGS, 0, {NULL}},
    {"rejectattr", f_rejectattr, F_VARARGS, 0, {NULL}},
    {"replace", f_replace, 0, 2, {"old", "new", "count"}},
    {"reverse", f_reverse, 0, 0, {NULL}},
    {"round", f_round, 0, 0, {"precision", "method"}},
    {"safe", f_safe, 0, 0, {NULL}},
    {"select", f_select, F_VARARGS, 0, {NULL}},
    {"selectattr", f_selectattr, F_VARARGS, 0, {NULL}},
    {"sort", f_sort, 0, 0, {"reverse", "case_sensitive", "attribute"}},
    {"splitext", f_splitext, 0, 0, {NULL}},
    {"string", f_string, 0, 0, {NULL}},
    {"sum", f_sum, 0, 0, {"attribute", "start"}},
    {"ternary", f_ternary, F_UNDEF, 2, {"true_value", "false_value"}},
    {"title", f_title, 0, 0, {NULL}},
    {"tojson", f_tojson, 0, 0, {"indent"}},
    {"trim", f_trim, 0, 0, {"chars"}},
    {"unique", f_unique, 0, 0, {"case_sensitive", "attribute"}},
    {"upper", f_upper, 0, 0, {NULL}},
    {"wordcount", f_wordcount, 0, 0, {NULL}},
};

/* Stock Jinja filters kurc leaves out. */
static const char *const missing[] = {
    "batch", "filesizeformat", "forceescape", "groupby",   "indent", "pprint",   "random",
    "slice", "striptags",      "truncate",    "urlencode", "urlize", "wordwrap", "xmlattr",
};

static const struct filter *find(const char *name) {
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (strcmp(filters[i].name, name) == 0)
            return &filters[i];
    return NULL;
}

int tmpl_no_filter(struct tmpl_diag *diag, int line, const char *name) {
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        if (strcmp(missing[i], name) == 0)
            return tmpl_fail(diag, line, "filter '%s' is not supported by kurc", name);
    return tmpl_fail(diag, line, "no filter named '%s'", name);
}

bool tmpl_filter_exists(const char *name) {
    return find(name) != NULL;
}

int tmpl_filter(struct rt *rt, int line, const char *name, struct tv *val, struct targs *args,
                struct tv *out) {
    const struct filter *f = find(name);
    if (!f)
        return tmpl_no_filter(rt->diag, line, name);
    if (!(f->flags & F_UNDEF) && tmpl_need(rt, line, val) < 0)
        return -1;
    struct tv *slots[4] = {NULL, NULL, NULL, NULL};
    if (!(f->flags & F_VARARGS)) {
        size_t nparams = 0;
        while (nparams < 4 && f->params[nparams])
            nparams++;
        char what[64];
        snprintf(what, sizeof what, "filter '%s'", name);
        if (tmpl_bind(rt, line, what, f->params, nparams, f->nreq, args, slots) < 0)
            return -1;
    }
    return f->fn(rt, line, val, slots, args, out);
}
