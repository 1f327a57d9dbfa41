/* template_eval.c - runs a parsed template: scopes, expressions,
 * statements.
 *
 * Names resolve innermost first: the template's own variables (set, for
 * targets, loop, with), then the caller's scope, then the globals.  As in
 * Jinja, `for` and `with` bodies get a fresh scope (per iteration for
 * `for`), so what they set does not leak out; `if` does not open a scope.
 *
 * Failed lookups give undefined values, which carry the message to report;
 * using one for anything but a truth test, ==, `is defined` or `default` is
 * an error (Jinja would print nothing).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"

/* ---- runtime values --------------------------------------------------- */

void tv_borrow(struct tv *t, const struct kurc_value *v) {
    memset(t, 0, sizeof *t);
    t->v = v;
}

void tv_own(struct tv *t, struct kurc_value *v) {
    memset(t, 0, sizeof *t);
    t->v = t->own = v;
}

void tv_undef(struct tv *t, const char *fmt, ...) {
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    t->undef = kurc_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(t->undef, (size_t)n + 1, fmt, ap);
    va_end(ap);
}

void tv_free(struct tv *t) {
    kurc_value_free(t->own);
    free(t->undef);
    memset(t, 0, sizeof *t);
}

void tv_move(struct tv *dst, struct tv *src) {
    *dst = *src;
    memset(src, 0, sizeof *src);
}

struct kurc_value *tv_take(struct tv *t) {
    struct kurc_value *v = t->own ? t->own : kurc_value_copy(t->v);
    t->own = NULL;
    tv_free(t);
    return v;
}

bool tv_is_undef(const struct tv *t) {
    return !t->v && t->fn == FN_NONE;
}

int tmpl_need(struct rt *rt, int line, const struct tv *t) {
    if (t->v)
        return 0;
    if (t->fn != FN_NONE)
        return tmpl_fail(rt->diag, line, "function '%s' cannot be used as a value", t->fname);
    return tmpl_fail(rt->diag, line, "%s", t->undef);
}

static bool truthy(const struct tv *t) {
    return t->v ? kurc_value_truthy(t->v) : t->fn != FN_NONE;
}

/* ---- scopes ------------------------------------------------------------ */

/* Opens the scope f (storage owned by the caller). */
static void push_frame(struct rt *rt, struct frame *f) {
    memset(f, 0, sizeof *f);
    f->vars = f->small;
    f->cap = sizeof f->small / sizeof f->small[0];
    f->up = rt->top;
    rt->top = f;
}

static void pop_frame(struct rt *rt) {
    struct frame *f = rt->top;
    rt->top = f->up;
    for (size_t i = 0; i < f->n; i++)
        tv_free(&f->vars[i].val);
    if (f->vars != f->small)
        free(f->vars);
}

/* Binds name in the innermost scope, taking val. */
static void set_var(struct rt *rt, const char *name, struct tv *val) {
    struct frame *f = rt->top;
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->vars[i].name, name) == 0) {
            tv_free(&f->vars[i].val);
            tv_move(&f->vars[i].val, val);
            return;
        }
    if (f->n == f->cap) {
        struct frame_var *grown = kurc_xmalloc(2 * f->cap * sizeof *grown);
        memcpy(grown, f->vars, f->n * sizeof *grown);
        if (f->vars != f->small)
            free(f->vars);
        f->vars = grown;
        f->cap *= 2;
    }
    f->vars[f->n].name = name;
    tv_move(&f->vars[f->n].val, val);
    f->n++;
}

static void lookup(struct rt *rt, const char *name, struct tv *out) {
    for (const struct frame *f = rt->top; f; f = f->up)
        for (size_t i = 0; i < f->n; i++)
            if (strcmp(f->vars[i].name, name) == 0) {
                const struct tv *v = &f->vars[i].val;
                if (v->v)
                    tv_borrow(out, v->v);
                else if (v->fn != FN_NONE)
                    *out = (struct tv){.fn = v->fn, .fname = v->fname};
                else
                    tv_undef(out, "%s", v->undef);
                return;
            }
    const struct kurc_value *v =
        rt->env && rt->env->lookup ? rt->env->lookup(rt->env->ctx, name) : NULL;
    if (v) {
        tv_borrow(out, v);
        return;
    }
    enum tmpl_fn fn = tmpl_global(name);
    if (fn != FN_NONE) {
        memset(out, 0, sizeof *out);
        out->fn = fn;
        out->fname = name;
        return;
    }
    tv_undef(out, "'%s' is undefined", name);
}

/* ---- lookups ----------------------------------------------------------- */

/* The source text of an expression, for messages (shortened if long). */
static char *expr_text(const struct rt *rt, const struct node *n) {
    size_t len = n->end > n->start ? n->end - n->start : 0;
    if (len > 60)
        return kurc_xasprintf("%.57s...", rt->t->src + n->start);
    return kurc_xstrndup(rt->t->src + n->start, len);
}

/* Moves a child of obj into out: stolen when obj owns it, else borrowed. */
static void take_child(struct tv *obj, struct kurc_value **slot, struct tv *out) {
    if (obj->own) {
        tv_own(out, *slot);
        *slot = kurc_value_null(NULL);
    } else {
        tv_borrow(out, *slot);
    }
}

static struct kurc_value **map_slot(const struct kurc_value *map, const char *key) {
    for (size_t i = 0; i < map->u.map.len; i++)
        if (strcmp(map->u.map.pairs[i].key, key) == 0)
            return &map->u.map.pairs[i].val;
    return NULL;
}

/* loop.previtem and loop.nextitem of a running loop: true if name is one
 * of them (and out is set). */
static bool loop_neighbour(const struct rt *rt, const struct kurc_value *obj, const char *name,
                           struct tv *out) {
    bool prev = strcmp(name, "previtem") == 0;
    if (!prev && strcmp(name, "nextitem") != 0)
        return false;
    const struct loop_state *l = rt->loops;
    while (l && l->obj != obj)
        l = l->up;
    if (l && prev && l->i > 0)
        tv_borrow(out, l->items[l->order[l->i - 1]]);
    else if (l && !prev && l->i + 1 < l->n)
        tv_borrow(out, l->items[l->order[l->i + 1]]);
    else
        tv_undef(out, "there is no %s item", prev ? "previous" : "next");
    return true;
}

int tmpl_getattr(struct rt *rt, int line, struct tv *obj, const char *name, const char *expr,
                 struct tv *out) {
    if (tmpl_need(rt, line, obj) < 0)
        return -1;
    enum pytype t = tmpl_pytype(obj->v);
    struct kurc_value **slot = t == PT_DICT || t == PT_LOOP ? map_slot(obj->v, name) : NULL;
    if (slot)
        take_child(obj, slot, out);
    else if (t != PT_LOOP || !loop_neighbour(rt, obj->v, name, out))
        tv_undef(out, "'%s' has no attribute '%s'", expr, name);
    return 0;
}

static int tmpl_getitem(struct rt *rt, int line, struct tv *obj, const struct kurc_value *key,
                        const char *expr, struct tv *out) {
    if (tmpl_need(rt, line, obj) < 0)
        return -1;
    enum pytype t = tmpl_pytype(obj->v);
    const struct kurc_value *v = obj->v;
    if (t == PT_DICT || t == PT_LOOP) {
        struct kurc_value **slot = key->kind == KURC_STR ? map_slot(v, key->u.str.s) : NULL;
        if (slot) {
            take_child(obj, slot, out);
        } else if (t == PT_LOOP && key->kind == KURC_STR &&
                   loop_neighbour(rt, v, key->u.str.s, out)) {
            return 0;
        } else {
            struct kurc_strbuf sb = KURC_STRBUF_INIT;
            tmpl_repr(key, &sb);
            tv_undef(out, "'%s' has no key %s", expr, sb.data);
            kurc_strbuf_free(&sb);
        }
        return 0;
    }
    if (t != PT_LIST && t != PT_TUPLE && t != PT_STR) {
        tv_undef(out, "'%s' object is not subscriptable ('%s')", tmpl_pytype_name(t), expr);
        return 0;
    }
    if (key->kind == KURC_STR) {
        tv_undef(out, "'%s' has no attribute '%s'", expr, key->u.str.s);
        return 0;
    }
    if (key->kind != KURC_INT && key->kind != KURC_BOOL) {
        tv_undef(out, "%s indices must be integers or slices, not %s ('%s')", tmpl_pytype_name(t),
                 tmpl_type_name(key), expr);
        return 0;
    }
    int64_t i = key->kind == KURC_INT ? key->u.i : key->u.b;
    size_t *offs = NULL;
    size_t n = t == PT_STR ? 0 : v->u.list.len;
    if (t == PT_STR)
        offs = tmpl_u8_offsets(v->u.str.s, v->u.str.len, &n);
    int64_t idx = i < 0 ? i + (int64_t)n : i;
    if (idx < 0 || idx >= (int64_t)n)
        tv_undef(out, "%s index %lld out of range ('%s' has %zu %s)", tmpl_pytype_name(t),
                 (long long)i, expr, n, t == PT_STR ? "characters" : "items");
    else if (t == PT_STR)
        tv_own(out, kurc_value_strn(v->u.str.s + offs[idx], offs[idx + 1] - offs[idx], NULL));
    else
        take_child(obj, &v->u.list.items[idx], out);
    free(offs);
    return 0;
}

int tmpl_getpath(struct rt *rt, int line, const struct kurc_value *item, const char *path,
                 struct tv *out) {
    tv_borrow(out, item);
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char *part = kurc_xstrndup(p, n);
        bool digits = n > 0;
        for (size_t i = 0; i < n; i++)
            digits &= part[i] >= '0' && part[i] <= '9';
        struct tv next;
        int rc;
        if (digits && n < 19) {
            struct kurc_value *idx = kurc_value_int(strtoll(part, NULL, 10), NULL);
            rc = tmpl_getitem(rt, line, out, idx, path, &next);
            kurc_value_free(idx);
        } else {
            struct kurc_value *key = kurc_value_str(part, NULL);
            rc = tmpl_getitem(rt, line, out, key, path, &next);
            kurc_value_free(key);
        }
        free(part);
        tv_free(out);
        if (rc < 0)
            return -1;
        tv_move(out, &next);
        if (!dot)
            return 0;
        p = dot + 1;
    }
}

/* Python's slice.indices(): normalises start and stop for a sequence of n
 * items and returns how many items the slice takes. */
static size_t slice_indices(int64_t n, const int64_t *start, const int64_t *stop, int64_t step,
                            int64_t *first) {
    int64_t lo, hi;
    if (step > 0) {
        lo = 0;
        hi = n;
    } else {
        lo = -1;
        hi = n - 1;
    }
    int64_t b = start ? *start : step > 0 ? lo : hi;
    int64_t e = stop ? *stop : step > 0 ? hi : lo;
    if (start) {
        if (b < 0)
            b = b + n < lo ? lo : b + n;
        else if (b > hi)
            b = hi;
    }
    if (stop) {
        if (e < 0)
            e = e + n < lo ? lo : e + n;
        else if (e > hi)
            e = hi;
    }
    *first = b;
    if (step > 0)
        return e > b ? (size_t)((e - b - 1) / step + 1) : 0;
    return b > e ? (size_t)((b - e - 1) / (-step) + 1) : 0;
}

static int eval(struct rt *rt, const struct node *n, struct tv *out);

/* An optional slice bound: absent, None, or an integer. */
static int slice_bound(struct rt *rt, const struct node *n, int64_t *val, bool *given) {
    *given = false;
    if (!n)
        return 0;
    struct tv t;
    if (eval(rt, n, &t) < 0)
        return -1;
    int rc = tmpl_need(rt, n->line, &t);
    if (rc == 0 && t.v->kind != KURC_NULL) {
        if (t.v->kind != KURC_INT && t.v->kind != KURC_BOOL)
            rc = tmpl_fail(rt->diag, n->line,
                           "slice indices must be integers or None or have an __index__ method");
        *val = t.v->kind == KURC_INT ? t.v->u.i : t.v->u.b;
        *given = true;
    }
    tv_free(&t);
    return rc;
}

static int eval_slice(struct rt *rt, const struct node *n, struct tv *obj, struct tv *out) {
    const struct node *s = n->b;
    int64_t bounds[3] = {0, 0, 1};
    bool given[3];
    if (slice_bound(rt, s->a, &bounds[0], &given[0]) < 0 ||
        slice_bound(rt, s->b, &bounds[1], &given[1]) < 0 ||
        slice_bound(rt, s->c, &bounds[2], &given[2]) < 0)
        return -1;
    if (bounds[2] == 0)
        return tmpl_fail(rt->diag, n->line, "slice step cannot be zero");
    if (bounds[2] < -INT64_MAX)
        bounds[2] = -INT64_MAX;
    /* Jinja slices with Python's own subscript: no undefined fallback */
    enum pytype t = tmpl_pytype(obj->v);
    if (t == PT_DICT)
        return tmpl_fail(rt->diag, n->line, "unhashable type: 'slice'");
    if (t != PT_LIST && t != PT_TUPLE && t != PT_STR)
        return tmpl_fail(rt->diag, n->line, "'%s' object is not subscriptable",
                         tmpl_pytype_name(t));
    size_t len = t == PT_STR ? 0 : obj->v->u.list.len;
    size_t *offs = t == PT_STR ? tmpl_u8_offsets(obj->v->u.str.s, obj->v->u.str.len, &len) : NULL;
    int64_t i;
    size_t count = slice_indices((int64_t)len, given[0] ? &bounds[0] : NULL,
                                 given[1] ? &bounds[1] : NULL, bounds[2], &i);
    if (t == PT_STR) {
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        kurc_strbuf_append(&sb, "", 0);
        for (size_t k = 0; k < count; k++, i += bounds[2])
            kurc_strbuf_append(&sb, obj->v->u.str.s + offs[i], offs[i + 1] - offs[i]);
        tv_own(out, kurc_value_str_buf(&sb, NULL));
    } else {
        struct kurc_value *res = tmpl_new_seq(t);
        for (size_t k = 0; k < count; k++, i += bounds[2])
            kurc_list_append(res, kurc_value_copy(obj->v->u.list.items[i]));
        tv_own(out, res);
    }
    free(offs);
    return 0;
}

int tmpl_iterate(struct rt *rt, int line, const struct kurc_value *v, struct kurc_value ***items,
                 size_t *n, struct kurc_value **owner) {
    *owner = NULL;
    if (tmpl_is_seq(tmpl_pytype(v))) {
        *items = v->u.list.items;
        *n = v->u.list.len;
        return 0;
    }
    switch (tmpl_pytype(v)) {
    case PT_STR: {
        struct kurc_value *l = kurc_value_list(NULL);
        for (size_t i = 0; i < v->u.str.len;) {
            uint32_t cp;
            size_t next = kurc_utf8_next(v->u.str.s, v->u.str.len, i, &cp);
            kurc_list_append(l, kurc_value_strn(v->u.str.s + i, next - i, NULL));
            i = next;
        }
        *owner = l;
        break;
    }
    case PT_DICT: {
        struct kurc_value *l = kurc_value_list(NULL);
        for (size_t i = 0; i < v->u.map.len; i++)
            kurc_list_append(l, kurc_value_str(v->u.map.pairs[i].key, NULL));
        *owner = l;
        break;
    }
    default:
        return tmpl_fail(rt->diag, line, "'%s' object is not iterable", tmpl_type_name(v));
    }
    *items = (*owner)->u.list.items;
    *n = (*owner)->u.list.len;
    return 0;
}

int tmpl_to_list(struct rt *rt, int line, const struct kurc_value *v, struct kurc_value **out) {
    struct kurc_value **items, *owner;
    size_t n;
    if (tmpl_iterate(rt, line, v, &items, &n, &owner) < 0)
        return -1;
    if (owner) {
        *out = owner;
        return 0;
    }
    *out = kurc_value_list(NULL);
    for (size_t i = 0; i < n; i++)
        kurc_list_append(*out, kurc_value_copy(items[i]));
    return 0;
}

/* ---- expressions --------------------------------------------------------- */

static void free_args(struct targs *a) {
    for (size_t i = 0; i < a->npos; i++)
        tv_free(&a->pos[i]);
    for (size_t i = 0; i < a->nkw; i++) {
        tv_free(&a->kw[i]);
        free(a->kwnames[i]);
    }
    free(a->pos);
    free(a->kw);
    free(a->kwnames);
    memset(a, 0, sizeof *a);
}

static void add_kw(struct targs *a, const char *name, struct tv *val) {
    a->kw = kurc_xrealloc(a->kw, (a->nkw + 1) * sizeof *a->kw);
    a->kwnames = kurc_xrealloc(a->kwnames, (a->nkw + 1) * sizeof *a->kwnames);
    a->kwnames[a->nkw] = kurc_xstrdup(name);
    tv_move(&a->kw[a->nkw++], val);
}

/* Evaluates the arguments of a call, filter or test node, spreading
 * *args and **kwargs. */
static int eval_args(struct rt *rt, const struct node *n, struct targs *a) {
    memset(a, 0, sizeof *a);
    size_t cap = n->items.n;
    a->pos = kurc_xcalloc(cap ? cap : 1, sizeof *a->pos);
    for (size_t i = 0; i < n->items.n; i++, a->npos++)
        if (eval(rt, n->items.v[i], &a->pos[i]) < 0)
            return -1;
    for (size_t i = 0; i < n->kwvals.n; i++) {
        struct tv val;
        if (eval(rt, n->kwvals.v[i], &val) < 0)
            return -1;
        add_kw(a, n->kwnames[i], &val);
    }
    if (n->dyn_args) {
        struct tv spread;
        struct kurc_value **items, *owner;
        size_t count;
        if (eval(rt, n->dyn_args, &spread) < 0)
            return -1;
        if (tmpl_need(rt, n->line, &spread) < 0 ||
            tmpl_iterate(rt, n->line, spread.v, &items, &count, &owner) < 0) {
            tv_free(&spread);
            return -1;
        }
        a->pos = kurc_xrealloc(a->pos, (a->npos + count + 1) * sizeof *a->pos);
        for (size_t i = 0; i < count; i++)
            tv_own(&a->pos[a->npos++], kurc_value_copy(items[i]));
        kurc_value_free(owner);
        tv_free(&spread);
    }
    if (n->dyn_kwargs) {
        struct tv spread;
        if (eval(rt, n->dyn_kwargs, &spread) < 0)
            return -1;
        int rc = tmpl_need(rt, n->line, &spread);
        if (rc == 0 && tmpl_pytype(spread.v) != PT_DICT)
            rc = tmpl_fail(rt->diag, n->line, "argument after ** must be a mapping, not %s",
                           tmpl_type_name(spread.v));
        for (size_t i = 0; rc == 0 && i < spread.v->u.map.len; i++) {
            const struct kurc_pair *pair = &spread.v->u.map.pairs[i];
            for (size_t k = 0; k < a->nkw; k++)
                if (strcmp(a->kwnames[k], pair->key) == 0)
                    rc = tmpl_fail(rt->diag, n->line,
                                   "got multiple values for keyword argument '%s'", pair->key);
            struct tv val;
            tv_own(&val, kurc_value_copy(pair->val));
            add_kw(a, pair->key, &val);
        }
        tv_free(&spread);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int eval_call(struct rt *rt, const struct node *n, struct tv *out) {
    struct targs args;
    struct tv callee = {0};
    int rc;
    if (n->a->kind == N_ATTR) {
        struct tv obj;
        if (eval(rt, n->a->a, &obj) < 0)
            return -1;
        if (tmpl_need(rt, n->line, &obj) < 0) {
            tv_free(&obj);
            return -1;
        }
        if (eval_args(rt, n, &args) < 0) {
            free_args(&args);
            tv_free(&obj);
            return -1;
        }
        rc = tmpl_call_method(rt, n->line, obj.v, n->a->name, &args, out);
        if (rc == 1) { /* no such method: call the attribute */
            char *expr = expr_text(rt, n->a->a);
            rc = tmpl_getattr(rt, n->line, &obj, n->a->name, expr, &callee);
            free(expr);
            if (rc == 0)
                rc = 1;
        }
        tv_free(&obj);
        if (rc != 1) {
            free_args(&args);
            return rc;
        }
    } else {
        if (eval(rt, n->a, &callee) < 0)
            return -1;
        if (eval_args(rt, n, &args) < 0) {
            free_args(&args);
            tv_free(&callee);
            return -1;
        }
    }
    if (callee.fn != FN_NONE)
        rc = tmpl_call_fn(rt, n->line, &callee, &args, out);
    else if ((rc = tmpl_need(rt, n->line, &callee)) == 0)
        rc = tmpl_fail(rt->diag, n->line, "'%s' object is not callable", tmpl_type_name(callee.v));
    free_args(&args);
    tv_free(&callee);
    return rc;
}

/* A filter applied to val (evaluated already: a node's own operand, or the
 * body of a filter or set block). */
static int apply_filter(struct rt *rt, const struct node *n, struct tv *val, struct tv *out) {
    struct targs args;
    int rc = eval_args(rt, n, &args);
    if (rc == 0)
        rc = tmpl_filter(rt, n->line, n->name, val, &args, out);
    free_args(&args);
    return rc;
}

/* A filter chain of a filter or set block, applied to text. */
static int apply_filter_chain(struct rt *rt, const struct node *n, struct tv *text,
                              struct tv *out) {
    struct tv val;
    if (n->a) {
        if (apply_filter_chain(rt, n->a, text, &val) < 0)
            return -1;
    } else {
        tv_move(&val, text);
    }
    int rc = apply_filter(rt, n, &val, out);
    tv_free(&val);
    return rc;
}

static int eval_compare(struct rt *rt, const struct node *n, struct tv *out) {
    struct tv left, right;
    if (eval(rt, n->a, &left) < 0)
        return -1;
    bool res = true;
    int rc = 0;
    for (size_t i = 0; rc == 0 && res && i < n->items.n; i++) {
        if (eval(rt, n->items.v[i], &right) < 0) {
            rc = -1;
            break;
        }
        int op = n->ops[i];
        if (op == CMP_EQ || op == CMP_NE) {
            bool eq = left.v && right.v     ? tmpl_equal(left.v, right.v)
                      : left.fn || right.fn ? left.fn == right.fn
                                            : !left.v && !right.v;
            res = op == CMP_EQ ? eq : !eq;
        } else if (op == CMP_IN || op == CMP_NOTIN) {
            rc = tmpl_need(rt, n->line, &right);
            if (rc == 0 && left.v)
                rc = tmpl_contains(rt, n->line, left.v, right.v, &res);
            else if (rc == 0)
                res = false;
            if (op == CMP_NOTIN)
                res = !res;
        } else if ((rc = tmpl_need(rt, n->line, &left)) == 0 &&
                   (rc = tmpl_need(rt, n->line, &right)) == 0) {
            rc = tmpl_order(rt, n->line, op, left.v, right.v, &res);
        }
        tv_free(&left);
        tv_move(&left, &right);
    }
    tv_free(&left);
    if (rc == 0)
        tv_own(out, kurc_value_bool(res, NULL));
    return rc;
}

static int eval_concat(struct rt *rt, const struct node *n, struct tv *out) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_strbuf_append(&sb, "", 0);
    for (size_t i = 0; i < n->items.n; i++) {
        struct tv t;
        if (eval(rt, n->items.v[i], &t) < 0)
            goto fail;
        if (tmpl_need(rt, n->items.v[i]->line, &t) < 0) {
            tv_free(&t);
            goto fail;
        }
        tmpl_str(t.v, &sb);
        tv_free(&t);
        if (tmpl_check_size(rt, n->line, sb.len) < 0)
            goto fail;
    }
    tv_own(out, kurc_value_str_buf(&sb, NULL));
    return 0;
fail:
    kurc_strbuf_free(&sb);
    return -1;
}

static int eval_collection(struct rt *rt, const struct node *n, struct tv *out) {
    struct kurc_value *res = n->kind == N_DICT
                                 ? kurc_value_map(NULL)
                                 : tmpl_new_seq(n->kind == N_TUPLE ? PT_TUPLE : PT_LIST);
    for (size_t i = 0; i < n->items.n; i++) {
        struct tv key = {0}, t;
        if (n->kind == N_DICT) {
            if (eval(rt, n->items.v[i++], &key) < 0)
                goto fail;
            if (tmpl_need(rt, n->line, &key) < 0 ||
                (key.v->kind != KURC_STR &&
                 tmpl_fail(rt->diag, n->line,
                           "dictionary keys must be strings in kurc templates, not %s",
                           tmpl_type_name(key.v)) < 0)) {
                tv_free(&key);
                goto fail;
            }
        }
        if (eval(rt, n->items.v[i], &t) < 0 || tmpl_need(rt, n->items.v[i]->line, &t) < 0) {
            tv_free(&t);
            tv_free(&key);
            goto fail;
        }
        if (n->kind == N_DICT)
            kurc_map_set(res, key.v->u.str.s, NULL, tv_take(&t));
        else
            kurc_list_append(res, tv_take(&t));
        tv_free(&key);
    }
    tv_own(out, res);
    return 0;
fail:
    kurc_value_free(res);
    return -1;
}

static int eval(struct rt *rt, const struct node *n, struct tv *out) {
    struct tv a = {0}, b = {0};
    int rc = 0;
    char *expr;
    memset(out, 0, sizeof *out);
    switch (n->kind) {
    case N_CONST:
        tv_borrow(out, n->val);
        return 0;
    case N_NAME:
        lookup(rt, n->name, out);
        return 0;
    case N_ATTR:
        if (eval(rt, n->a, &a) < 0)
            return -1;
        expr = expr_text(rt, n->a);
        rc = tmpl_getattr(rt, n->line, &a, n->name, expr, out);
        free(expr);
        tv_free(&a);
        return rc;
    case N_ITEM:
        if (eval(rt, n->a, &a) < 0)
            return -1;
        if ((rc = tmpl_need(rt, n->line, &a)) == 0) {
            if (n->b->kind == N_SLICE) {
                rc = eval_slice(rt, n, &a, out);
            } else if ((rc = eval(rt, n->b, &b)) == 0 && (rc = tmpl_need(rt, n->line, &b)) == 0) {
                expr = expr_text(rt, n->a);
                rc = tmpl_getitem(rt, n->line, &a, b.v, expr, out);
                free(expr);
            }
        }
        tv_free(&a);
        tv_free(&b);
        return rc;
    case N_LIST:
    case N_TUPLE:
    case N_DICT:
        return eval_collection(rt, n, out);
    case N_NEG:
    case N_POS:
        if (eval(rt, n->a, &a) < 0)
            return -1;
        if ((rc = tmpl_need(rt, n->line, &a)) == 0)
            rc = tmpl_neg(rt, n->line, a.v, n->kind == N_NEG, out);
        tv_free(&a);
        return rc;
    case N_NOT:
        if (eval(rt, n->a, &a) < 0)
            return -1;
        tv_own(out, kurc_value_bool(!truthy(&a), NULL));
        tv_free(&a);
        return 0;
    case N_BINOP:
        if (eval(rt, n->a, &a) < 0)
            return -1;
        if ((rc = eval(rt, n->b, &b)) == 0 && (rc = tmpl_need(rt, n->line, &a)) == 0 &&
            (rc = tmpl_need(rt, n->line, &b)) == 0)
            rc = tmpl_binop(rt, n->line, n->op, a.v, b.v, out);
        tv_free(&a);
        tv_free(&b);
        return rc;
    case N_AND:
    case N_OR:
        if (eval(rt, n->a, &a) < 0)
            return -1;
        if (truthy(&a) == (n->kind == N_OR)) {
            tv_move(out, &a);
            return 0;
        }
        tv_free(&a);
        return eval(rt, n->b, out);
    case N_CONCAT:
        return eval_concat(rt, n, out);
    case N_COMPARE:
        return eval_compare(rt, n, out);
    case N_COND:
        if (eval(rt, n->b, &a) < 0)
            return -1;
        bool cond = truthy(&a);
        tv_free(&a);
        if (cond)
            return eval(rt, n->a, out);
        if (n->c)
            return eval(rt, n->c, out);
        tv_undef(out,
                 "the inline if-expression on line %d evaluated to false and no else section "
                 "was defined.",
                 n->line);
        return 0;
    case N_FILTER:
        if (eval(rt, n->a, &a) < 0)
            return -1;
        rc = apply_filter(rt, n, &a, out);
        tv_free(&a);
        return rc;
    case N_TEST: {
        struct targs args;
        bool res = false;
        if (eval(rt, n->a, &a) < 0)
            return -1;
        rc = eval_args(rt, n, &args);
        if (rc == 0)
            rc = tmpl_test(rt, n->line, n->name, &a, &args, &res);
        free_args(&args);
        tv_free(&a);
        if (rc == 0)
            tv_own(out, kurc_value_bool(res, NULL));
        return rc;
    }
    case N_CALL:
        return eval_call(rt, n, out);
    default:
        return tmpl_fail(rt->diag, n->line, "internal error: statement used as expression");
    }
}

/* ---- statements ---------------------------------------------------------- */

static int exec_list(struct rt *rt, const struct nlist *body, struct kurc_strbuf *out);

static int emit(struct rt *rt, int line, struct kurc_strbuf *out, const char *s, size_t n) {
    kurc_strbuf_append(out, s, n);
    if (out->len > TMPL_MAX_SIZE)
        return tmpl_fail(rt->diag, line, "template output is longer than %d bytes", TMPL_MAX_SIZE);
    return 0;
}

static int step(struct rt *rt, int line) {
    if (++rt->steps > TMPL_MAX_STEPS)
        return tmpl_fail(rt->diag, line, "template loops run more than %u times", TMPL_MAX_STEPS);
    if (rt->env && rt->env->budget && rt->steps > rt->env->budget->steps_left)
        return tmpl_fail(rt->diag, line,
                         "the Kurfile's templates run more than %u loop iterations in all",
                         KURC_TMPL_TOTAL_STEPS);
    return 0;
}

/* Binds a target (a name or a tuple of targets) to val, taking val.  When
 * keep_borrowed is false, borrowed values are copied first (for `set`,
 * whose value may borrow from a variable it replaces). */
static int assign(struct rt *rt, int line, const struct node *target, struct tv *val,
                  bool keep_borrowed) {
    if (target->kind == N_NAME) {
        if (!keep_borrowed && val->v && !val->own)
            tv_own(val, kurc_value_copy(val->v));
        set_var(rt, target->name, val);
        return 0;
    }
    int rc = tmpl_need(rt, line, val);
    struct kurc_value **items = NULL, *owner = NULL;
    size_t n = 0;
    if (rc == 0) {
        enum pytype t = tmpl_pytype(val->v);
        if (t == PT_NONE || t == PT_BOOL || t == PT_INT || t == PT_FLOAT || t == PT_LOOP)
            rc = tmpl_fail(rt->diag, line, "cannot unpack non-iterable %s object",
                           tmpl_type_name(val->v));
        else
            rc = tmpl_iterate(rt, line, val->v, &items, &n, &owner);
    }
    if (rc == 0 && n > target->items.n)
        rc = tmpl_fail(rt->diag, line, "too many values to unpack (expected %zu)", target->items.n);
    else if (rc == 0 && n < target->items.n)
        rc = tmpl_fail(rt->diag, line, "not enough values to unpack (expected %zu, got %zu)",
                       target->items.n, n);
    bool copy = val->own || owner || !keep_borrowed;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct tv item;
        if (copy)
            tv_own(&item, kurc_value_copy(items[i]));
        else
            tv_borrow(&item, items[i]);
        rc = assign(rt, line, target->items.v[i], &item, keep_borrowed);
        tv_free(&item);
    }
    kurc_value_free(owner);
    tv_free(val);
    return rc;
}

/* Sets Jinja's loop object m to iteration i of n. */
static void update_loop(struct kurc_value *m, size_t i, size_t n) {
    static const char *const keys[] = {"index", "index0", "revindex", "revindex0", "first",
                                       "last",  "length", "depth",    "depth0"};
    int64_t vals[] = {(int64_t)i + 1,       (int64_t)i, (int64_t)(n - i),
                      (int64_t)(n - i - 1), i == 0,     i + 1 == n,
                      (int64_t)n,           1,          0};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        struct kurc_value *v = kurc_map_get(m, keys[k]);
        if (!v)
            kurc_map_set(m, keys[k], NULL,
                         k == 4 || k == 5 ? kurc_value_bool(vals[k], NULL)
                                          : kurc_value_int(vals[k], NULL));
        else if (v->kind == KURC_BOOL)
            v->u.b = vals[k];
        else
            v->u.i = vals[k];
    }
}

static int exec_for(struct rt *rt, const struct node *n, struct kurc_strbuf *out) {
    struct frame scope;
    struct tv seq;
    struct kurc_value **items = NULL, *owner = NULL;
    size_t count = 0, selected = 0;
    size_t *order = NULL;
    if (eval(rt, n->b, &seq) < 0)
        return -1;
    int rc = tmpl_need(rt, n->line, &seq);
    if (rc == 0)
        rc = tmpl_iterate(rt, n->line, seq.v, &items, &count, &owner);
    if (rc == 0)
        order = kurc_xmalloc((count ? count : 1) * sizeof *order);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (!n->c) {
            order[selected++] = i;
            continue;
        }
        struct tv item, test;
        tv_borrow(&item, items[i]);
        push_frame(rt, &scope);
        rc = step(rt, n->line);
        if (rc == 0)
            rc = assign(rt, n->line, n->a, &item, true);
        if (rc == 0)
            rc = eval(rt, n->c, &test);
        if (rc == 0) {
            if (truthy(&test))
                order[selected++] = i;
            tv_free(&test);
        }
        pop_frame(rt);
    }
    static const struct kurc_loc mark = {tmpl_mark_loop, 0, 0};
    struct kurc_value *loop_obj = kurc_value_map(&mark);
    struct loop_state state = {loop_obj, items, order, 0, selected, rt->loops};
    rt->loops = &state;
    for (size_t i = 0; rc == 0 && i < selected; i++) {
        struct tv item, loop;
        push_frame(rt, &scope);
        tv_borrow(&item, items[order[i]]);
        update_loop(loop_obj, i, selected);
        state.i = i;
        tv_borrow(&loop, loop_obj);
        rc = step(rt, n->line);
        if (rc == 0)
            rc = assign(rt, n->line, n->a, &item, true);
        if (rc == 0) {
            set_var(rt, "loop", &loop);
            rc = exec_list(rt, &n->body, out);
        }
        pop_frame(rt);
    }
    rt->loops = state.up;
    kurc_value_free(loop_obj);
    if (rc == 0 && selected == 0 && n->orelse.n) {
        push_frame(rt, &scope);
        rc = exec_list(rt, &n->orelse, out);
        pop_frame(rt);
    }
    free(order);
    kurc_value_free(owner);
    tv_free(&seq);
    return rc;
}

/* Renders a block body in its own scope, as a string value. */
static int render_block(struct rt *rt, const struct nlist *body, struct tv *out) {
    struct frame scope;
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_strbuf_append(&sb, "", 0);
    push_frame(rt, &scope);
    int rc = exec_list(rt, body, &sb);
    pop_frame(rt);
    if (rc < 0) {
        kurc_strbuf_free(&sb);
        return -1;
    }
    tv_own(out, kurc_value_str_buf(&sb, NULL));
    return 0;
}

static int exec_output(struct rt *rt, const struct node *n, struct kurc_strbuf *out) {
    for (size_t i = 0; i < n->items.n; i++) {
        struct tv t;
        if (eval(rt, n->items.v[i], &t) < 0)
            return -1;
        int rc = tmpl_need(rt, n->items.v[i]->line, &t);
        if (rc == 0) {
            struct kurc_strbuf sb = KURC_STRBUF_INIT;
            tmpl_str(t.v, &sb);
            rc = emit(rt, n->line, out, sb.data ? sb.data : "", sb.len);
            kurc_strbuf_free(&sb);
        }
        tv_free(&t);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int exec_with(struct rt *rt, const struct node *n, struct kurc_strbuf *out) {
    struct frame scope;
    size_t count = n->items.n;
    struct tv *vals = kurc_xcalloc(count ? count : 1, sizeof *vals);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = eval(rt, n->kwvals.v[i], &vals[i]);
    if (rc == 0) {
        push_frame(rt, &scope);
        for (size_t i = 0; rc == 0 && i < count; i++)
            rc = assign(rt, n->line, n->items.v[i], &vals[i], true);
        if (rc == 0)
            rc = exec_list(rt, &n->body, out);
        pop_frame(rt);
    }
    for (size_t i = 0; i < count; i++)
        tv_free(&vals[i]);
    free(vals);
    return rc;
}

static int exec(struct rt *rt, const struct node *n, struct kurc_strbuf *out) {
    struct tv a, b;
    int rc;
    switch (n->kind) {
    case N_DATA:
        return emit(rt, n->line, out, n->name, n->namelen);
    case N_OUTPUT:
        return exec_output(rt, n, out);
    case N_IF:
        if (eval(rt, n->a, &a) < 0)
            return -1;
        rc = truthy(&a);
        tv_free(&a);
        return exec_list(rt, rc ? &n->body : &n->orelse, out);
    case N_FOR:
        return exec_for(rt, n, out);
    case N_SET:
        if (eval(rt, n->b, &a) < 0)
            return -1;
        return assign(rt, n->line, n->a, &a, false);
    case N_SETBLOCK:
        if (render_block(rt, &n->body, &a) < 0)
            return -1;
        if (n->b) {
            rc = apply_filter_chain(rt, n->b, &a, &b);
            tv_free(&a);
            if (rc < 0)
                return -1;
            tv_move(&a, &b);
        }
        return assign(rt, n->line, n->a, &a, false);
    case N_WITH:
        return exec_with(rt, n, out);
    case N_FILTERBLOCK:
        if (render_block(rt, &n->body, &a) < 0)
            return -1;
        rc = apply_filter_chain(rt, n->b, &a, &b);
        tv_free(&a);
        if (rc == 0 && (rc = tmpl_need(rt, n->line, &b)) == 0) {
            struct kurc_strbuf sb = KURC_STRBUF_INIT;
            tmpl_str(b.v, &sb);
            rc = emit(rt, n->line, out, sb.data ? sb.data : "", sb.len);
            kurc_strbuf_free(&sb);
        }
        tv_free(&b);
        return rc;
    default:
        return tmpl_fail(rt->diag, n->line, "internal error: expression used as statement");
    }
}

static int exec_list(struct rt *rt, const struct nlist *body, struct kurc_strbuf *out) {
    for (size_t i = 0; i < body->n; i++)
        if (exec(rt, body->v[i], out) < 0)
            return -1;
    return 0;
}

int tmpl_run(const struct tmpl *t, const struct kurc_tmpl_env *env, struct tmpl_diag *diag,
             struct kurc_strbuf *out) {
    struct rt rt = {.env = env, .diag = diag, .t = t};
    struct frame root;
    push_frame(&rt, &root);
    int rc = exec_list(&rt, &t->body, out);
    pop_frame(&rt);
    if (env && env->budget) /* steps never pass steps_left: step() stops them */
        env->budget->steps_left -=
            rt.steps < env->budget->steps_left ? rt.steps : env->budget->steps_left;
    for (size_t i = 0; i < rt.nfiles; i++) {
        free(rt.files[i].path);
        kurc_value_free(rt.files[i].val);
    }
    free(rt.files);
    return rc;
}
