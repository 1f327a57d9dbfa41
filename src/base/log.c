/* log.c - the log sink (see log.h). */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

enum kurc_log_level kurc_log_set_threshold(enum kurc_log_level threshold) {
    enum kurc_log_level before = sink.threshold;
    sink.threshold = threshold;
    return before;
}

int kurc_log_enabled(enum kurc_log_level level) {
    return level <= sink.threshold;
}

/* Formats the whole line first and writes it with one call, so that the
 * lines of ranks sharing one stderr (mpirun forwards them all) never
 * interleave within a line. */
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
    char *line = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&line, &len);
    if (!out)
        out = stderr; /* no memory for the line: write it in pieces */
    if (sink.color)
        fprintf(out, "%s[%s %s%s]\033[0m ", level_colors[level], level_names[level], stamp, rank);
    else
        fprintf(out, "[%s %s%s] ", level_names[level], stamp, rank);
    if (loc && loc->file && loc->line > 0)
        fprintf(out, "%s:%d:%d: ", loc->file, loc->line, loc->col);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    if (out != stderr && fclose(out) == 0)
        fwrite(line, 1, len, stderr);
    free(line);
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
