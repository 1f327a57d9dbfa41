/* template_format.c - Python's printf-style `format % args` (and the
 * format filter): %s %r %a %c %d %i %u %o %x %X %e %E %f %F %g %G %%, with
 * %(key)s lookups, the flags - + space # 0, and width and precision (either
 * may be *).  As in Python, a tuple supplies several arguments, a mapping
 * or list may go unused, and any other value is the single argument. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"

struct spec {
    bool left, plus, space, alt, zero;
    long width;
    long prec; /* -1 when absent */
    char conv;
};

/* Appends sign + prefix + body padded to the width (zeros go after the
 * prefix when the 0 flag is set, spaces go left or right otherwise). */
static void pad(struct kurc_strbuf *sb, const struct spec *sp, const char *prefix, const char *body,
                size_t body_len) {
    size_t body_chars = kurc_utf8_count(body, body_len);
    size_t len = strlen(prefix) + body_chars;
    size_t fill = sp->width > 0 && (size_t)sp->width > len ? (size_t)sp->width - len : 0;
    if (!sp->left && !sp->zero)
        for (size_t i = 0; i < fill; i++)
            kurc_strbuf_putc(sb, ' ');
    kurc_strbuf_puts(sb, prefix);
    if (!sp->left && sp->zero)
        for (size_t i = 0; i < fill; i++)
            kurc_strbuf_putc(sb, '0');
    kurc_strbuf_append(sb, body, body_len);
    if (sp->left)
        for (size_t i = 0; i < fill; i++)
            kurc_strbuf_putc(sb, ' ');
}

static const char *sign_of(const struct spec *sp, bool negative) {
    return negative ? "-" : sp->plus ? "+" : sp->space ? " " : "";
}

static int format_int(struct rt *rt, int line, const struct spec *sp, const struct kurc_value *v,
                      struct kurc_strbuf *sb) {
    int64_t x;
    if (v->kind == KURC_FLOAT && strchr("diu", sp->conv)) {
        if (isinf(v->u.f))
            return tmpl_fail(rt->diag, line, "cannot convert float infinity to integer");
        if (isnan(v->u.f))
            return tmpl_fail(rt->diag, line, "cannot convert float NaN to integer");
        if (v->u.f >= 9223372036854775808.0 || v->u.f < -9223372036854775808.0)
            return tmpl_fail(rt->diag, line, "integer overflow");
        x = (int64_t)v->u.f;
    } else if (v->kind == KURC_INT || v->kind == KURC_BOOL) {
        x = v->kind == KURC_INT ? v->u.i : v->u.b;
    } else if (strchr("diu", sp->conv)) {
        return tmpl_fail(rt->diag, line, "%%%c format: a real number is required, not %s", sp->conv,
                         tmpl_type_name(v));
    } else {
        return tmpl_fail(rt->diag, line, "%%%c format: an integer is required, not %s", sp->conv,
                         tmpl_type_name(v));
    }
    uint64_t mag = x < 0 ? 0 - (uint64_t)x : (uint64_t)x;
    unsigned base = sp->conv == 'o' ? 8 : (sp->conv == 'x' || sp->conv == 'X') ? 16 : 10;
    const char *digits = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[72];
    size_t n = 0;
    do {
        tmp[n++] = digits[mag % base];
        mag /= base;
    } while (mag);
    struct kurc_strbuf body = KURC_STRBUF_INIT;
    kurc_strbuf_append(&body, "", 0);
    for (long i = (long)n; i < sp->prec; i++)
        kurc_strbuf_putc(&body, '0');
    while (n)
        kurc_strbuf_putc(&body, tmp[--n]);
    char prefix[8];
    snprintf(prefix, sizeof prefix, "%s%s", sign_of(sp, x < 0),
             !sp->alt || base == 10 ? ""
             : sp->conv == 'o'      ? "0o"
             : sp->conv == 'x'      ? "0x"
                                    : "0X");
    pad(sb, sp, prefix, body.data, body.len);
    kurc_strbuf_free(&body);
    return 0;
}

static int format_float(struct rt *rt, int line, const struct spec *sp, const struct kurc_value *v,
                        struct kurc_strbuf *sb) {
    if (!tmpl_is_number(v))
        return tmpl_fail(rt->diag, line, "must be real number, not %s", tmpl_type_name(v));
    double x = tmpl_num(v);
    bool upper = sp->conv == 'E' || sp->conv == 'F' || sp->conv == 'G';
    char *body;
    if (!isfinite(x)) {
        body = kurc_xstrdup(isnan(x) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"));
    } else {
        char fmt[16];
        snprintf(fmt, sizeof fmt, "%%%s.*%c", sp->alt ? "#" : "", sp->conv);
        int prec = sp->prec < 0 ? 6 : (int)sp->prec;
        int n = snprintf(NULL, 0, fmt, prec, fabs(x));
        body = kurc_xmalloc((size_t)n + 1);
        snprintf(body, (size_t)n + 1, fmt, prec, fabs(x));
    }
    pad(sb, sp, sign_of(sp, !isnan(x) && signbit(x)), body, strlen(body));
    free(body);
    return 0;
}

static int format_text(struct rt *rt, int line, const struct spec *sp, const struct kurc_value *v,
                       struct kurc_strbuf *sb) {
    struct kurc_strbuf text = KURC_STRBUF_INIT;
    kurc_strbuf_append(&text, "", 0);
    if (sp->conv == 'c') {
        if (v->kind == KURC_INT || v->kind == KURC_BOOL) {
            int64_t cp = v->kind == KURC_INT ? v->u.i : v->u.b;
            if (cp < 0 || cp > 0x10FFFF) {
                kurc_strbuf_free(&text);
                return tmpl_fail(rt->diag, line, "%%c arg not in range(0x110000)");
            }
            kurc_utf8_put(&text, (uint32_t)cp);
        } else if (v->kind == KURC_STR && kurc_utf8_count(v->u.str.s, v->u.str.len) == 1) {
            kurc_strbuf_append(&text, v->u.str.s, v->u.str.len);
        } else {
            kurc_strbuf_free(&text);
            return tmpl_fail(rt->diag, line, "%%c requires int or char");
        }
    } else if (sp->conv == 's') {
        tmpl_str(v, &text);
    } else {
        tmpl_repr(v, &text);
    }
    size_t len = text.len;
    if (sp->prec >= 0 && sp->conv != 'c') {
        size_t n, *offs = tmpl_u8_offsets(text.data, text.len, &n);
        if ((size_t)sp->prec < n)
            len = offs[sp->prec];
        free(offs);
    }
    struct spec plain = *sp;
    plain.zero = false;
    pad(sb, &plain, "", text.data, len);
    kurc_strbuf_free(&text);
    return 0;
}

/* The next argument of a tuple or single-value argument list. */
static int next_arg(struct rt *rt, int line, const struct kurc_value *const *argv, size_t argc,
                    size_t *argi, const struct kurc_value **out) {
    if (*argi >= argc)
        return tmpl_fail(rt->diag, line, "not enough arguments for format string");
    *out = argv[(*argi)++];
    return 0;
}

/* A width or precision: digits, or * taking an argument. */
static int number(struct rt *rt, int line, const char *f, size_t n, size_t *i,
                  const struct kurc_value *const *argv, size_t argc, size_t *argi, long *out) {
    if (*i < n && f[*i] == '*') {
        const struct kurc_value *v = NULL;
        (*i)++;
        if (next_arg(rt, line, argv, argc, argi, &v) < 0)
            return -1;
        if (v->kind != KURC_INT && v->kind != KURC_BOOL)
            return tmpl_fail(rt->diag, line, "* wants int");
        int64_t x = v->kind == KURC_INT ? v->u.i : v->u.b;
        *out = x > TMPL_MAX_SIZE    ? TMPL_MAX_SIZE + 1L
               : x < -TMPL_MAX_SIZE ? -TMPL_MAX_SIZE - 1L
                                    : (long)x;
        return 0;
    }
    long x = 0;
    while (*i < n && f[*i] >= '0' && f[*i] <= '9') {
        if (x <= TMPL_MAX_SIZE)
            x = x * 10 + (f[*i] - '0');
        (*i)++;
    }
    *out = x;
    return 0;
}

int tmpl_percent(struct rt *rt, int line, const struct kurc_value *fmt,
                 const struct kurc_value *args, struct tv *out) {
    enum pytype ta = tmpl_pytype(args);
    bool mapping = ta == PT_DICT || ta == PT_LIST;
    const struct kurc_value *const *argv = &args;
    size_t argc = 1, argi = 0;
    if (ta == PT_TUPLE) {
        argv = (const struct kurc_value *const *)args->u.list.items;
        argc = args->u.list.len;
    }
    const char *f = fmt->u.str.s;
    size_t n = fmt->u.str.len;
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_strbuf_append(&sb, "", 0);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (f[i] != '%') {
            kurc_strbuf_putc(&sb, f[i]);
            continue;
        }
        i++;
        struct spec sp = {.prec = -1};
        const struct kurc_value *val = NULL;
        if (i < n && f[i] == '(') {
            size_t depth = 1, k = i + 1;
            for (; k < n && depth; k++)
                depth += f[k] == '(' ? 1 : f[k] == ')' ? -1 : 0;
            if (depth) {
                rc = tmpl_fail(rt->diag, line, "incomplete format key");
                break;
            }
            if (ta != PT_DICT) {
                rc = tmpl_fail(rt->diag, line,
                               ta == PT_LIST ? "list indices must be integers or slices, not str"
                                             : "format requires a mapping");
                break;
            }
            char *key = kurc_xstrndup(f + i + 1, k - i - 2);
            val = kurc_map_get(args, key);
            if (!val)
                rc = tmpl_fail(rt->diag, line, "format key '%s' is not in the mapping", key);
            free(key);
            i = k;
        }
        for (; rc == 0 && i < n && strchr("-+ #0", f[i]); i++) {
            sp.left |= f[i] == '-';
            sp.plus |= f[i] == '+';
            sp.space |= f[i] == ' ';
            sp.alt |= f[i] == '#';
            sp.zero |= f[i] == '0';
        }
        if (rc == 0)
            rc = number(rt, line, f, n, &i, argv, argc, &argi, &sp.width);
        if (rc == 0 && sp.width < 0) {
            sp.left = true;
            sp.width = -sp.width;
        }
        if (rc == 0 && i < n && f[i] == '.') {
            i++;
            rc = number(rt, line, f, n, &i, argv, argc, &argi, &sp.prec);
            if (sp.prec < 0)
                sp.prec = 0;
        }
        if (rc == 0 && (sp.width > TMPL_MAX_SIZE || sp.prec > TMPL_MAX_SIZE))
            rc = tmpl_check_size(rt, line, (size_t)TMPL_MAX_SIZE + 1);
        while (rc == 0 && i < n && strchr("hlL", f[i]))
            i++;
        if (rc < 0)
            break;
        if (i >= n) {
            rc = tmpl_fail(rt->diag, line, "incomplete format");
            break;
        }
        sp.conv = f[i];
        if (sp.conv == '%') {
            kurc_strbuf_putc(&sb, '%');
            continue;
        }
        if (!strchr("sracdiuoxXeEfFgG", sp.conv)) {
            rc = tmpl_fail(rt->diag, line, "unsupported format character '%c' (0x%x) at index %zu",
                           sp.conv, (unsigned char)sp.conv, kurc_utf8_count(f, i));
            break;
        }
        if (!val && next_arg(rt, line, argv, argc, &argi, &val) < 0) {
            rc = -1;
            break;
        }
        if (strchr("diuoxX", sp.conv))
            rc = format_int(rt, line, &sp, val, &sb);
        else if (strchr("eEfFgG", sp.conv))
            rc = format_float(rt, line, &sp, val, &sb);
        else
            rc = format_text(rt, line, &sp, val, &sb);
        if (rc == 0)
            rc = tmpl_check_size(rt, line, sb.len);
    }
    if (rc == 0 && argi < argc && !mapping)
        rc = tmpl_fail(rt->diag, line, "not all arguments converted during string formatting");
    if (rc < 0) {
        kurc_strbuf_free(&sb);
        return -1;
    }
    tv_own(out, kurc_value_str_buf(&sb, NULL));
    return 0;
}
