/* template_tests.c - Jinja's tests (`x is defined`, `n is divisibleby 3`,
 * ...), following jinja2/tests.py.  Type tests, `defined`, `undefined` and
 * the equality tests accept undefined values (a type test answers false);
 * the others report them. */
#include <stdio.h>
#include <string.h>

#include "config/template/template_int.h"

typedef int (*test_fn)(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res);

struct test {
    const char *name;
    test_fn fn;
    bool accepts_undefined;
    const char *param; /* the one argument, or NULL */
};

static enum pytype type_of(const struct tv *val) {
    return tmpl_pytype(val->v);
}

#define TYPE_TEST(fname, expr)                                                                     \
    static int fname(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {         \
        (void)rt, (void)line, (void)arg;                                                           \
        *res = val->v && (expr);                                                                   \
        return 0;                                                                                  \
    }

TYPE_TEST(t_none, type_of(val) == PT_NONE)
TYPE_TEST(t_boolean, type_of(val) == PT_BOOL)
TYPE_TEST(t_false, type_of(val) == PT_BOOL && !val->v->u.b)
TYPE_TEST(t_true, type_of(val) == PT_BOOL && val->v->u.b)
TYPE_TEST(t_integer, type_of(val) == PT_INT)
TYPE_TEST(t_float, type_of(val) == PT_FLOAT)
TYPE_TEST(t_number, tmpl_is_number(val->v))
TYPE_TEST(t_string, type_of(val) == PT_STR)
TYPE_TEST(t_mapping, type_of(val) == PT_DICT)
TYPE_TEST(t_sequence, type_of(val) == PT_STR || type_of(val) == PT_LIST ||
                          type_of(val) == PT_TUPLE || type_of(val) == PT_DICT)
TYPE_TEST(t_iterable, type_of(val) >= PT_STR)

static int t_defined(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line, (void)arg;
    *res = !tv_is_undef(val);
    return 0;
}

static int t_undefined(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line, (void)arg;
    *res = tv_is_undef(val);
    return 0;
}

static int t_callable(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line, (void)arg;
    *res = val->fn != FN_NONE || (val->v && type_of(val) == PT_LOOP);
    return 0;
}

static int t_escaped(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line, (void)val, (void)arg;
    *res = false;
    return 0;
}

/* islower / isupper of str(value): some cased letter, none of the other
 * case. */
static int case_test(struct tv *val, bool lower, bool *res) {
    struct kurc_value *s = tmpl_str_value(val->v);
    bool cased = false, other = false;
    for (size_t i = 0; i < s->u.str.len; i++) {
        char c = s->u.str.s[i];
        bool lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z';
        cased |= lower ? lo : up;
        other |= lower ? up : lo;
    }
    kurc_value_free(s);
    *res = cased && !other;
    return 0;
}

static int t_lower(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line, (void)arg;
    return case_test(val, true, res);
}

static int t_upper(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line, (void)arg;
    return case_test(val, false, res);
}

/* value % divisor == expected */
static int remainder_is(struct rt *rt, int line, const struct kurc_value *v,
                        const struct kurc_value *divisor, int64_t expected, bool *res) {
    struct tv r;
    if (tmpl_binop(rt, line, T_MOD, v, divisor, &r) < 0)
        return -1;
    struct kurc_value *want = kurc_value_int(expected, NULL);
    *res = tmpl_equal(r.v, want);
    kurc_value_free(want);
    tv_free(&r);
    return 0;
}

static int parity(struct rt *rt, int line, struct tv *val, int64_t expected, bool *res) {
    struct kurc_value *two = kurc_value_int(2, NULL);
    int rc = remainder_is(rt, line, val->v, two, expected, res);
    kurc_value_free(two);
    return rc;
}

static int t_odd(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)arg;
    return parity(rt, line, val, 1, res);
}

static int t_even(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)arg;
    return parity(rt, line, val, 0, res);
}

static int t_divisibleby(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    const struct kurc_value *num;
    if (tmpl_arg(rt, line, arg, &num) < 0)
        return -1;
    return remainder_is(rt, line, val->v, num, 0, res);
}

static bool tv_equal(const struct tv *a, const struct tv *b) {
    if (a->v && b->v)
        return tmpl_equal(a->v, b->v);
    if (a->fn != FN_NONE || b->fn != FN_NONE)
        return a->fn == b->fn;
    return !a->v && !b->v;
}

static int t_eq(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line;
    *res = tv_equal(val, arg);
    return 0;
}

static int t_ne(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line;
    *res = !tv_equal(val, arg);
    return 0;
}

static int order_test(struct rt *rt, int line, struct tv *val, struct tv *arg, int op, bool *res) {
    const struct kurc_value *other;
    if (tmpl_arg(rt, line, arg, &other) < 0)
        return -1;
    return tmpl_order(rt, line, op, val->v, other, res);
}

static int t_lt(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    return order_test(rt, line, val, arg, CMP_LT, res);
}

static int t_le(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    return order_test(rt, line, val, arg, CMP_LE, res);
}

static int t_gt(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    return order_test(rt, line, val, arg, CMP_GT, res);
}

static int t_ge(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    return order_test(rt, line, val, arg, CMP_GE, res);
}

static int t_in(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    const struct kurc_value *seq;
    if (tmpl_arg(rt, line, arg, &seq) < 0)
        return -1;
    return tmpl_contains(rt, line, val->v, seq, res);
}

/* Python's `is`: None, booleans and small integers are shared objects;
 * anything else is the same object only when it is the same node. */
static int t_sameas(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)rt, (void)line;
    const struct kurc_value *a = val->v, *b = arg->v;
    *res = false;
    if (!a || !b)
        return 0;
    if (a == b || (a->kind == KURC_NULL && b->kind == KURC_NULL))
        *res = true;
    else if (a->kind == KURC_BOOL && b->kind == KURC_BOOL)
        *res = a->u.b == b->u.b;
    else if (a->kind == KURC_INT && b->kind == KURC_INT)
        *res = a->u.i == b->u.i && a->u.i >= -5 && a->u.i <= 256;
    return 0;
}

static int name_test(struct rt *rt, int line, struct tv *val, bool filter, bool *res) {
    if (val->v->kind != KURC_STR)
        return tmpl_fail(rt->diag, line, "expected a %s name, not %s", filter ? "filter" : "test",
                         tmpl_type_name(val->v));
    *res = filter ? tmpl_filter_exists(val->v->u.str.s) : tmpl_test_exists(val->v->u.str.s);
    return 0;
}

static int t_filter(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)arg;
    return name_test(rt, line, val, true, res);
}

static int t_test(struct rt *rt, int line, struct tv *val, struct tv *arg, bool *res) {
    (void)arg;
    return name_test(rt, line, val, false, res);
}

static const struct test tests[] = {
    {"!=", t_ne, true, "other"},
    {"<", t_lt, false, "other"},
    {"<=", t_le, false, "other"},
    {"==", t_eq, true, "other"},
    {">", t_gt, false, "other"},
    {">=", t_ge, false, "other"},
    {"boolean", t_boolean, true, NULL},
    {"callable", t_callable, true, NULL},
    {"defined", t_defined, true, NULL},
    {"divisibleby", t_divisibleby, false, "num"},
    {"eq", t_eq, true, "other"},
    {"equalto", t_eq, true, "other"},
    {"escaped", t_escaped, true, NULL},
    {"even", t_even, false, NULL},
    {"false", t_false, true, NULL},
    {"filter", t_filter, false, NULL},
    {"float", t_float, true, NULL},
    {"ge", t_ge, false, "other"},
    {"greaterthan", t_gt, false, "other"},
    {"gt", t_gt, false, "other"},
    {"in", t_in, false, "seq"},
    {"integer", t_integer, true, NULL},
    {"iterable", t_iterable, false, NULL},
    {"le", t_le, false, "other"},
    {"lessthan", t_lt, false, "other"},
    {"lower", t_lower, false, NULL},
    {"lt", t_lt, false, "other"},
    {"mapping", t_mapping, true, NULL},
    {"ne", t_ne, true, "other"},
    {"none", t_none, true, NULL},
    {"number", t_number, true, NULL},
    {"odd", t_odd, false, NULL},
    {"sameas", t_sameas, true, "other"},
    {"sequence", t_sequence, false, NULL},
    {"string", t_string, true, NULL},
    {"test", t_test, false, NULL},
    {"true", t_true, true, NULL},
    {"undefined", t_undefined, true, NULL},
    {"upper", t_upper, false, NULL},
};

static const struct test *find(const char *name) {
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (strcmp(tests[i].name, name) == 0)
            return &tests[i];
    return NULL;
}

bool tmpl_test_exists(const char *name) {
    return find(name) != NULL;
}

int tmpl_test(struct rt *rt, int line, const char *name, struct tv *val, struct targs *args,
              bool *res) {
    const struct test *t = find(name);
    if (!t)
        return tmpl_fail(rt->diag, line, "no test named '%s'", name);
    if (!t->accepts_undefined && tmpl_need(rt, line, val) < 0)
        return -1;
    struct tv *slot = NULL;
    char what[64];
    snprintf(what, sizeof what, "test '%s'", name);
    if (tmpl_bind(rt, line, what, &t->param, t->param ? 1 : 0, t->param ? 1 : 0, args, &slot) < 0)
        return -1;
    return t->fn(rt, line, val, slot, res);
}
