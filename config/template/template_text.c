/* template_text.c - Python's view of text and numbers for the renderer.
 *
 * Strings are UTF-8; Python counts, indexes and strips them by code point
 * (bytes that are not valid UTF-8 count as one code point each).  Case
 * mapping covers ASCII letters only.  Also here: float() and int() of
 * strings, str()/repr() of tuples, dict views and loop objects (which plain
 * kurc values cannot express), and json.dumps for the tojson filter.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"
#include "config/value/json_dump.h"
#include "config/value/pyrepr.h"

size_t *tmpl_u8_offsets(const char *s, size_t len, size_t *n) {
    size_t count = kurc_utf8_count(s, len);
    size_t *offs = kurc_xmalloc((count + 1) * sizeof *offs);
    size_t i = 0;
    for (size_t k = 0; k < count; k++) {
        uint32_t cp;
        offs[k] = i;
        i = kurc_utf8_next(s, len, i, &cp);
    }
    offs[count] = len;
    *n = count;
    return offs;
}

bool tmpl_py_space(uint32_t cp) {
    return (cp >= 9 && cp <= 13) || (cp >= 28 && cp <= 32) || cp == 0x85 || cp == 0xA0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

size_t tmpl_rstrip(const char *s, size_t len) {
    size_t end = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t next = kurc_utf8_next(s, len, i, &cp);
        if (!tmpl_py_space(cp))
            end = next;
        i = next;
    }
    return end;
}

size_t tmpl_lstrip(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t next = kurc_utf8_next(s, len, i, &cp);
        if (!tmpl_py_space(cp))
            break;
        i = next;
    }
    return i;
}

const char *tmpl_find(const char *hay, size_t hn, const char *needle, size_t nn) {
    if (nn == 0)
        return hay;
    for (size_t i = 0; i + nn <= hn; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nn) == 0)
            return hay + i;
    return NULL;
}

/* True if code point cp occurs in chars (or is whitespace when chars is
 * NULL). */
static bool in_set(uint32_t cp, const char *chars, size_t nchars) {
    if (!chars)
        return tmpl_py_space(cp);
    for (size_t i = 0; i < nchars;) {
        uint32_t c;
        i = kurc_utf8_next(chars, nchars, i, &c);
        if (c == cp)
            return true;
    }
    return false;
}

void tmpl_strip(const char *s, size_t len, const char *chars, size_t nchars, bool left, bool right,
                size_t *b, size_t *e) {
    size_t start = 0, end = len;
    if (left) {
        while (start < len) {
            uint32_t cp;
            size_t next = kurc_utf8_next(s, len, start, &cp);
            if (!in_set(cp, chars, nchars))
                break;
            start = next;
        }
    }
    if (right) {
        end = start;
        for (size_t i = start; i < len;) {
            uint32_t cp;
            size_t next = kurc_utf8_next(s, len, i, &cp);
            if (!in_set(cp, chars, nchars))
                end = next;
            i = next;
        }
    }
    *b = start;
    *e = end;
}

void tmpl_replace(const char *s, size_t len, const char *old, size_t oldlen, const char *new_,
                  size_t newlen, int64_t count, struct kurc_strbuf *sb) {
    kurc_strbuf_append(sb, "", 0);
    if (oldlen == 0) { /* new goes before every character and at the end */
        size_t i = 0;
        for (; i <= len && count != 0; count--) {
            kurc_strbuf_append(sb, new_, newlen);
            if (i == len) {
                i++;
                break;
            }
            uint32_t cp;
            size_t next = kurc_utf8_next(s, len, i, &cp);
            kurc_strbuf_append(sb, s + i, next - i);
            i = next;
        }
        if (i < len)
            kurc_strbuf_append(sb, s + i, len - i);
        return;
    }
    size_t i = 0;
    while (count != 0) {
        const char *hit = tmpl_find(s + i, len - i, old, oldlen);
        if (!hit)
            break;
        size_t at = (size_t)(hit - s);
        kurc_strbuf_append(sb, s + i, at - i);
        kurc_strbuf_append(sb, new_, newlen);
        i = at + oldlen;
        count--;
    }
    kurc_strbuf_append(sb, s + i, len - i);
}

static char ascii_upper(char c) {
    return c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
}

static char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Separators of Jinja's title filter: regex [-\s({\[<]. */
static bool title_sep(char c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || c == ' ' ||
           (c >= 9 && c <= 13) || (c >= 28 && c <= 31);
}

void tmpl_case(const char *s, size_t len, enum tmpl_case mode, struct kurc_strbuf *sb) {
    for (size_t i = 0; i < len; i++) {
        bool up = mode == CASE_UPPER || (mode == CASE_CAPITALIZE && i == 0) ||
                  (mode == CASE_TITLE && (i == 0 || title_sep(s[i - 1])));
        kurc_strbuf_putc(sb, up ? ascii_upper(s[i]) : ascii_lower(s[i]));
    }
}

/* Python's digitpart, digit (["_"] digit)*: the end, or p if none. */
static size_t digitpart(const char *s, size_t len, size_t p, int base) {
    size_t q = p;
    for (;;) {
        size_t k = q > p && q < len && s[q] == '_' ? q + 1 : q;
        if (k >= len)
            break;
        char c = s[k];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'z' ? c - 'a' + 10
                : c >= 'A' && c <= 'Z' ? c - 'A' + 10
                                       : 99;
        if (d >= base)
            break;
        q = k + 1;
    }
    return q;
}

static bool word_at(const char *s, size_t len, size_t p, const char *w) {
    size_t n = strlen(w);
    if (len - p != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(s[p + i]) != w[i])
            return false;
    return true;
}

int tmpl_parse_float(const char *s, size_t len, double *out) {
    size_t b = tmpl_lstrip(s, len), e = tmpl_rstrip(s, len);
    if (b >= e)
        return -1;
    size_t p = b;
    bool neg = false;
    if (s[p] == '+' || s[p] == '-')
        neg = s[p++] == '-';
    if (word_at(s, e, p, "inf") || word_at(s, e, p, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (word_at(s, e, p, "nan")) {
        *out = neg ? -NAN : NAN;
        return 0;
    }
    size_t q = digitpart(s, e, p, 10);
    bool digits = q > p;
    if (q < e && s[q] == '.') {
        size_t r = digitpart(s, e, q + 1, 10);
        digits |= r > q + 1;
        q = r;
    }
    if (!digits)
        return -1;
    if (q < e && (s[q] == 'e' || s[q] == 'E')) {
        size_t r = q + 1;
        if (r < e && (s[r] == '+' || s[r] == '-'))
            r++;
        size_t t = digitpart(s, e, r, 10);
        if (t == r)
            return -1;
        q = t;
    }
    if (q != e)
        return -1;
    char *buf = kurc_xmalloc(e - b + 1);
    size_t k = 0;
    for (size_t i = b; i < e; i++)
        if (s[i] != '_')
            buf[k++] = s[i];
    buf[k] = '\0';
    *out = strtod(buf, NULL);
    free(buf);
    return 0;
}

int tmpl_parse_int(const char *s, size_t len, int base, int64_t *out) {
    size_t b = tmpl_lstrip(s, len), e = tmpl_rstrip(s, len);
    if (b >= e || base == 1 || base < 0 || base > 36)
        return -1;
    size_t p = b;
    bool neg = false;
    if (s[p] == '+' || s[p] == '-')
        neg = s[p++] == '-';
    if (p >= e)
        return -1;
    if (p + 1 < e && s[p] == '0') {
        char x = ascii_lower(s[p + 1]);
        int pb = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 0;
        if (pb && (base == 0 || base == pb)) {
            base = pb;
            p += 2;
            if (p < e && s[p] == '_')
                p++;
        }
    }
    if (base == 0) {
        base = 10;
        if (s[p] == '0') { /* base 0 allows no leading zeros except in 0 itself */
            size_t q = digitpart(s, e, p, 10);
            for (size_t i = p; i < q; i++)
                if (s[i] != '0' && s[i] != '_')
                    return -1;
        }
    }
    size_t q = digitpart(s, e, p, base);
    if (q == p || q != e)
        return -1;
    uint64_t v = 0, limit = neg ? UINT64_C(9223372036854775808) : UINT64_C(9223372036854775807);
    for (size_t i = p; i < q; i++) {
        if (s[i] == '_')
            continue;
        char c = ascii_lower(s[i]);
        uint64_t d = (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        if (v > (limit - d) / (uint64_t)base)
            return -2;
        v = v * (uint64_t)base + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* ---- str() and repr() ---------------------------------------------------- */

void tmpl_repr(const struct kurc_value *v, struct kurc_strbuf *sb) {
    enum pytype t = tmpl_pytype(v);
    switch (t) {
    case PT_LIST:
        kurc_strbuf_putc(sb, '[');
        kurc_py_repr_items(v, tmpl_repr, sb);
        kurc_strbuf_putc(sb, ']');
        break;
    case PT_TUPLE:
        kurc_strbuf_putc(sb, '(');
        kurc_py_repr_items(v, tmpl_repr, sb);
        kurc_strbuf_puts(sb, v->u.list.len == 1 ? ",)" : ")");
        break;
    case PT_KEYS:
    case PT_VALUES:
    case PT_ITEMS:
        kurc_strbuf_printf(sb, "%s([", tmpl_pytype_name(t));
        kurc_py_repr_items(v, tmpl_repr, sb);
        kurc_strbuf_puts(sb, "])");
        break;
    case PT_DICT:
        kurc_py_repr_dict(v, tmpl_repr, sb);
        break;
    case PT_LOOP: {
        const struct kurc_value *index = kurc_map_get(v, "index");
        const struct kurc_value *length = kurc_map_get(v, "length");
        kurc_strbuf_printf(sb, "<LoopContext %" PRId64 "/%" PRId64 ">", index->u.i, length->u.i);
        break;
    }
    default:
        kurc_py_repr(v, sb);
        break;
    }
}

void tmpl_str(const struct kurc_value *v, struct kurc_strbuf *sb) {
    if (v->kind == KURC_STR)
        kurc_strbuf_append(sb, v->u.str.s, v->u.str.len);
    else
        tmpl_repr(v, sb);
}

struct kurc_value *tmpl_str_value(const struct kurc_value *v) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_strbuf_append(&sb, "", 0);
    tmpl_str(v, &sb);
    return kurc_value_str_buf(&sb, NULL);
}

/* ---- JSON ----------------------------------------------------------------- */

/* json.dumps writes None, bools, numbers, strings, lists, tuples and
 * dicts; not dict views or loop objects. */
static bool json_writable(const struct kurc_value *v) {
    enum pytype t = tmpl_pytype(v);
    return t != PT_KEYS && t != PT_VALUES && t != PT_ITEMS && t != PT_LOOP;
}

int tmpl_json(const struct kurc_value *v, const char *indent, struct kurc_strbuf *sb,
              const char **err_type) {
    struct kurc_json_style style = {indent, true, true, json_writable};
    struct kurc_strbuf raw = KURC_STRBUF_INIT;
    kurc_strbuf_append(&raw, "", 0);
    const struct kurc_value *bad = kurc_json_write(v, &style, &raw);
    if (bad)
        *err_type = tmpl_type_name(bad);
    for (size_t i = 0; !bad && i < raw.len; i++) {
        char c = raw.data[i];
        if (c == '<' || c == '>' || c == '&' || c == '\'')
            kurc_strbuf_printf(sb, "\\u%04x", (unsigned)c);
        else
            kurc_strbuf_putc(sb, c);
    }
    kurc_strbuf_free(&raw);
    return bad ? -1 : 0;
}
