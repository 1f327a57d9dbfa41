/* liveness.h - when each tensor's value and gradient are needed, and a
 * placement of buffers that lets those never needed at the same time share
 * memory (the executor's liveness plans, exec.h).
 *
 * Time is counted in steps: op i's forward is step i, its backward step
 * 2n - 1 - i (n ops), so a pass of forward then backward is steps 0 ..
 * 2n - 1.  A lifetime [start, end] holds both ends; two buffers may share
 * memory when their lifetimes do not meet.
 */
#ifndef KURC_LIVENESS_H
#define KURC_LIVENESS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/graph.h"

struct kurc_live {
    size_t floats; /* the buffer's size; 0: no buffer */
    long start, end;
};

/* How the executor runs g's ops (exec.h): per op, the op it runs as its
 * fused epilogue (-1: none) and whether it is skipped (run as another's
 * epilogue, or a view); per tensor, the tensor whose memory it shares as a
 * view (-1: its own). */
struct kurc_live_runs {
    const int *epilogue;
    const bool *skipped;
    const int *view_of;
};

/* The lifetimes of g's batched tensors' values and gradients, from the
 * floats of each (per tensor; parameters get none), for ops run as runs
 * says.  A value lives from the op that makes it (inputs from the start)
 * to its last reader, forward or, when `backward`, in the backward pass
 * (kurc_op_def.backward_unread says which values a backward skips);
 * inputs and external tensors (graph.h) to the end.  A
 * gradient lives from the backward step of its last consumer (it is zeroed
 * there, then accumulated into) to that of the op making it; without
 * `backward` there are none.
 * An op with a fused epilogue makes the epilogue's output, and its backward
 * reads that value and its gradient and writes its own output's gradient
 * whole; its own output has no value (no buffer).  A view and the tensor
 * it shares are one buffer, value and gradient: the shared tensor gets the
 * union of both lifetimes, the view none (floats 0). */
void kurc_liveness(const struct kurc_graph *g, bool backward, const size_t *floats,
                   const struct kurc_live_runs *runs, struct kurc_live *values,
                   struct kurc_live *grads);

/* Places the n buffers greedily, the largest first at the lowest offset
 * clear of every placed buffer whose lifetime meets its own; returns the
 * arena's floats.  Offsets are multiples of 16 floats. */
size_t kurc_liveness_place(const struct kurc_live *items, size_t n, size_t *offsets);

#endif
