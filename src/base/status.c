/* status.c - recording, formatting and naming errors. */
#include "base/status.h"

#include <stdio.h>
#include <string.h>

enum kurc_status kurc_err_vset(struct kurc_err *err, enum kurc_status status,
                               const struct kurc_loc *loc, const char *fmt, va_list ap) {
    err->status = status;
    err->file[0] = '\0';
    err->line = 0;
    err->col = 0;
    if (loc && loc->file) {
        snprintf(err->file, sizeof err->file, "%s", loc->file);
        err->line = loc->line;
        err->col = loc->col;
    }
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return status;
}

enum kurc_status kurc_err_set(struct kurc_err *err, enum kurc_status status,
                              const struct kurc_loc *loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    kurc_err_vset(err, status, loc, fmt, ap);
    va_end(ap);
    return status;
}

enum kurc_status kurc_err_place(struct kurc_err *err, const struct kurc_loc *loc) {
    if (!err->file[0] && loc && loc->file) {
        snprintf(err->file, sizeof err->file, "%s", loc->file);
        err->line = loc->line;
        err->col = loc->col;
    }
    return err->status;
}

enum kurc_status kurc_err_prefix(struct kurc_err *err, const char *prefix) {
    size_t plen = strlen(prefix), n = strlen(err->msg);
    if (n > sizeof err->msg - 1 - plen)
        n = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, n);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + n] = '\0';
    return err->status;
}

void kurc_err_clear(struct kurc_err *err) {
    err->status = KURC_OK;
    err->file[0] = '\0';
    err->line = 0;
    err->col = 0;
    err->msg[0] = '\0';
}

void kurc_err_format(const struct kurc_err *err, char *buf, size_t size) {
    if (err->file[0] && err->line > 0)
        snprintf(buf, size, "%s:%d:%d: %s", err->file, err->line, err->col, err->msg);
    else if (err->file[0])
        snprintf(buf, size, "%s: %s", err->file, err->msg);
    else
        snprintf(buf, size, "%s", err->msg);
}

int kurc_status_exit_code(enum kurc_status status) {
    switch (status) {
    case KURC_OK:
        return 0;
    case KURC_E_CONFIG:
    case KURC_E_USAGE:
        return 2;
    case KURC_E_INTERRUPTED:
        return 3;
    default:
        return 1;
    }
}
