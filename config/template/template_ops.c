/* template_ops.c - Python's operators on template values.
 *
 * Jinja compiles a + b to Python's a + b, so kurc follows Python: int
 * arithmetic stays int (64-bit here, with "integer overflow" where Python
 * would grow), / is always float, // and % floor toward minus infinity, **
 * with a negative exponent gives a float, bool counts as int; + joins
 * strings, lists and tuples, * repeats them; comparisons order numbers with
 * numbers, strings with strings and sequences lexicographically, and name
 * both types when they cannot.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"

/* ---- Python types -------------------------------------------------------- */

static const char tmpl_mark_tuple[] = "<tuple>";
static const char tmpl_mark_keys[] = "<dict_keys>";
static const char tmpl_mark_values[] = "<dict_values>";
static const char tmpl_mark_items[] = "<dict_items>";
const char tmpl_mark_loop[] = "<loop>";

enum pytype tmpl_pytype(const struct kurc_value *v) {
    switch (v->kind) {
    case KURC_NULL:
        return PT_NONE;
    case KURC_BOOL:
        return PT_BOOL;
    case KURC_INT:
        return PT_INT;
    case KURC_FLOAT:
        return PT_FLOAT;
    case KURC_STR:
        return PT_STR;
    case KURC_LIST:
        return v->loc.file == tmpl_mark_tuple    ? PT_TUPLE
               : v->loc.file == tmpl_mark_keys   ? PT_KEYS
               : v->loc.file == tmpl_mark_values ? PT_VALUES
               : v->loc.file == tmpl_mark_items  ? PT_ITEMS
                                                 : PT_LIST;
    case KURC_MAP:
        return v->loc.file == tmpl_mark_loop ? PT_LOOP : PT_DICT;
    }
    return PT_NONE;
}

const char *tmpl_pytype_name(enum pytype t) {
    static const char *const names[] = {
        [PT_NONE] = "NoneType",      [PT_BOOL] = "bool",        [PT_INT] = "int",
        [PT_FLOAT] = "float",        [PT_STR] = "str",          [PT_LIST] = "list",
        [PT_TUPLE] = "tuple",        [PT_DICT] = "dict",        [PT_KEYS] = "dict_keys",
        [PT_VALUES] = "dict_values", [PT_ITEMS] = "dict_items", [PT_LOOP] = "LoopContext",
    };
    return names[t];
}

const char *tmpl_type_name(const struct kurc_value *v) {
    return tmpl_pytype_name(tmpl_pytype(v));
}

struct kurc_value *tmpl_new_seq(enum pytype t) {
    static const struct kurc_loc tuple = {tmpl_mark_tuple, 0, 0};
    static const struct kurc_loc keys = {tmpl_mark_keys, 0, 0};
    static const struct kurc_loc values = {tmpl_mark_values, 0, 0};
    static const struct kurc_loc items = {tmpl_mark_items, 0, 0};
    return kurc_value_list(t == PT_TUPLE    ? &tuple
                           : t == PT_KEYS   ? &keys
                           : t == PT_VALUES ? &values
                           : t == PT_ITEMS  ? &items
                                            : NULL);
}

bool tmpl_is_number(const struct kurc_value *v) {
    return v->kind == KURC_BOOL || v->kind == KURC_INT || v->kind == KURC_FLOAT;
}

bool tmpl_is_seq(enum pytype t) {
    return t == PT_LIST || t == PT_TUPLE || t == PT_KEYS || t == PT_VALUES || t == PT_ITEMS;
}

static bool is_intlike(const struct kurc_value *v) {
    return v->kind == KURC_BOOL || v->kind == KURC_INT;
}

static int64_t int_val(const struct kurc_value *v) {
    return v->kind == KURC_INT ? v->u.i : v->u.b;
}

double tmpl_num(const struct kurc_value *v) {
    return v->kind == KURC_FLOAT ? v->u.f : (double)int_val(v);
}

int tmpl_check_size(struct rt *rt, int line, size_t n) {
    if (n > TMPL_MAX_SIZE)
        return tmpl_fail(rt->diag, line,
                         "result too large (kurc templates allow at most %d items or bytes)",
                         TMPL_MAX_SIZE);
    return 0;
}

int tmpl_int_of(struct rt *rt, int line, const struct kurc_value *v, const char *what,
                int64_t *out) {
    if (!is_intlike(v))
        return tmpl_fail(rt->diag, line, "%s: '%s' object cannot be interpreted as an integer",
                         what, tmpl_type_name(v));
    *out = int_val(v);
    return 0;
}

/* ---- arithmetic -------------------------------------------------------- */

static const char *op_text(int op) {
    switch (op) {
    case T_ADD:
        return "+";
    case T_SUB:
        return "-";
    case T_MUL:
        return "*";
    case T_DIV:
        return "/";
    case T_FLOORDIV:
        return "//";
    case T_MOD:
        return "%";
    default:
        return "** or pow()";
    }
}

static int div_zero(struct rt *rt, int line) {
    return tmpl_fail(rt->diag, line, "division by zero");
}

static int overflow(struct rt *rt, int line) {
    return tmpl_fail(rt->diag, line, "integer overflow");
}

static int int_pow(struct rt *rt, int line, int64_t base, int64_t exp, int64_t *out) {
    int64_t r = 1;
    while (exp > 0) {
        if ((exp & 1) && __builtin_mul_overflow(r, base, &r))
            return overflow(rt, line);
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base))
            return overflow(rt, line);
    }
    *out = r;
    return 0;
}

static int int_arith(struct rt *rt, int line, int op, int64_t x, int64_t y, struct tv *out) {
    int64_t r = 0;
    bool ovf = false;
    switch (op) {
    case T_ADD:
        ovf = __builtin_add_overflow(x, y, &r);
        break;
    case T_SUB:
        ovf = __builtin_sub_overflow(x, y, &r);
        break;
    case T_MUL:
        ovf = __builtin_mul_overflow(x, y, &r);
        break;
    case T_FLOORDIV:
        if (y == 0)
            return div_zero(rt, line);
        if (x == INT64_MIN && y == -1)
            return overflow(rt, line);
        r = x / y;
        if (x % y != 0 && ((x < 0) != (y < 0)))
            r--;
        break;
    case T_MOD:
        if (y == 0)
            return div_zero(rt, line);
        r = y == -1 ? 0 : x % y;
        if (r != 0 && ((r < 0) != (y < 0)))
            r += y;
        break;
    default: /* T_POW with y >= 0 */
        if (int_pow(rt, line, x, y, &r) < 0)
            return -1;
        break;
    }
    if (ovf)
        return overflow(rt, line);
    tv_own(out, kurc_value_int(r, NULL));
    return 0;
}

/* Python's float divmod. */
static void float_divmod(double x, double y, double *floordiv, double *mod) {
    double m = fmod(x, y);
    double div = (x - m) / y;
    if (m != 0.0) {
        if ((y < 0) != (m < 0)) {
            m += y;
            div -= 1.0;
        }
    } else {
        m = copysign(0.0, y);
    }
    double fd;
    if (div != 0.0) {
        fd = floor(div);
        if (div - fd > 0.5)
            fd += 1.0;
    } else {
        fd = copysign(0.0, x / y);
    }
    *floordiv = fd;
    *mod = m;
}

static int float_arith(struct rt *rt, int line, int op, double x, double y, struct tv *out) {
    double r, fd, m;
    switch (op) {
    case T_ADD:
        r = x + y;
        break;
    case T_SUB:
        r = x - y;
        break;
    case T_MUL:
        r = x * y;
        break;
    case T_DIV:
        if (y == 0.0)
            return div_zero(rt, line);
        r = x / y;
        break;
    case T_FLOORDIV:
    case T_MOD:
        if (y == 0.0)
            return div_zero(rt, line);
        float_divmod(x, y, &fd, &m);
        r = op == T_MOD ? m : fd;
        break;
    default:
        if (x == 0.0 && y < 0.0)
            return tmpl_fail(rt->diag, line, "0.0 cannot be raised to a negative power");
        if (x < 0.0 && isfinite(y) && y != floor(y))
            return tmpl_fail(rt->diag, line,
                             "a negative number raised to a fractional power is complex, "
                             "which kurc does not support");
        r = pow(x, y);
        if (isinf(r) && isfinite(x) && isfinite(y))
            return tmpl_fail(rt->diag, line, "numerical result out of range");
        break;
    }
    tv_own(out, kurc_value_float(r, NULL));
    return 0;
}

static bool is_seq(enum pytype t) {
    return t == PT_STR || t == PT_LIST || t == PT_TUPLE;
}

/* seq * count for strings, lists and tuples. */
static int repeat(struct rt *rt, int line, const struct kurc_value *seq, int64_t count,
                  struct tv *out) {
    enum pytype t = tmpl_pytype(seq);
    size_t unit = t == PT_STR ? seq->u.str.len : seq->u.list.len;
    size_t n = count > 0 ? (size_t)count : 0;
    if (unit && n > TMPL_MAX_SIZE / unit + 1)
        return tmpl_check_size(rt, line, SIZE_MAX);
    if (tmpl_check_size(rt, line, unit * n) < 0)
        return -1;
    if (t == PT_STR) {
        char *s = kurc_xmalloc(unit * n + 1);
        for (size_t i = 0; i < n; i++)
            memcpy(s + i * unit, seq->u.str.s, unit);
        s[unit * n] = '\0';
        tv_own(out, kurc_value_str_take(s, unit * n, NULL));
        return 0;
    }
    struct kurc_value *l = tmpl_new_seq(t);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < unit; k++)
            kurc_list_append(l, kurc_value_copy(seq->u.list.items[k]));
    tv_own(out, l);
    return 0;
}

static int concat(struct rt *rt, int line, const struct kurc_value *a, const struct kurc_value *b,
                  struct tv *out) {
    if (a->kind == KURC_STR) {
        size_t n = a->u.str.len + b->u.str.len;
        if (tmpl_check_size(rt, line, n) < 0)
            return -1;
        char *s = kurc_xmalloc(n + 1);
        memcpy(s, a->u.str.s, a->u.str.len);
        memcpy(s + a->u.str.len, b->u.str.s, b->u.str.len);
        s[n] = '\0';
        tv_own(out, kurc_value_str_take(s, n, NULL));
        return 0;
    }
    if (tmpl_check_size(rt, line, a->u.list.len + b->u.list.len) < 0)
        return -1;
    struct kurc_value *l = tmpl_new_seq(tmpl_pytype(a));
    for (size_t i = 0; i < a->u.list.len; i++)
        kurc_list_append(l, kurc_value_copy(a->u.list.items[i]));
    for (size_t i = 0; i < b->u.list.len; i++)
        kurc_list_append(l, kurc_value_copy(b->u.list.items[i]));
    tv_own(out, l);
    return 0;
}

int tmpl_binop(struct rt *rt, int line, int op, const struct kurc_value *a,
               const struct kurc_value *b, struct tv *out) {
    enum pytype ta = tmpl_pytype(a), tb = tmpl_pytype(b);
    if (tmpl_is_number(a) && tmpl_is_number(b)) {
        if (is_intlike(a) && is_intlike(b) && op != T_DIV && (op != T_POW || int_val(b) >= 0))
            return int_arith(rt, line, op, int_val(a), int_val(b), out);
        return float_arith(rt, line, op, tmpl_num(a), tmpl_num(b), out);
    }
    if (op == T_ADD && ta == tb && is_seq(ta))
        return concat(rt, line, a, b, out);
    if (op == T_MUL && is_seq(ta) && is_intlike(b))
        return repeat(rt, line, a, int_val(b), out);
    if (op == T_MUL && is_intlike(a) && is_seq(tb))
        return repeat(rt, line, b, int_val(a), out);
    if (op == T_MOD && ta == PT_STR)
        return tmpl_percent(rt, line, a, b, out);
    const char *na = tmpl_pytype_name(ta), *nb = tmpl_pytype_name(tb);
    if (op == T_ADD && is_seq(ta))
        return tmpl_fail(rt->diag, line, "can only concatenate %s (not \"%s\") to %s", na, nb, na);
    if (op == T_MUL && (is_seq(ta) || is_seq(tb)) && (tmpl_is_number(a) || tmpl_is_number(b)))
        return tmpl_fail(rt->diag, line, "can't multiply sequence by non-int of type '%s'",
                         is_seq(ta) ? nb : na);
    return tmpl_fail(rt->diag, line, "unsupported operand type(s) for %s: '%s' and '%s'",
                     op_text(op), na, nb);
}

int tmpl_neg(struct rt *rt, int line, const struct kurc_value *a, bool negate, struct tv *out) {
    if (a->kind == KURC_FLOAT) {
        tv_own(out, kurc_value_float(negate ? -a->u.f : a->u.f, NULL));
        return 0;
    }
    if (!is_intlike(a))
        return tmpl_fail(rt->diag, line, "bad operand type for unary %c: '%s'", negate ? '-' : '+',
                         tmpl_type_name(a));
    int64_t x = int_val(a);
    if (negate && x == INT64_MIN)
        return overflow(rt, line);
    tv_own(out, kurc_value_int(negate ? -x : x, NULL));
    return 0;
}

/* ---- comparisons ------------------------------------------------------- */

/* Exact comparison of an int with a (non-NaN) float: -1, 0 or 1. */
static int cmp_int_float(int64_t i, double f) {
    if (f >= 9223372036854775808.0)
        return -1;
    if (f < -9223372036854775808.0)
        return 1;
    double fl = floor(f);
    int64_t fi = (int64_t)fl;
    if (i != fi)
        return i < fi ? -1 : 1;
    return f > fl ? -1 : 0;
}

/* Compares two numbers: -1, 0, 1, or 2 when either is NaN. */
static int cmp_numbers(const struct kurc_value *a, const struct kurc_value *b) {
    bool fa = a->kind == KURC_FLOAT, fb = b->kind == KURC_FLOAT;
    if ((fa && isnan(a->u.f)) || (fb && isnan(b->u.f)))
        return 2;
    if (!fa && !fb)
        return int_val(a) < int_val(b) ? -1 : int_val(a) > int_val(b);
    if (fa && fb)
        return a->u.f < b->u.f ? -1 : a->u.f > b->u.f;
    return fa ? -cmp_int_float(int_val(b), a->u.f) : cmp_int_float(int_val(a), b->u.f);
}

static bool contains_equal(const struct kurc_value *list, const struct kurc_value *x) {
    for (size_t i = 0; i < list->u.list.len; i++)
        if (tmpl_equal(list->u.list.items[i], x))
            return true;
    return false;
}

bool tmpl_equal(const struct kurc_value *a, const struct kurc_value *b) {
    if (tmpl_is_number(a) && tmpl_is_number(b))
        return cmp_numbers(a, b) == 0;
    enum pytype t = tmpl_pytype(a);
    if (t != tmpl_pytype(b))
        return false;
    switch (t) {
    case PT_NONE:
        return true;
    case PT_STR:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case PT_LIST:
    case PT_TUPLE:
        if (a->u.list.len != b->u.list.len)
            return false;
        for (size_t i = 0; i < a->u.list.len; i++)
            if (!tmpl_equal(a->u.list.items[i], b->u.list.items[i]))
                return false;
        return true;
    case PT_KEYS:
    case PT_ITEMS:
        if (a->u.list.len != b->u.list.len)
            return false;
        for (size_t i = 0; i < a->u.list.len; i++)
            if (!contains_equal(b, a->u.list.items[i]))
                return false;
        return true;
    case PT_DICT:
        if (a->u.map.len != b->u.map.len)
            return false;
        for (size_t i = 0; i < a->u.map.len; i++) {
            const struct kurc_value *other = kurc_map_get(b, a->u.map.pairs[i].key);
            if (!other || !tmpl_equal(a->u.map.pairs[i].val, other))
                return false;
        }
        return true;
    default:
        return a == b;
    }
}

static bool apply_cmp(int op, int c) {
    switch (op) {
    case CMP_LT:
        return c < 0;
    case CMP_LE:
        return c <= 0;
    case CMP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

int tmpl_order(struct rt *rt, int line, int op, const struct kurc_value *a,
               const struct kurc_value *b, bool *res) {
    enum pytype ta = tmpl_pytype(a), tb = tmpl_pytype(b);
    if (tmpl_is_number(a) && tmpl_is_number(b)) {
        int c = cmp_numbers(a, b);
        *res = c != 2 && apply_cmp(op, c);
        return 0;
    }
    if (ta == PT_STR && tb == PT_STR) {
        size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
        int c = memcmp(a->u.str.s, b->u.str.s, n);
        if (c == 0)
            c = a->u.str.len < b->u.str.len ? -1 : a->u.str.len > b->u.str.len;
        *res = apply_cmp(op, c);
        return 0;
    }
    if (ta == tb && (ta == PT_LIST || ta == PT_TUPLE)) {
        size_t n = a->u.list.len < b->u.list.len ? a->u.list.len : b->u.list.len;
        for (size_t i = 0; i < n; i++)
            if (!tmpl_equal(a->u.list.items[i], b->u.list.items[i]))
                return tmpl_order(rt, line, op, a->u.list.items[i], b->u.list.items[i], res);
        int c = a->u.list.len < b->u.list.len ? -1 : a->u.list.len > b->u.list.len;
        *res = apply_cmp(op, c);
        return 0;
    }
    static const char *const ops[] = {
        [CMP_LT] = "<", [CMP_LE] = "<=", [CMP_GT] = ">", [CMP_GE] = ">="};
    return tmpl_fail(rt->diag, line, "'%s' not supported between instances of '%s' and '%s'",
                     ops[op], tmpl_pytype_name(ta), tmpl_pytype_name(tb));
}

static bool hashable(enum pytype t) {
    return t != PT_LIST && t != PT_DICT && t != PT_KEYS && t != PT_VALUES && t != PT_ITEMS &&
           t != PT_LOOP;
}

int tmpl_contains(struct rt *rt, int line, const struct kurc_value *needle,
                  const struct kurc_value *hay, bool *res) {
    enum pytype th = tmpl_pytype(hay), tn = tmpl_pytype(needle);
    switch (th) {
    case PT_STR:
        if (tn != PT_STR)
            return tmpl_fail(rt->diag, line,
                             "'in <string>' requires string as left operand, not %s",
                             tmpl_pytype_name(tn));
        *res = needle->u.str.len == 0 ||
               (hay->u.str.len >= needle->u.str.len &&
                tmpl_find(hay->u.str.s, hay->u.str.len, needle->u.str.s, needle->u.str.len));
        return 0;
    case PT_LIST:
    case PT_TUPLE:
    case PT_VALUES:
    case PT_ITEMS:
        *res = contains_equal(hay, needle);
        return 0;
    case PT_DICT:
    case PT_KEYS:
        if (!hashable(tn))
            return tmpl_fail(rt->diag, line, "unhashable type: '%s'", tmpl_pytype_name(tn));
        *res = tn == PT_STR && (th == PT_DICT ? kurc_map_find(hay, needle->u.str.s) != NULL
                                              : contains_equal(hay, needle));
        return 0;
    default:
        return tmpl_fail(rt->diag, line, "argument of type '%s' is not iterable",
                         tmpl_pytype_name(th));
    }
}

/* ---- sorting ------------------------------------------------------------ */

/* True when key b must come before key a (so a stable merge keeps a first
 * on ties). */
static int before(struct rt *rt, int line, const struct kurc_value *a, const struct kurc_value *b,
                  bool reverse, bool *res) {
    return reverse ? tmpl_order(rt, line, CMP_LT, a, b, res)
                   : tmpl_order(rt, line, CMP_LT, b, a, res);
}

int tmpl_sort(struct rt *rt, int line, struct kurc_value **items, struct kurc_value **keys,
              size_t n, bool reverse) {
    size_t *idx = kurc_xmalloc((n ? n : 1) * sizeof *idx);
    size_t *tmp = kurc_xmalloc((n ? n : 1) * sizeof *tmp);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    int rc = 0;
    for (size_t width = 1; rc == 0 && width < n; width *= 2) {
        for (size_t lo = 0; rc == 0 && lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (rc == 0 && i < mid && j < hi) {
                bool take_right = false;
                rc = before(rt, line, keys[idx[i]], keys[idx[j]], reverse, &take_right);
                tmp[k++] = take_right ? idx[j++] : idx[i++];
            }
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        size_t *swap = idx;
        idx = tmp;
        tmp = swap;
    }
    if (rc == 0) {
        struct kurc_value **sorted_items = kurc_xmalloc((n ? n : 1) * sizeof *sorted_items);
        struct kurc_value **sorted_keys = kurc_xmalloc((n ? n : 1) * sizeof *sorted_keys);
        for (size_t i = 0; i < n; i++) {
            sorted_items[i] = items[idx[i]];
            sorted_keys[i] = keys[idx[i]];
        }
        memcpy(items, sorted_items, n * sizeof *items);
        memcpy(keys, sorted_keys, n * sizeof *keys);
        free(sorted_items);
        free(sorted_keys);
    }
    free(idx);
    free(tmp);
    return rc;
}
