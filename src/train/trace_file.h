/* trace_file.h - `--trace FILE`: every rank's spans (base/trace.h) in one
 * Chrome / Perfetto trace that rank 0 writes.
 *
 * At start-up rank 0 creates FILE.tmp, so that a path it cannot write is
 * an error naming it before anything runs; then, after a barrier, every
 * rank starts its trace (a common time origin).  At the end each rank
 * sends rank 0 its events as JSON, and rank 0 writes
 * {"traceEvents": [...], "displayTimeUnit": "ms"} to FILE.tmp and renames
 * it to FILE.  Each rank's events have pid = its rank.
 */
#ifndef KURC_TRACE_FILE_H
#define KURC_TRACE_FILE_H

#include <stdint.h>

#include "base/status.h"
#include "base/trace.h"
#include "comm/comm.h"

/* Checks path (rank 0) and starts *out on every rank (see above); a
 * collective.  max_steps: kurc_trace_create's. */
enum kurc_status kurc_trace_file_open(struct kurc_comm *comm, const char *path,
                                      int64_t max_steps, struct kurc_trace **out,
                                      struct kurc_err *err);

/* Gathers t from every rank at rank 0, which writes path; a collective.
 * When st is not KURC_OK (a failed run), nothing is gathered or written
 * and rank 0 removes FILE.tmp; st is returned.  Frees t either way. */
enum kurc_status kurc_trace_file_close(struct kurc_comm *comm, const char *path,
                                       struct kurc_trace *t, enum kurc_status st,
                                       struct kurc_err *err);

#endif
