/* progress.c - the progress bar and durations (see progress.h). */
#include "base/progress.h"

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
    long s = (long)seconds;
    snprintf(buf, size, "%02ldh %02ldm %02lds", s / 3600, (s / 60) % 60, s % 60);
}

static void clock_text(double seconds, char *buf, size_t size) {
    long s = (long)seconds;
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, size, "%02ld:%02ld", s / 60, s % 60);
}

/* A count in the bar's unit: "480", or "1.2 MB", "12.5 kB", "512 bytes". */
static void count_text(const struct kurc_progress *p, double n, char *buf, size_t size) {
    if (p->unit == KURC_PROGRESS_SAMPLES)
        snprintf(buf, size, "%lld", (long long)n);
    else if (n >= 10 * 1000 * 1000)
        snprintf(buf, size, "%.1f MB", n / 1e6);
    else if (n >= 10 * 1000)
        snprintf(buf, size, "%.1f kB", n / 1e3);
    else
        snprintf(buf, size, "%lld bytes", (long long)n);
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
    char a[48], b[48], done[32], total[32], speed[48];
    clock_text(elapsed, a, sizeof a);
    count_text(p, (double)p->done, done, sizeof done);
    if (p->unit == KURC_PROGRESS_SAMPLES) {
        snprintf(speed, sizeof speed, "%.1f samples/s", rate);
    } else {
        count_text(p, rate, speed, sizeof speed);
        strcat(speed, "/s");
    }
    fputc('\r', stderr);
    head(p, stderr);
    if (p->total < 0) {
        fprintf(stderr, ": %s [%s, %s]\033[K", done, a, speed);
    } else {
        double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;
        int filled = p->total > 0 ? (int)(BAR_WIDTH * p->done / p->total) : BAR_WIDTH;
        char bar[BAR_WIDTH + 1];
        for (int i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : ' ';
        bar[BAR_WIDTH] = '\0';
        clock_text(left, b, sizeof b);
        count_text(p, (double)p->total, total, sizeof total);
        fprintf(stderr, ": %3d%%|%s| %s/%s [%s<%s, %s]\033[K",
                p->total > 0 ? (int)(100 * p->done / p->total) : 100, bar, done, total, a, b,
                speed);
    }
    fflush(stderr);
    p->last_draw = kurc_now();
}

void kurc_progress_start(struct kurc_progress *p, const char *label, enum kurc_progress_unit unit,
                         int64_t total, bool enabled) {
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->unit = unit;
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
    if (p->unit != KURC_PROGRESS_SAMPLES)
        return;
    double elapsed = kurc_now() - p->started;
    head(p, stderr);
    fprintf(stderr, ": %lld samples in %.1f s (%.1f samples/s)\n", (long long)p->done, elapsed,
            elapsed > 0 ? (double)p->done / elapsed : 0.0);
}
