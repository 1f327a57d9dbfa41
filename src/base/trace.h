/* trace.h - a recorder of timed spans for `kurc train --trace FILE`, written
 * as Chrome / Perfetto trace events (the Trace Event Format's JSON).
 *
 * Each rank records its own spans into a buffer that grows; a span is a
 * kind, a name and an optional detail (interned strings), an optional
 * number, and its start and end on the monotonic clock in nanoseconds.
 * Times are written relative to the trace's origin, the moment it was
 * created (the trainer creates it on every rank right after a barrier, so
 * the ranks share a time origin to within the barrier's skew).
 *
 * Lanes (the events' "tid"): compute (1: steps, passes, ops, the wait for
 * gradients, the optimizer step, validation, saving), data (2: batches
 * loaded) and communication (3 and up: all-reduces; a span goes on the
 * first communication lane free at its start, so spans of one lane never
 * overlap however many are in flight).  Spans of one lane are nested or
 * disjoint when the code that records them is (compute: a pass holds its
 * ops, a step its passes).
 *
 * Cost: nothing when there is no trace (callers hold a NULL pointer and
 * test it); with one, two clock reads and an append per span.  max_steps
 * bounds it: once that many KURC_TRACE_STEP spans are recorded, nothing
 * more is.  No MPI here: src/train gathers the ranks' events.
 */
#ifndef KURC_TRACE_H
#define KURC_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/strbuf.h"

enum kurc_trace_kind {
    KURC_TRACE_SETUP,      /* set-up: data, model, parameters */
    KURC_TRACE_STEP,       /* one optimizer step (number: the step) */
    KURC_TRACE_PASS,       /* a forward or backward pass over every op */
    KURC_TRACE_FORWARD,    /* one op forward (name: the op, detail: its layer) */
    KURC_TRACE_BACKWARD,   /* one op backward */
    KURC_TRACE_HOOK,       /* the after-backward hook: all-reduces started and tested */
    KURC_TRACE_LOSS,       /* the losses summed over the ranks */
    KURC_TRACE_WAIT,       /* the exposed wait for gradients after backward */
    KURC_TRACE_OPTIMIZER,  /* the optimizer step */
    KURC_TRACE_VALIDATION, /* a validation pass */
    KURC_TRACE_SAVE,       /* weights or a checkpoint written (detail: the file) */
    KURC_TRACE_DATA,       /* a batch loaded (number: its samples on this rank) */
    KURC_TRACE_ALLREDUCE,  /* a reduction of gradients, from its start to when it was
                              found complete (detail: the bucket, number: bytes) */
    KURC_TRACE_KINDS
};

struct kurc_trace;

/* A trace whose origin is now; max_steps > 0 stops it after that many
 * steps (0: no limit). */
struct kurc_trace *kurc_trace_create(int64_t max_steps);
void kurc_trace_free(struct kurc_trace *t);

/* The monotonic clock in nanoseconds. */
int64_t kurc_trace_now(void);

/* Records a span [start, end] (kurc_trace_now values).  detail may be
 * NULL, number < 0 is none.  Strings are copied (interned). */
void kurc_trace_add(struct kurc_trace *t, enum kurc_trace_kind kind, const char *name,
                    const char *detail, int64_t start, int64_t end, int64_t number);

/* Spans recorded so far. */
int64_t kurc_trace_count(const struct kurc_trace *t);

/* Appends this trace's events as JSON objects separated by ",\n" (no
 * brackets): metadata naming process pid ("rank PID") and its lanes, then
 * the complete ("X") events, timestamps and durations in microseconds. */
void kurc_trace_json(const struct kurc_trace *t, int pid, struct kurc_strbuf *out);

#endif
