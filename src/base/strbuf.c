/* strbuf.c - growable strings for rendering, dumping and messages. */
#include "base/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static void reserve(struct kurc_strbuf *sb, size_t extra) {
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    sb->data = kurc_xrealloc(sb->data, cap);
    sb->cap = cap;
}

void kurc_strbuf_append(struct kurc_strbuf *sb, const char *s, size_t n) {
    reserve(sb, n);
    if (n)
        memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

void kurc_strbuf_puts(struct kurc_strbuf *sb, const char *s) {
    kurc_strbuf_append(sb, s, strlen(s));
}

void kurc_strbuf_putc(struct kurc_strbuf *sb, char c) {
    kurc_strbuf_append(sb, &c, 1);
}

void kurc_strbuf_printf(struct kurc_strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    reserve(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void kurc_strbuf_reset(struct kurc_strbuf *sb) {
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

char *kurc_strbuf_take(struct kurc_strbuf *sb) {
    reserve(sb, 0);
    char *p = sb->data;
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return p;
}

void kurc_strbuf_free(struct kurc_strbuf *sb) {
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}
