/* template_calls.c - the globals templates can call (range, dict,
 * gpu_count, load_json, load_yaml) and the few Python methods kurc lets
 * them call on values (dict get/keys/values/items; str upper, lower,
 * strip, lstrip, rstrip, split, startswith, endswith, replace; loop.cycle).
 */
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"

enum tmpl_fn tmpl_global(const char *name) {
    static const struct {
        const char *name;
        enum tmpl_fn fn;
    } globals[] = {
        {"range", FN_RANGE},         {"dict", FN_DICT},           {"gpu_count", FN_GPU_COUNT},
        {"load_json", FN_LOAD_JSON}, {"load_yaml", FN_LOAD_YAML}, {"lipsum", FN_UNSUPPORTED},
        {"cycler", FN_UNSUPPORTED},  {"joiner", FN_UNSUPPORTED},  {"namespace", FN_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++)
        if (strcmp(globals[i].name, name) == 0)
            return globals[i].fn;
    return FN_NONE;
}

/* Fails unless every argument is positional and defined, and there are
 * between min and max of them. */
static int positional(struct rt *rt, int line, const char *what, struct targs *args, size_t min,
                      size_t max) {
    if (args->nkw)
        return tmpl_fail(rt->diag, line, "%s takes no keyword arguments", what);
    if (args->npos < min)
        return tmpl_fail(rt->diag, line, "%s expected at least %zu argument%s, got %zu", what, min,
                         min == 1 ? "" : "s", args->npos);
    if (args->npos > max)
        return tmpl_fail(rt->diag, line, "%s expected at most %zu argument%s, got %zu", what, max,
                         max == 1 ? "" : "s", args->npos);
    for (size_t i = 0; i < args->npos; i++)
        if (tmpl_need(rt, line, &args->pos[i]) < 0)
            return -1;
    return 0;
}

static int call_range(struct rt *rt, int line, struct targs *args, struct tv *out) {
    int64_t v[3] = {0, 0, 1};
    if (positional(rt, line, "range", args, 1, 3) < 0)
        return -1;
    for (size_t i = 0; i < args->npos; i++)
        if (tmpl_int_of(rt, line, args->pos[i].v, "range()", &v[args->npos == 1 ? 1 : i]) < 0)
            return -1;
    if (v[2] == 0)
        return tmpl_fail(rt->diag, line, "range() arg 3 must not be zero");
    /* the count in unsigned arithmetic, which cannot overflow here */
    uint64_t count = 0;
    if (v[2] > 0 && v[1] > v[0])
        count = ((uint64_t)v[1] - (uint64_t)v[0] - 1) / (uint64_t)v[2] + 1;
    else if (v[2] < 0 && v[0] > v[1])
        count = ((uint64_t)v[0] - (uint64_t)v[1] - 1) / (0 - (uint64_t)v[2]) + 1;
    if (count > TMPL_MAX_SIZE)
        return tmpl_check_size(rt, line, (size_t)TMPL_MAX_SIZE + 1);
    struct kurc_value *l = kurc_value_list(NULL);
    for (uint64_t i = 0; i < count; i++)
        kurc_list_append(l, kurc_value_int((int64_t)((uint64_t)v[0] + i * (uint64_t)v[2]), NULL));
    tv_own(out, l);
    return 0;
}

static int call_dict(struct rt *rt, int line, struct targs *args, struct tv *out) {
    if (args->npos > 1)
        return tmpl_fail(rt->diag, line, "dict expected at most 1 argument, got %zu", args->npos);
    struct kurc_value *m;
    if (args->npos) {
        /* dict(x) is the combine filter without an update */
        const struct kurc_value *src;
        struct tv tmp, res;
        struct targs none = {0};
        if (tmpl_arg(rt, line, &args->pos[0], &src) < 0)
            return -1;
        tv_borrow(&tmp, src);
        if (tmpl_filter(rt, line, "combine", &tmp, &none, &res) < 0)
            return -1;
        m = tv_take(&res);
    } else {
        m = kurc_value_map(NULL);
    }
    for (size_t i = 0; i < args->nkw; i++) {
        if (tmpl_need(rt, line, &args->kw[i]) < 0) {
            kurc_value_free(m);
            return -1;
        }
        kurc_map_set(m, args->kwnames[i], NULL, kurc_value_copy(args->kw[i].v));
    }
    tv_own(out, m);
    return 0;
}

static int call_load(struct rt *rt, int line, int is_yaml, struct targs *args, struct tv *out) {
    static const char *const params[] = {"path", "use_cache"};
    const char *what = is_yaml ? "load_yaml()" : "load_json()";
    struct tv *slots[2];
    const struct kurc_value *path, *use_cache;
    if (tmpl_bind(rt, line, what, params, 2, 1, args, slots) < 0 ||
        tmpl_arg(rt, line, slots[0], &path) < 0 || tmpl_arg(rt, line, slots[1], &use_cache) < 0)
        return -1;
    if (path->kind != KURC_STR)
        return tmpl_fail(rt->diag, line, "%s: the path must be a string, not %s", what,
                         tmpl_type_name(path));
    bool cache = !use_cache || kurc_value_truthy(use_cache);
    for (size_t i = 0; cache && i < rt->nfiles; i++)
        if (rt->files[i].is_yaml == is_yaml && strcmp(rt->files[i].path, path->u.str.s) == 0) {
            tv_borrow(out, rt->files[i].val);
            return 0;
        }
    if (!rt->env || !rt->env->load_file)
        return tmpl_fail(rt->diag, line, "%s cannot load files here", what);
    struct kurc_value *val = NULL;
    struct kurc_err err;
    kurc_err_clear(&err);
    if (rt->env->load_file(rt->env->ctx, path->u.str.s, is_yaml, &val, &err) != KURC_OK) {
        kurc_value_free(val);
        return tmpl_fail(rt->diag, line, "%s could not load '%s': %s", what, path->u.str.s,
                         err.msg);
    }
    if (!cache) {
        tv_own(out, val);
        return 0;
    }
    if (rt->nfiles == rt->capfiles) {
        rt->capfiles = rt->capfiles ? rt->capfiles * 2 : 4;
        rt->files = kurc_xrealloc(rt->files, rt->capfiles * sizeof *rt->files);
    }
    rt->files[rt->nfiles].path = kurc_xstrdup(path->u.str.s);
    rt->files[rt->nfiles].is_yaml = is_yaml;
    rt->files[rt->nfiles].val = val;
    rt->nfiles++;
    tv_borrow(out, val);
    return 0;
}

int tmpl_call_fn(struct rt *rt, int line, const struct tv *fn, struct targs *args, struct tv *out) {
    switch (fn->fn) {
    case FN_RANGE:
        return call_range(rt, line, args, out);
    case FN_DICT:
        return call_dict(rt, line, args, out);
    case FN_GPU_COUNT:
        if (positional(rt, line, "gpu_count()", args, 0, 0) < 0)
            return -1;
        tv_own(out,
               kurc_value_int(rt->env && rt->env->gpu_count ? rt->env->gpu_count(rt->env->ctx) : 0,
                              NULL));
        return 0;
    case FN_LOAD_JSON:
    case FN_LOAD_YAML:
        return call_load(rt, line, fn->fn == FN_LOAD_YAML, args, out);
    default:
        return tmpl_fail(rt->diag, line, "the global '%s' is not supported by kurc", fn->fname);
    }
}

/* ---- methods ---------------------------------------------------------------- */

static int m_dict(struct rt *rt, int line, const struct kurc_value *d, const char *name,
                  struct targs *args, struct tv *out) {
    if (strcmp(name, "get") == 0) {
        if (positional(rt, line, "get", args, 1, 2) < 0)
            return -1;
        const struct kurc_value *key = args->pos[0].v;
        if (key->kind == KURC_LIST || key->kind == KURC_MAP)
            return tmpl_fail(rt->diag, line, "unhashable type: '%s'", tmpl_type_name(key));
        const struct kurc_value *v = key->kind == KURC_STR ? kurc_map_get(d, key->u.str.s) : NULL;
        if (v)
            tv_own(out, kurc_value_copy(v));
        else if (args->npos == 2)
            tv_own(out, kurc_value_copy(args->pos[1].v));
        else
            tv_own(out, kurc_value_null(NULL));
        return 0;
    }
    enum pytype view = strcmp(name, "keys") == 0     ? PT_KEYS
                       : strcmp(name, "values") == 0 ? PT_VALUES
                       : strcmp(name, "items") == 0  ? PT_ITEMS
                                                     : PT_NONE;
    if (view == PT_NONE)
        return 1;
    if (positional(rt, line, name, args, 0, 0) < 0)
        return -1;
    struct kurc_value *l = tmpl_new_seq(view);
    for (size_t i = 0; i < d->u.map.len; i++) {
        const struct kurc_pair *p = &d->u.map.pairs[i];
        if (view == PT_KEYS) {
            kurc_list_append(l, kurc_value_str(p->key, NULL));
        } else if (view == PT_VALUES) {
            kurc_list_append(l, kurc_value_copy(p->val));
        } else {
            struct kurc_value *pair = tmpl_new_seq(PT_TUPLE);
            kurc_list_append(pair, kurc_value_str(p->key, NULL));
            kurc_list_append(pair, kurc_value_copy(p->val));
            kurc_list_append(l, pair);
        }
    }
    tv_own(out, l);
    return 0;
}

/* Python's str.split(sep=None, maxsplit=-1). */
static int str_split(struct rt *rt, int line, const struct kurc_value *s, struct targs *args,
                     struct tv *out) {
    static const char *const params[] = {"sep", "maxsplit"};
    struct tv *slots[2];
    const struct kurc_value *sep, *max_v;
    int64_t max = -1;
    if (tmpl_bind(rt, line, "split", params, 2, 0, args, slots) < 0 ||
        tmpl_arg(rt, line, slots[0], &sep) < 0 || tmpl_arg(rt, line, slots[1], &max_v) < 0)
        return -1;
    if (max_v && tmpl_int_of(rt, line, max_v, "split", &max) < 0)
        return -1;
    if (sep && sep->kind == KURC_NULL)
        sep = NULL;
    if (sep && sep->kind != KURC_STR)
        return tmpl_fail(rt->diag, line, "must be str or None, not %s", tmpl_type_name(sep));
    if (sep && sep->u.str.len == 0)
        return tmpl_fail(rt->diag, line, "empty separator");
    const char *p = s->u.str.s;
    size_t len = s->u.str.len, i = 0;
    struct kurc_value *l = kurc_value_list(NULL);
    if (sep) {
        for (; max != 0; max--) {
            const char *hit = tmpl_find(p + i, len - i, sep->u.str.s, sep->u.str.len);
            if (!hit)
                break;
            kurc_list_append(l, kurc_value_strn(p + i, (size_t)(hit - p) - i, NULL));
            i = (size_t)(hit - p) + sep->u.str.len;
        }
        kurc_list_append(l, kurc_value_strn(p + i, len - i, NULL));
    } else {
        for (;;) {
            i += tmpl_lstrip(p + i, len - i);
            if (i >= len)
                break;
            if (max == 0) {
                kurc_list_append(l, kurc_value_strn(p + i, tmpl_rstrip(p + i, len - i), NULL));
                break;
            }
            size_t end = i;
            while (end < len) {
                uint32_t cp;
                size_t next = kurc_utf8_next(p, len, end, &cp);
                if (tmpl_py_space(cp))
                    break;
                end = next;
            }
            kurc_list_append(l, kurc_value_strn(p + i, end - i, NULL));
            i = end;
            max--;
        }
    }
    tv_own(out, l);
    return 0;
}

/* startswith / endswith with a string or a tuple of strings. */
static int str_affix(struct rt *rt, int line, const struct kurc_value *s, bool start,
                     struct targs *args, struct tv *out) {
    const char *what = start ? "startswith" : "endswith";
    if (positional(rt, line, what, args, 1, 1) < 0)
        return -1;
    const struct kurc_value *a = args->pos[0].v;
    const struct kurc_value *const *cands = &a;
    size_t n = 1;
    if (tmpl_pytype(a) == PT_TUPLE) {
        cands = (const struct kurc_value *const *)a->u.list.items;
        n = a->u.list.len;
    }
    bool res = false;
    for (size_t i = 0; i < n; i++) {
        const struct kurc_value *c = cands[i];
        if (c->kind != KURC_STR)
            return tmpl_fail(rt->diag, line, "%s first arg must be str or a tuple of str, not %s",
                             what, tmpl_type_name(c));
        if (c->u.str.len <= s->u.str.len &&
            memcmp(s->u.str.s + (start ? 0 : s->u.str.len - c->u.str.len), c->u.str.s,
                   c->u.str.len) == 0)
            res = true;
    }
    tv_own(out, kurc_value_bool(res, NULL));
    return 0;
}

static int m_str(struct rt *rt, int line, const struct kurc_value *s, const char *name,
                 struct targs *args, struct tv *out) {
    bool up = strcmp(name, "upper") == 0, low = strcmp(name, "lower") == 0;
    if (up || low) {
        if (positional(rt, line, name, args, 0, 0) < 0)
            return -1;
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        kurc_strbuf_append(&sb, "", 0);
        tmpl_case(s->u.str.s, s->u.str.len, up ? CASE_UPPER : CASE_LOWER, &sb);
        tv_own(out, kurc_value_str_buf(&sb, NULL));
        return 0;
    }
    bool both = strcmp(name, "strip") == 0, left = strcmp(name, "lstrip") == 0,
         right = strcmp(name, "rstrip") == 0;
    if (both || left || right) {
        if (positional(rt, line, name, args, 0, 1) < 0)
            return -1;
        const struct kurc_value *chars = args->npos ? args->pos[0].v : NULL;
        if (chars && chars->kind != KURC_NULL && chars->kind != KURC_STR)
            return tmpl_fail(rt->diag, line, "%s arg must be None or str", name);
        bool have = chars && chars->kind == KURC_STR;
        size_t b, e;
        tmpl_strip(s->u.str.s, s->u.str.len, have ? chars->u.str.s : NULL,
                   have ? chars->u.str.len : 0, both || left, both || right, &b, &e);
        tv_own(out, kurc_value_strn(s->u.str.s + b, e - b, NULL));
        return 0;
    }
    if (strcmp(name, "split") == 0)
        return str_split(rt, line, s, args, out);
    if (strcmp(name, "startswith") == 0 || strcmp(name, "endswith") == 0)
        return str_affix(rt, line, s, name[0] == 's', args, out);
    if (strcmp(name, "replace") == 0) {
        int64_t count = -1;
        if (positional(rt, line, name, args, 2, 3) < 0 ||
            (args->npos == 3 && tmpl_int_of(rt, line, args->pos[2].v, "replace", &count) < 0))
            return -1;
        const struct kurc_value *old = args->pos[0].v, *new_ = args->pos[1].v;
        if (old->kind != KURC_STR || new_->kind != KURC_STR)
            return tmpl_fail(rt->diag, line, "replace arguments must be str");
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        tmpl_replace(s->u.str.s, s->u.str.len, old->u.str.s, old->u.str.len, new_->u.str.s,
                     new_->u.str.len, count, &sb);
        if (tmpl_check_size(rt, line, sb.len) < 0) {
            kurc_strbuf_free(&sb);
            return -1;
        }
        tv_own(out, kurc_value_str_buf(&sb, NULL));
        return 0;
    }
    return 1;
}

static int m_cycle(struct rt *rt, int line, const struct kurc_value *loop, struct targs *args,
                   struct tv *out) {
    if (args->nkw)
        return tmpl_fail(rt->diag, line, "cycle takes no keyword arguments");
    if (args->npos == 0)
        return tmpl_fail(rt->diag, line, "no items for cycling given");
    int64_t index0 = kurc_map_get(loop, "index0")->u.i;
    struct tv *pick = &args->pos[(size_t)index0 % args->npos];
    if (tmpl_need(rt, line, pick) < 0)
        return -1;
    tv_own(out, kurc_value_copy(pick->v));
    return 0;
}

/* Python methods of each type, to tell "not supported" from "no such
 * attribute". */
static const char *const str_methods =
    " capitalize casefold center count encode endswith expandtabs find format format_map index"
    " isalnum isalpha isascii isdecimal isdigit isidentifier islower isnumeric isprintable isspace"
    " istitle isupper join ljust lower lstrip maketrans partition removeprefix removesuffix"
    " replace rfind rindex rjust rpartition rsplit rstrip split splitlines startswith strip"
    " swapcase title translate upper zfill ";
static const char *const dict_methods =
    " clear copy fromkeys get items keys pop popitem setdefault update values ";
static const char *const list_methods =
    " append clear copy count extend index insert pop remove reverse sort ";

static bool listed(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if (p[-1] == ' ' && p[n] == ' ')
            return true;
    return false;
}

int tmpl_call_method(struct rt *rt, int line, const struct kurc_value *obj, const char *name,
                     struct targs *args, struct tv *out) {
    enum pytype t = tmpl_pytype(obj);
    int rc = 1;
    const char *methods = NULL;
    if (t == PT_DICT) {
        rc = m_dict(rt, line, obj, name, args, out);
        methods = dict_methods;
    } else if (t == PT_STR) {
        rc = m_str(rt, line, obj, name, args, out);
        methods = str_methods;
    } else if (t == PT_LIST) {
        methods = list_methods;
    } else if (t == PT_LOOP && strcmp(name, "cycle") == 0) {
        rc = m_cycle(rt, line, obj, args, out);
    }
    if (rc == 1 && methods && listed(methods, name))
        return tmpl_fail(rt->diag, line, "calling method '%s' is not supported", name);
    return rc;
}
