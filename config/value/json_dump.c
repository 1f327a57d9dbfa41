/* json_dump.c - Python's json.dumps (see json_dump.h). */
#include "config/value/json_dump.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "base/xalloc.h"
#include "config/value/pyrepr.h"

void kurc_json_float_repr(double f, char *out) {
    if (isnan(f))
        strcpy(out, "NaN");
    else if (isinf(f))
        strcpy(out, f < 0 ? "-Infinity" : "Infinity");
    else
        kurc_py_float_repr(f, out);
}

/* Appends a string as json.dumps writes it (quoted, ensure_ascii); bytes
 * that are not valid UTF-8 as kurc_json_style.surrogateescape says. */
static void dump_string(const char *s, size_t len, bool surrogateescape,
                        struct kurc_strbuf *out) {
    kurc_strbuf_putc(out, '"');
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        if (surrogateescape) {
            i = kurc_utf8_next(s, len, i, &cp);
        } else {
            i += kurc_utf8_decode_strict(s + i, len - i, &cp);
            if (cp == KURC_UTF8_BAD)
                cp = 0xFFFD;
        }
        switch (cp) {
        case '"':
            kurc_strbuf_puts(out, "\\\"");
            break;
        case '\\':
            kurc_strbuf_puts(out, "\\\\");
            break;
        case '\n':
            kurc_strbuf_puts(out, "\\n");
            break;
        case '\r':
            kurc_strbuf_puts(out, "\\r");
            break;
        case '\t':
            kurc_strbuf_puts(out, "\\t");
            break;
        case '\b':
            kurc_strbuf_puts(out, "\\b");
            break;
        case '\f':
            kurc_strbuf_puts(out, "\\f");
            break;
        default:
            if (cp >= 0x20 && cp < 0x7F) {
                kurc_strbuf_putc(out, (char)cp);
            } else if (cp < 0x10000) {
                kurc_strbuf_printf(out, "\\u%04" PRIx32, cp);
            } else {
                /* above the BMP: a UTF-16 surrogate pair */
                cp -= 0x10000;
                kurc_strbuf_printf(out, "\\u%04" PRIx32 "\\u%04" PRIx32, 0xD800 + (cp >> 10),
                                   0xDC00 + (cp & 0x3FF));
            }
            break;
        }
    }
    kurc_strbuf_putc(out, '"');
}

static int cmp_pairs(const void *a, const void *b) {
    const struct kurc_pair *pa = *(const struct kurc_pair *const *)a;
    const struct kurc_pair *pb = *(const struct kurc_pair *const *)b;
    /* strcmp compares as unsigned char: UTF-8 byte order is code point
     * order, which is how Python sorts str keys */
    return strcmp(pa->key, pb->key);
}

/* Starts a new line indented to depth levels (indent mode only). */
static void newline(const char *indent, int depth, struct kurc_strbuf *out) {
    kurc_strbuf_putc(out, '\n');
    for (int i = 0; i < depth; i++)
        kurc_strbuf_puts(out, indent);
}

/* Writes v at nesting depth; the value the style refuses, or NULL. */
static const struct kurc_value *dump(const struct kurc_value *v, const struct kurc_json_style *st,
                                     int depth, struct kurc_strbuf *out) {
    if (st->writable && !st->writable(v))
        return v;
    const char *item_sep = st->indent ? "," : ", ";
    const struct kurc_value *bad = NULL;
    char num[32];
    switch (v->kind) {
    case KURC_NULL:
        kurc_strbuf_puts(out, "null");
        break;
    case KURC_BOOL:
        kurc_strbuf_puts(out, v->u.b ? "true" : "false");
        break;
    case KURC_INT:
        kurc_strbuf_printf(out, "%" PRId64, v->u.i);
        break;
    case KURC_FLOAT:
        kurc_json_float_repr(v->u.f, num);
        kurc_strbuf_puts(out, num);
        break;
    case KURC_STR:
        dump_string(v->u.str.s, v->u.str.len, st->surrogateescape, out);
        break;
    case KURC_LIST:
        if (v->u.list.len == 0) {
            kurc_strbuf_puts(out, "[]");
            break;
        }
        kurc_strbuf_putc(out, '[');
        for (size_t i = 0; !bad && i < v->u.list.len; i++) {
            if (i)
                kurc_strbuf_puts(out, item_sep);
            if (st->indent)
                newline(st->indent, depth + 1, out);
            bad = dump(v->u.list.items[i], st, depth + 1, out);
        }
        if (st->indent)
            newline(st->indent, depth, out);
        kurc_strbuf_putc(out, ']');
        break;
    case KURC_MAP: {
        size_t n = v->u.map.len;
        if (n == 0) {
            kurc_strbuf_puts(out, "{}");
            break;
        }
        const struct kurc_pair **pairs = kurc_xmalloc(n * sizeof *pairs);
        for (size_t i = 0; i < n; i++)
            pairs[i] = &v->u.map.pairs[i];
        if (st->sort_keys)
            qsort(pairs, n, sizeof *pairs, cmp_pairs);
        kurc_strbuf_putc(out, '{');
        for (size_t i = 0; !bad && i < n; i++) {
            if (i)
                kurc_strbuf_puts(out, item_sep);
            if (st->indent)
                newline(st->indent, depth + 1, out);
            dump_string(pairs[i]->key, strlen(pairs[i]->key), st->surrogateescape, out);
            kurc_strbuf_puts(out, ": ");
            bad = dump(pairs[i]->val, st, depth + 1, out);
        }
        if (st->indent)
            newline(st->indent, depth, out);
        kurc_strbuf_putc(out, '}');
        free(pairs);
        break;
    }
    }
    return bad;
}

const struct kurc_value *kurc_json_write(const struct kurc_value *v,
                                         const struct kurc_json_style *style,
                                         struct kurc_strbuf *out) {
    return dump(v, style, 0, out);
}

void kurc_json_dump(const struct kurc_value *v, int indent, bool sort_keys,
                    struct kurc_strbuf *out) {
    char *spaces = NULL;
    if (indent >= 0) {
        spaces = kurc_xmalloc((size_t)indent + 1);
        memset(spaces, ' ', (size_t)indent);
        spaces[indent] = '\0';
    }
    struct kurc_json_style style = {spaces, sort_keys, false, NULL};
    kurc_json_write(v, &style, out);
    free(spaces);
}
