/* log.c - the log sink (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static struct {
    enum kurc_log_level threshold;
    int color;
    int rank;
} sink = {KURC_LOG_WARNING, -1, -1};

static const char *const level_names[] = {"ERROR", "WARNING", "INFO", "DEBUG", "TRACE"};
static const char *const level_colors[] = {"\033[1;31m", "\033[1;33m", "\033[1;32m", "\033[1;34m",
                                           "\033[1;35m"};

void kurc_log_configure(enum kurc_log_level threshold, int color, int rank) {
    sink.threshold = threshold;
    sink.color = color < 0 ? isatty(STDERR_FILENO) : color;
    sink.rank = rank;
}

void kurc_log_configure_rank(int rank) {
    sink.rank = rank;
}

int kurc_log_enabled(enum kurc_log_level level) {
    return level <= sink.threshold;
}

static void vlog(enum kurc_log_level level, const struct kurc_loc *loc, const char *fmt,
                 va_list ap) {
    if (!kurc_log_enabled(level))
        return;
    if (sink.color < 0)
        sink.color = isatty(STDERR_FILENO);
    char stamp[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    char rank[24] = "";
    if (sink.rank >= 0)
        snprintf(rank, sizeof rank, " rank %d", sink.rank);
    if (sink.color)
        fprintf(stderr, "%s[%s %s%s]\033[0m ", level_colors[level], level_names[level], stamp, rank);
    else
        fprintf(stderr, "[%s %s%s] ", level_names[level], stamp, rank);
    if (loc && loc->file && loc->line > 0)
        fprintf(stderr, "%s:%d:%d: ", loc->file, loc->line, loc->col);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void kurc_log(enum kurc_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void kurc_log_at(enum kurc_log_level level, const struct kurc_loc *loc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(level, loc, fmt, ap);
    va_end(ap);
}
