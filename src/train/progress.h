/* progress.h - the console output of a run, as Kur users know it.
 *
 * On a terminal a bar redraws in place, counted in samples:
 *   Epoch 3/10, loss=0.547: 100%|##########| 480/480 [00:01<00:00, 300.0 samples/s]
 * Elsewhere (logs, SLURM) one plain line is printed when the bar finishes.
 * Only the ranks asked to (rank 0) print.
 */
#ifndef KURC_PROGRESS_H
#define KURC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kurc_progress {
    char label[96];
    int64_t total;
    int64_t done;
    double loss; /* NaN: not shown */
    double started;
    double last_draw;
    bool enabled;
    bool tty;
};

/* Seconds on a monotonic clock. */
double kurc_now(void);

void kurc_progress_start(struct kurc_progress *p, const char *label, int64_t total,
                         bool enabled);
void kurc_progress_update(struct kurc_progress *p, int64_t done, double loss);
void kurc_progress_finish(struct kurc_progress *p);

/* "01h 02m 03s" for a number of seconds. */
void kurc_format_duration(double seconds, char *buf, size_t size);

#endif
