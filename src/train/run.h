/* run.h - kurc's commands that run a model: train, test, evaluate, data.
 *
 * Each reads its section of a parsed Kurfile, loads the data, builds the
 * model for the data's shapes and runs on the given backend and
 * communicator, with Kur's semantics (reference: Kur's executor).  Only rank
 * 0 prints progress and writes files.
 */
#ifndef KURC_RUN_H
#define KURC_RUN_H

#include <stdbool.h>

#include "base/status.h"
#include "comm/comm.h"
#include "config/kurfile.h"
#include "core/backend.h"

struct kurc_run_options {
    bool step;  /* pause before each batch (--step) */
    bool fresh; /* ignore an existing checkpoint */
    long number; /* data: entries to print (-1: all of the first batch) */
    const char *target; /* data: section (NULL: auto) */
    const char *trace;  /* train, test, evaluate: --trace FILE (NULL: none) */
    long trace_steps;   /* --trace-steps: optimizer steps traced (0: all) */
};

enum kurc_status kurc_run_train(struct kurc_kurfile *kf, struct kurc_comm *comm,
                                struct kurc_backend *be, const struct kurc_run_options *opt,
                                struct kurc_err *err);
enum kurc_status kurc_run_test(struct kurc_kurfile *kf, struct kurc_comm *comm,
                               struct kurc_backend *be, const struct kurc_run_options *opt,
                               struct kurc_err *err);
enum kurc_status kurc_run_evaluate(struct kurc_kurfile *kf, struct kurc_comm *comm,
                                   struct kurc_backend *be, const struct kurc_run_options *opt,
                                   struct kurc_err *err);
enum kurc_status kurc_run_data(struct kurc_kurfile *kf, const struct kurc_run_options *opt,
                               struct kurc_err *err);

/* Installs handlers that turn SIGINT, SIGTERM and SIGUSR1 into a request
 * to stop at the next batch boundary (the one piece of process-wide state
 * besides the log sink: a signal handler can only set a flag). */
void kurc_run_catch_signals(void);

/* The signal that asked to stop, or 0. */
int kurc_run_stop_requested(void);

#endif
