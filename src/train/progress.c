/* progress.c - progress bars and durations (see progress.h). */
#include "train/progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 24

double kurc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void kurc_format_duration(double seconds, char *buf, size_t size) {
    long s = (long)(seconds + 0.5);
    snprintf(buf, size, "%02ldh %02ldm %02lds", s / 3600, (s / 60) % 60, s % 60);
}

static void clock_text(double seconds, char *buf, size_t size) {
    long s = (long)seconds;
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, size, "%02ld:%02ld", s / 60, s % 60);
}

static void head(const struct kurc_progress *p, FILE *out) {
    if (isnan(p->loss))
        fprintf(out, "%s", p->label);
    else
        fprintf(out, "%s, loss=%.3f", p->label, p->loss);
}

static void draw(struct kurc_progress *p) {
    double elapsed = kurc_now() - p->started;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;
    int filled = p->total > 0 ? (int)(BAR_WIDTH * p->done / p->total) : BAR_WIDTH;
    char bar[BAR_WIDTH + 1], a[48], b[48];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '#' : ' ';
    bar[BAR_WIDTH] = '\0';
    clock_text(elapsed, a, sizeof a);
    clock_text(left, b, sizeof b);
    fputc('\r', stderr);
    head(p, stderr);
    fprintf(stderr, ": %3d%%|%s| %lld/%lld [%s<%s, %.1f samples/s]\033[K",
            p->total > 0 ? (int)(100 * p->done / p->total) : 100, bar, (long long)p->done,
            (long long)p->total, a, b, rate);
    fflush(stderr);
    p->last_draw = kurc_now();
}

void kurc_progress_start(struct kurc_progress *p, const char *label, int64_t total,
                         bool enabled) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->loss = NAN;
    p->enabled = enabled;
    p->tty = isatty(STDERR_FILENO);
    p->started = kurc_now();
    if (p->enabled && p->tty)
        draw(p);
}

void kurc_progress_update(struct kurc_progress *p, int64_t done, double loss) {
    p->done = done;
    p->loss = loss;
    if (p->enabled && p->tty && kurc_now() - p->last_draw > 0.1)
        draw(p);
}

void kurc_progress_finish(struct kurc_progress *p) {
    if (!p->enabled)
        return;
    if (p->tty) {
        draw(p);
        fputc('\n', stderr);
        return;
    }
    double elapsed = kurc_now() - p->started;
    head(p, stderr);
    fprintf(stderr, ": %lld samples in %.1f s (%.1f samples/s)\n", (long long)p->done, elapsed,
            elapsed > 0 ? (double)p->done / elapsed : 0.0);
}
