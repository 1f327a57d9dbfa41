/* log.h - kurc's log sink, the one piece of process-wide mutable state.
 *
 * Messages go to stderr as "[LEVEL hh:mm:ss] message", coloured on a terminal
 * unless colour is turned off; messages with a Kurfile place print it first.
 * The level threshold follows Kur: warnings by default, -v info, -vv debug,
 * -vvv trace.  Under MPI the CLI sets a rank prefix.
 */
#ifndef KURC_LOG_H
#define KURC_LOG_H

#include "base/status.h"

enum kurc_log_level {
    KURC_LOG_ERROR,
    KURC_LOG_WARNING,
    KURC_LOG_INFO,
    KURC_LOG_DEBUG,
    KURC_LOG_TRACE,
};

/* Configures the sink: threshold, colour (0 off, 1 on, -1 when stderr is a
 * terminal) and a rank (-1 for none). */
void kurc_log_configure(enum kurc_log_level threshold, int color, int rank);

/* Sets the rank shown in every line (-1: none). */
void kurc_log_configure_rank(int rank);

/* Sets the threshold alone and returns the one before (to silence a
 * repeated step, then restore it). */
enum kurc_log_level kurc_log_set_threshold(enum kurc_log_level threshold);

/* True when messages of this level are printed. */
int kurc_log_enabled(enum kurc_log_level level);

void kurc_log(enum kurc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Logs with a Kurfile place: "[WARNING ...] file:line:col: message". */
void kurc_log_at(enum kurc_log_level level, const struct kurc_loc *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
