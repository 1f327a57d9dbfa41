/* status.h - kurc's error model.
 *
 * Library code never exits: it returns an enum kurc_status and fills a
 * struct kurc_err with a message and, where one is known, the place that
 * caused it (a Kurfile's file:line:col).  Only the CLI turns a status into an
 * exit code (kurc_status_exit_code).
 */
#ifndef KURC_STATUS_H
#define KURC_STATUS_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kurc_status {
    KURC_OK = 0,
    KURC_E_CONFIG,      /* the Kurfile is wrong: syntax, keys, types, templates */
    KURC_E_IO,          /* a file could not be read or written */
    KURC_E_USAGE,       /* the command line is wrong */
    KURC_E_UNSUPPORTED, /* a valid request this build cannot serve */
    KURC_E_INVALID,     /* an argument violates a documented contract */
    KURC_E_DATA,        /* data files are unreadable or inconsistent */
    KURC_E_BACKEND,     /* a compute backend failed */
    KURC_E_COMM,        /* a collective or another rank failed */
    KURC_E_CHECKPOINT,  /* a weight or checkpoint file is wrong */
    KURC_E_INTERRUPTED, /* stopped by a signal after saving its state */
};

/* A place in a Kurfile.  line and col are 1-based; 0 means unknown.  file is
 * borrowed: it points into the source table of whoever loaded the file. */
struct kurc_loc {
    const char *file;
    int line;
    int col;
};

/* An error: status, a copy of the place (so it outlives the loader) and the
 * message. */
struct kurc_err {
    enum kurc_status status;
    char file[512];
    int line;
    int col;
    char msg[1536];
};

/* Records an error and returns its status, so callers can write
 * `return kurc_err_set(err, KURC_E_CONFIG, loc, "...", ...);`.
 * loc may be NULL.  The message is formatted like printf. */
enum kurc_status kurc_err_set(struct kurc_err *err, enum kurc_status status,
                              const struct kurc_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

enum kurc_status kurc_err_vset(struct kurc_err *err, enum kurc_status status,
                               const struct kurc_loc *loc, const char *fmt, va_list ap);

/* Gives an error that has no place yet the place loc (none when loc or its
 * file is NULL), so that a failure deep in a helper points at the Kurfile
 * entry that asked.  Returns the error's status. */
enum kurc_status kurc_err_place(struct kurc_err *err, const struct kurc_loc *loc);

/* Puts prefix ("mnist: ") before the message, cutting the message's end
 * when both do not fit.  Returns the error's status. */
enum kurc_status kurc_err_prefix(struct kurc_err *err, const char *prefix);

/* Clears an error to KURC_OK with no place and no message. */
void kurc_err_clear(struct kurc_err *err);

/* Writes "FILE:LINE:COL: message" (or "FILE: message", or "message" when the
 * place is unknown) into buf. */
void kurc_err_format(const struct kurc_err *err, char *buf, size_t size);

/* The process exit code the CLI uses for a status: 0 for KURC_OK, 2 for
 * Kurfile and usage errors, 3 for a run stopped by a signal once its state
 * was saved, 1 for everything else. */
int kurc_status_exit_code(enum kurc_status status);

#ifdef __cplusplus
}
#endif

#endif
