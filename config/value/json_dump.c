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

void kurc_json_dump_string(const char *s, size_t len, struct kurc_strbuf *out) {
    kurc_strbuf_putc(out, '"');
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += kurc_utf8_decode_strict(s + i, len - i, &cp);
        if (cp == KURC_UTF8_BAD)
            cp = 0xFFFD;
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
static void newline(int indent, int depth, struct kurc_strbuf *out) {
    kurc_strbuf_putc(out, '\n');
    for (int i = 0; i < indent * depth; i++)
        kurc_strbuf_putc(out, ' ');
}

static void dump(const struct kurc_value *v, int indent, bool sort_keys, int depth,
                 struct kurc_strbuf *out) {
    const char *item_sep = indent < 0 ? ", " : ",";
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
        kurc_json_dump_string(v->u.str.s, v->u.str.len, out);
        break;
    case KURC_LIST:
        if (v->u.list.len == 0) {
            kurc_strbuf_puts(out, "[]");
            break;
        }
        kurc_strbuf_putc(out, '[');
        for (size_t i = 0; i < v->u.list.len; i++) {
            if (i)
                kurc_strbuf_puts(out, item_sep);
            if (indent >= 0)
                newline(indent, depth + 1, out);
            dump(v->u.list.items[i], indent, sort_keys, depth + 1, out);
        }
        if (indent >= 0)
            newline(indent, depth, out);
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
        if (sort_keys)
            qsort(pairs, n, sizeof *pairs, cmp_pairs);
        kurc_strbuf_putc(out, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                kurc_strbuf_puts(out, item_sep);
            if (indent >= 0)
                newline(indent, depth + 1, out);
            kurc_json_dump_string(pairs[i]->key, strlen(pairs[i]->key), out);
            kurc_strbuf_puts(out, ": ");
            dump(pairs[i]->val, indent, sort_keys, depth + 1, out);
        }
        if (indent >= 0)
            newline(indent, depth, out);
        kurc_strbuf_putc(out, '}');
        free(pairs);
        break;
    }
    }
}

void kurc_json_dump(const struct kurc_value *v, int indent, bool sort_keys,
                    struct kurc_strbuf *out) {
    dump(v, indent, sort_keys, 0, out);
}
