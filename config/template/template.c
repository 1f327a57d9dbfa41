/* template.c - public entry points of the template renderer: newline
 * handling, error messages, and the arena and diagnostics shared by the
 * other template_*.c files. */
#include "config/template/template.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"

struct tmpl_block {
    struct tmpl_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

void *tmpl_alloc(struct tmpl_arena *a, size_t size) {
    size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    struct tmpl_block *b = a->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        b = kurc_xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

char *tmpl_strndup(struct tmpl_arena *a, const char *s, size_t n) {
    char *p = tmpl_alloc(a, n + 1);
    memcpy(p, s, n);
    return p;
}

void tmpl_arena_free(struct tmpl_arena *a) {
    while (a->head) {
        struct tmpl_block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

int tmpl_fail(struct tmpl_diag *d, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
    d->line = line;
    return -1;
}

bool kurc_template_has_markup(const char *s, size_t len) {
    for (size_t i = 0; i + 1 < len; i++)
        if (s[i] == '{' && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#'))
            return true;
    return false;
}

bool kurc_template_is_plain(const char *s, size_t len) {
    return !kurc_template_has_markup(s, len) && !memchr(s, '\r', len) &&
           (len == 0 || s[len - 1] != '\n');
}

/* Jinja's first step: \r\n and \r become \n, and one trailing newline is
 * dropped. */
static void normalise(const char *src, size_t len, struct kurc_strbuf *out) {
    kurc_strbuf_append(out, "", 0);
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '\r') {
            kurc_strbuf_putc(out, '\n');
            if (i + 1 < len && src[i + 1] == '\n')
                i++;
        } else {
            kurc_strbuf_putc(out, src[i]);
        }
    }
    if (out->len > 0 && out->data[out->len - 1] == '\n')
        out->data[--out->len] = '\0';
}

/* template "<excerpt>": [line N: ]<detail> */
static enum kurc_status report(const char *src, size_t len, bool multiline,
                               const struct tmpl_diag *diag, const struct kurc_loc *loc,
                               struct kurc_err *err) {
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_strbuf_puts(&sb, "template \"");
    size_t i = 0, chars = 0;
    while (i < len && chars < 60) {
        uint32_t cp;
        size_t next = kurc_utf8_next(src, len, i, &cp);
        if (src[i] == '\n')
            kurc_strbuf_puts(&sb, "\\n");
        else if (src[i] == '\r')
            kurc_strbuf_puts(&sb, "\\r");
        else
            kurc_strbuf_append(&sb, src + i, next - i);
        i = next;
        chars++;
    }
    kurc_strbuf_puts(&sb, i < len ? "...\": " : "\": ");
    if (multiline && diag->line > 0)
        kurc_strbuf_printf(&sb, "line %d: ", diag->line);
    kurc_strbuf_puts(&sb, diag->msg);
    kurc_err_set(err, KURC_E_CONFIG, loc, "%s", sb.data);
    kurc_strbuf_free(&sb);
    return KURC_E_CONFIG;
}

enum kurc_status kurc_template_render(const char *src, size_t len, const struct kurc_tmpl_env *env,
                                      const struct kurc_loc *loc, struct kurc_strbuf *out,
                                      struct kurc_err *err) {
    struct kurc_strbuf norm = KURC_STRBUF_INIT;
    normalise(src, len, &norm);
    struct tmpl t = {0};
    struct tmpl_diag diag = {0};
    struct kurc_strbuf result = KURC_STRBUF_INIT;
    int rc = 0;
    if (!kurc_template_has_markup(norm.data, norm.len))
        kurc_strbuf_append(&result, norm.data, norm.len);
    else if ((rc = tmpl_parse(&t, norm.data, norm.len, &diag)) == 0)
        rc = tmpl_run(&t, env, &diag, &result);
    if (rc == 0 && env && env->budget) {
        if (result.len > env->budget->bytes_left)
            rc = tmpl_fail(&diag, 0, "the Kurfile's templates render more than %llu MiB in all",
                           (unsigned long long)(KURC_TMPL_TOTAL_BYTES >> 20));
        else
            env->budget->bytes_left -= result.len;
    }
    enum kurc_status st = KURC_OK;
    if (rc == 0)
        kurc_strbuf_append(out, result.data ? result.data : "", result.len);
    else
        st = report(src, len, memchr(norm.data, '\n', norm.len) != NULL, &diag, loc, err);
    tmpl_free(&t);
    kurc_strbuf_free(&result);
    kurc_strbuf_free(&norm);
    return st;
}
