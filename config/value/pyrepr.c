/* pyrepr.c - Python str()/repr() spelling of values (see pyrepr.h). */
#include "config/value/pyrepr.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* Finds the shortest "%.Ne" rendering that reads back as f, and splits it
 * into its digit string and decimal exponent: f = 0.DIGITS x 10^decpt. */
static void shortest_digits(double f, char *digits, int *decpt) {
    char buf[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    /* buf is "d.ddddde[+-]XX" */
    size_t n = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    *decpt = atoi(p + 1) + 1;
}

void kurc_py_float_repr(double f, char *out) {
    if (isnan(f)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(f)) {
        strcpy(out, f < 0 ? "-inf" : "inf");
        return;
    }
    char *o = out;
    if (signbit(f)) {
        *o++ = '-';
        f = -f;
    }
    if (f == 0.0) {
        strcpy(o, "0.0");
        return;
    }
    char digits[24];
    int decpt;
    shortest_digits(f, digits, &decpt);
    int nd = (int)strlen(digits);
    if (decpt > 16 || decpt < -3) {
        /* scientific: d[.ddd]e[+-]XX with at least two exponent digits */
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        int e = decpt - 1;
        sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
        return;
    }
    if (decpt <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -decpt; i++)
            *o++ = '0';
        memcpy(o, digits, (size_t)nd);
        o += nd;
    } else if (decpt >= nd) {
        memcpy(o, digits, (size_t)nd);
        o += nd;
        for (int i = nd; i < decpt; i++)
            *o++ = '0';
        *o++ = '.';
        *o++ = '0';
    } else {
        memcpy(o, digits, (size_t)decpt);
        o += decpt;
        *o++ = '.';
        memcpy(o, digits + decpt, (size_t)(nd - decpt));
        o += nd - decpt;
    }
    *o = '\0';
}

void kurc_py_repr_string(const char *s, size_t len, struct kurc_strbuf *sb) {
    bool has_single = memchr(s, '\'', len) != NULL;
    bool has_double = memchr(s, '"', len) != NULL;
    char quote = (has_single && !has_double) ? '"' : '\'';
    kurc_strbuf_putc(sb, quote);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t n = kurc_utf8_decode(s + i, len - i, &cp);
            if (cp == KURC_UTF8_BAD) {
                kurc_strbuf_printf(sb, "\\x%02x", c);
                n = 1;
            } else {
                kurc_strbuf_append(sb, s + i, n);
            }
            i += n;
            continue;
        }
        if (c == (unsigned char)quote || c == '\\') {
            kurc_strbuf_putc(sb, '\\');
            kurc_strbuf_putc(sb, (char)c);
        } else if (c == '\n') {
            kurc_strbuf_puts(sb, "\\n");
        } else if (c == '\r') {
            kurc_strbuf_puts(sb, "\\r");
        } else if (c == '\t') {
            kurc_strbuf_puts(sb, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            kurc_strbuf_printf(sb, "\\x%02x", c);
        } else {
            kurc_strbuf_putc(sb, (char)c);
        }
        i++;
    }
    kurc_strbuf_putc(sb, quote);
}

void kurc_py_repr(const struct kurc_value *v, struct kurc_strbuf *sb) {
    char num[32];
    switch (v->kind) {
    case KURC_NULL:
        kurc_strbuf_puts(sb, "None");
        break;
    case KURC_BOOL:
        kurc_strbuf_puts(sb, v->u.b ? "True" : "False");
        break;
    case KURC_INT:
        kurc_strbuf_printf(sb, "%" PRId64, v->u.i);
        break;
    case KURC_FLOAT:
        kurc_py_float_repr(v->u.f, num);
        kurc_strbuf_puts(sb, num);
        break;
    case KURC_STR:
        kurc_py_repr_string(v->u.str.s, v->u.str.len, sb);
        break;
    case KURC_LIST:
        kurc_strbuf_putc(sb, '[');
        kurc_py_repr_items(v, kurc_py_repr, sb);
        kurc_strbuf_putc(sb, ']');
        break;
    case KURC_MAP:
        kurc_py_repr_dict(v, kurc_py_repr, sb);
        break;
    }
}

void kurc_py_repr_items(const struct kurc_value *v, kurc_py_repr_fn repr, struct kurc_strbuf *sb) {
    for (size_t i = 0; i < v->u.list.len; i++) {
        if (i)
            kurc_strbuf_puts(sb, ", ");
        repr(v->u.list.items[i], sb);
    }
}

void kurc_py_repr_dict(const struct kurc_value *v, kurc_py_repr_fn repr, struct kurc_strbuf *sb) {
    kurc_strbuf_putc(sb, '{');
    for (size_t i = 0; i < v->u.map.len; i++) {
        if (i)
            kurc_strbuf_puts(sb, ", ");
        kurc_py_repr_string(v->u.map.pairs[i].key, strlen(v->u.map.pairs[i].key), sb);
        kurc_strbuf_puts(sb, ": ");
        repr(v->u.map.pairs[i].val, sb);
    }
    kurc_strbuf_putc(sb, '}');
}

void kurc_py_str(const struct kurc_value *v, struct kurc_strbuf *sb) {
    if (v->kind == KURC_STR)
        kurc_strbuf_append(sb, v->u.str.s, v->u.str.len);
    else
        kurc_py_repr(v, sb);
}
