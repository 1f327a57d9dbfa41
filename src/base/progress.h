/* progress.h - the console progress bar of kurc, as Kur users know it.
 *
 * On a terminal a bar redraws in place, counted in samples:
 *   Epoch 3/10, loss=0.547: 100%|##########| 480/480 [00:01<00:00, 300.0 samples/s]
 * or in bytes (downloads):
 *   Downloading a.tar.gz:  35%|########    | 1.2 MB/3.4 MB [00:01<00:02, 1.1 MB/s]
 * Elsewhere (logs, SLURM) a bar in samples prints one plain line when it
 * finishes, and a bar in bytes nothing.  Only the ranks asked to (rank 0)
 * print.
 */
#ifndef KURC_PROGRESS_H
#define KURC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kurc_progress_unit { KURC_PROGRESS_SAMPLES, KURC_PROGRESS_BYTES };

struct kurc_progress {
    char label[96];
    enum kurc_progress_unit unit;
    int64_t total; /* < 0: not known (bytes only) */
    int64_t done;
    double loss; /* NaN: not shown */
    double started;
    double last_draw;
    bool enabled;
    bool tty;
};

/* Seconds on a monotonic clock. */
double kurc_now(void);

void kurc_progress_start(struct kurc_progress *p, const char *label, enum kurc_progress_unit unit,
                         int64_t total, bool enabled);
/* done of the total so far; the bar redraws at most every tenth of a
 * second. */
void kurc_progress_update(struct kurc_progress *p, int64_t done, double loss);
void kurc_progress_finish(struct kurc_progress *p);

/* "01h 02m 03s" for a number of seconds. */
void kurc_format_duration(double seconds, char *buf, size_t size);

#endif
