/* strbuf.h - a growable, always NUL-terminated byte string. */
#ifndef KURC_STRBUF_H
#define KURC_STRBUF_H

#include <stddef.h>

struct kurc_strbuf {
    char *data; /* NUL-terminated; may hold embedded NULs within len */
    size_t len;
    size_t cap;
};

#define KURC_STRBUF_INIT {NULL, 0, 0}

void kurc_strbuf_append(struct kurc_strbuf *sb, const char *s, size_t n);
void kurc_strbuf_puts(struct kurc_strbuf *sb, const char *s);
void kurc_strbuf_putc(struct kurc_strbuf *sb, char c);
void kurc_strbuf_printf(struct kurc_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kurc_strbuf_reset(struct kurc_strbuf *sb);

/* Hands the buffer to the caller (never NULL) and leaves sb empty. */
char *kurc_strbuf_take(struct kurc_strbuf *sb);
void kurc_strbuf_free(struct kurc_strbuf *sb);

#endif
