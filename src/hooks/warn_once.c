/* warn_once.c - hook warnings given once per run (see hooks_impl.h): Kur
 * ran the validation hooks after every epoch, and a warning about the
 * model or the data (classes outside the vocabulary) would otherwise come
 * back every time. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "hooks/hooks_impl.h"

/* One warning given: the hook entry's place and the message's format. */
struct kurc_hook_warning {
    struct kurc_loc loc;
    const char *fmt;
};

static bool same_place(const struct kurc_loc *a, const struct kurc_loc *b) {
    return a->line == b->line && a->col == b->col &&
           (a->file == b->file || (a->file && b->file && strcmp(a->file, b->file) == 0));
}

/* True the first time this entry and format are seen (and remembers them). */
static bool first_time(struct kurc_hook_warnings *w, const struct kurc_loc *loc, const char *fmt) {
    for (size_t i = 0; i < w->n; i++)
        if (same_place(&w->given[i].loc, loc) && strcmp(w->given[i].fmt, fmt) == 0)
            return false;
    w->given = kurc_xrealloc(w->given, (w->n + 1) * sizeof *w->given);
    w->given[w->n++] = (struct kurc_hook_warning){*loc, fmt};
    return true;
}

void kurc_hook_warn_once(const struct kurc_eval_result *r, const struct kurc_loc *loc,
                         const char *fmt, ...) {
    if (r->warned && loc && !first_time(r->warned, loc, fmt))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kurc_log_at(KURC_LOG_WARNING, loc, "%s", msg);
}

void kurc_hook_warnings_release(struct kurc_hook_warnings *w) {
    free(w->given);
    w->given = NULL;
    w->n = 0;
}
