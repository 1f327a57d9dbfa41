/* seqlen.h - sequence lengths through the graph's shape arithmetic.
 *
 * A data set of variable-length sequences gives each sample's length in
 * frames of a model input (Kur's `<input>_length` sources).  Layers that
 * need lengths further down the graph (recurrent masks, the CTC loss's
 * `relative_to`) need them in their own time steps: strided or valid
 * convolutions and pooling change the number of steps along the time axis
 * (axis 0 of the per-sample shape).  A length map is the list of those
 * changes between two tensors; it is traced once from the graph and
 * applied to every batch's lengths on the host.
 *
 * Rules, per op on the chain (an op's first input is followed back):
 *   convolution, pooling: valid  L -> L < k ? 0 : (L - k) / s + 1
 *                         same   L -> ceil(L / s)
 *   transposed conv:      valid  L -> L ? (L - 1) s + k : 0
 *                         same   L -> L s
 *   element-wise ops, dense, batch norm, dropout, embedding lookups,
 *   sequence-returning recurrent layers, and reshape, transpose, concat,
 *   slice and reduce when they keep axis 0: L -> L;
 *   a `parallel` (an unfold and its fold, paired by kind, so also with
 *   one step): L -> L, whatever the ops between them do to each step.
 * Any other op (a flatten, a repeat, a fold without its unfold) ends the
 * time axis, and tracing fails with a message naming it.
 */
#ifndef KURC_SEQLEN_H
#define KURC_SEQLEN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "core/graph.h"

#define KURC_LENGTH_MAP_MAX 16

struct kurc_length_step {
    bool upsample; /* a transposed convolution */
    bool same;
    int64_t size;
    int64_t stride;
};

/* The identity map is {0}. */
struct kurc_length_map {
    int n;
    struct kurc_length_step steps[KURC_LENGTH_MAP_MAX];
};

/* The tensor `to` is traced back through the first inputs of the ops that
 * made it to the graph input (or parameter) it comes from; returns that
 * tensor, or -1 with err set (and *map undefined) when an op on the way
 * does not keep the time axis.  With from >= 0, the trace stops at from
 * instead, and it is an error not to meet it.  *map maps lengths along
 * axis 0 of the tensor reached to axis 0 of `to`.  `what` heads the
 * message ("recurrent", "ctc relative_to"). */
int kurc_length_trace(const struct kurc_graph *g, int from, int to, const char *what,
                      struct kurc_length_map *map, struct kurc_err *err);

/* Applies the map to one length (negative lengths count as 0). */
int64_t kurc_length_map_apply(const struct kurc_length_map *map, int64_t length);

bool kurc_length_map_equal(const struct kurc_length_map *a, const struct kurc_length_map *b);

#endif
