/* logger.h - Kur's binary training log (`train.log`).
 *
 * A directory with summary.yml ({version: 3, epochs, batches, samples,
 * sessions, clocks: {all, train, validate, batch}}, rewritten on every
 * flush) and one append-only IDX file per column (float32 0x0D or int32
 * 0x0C; the first dimension in the header patched in place on append).
 * Column files are named <type>_<tags>_<stat>: type batch, training or
 * validation; tags joined by '.', with '_' and '.' doubled inside a tag
 * (and '_' doubled in the stat), and "null" without tags; stats are each
 * output's loss, `total`, `batch` (global batch counter, int) and `time`
 * (seconds since the first log, across sessions).  Per validation data set
 * the tag is `<dataset>` (`default` for a single list), e.g.
 * validation_loss.default_total.
 * Reopening a log resumes its counters, so history, best losses and epoch
 * numbering survive restarts.
 */
#ifndef KURC_LOGGER_H
#define KURC_LOGGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

struct kurc_log_summary {
    int64_t epochs;
    int64_t batches;
    int64_t samples;
    int64_t sessions;
    double clocks[4]; /* all, train, validate, batch */
};

struct kurc_logger;

/* Opens (creating when missing) the log directory; *summary is its stored
 * summary (zeros for a new log) with sessions counting this session, as
 * Kur counted them (1 for a new log, the stored count + 1 otherwise). */
enum kurc_status kurc_logger_open(const char *dir, struct kurc_logger **out,
                                  struct kurc_log_summary *summary, struct kurc_err *err);
void kurc_logger_close(struct kurc_logger *l);

/* The last time the log recorded (the latest of batch_loss_time,
 * validation_loss_time and training_loss_time; 0 for a new log): the clock
 * `time` continues from there when a session resumes. */
double kurc_logger_latest_time(const struct kurc_logger *l);

/* Appends one record: type "batch", "training" or "validation"; tag NULL
 * (tags "loss") or a validation dataset name (tags "loss", NAME); one value
 * per output (names[i], values[i]) plus their total; batch counter and
 * time.  An output may not be named total, batch or time. */
enum kurc_status kurc_logger_append(struct kurc_logger *l, const char *type, const char *tag,
                                    const char *const *names, const double *values, size_t n,
                                    int64_t batch, double time, struct kurc_err *err);

/* Appends one value that is not a loss (kurc's own columns): column
 * <type>_<tag>_<stat> (float) beside <type>_<tag>_batch (the batch
 * counter), e.g. batch_optimizer_lr, the learning rate of each step.
 * Readers of the loss columns never see them. */
enum kurc_status kurc_logger_append_value(struct kurc_logger *l, const char *type,
                                          const char *tag, const char *stat, double value,
                                          int64_t batch, struct kurc_err *err);

/* Rewrites summary.yml. */
enum kurc_status kurc_logger_flush(struct kurc_logger *l, const struct kurc_log_summary *summary,
                                   struct kurc_err *err);

/* The values of one column file (e.g. "training_loss_total") as doubles;
 * *n 0 when the column does not exist.  *values is new. */
enum kurc_status kurc_logger_column(const char *dir, const char *column, double **values, size_t *n,
                                    struct kurc_err *err);

/* The minimum of a loss column (+inf when empty), for "best" tracking. */
double kurc_logger_best(const char *dir, const char *column);

#endif
