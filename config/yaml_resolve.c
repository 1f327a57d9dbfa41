/* yaml_resolve.c - YAML 1.1 (PyYAML) and JSON typing of plain scalars (see
 * yaml_resolve.h).  Each matcher mirrors one of PyYAML's resolver regexes,
 * and each converter its constructor (construct_yaml_int/float). */
#include "config/yaml_resolve.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Whether s[0..n) equals one of the NULL-terminated words. */
static bool is_one_of(const char *s, size_t n, const char *const *words) {
    for (; *words; words++)
        if (strlen(*words) == n && memcmp(s, *words, n) == 0)
            return true;
    return false;
}

/* Whether every byte of s[0..n) is in set (true for n == 0). */
static bool all_in(const char *s, size_t n, const char *set) {
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || !strchr(set, s[i]))
            return false;
    return true;
}

/* Copies the number s[0..n) without its underscores into sb (PyYAML's
 * value.replace('_', '')) and returns where it goes on after its sign;
 * *negative tells the sign. */
static const char *unsigned_part(const char *s, size_t n, struct kurc_strbuf *sb, bool *negative) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_')
            kurc_strbuf_putc(sb, s[i]);
    const char *v = sb->data;
    *negative = v[0] == '-';
    return v[0] == '-' || v[0] == '+' ? v + 1 : v;
}

/* Checks the sexagesimal tail (?::[0-5]?[0-9])+ that starts at s[0] == ':'
 * and returns its length; stops before any byte other than ':' and digits
 * (the float form continues with '.').  Returns 0 when it does not match. */
static size_t sexagesimal_tail(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && s[i] == ':') {
        size_t j = i + 1;
        while (j < n && is_digit(s[j]))
            j++;
        size_t d = j - i - 1;
        if (d == 0 || d > 2 || (d == 2 && s[i + 1] > '5'))
            return 0;
        i = j;
    }
    return i;
}

/* Accumulates the n digits at s (all valid in base) into *out; false when
 * there are none or the value exceeds uint64. */
static bool parse_magnitude(const char *s, size_t n, int base, uint64_t *out) {
    uint64_t v = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)(is_digit(s[i]) ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
        if (v > (UINT64_MAX - d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + d;
    }
    *out = v;
    return true;
}

/* An int value from a sign and a magnitude; NULL outside int64. */
static struct kurc_value *signed_int(bool negative, uint64_t mag, const struct kurc_loc *loc) {
    if (mag > (negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return NULL;
    if (!negative)
        return kurc_value_int((int64_t)mag, loc);
    return kurc_value_int(mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag, loc);
}

/* Whether s matches PyYAML's int regex:
 * [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
 * | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+ */
static bool match_int(const char *s, size_t n) {
    if (n && (s[0] == '-' || s[0] == '+')) {
        s++;
        n--;
    }
    if (n == 0)
        return false;
    if (s[0] == '0') {
        if (n == 1)
            return true;
        if (n > 2 && s[1] == 'b')
            return all_in(s + 2, n - 2, "01_");
        if (n > 2 && s[1] == 'x')
            return all_in(s + 2, n - 2, "0123456789abcdefABCDEF_");
        return all_in(s + 1, n - 1, "01234567_");
    }
    if (!is_digit(s[0]))
        return false;
    size_t i = 1;
    while (i < n && (is_digit(s[i]) || s[i] == '_'))
        i++;
    return i == n || sexagesimal_tail(s + i, n - i) == n - i;
}

/* PyYAML's construct_yaml_int on a scalar that matched; NULL when the value
 * does not fit int64 or Python's int() would raise ("0b_"). */
static struct kurc_value *construct_int(const char *s, size_t n, const struct kurc_loc *loc) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    bool negative;
    const char *v = unsigned_part(s, n, &sb, &negative);
    uint64_t mag = 0;
    bool ok = true;
    if (strcmp(v, "0") == 0) {
        mag = 0;
    } else if (strncmp(v, "0b", 2) == 0) {
        ok = parse_magnitude(v + 2, strlen(v + 2), 2, &mag);
    } else if (strncmp(v, "0x", 2) == 0) {
        ok = parse_magnitude(v + 2, strlen(v + 2), 16, &mag);
    } else if (v[0] == '0') {
        ok = parse_magnitude(v, strlen(v), 8, &mag);
    } else {
        /* decimal, or base 60 with ':' between digit groups */
        for (;;) {
            size_t g = strcspn(v, ":");
            uint64_t group;
            ok = parse_magnitude(v, g, 10, &group) && mag <= (UINT64_MAX - group) / 60;
            if (!ok)
                break;
            mag = mag * 60 + group;
            if (!v[g])
                break;
            v += g + 1;
        }
    }
    struct kurc_value *r = ok ? signed_int(negative, mag, loc) : NULL;
    kurc_strbuf_free(&sb);
    return r;
}

/* Skips [0-9_]* from s[i] and returns the index after it. */
static size_t skip_digit_run(const char *s, size_t n, size_t i) {
    while (i < n && (is_digit(s[i]) || s[i] == '_'))
        i++;
    return i;
}

/* Whether s matches PyYAML 3.12's float regex:
 * [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)? | \.[0-9_]+(?:[eE][-+][0-9]+)?
 * | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF)
 * | \.(?:nan|NaN|NAN) */
static bool match_float(const char *s, size_t n) {
    static const char *const infs[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    size_t sign = n && (s[0] == '-' || s[0] == '+');
    const char *p = s + sign;
    size_t m = n - sign;
    if (is_one_of(p, m, infs) || is_one_of(s, n, nans))
        return true;
    if (m == 0)
        return false;
    size_t i;
    if (p[0] == '.') {
        /* .5 takes no sign */
        i = skip_digit_run(p, m, 1);
        if (sign || i == 1)
            return false;
    } else {
        if (!is_digit(p[0]))
            return false;
        i = skip_digit_run(p, m, 1);
        if (i < m && p[i] == ':') {
            size_t t = sexagesimal_tail(p + i, m - i);
            i += t;
            if (t == 0 || i >= m || p[i] != '.')
                return false;
            return skip_digit_run(p, m, i + 1) == m;
        }
        if (i >= m || p[i] != '.')
            return false;
        i = skip_digit_run(p, m, i + 1);
    }
    if (i < m && (p[i] == 'e' || p[i] == 'E')) {
        if (i + 1 >= m || (p[i + 1] != '-' && p[i + 1] != '+'))
            return false;
        size_t start = i + 2;
        for (i = start; i < m && is_digit(p[i]); i++)
            ;
        if (i == start)
            return false;
    }
    return i == m;
}

/* PyYAML's construct_yaml_float on a scalar that matched; NULL when
 * Python's float() would raise (no digit before the exponent: "._e+1"). */
static struct kurc_value *construct_float(const char *s, size_t n, const struct kurc_loc *loc) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    bool negative;
    const char *v = unsigned_part(s, n, &sb, &negative);
    struct kurc_value *r = NULL;
    double f = 0.0;
    if (v[0] == '.' && (v[1] == 'i' || v[1] == 'I')) {
        f = INFINITY;
    } else if (v[0] == '.' && (v[1] == 'n' || v[1] == 'N')) {
        f = NAN;
    } else if (strchr(v, ':')) {
        /* base 60: Python sums float(group) * 60**k from the last group up;
         * base stays exact (as Python's int is) up to 60**13 */
        size_t ngroups = 1;
        for (const char *q = v; *q; q++)
            ngroups += *q == ':';
        double base = 1.0;
        for (size_t k = ngroups; k-- > 0;) {
            const char *g = v;
            for (size_t skip = k; skip; skip--)
                g = strchr(g, ':') + 1;
            f += strtod(g, NULL) * base;
            base *= 60;
        }
    } else if (strcspn(v, "0123456789") < strcspn(v, "eE")) {
        f = strtod(v, NULL); /* the mantissa has a digit */
    } else {
        goto done;
    }
    r = kurc_value_float(negative ? -f : f, loc);
done:
    kurc_strbuf_free(&sb);
    return r;
}

struct kurc_value *kurc_yaml_resolve_plain(const char *s, size_t len, const struct kurc_loc *loc) {
    static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"yes",  "Yes", "YES", "true", "True",
                                        "TRUE", "on",  "On",  "ON",   NULL};
    static const char *const falses[] = {"no",    "No",  "NO",  "false", "False",
                                         "FALSE", "off", "Off", "OFF",   NULL};
    if (len == 0 || is_one_of(s, len, nulls))
        return kurc_value_null(loc);
    if (is_one_of(s, len, trues))
        return kurc_value_bool(true, loc);
    if (is_one_of(s, len, falses))
        return kurc_value_bool(false, loc);
    struct kurc_value *v = NULL;
    if (match_float(s, len))
        v = construct_float(s, len, loc);
    else if (match_int(s, len))
        v = construct_int(s, len, loc);
    return v ? v : kurc_value_strn(s, len, loc);
}

struct kurc_value *kurc_json_resolve_plain(const char *s, size_t len, const struct kurc_loc *loc) {
    static const char *const trues[] = {"true", NULL};
    static const char *const falses[] = {"false", NULL};
    static const char *const nulls[] = {"null", NULL};
    static const char *const nans[] = {"NaN", NULL};
    static const char *const infs[] = {"Infinity", NULL};
    static const char *const neg_infs[] = {"-Infinity", NULL};
    if (is_one_of(s, len, trues))
        return kurc_value_bool(true, loc);
    if (is_one_of(s, len, falses))
        return kurc_value_bool(false, loc);
    if (is_one_of(s, len, nulls))
        return kurc_value_null(loc);
    if (is_one_of(s, len, nans))
        return kurc_value_float(NAN, loc);
    if (is_one_of(s, len, infs))
        return kurc_value_float(INFINITY, loc);
    if (is_one_of(s, len, neg_infs))
        return kurc_value_float(-INFINITY, loc);
    /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? */
    size_t i = len && s[0] == '-';
    size_t int_start = i;
    if (i < len && s[i] == '0')
        i++;
    else
        while (i < len && is_digit(s[i]))
            i++;
    if (i == int_start)
        return NULL;
    size_t int_end = i;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start)
            return NULL;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t start = i;
        while (i < len && is_digit(s[i]))
            i++;
        if (i == start)
            return NULL;
    }
    if (i != len)
        return NULL;
    if (int_end == len) {
        uint64_t mag;
        if (!parse_magnitude(s + int_start, len - int_start, 10, &mag))
            return NULL;
        return signed_int(int_start == 1, mag, loc);
    }
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_strbuf_append(&sb, s, len);
    struct kurc_value *v = kurc_value_float(strtod(sb.data, NULL), loc);
    kurc_strbuf_free(&sb);
    return v;
}
