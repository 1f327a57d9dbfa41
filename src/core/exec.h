/* exec.h - running a graph forward and backward on a backend.
 *
 * An executor plans memory for a graph once, for a maximum batch size:
 * every input and activation gets a region of max_batch x numel floats in
 * an activation arena, its gradient a region of a gradient arena, ops
 * their saved scratch, and all ops share one workspace.  Nothing is
 * allocated while running.  Parameters and their gradients live in the
 * parameter set (params.h) the executor borrows.
 *
 * Plans (enum kurc_plan): a flat plan gives every tensor (and gradient)
 * its own region (views excepted, see below), so that any can be read
 * after the passes.  A liveness plan lets tensors that are never needed
 * at the same time share memory (core/liveness.h): a value from the op
 * that makes it to its last reader in forward or backward, a gradient
 * from its last consumer's backward to its producer's; inputs and external
 * tensors (graph.h) keep theirs to the end.  Only those may be read after
 * the passes.  Both plans follow the fused epilogues and views below: the
 * output of an op with a fused epilogue gets no value at all under a
 * liveness plan, and a view and its input are one buffer living as long
 * as both.
 *
 * Backward is reverse-mode autodiff: activation gradients are zeroed (each
 * just before the first backward that adds to it), each loss op seeds its
 * own gradient (scaled by loss_scale, which the trainer sets to 1 / global
 * batch so gradients are per-sample means across ranks), then the ops
 * run their backward functions in reverse order, accumulating into the
 * gradients of their inputs.  Parameter gradients
 * accumulate too; the trainer zeroes them per step.  after_backward, when
 * set, is called after each op's turn in the backward pass (whether or not
 * it had a backward to run): the session starts all-reducing the gradient
 * buckets that op completed while the rest of backward goes on.
 *
 * Chunked mode (chunk > 0, deterministic training): the rank's rows are cut
 * into chunks of `chunk` rows (the last may be shorter) and every op runs
 * once per chunk, op by op, with x->batch the chunk's rows: every kernel
 * then sees the same sizes and the same data whatever the number of ranks,
 * so it computes the same bits.  In backward, each op's trainable parameter
 * gradients are zeroed before each chunk, so that after_backward (called
 * per chunk, chunk_index says which) finds that chunk's gradients alone.
 * chunk_grads, when set, may name for each chunk another arena, laid out
 * as params->grads, that the op's parameter gradients go to instead (the
 * deterministic reduction's partial sum, spared a copy).
 * Ops with prepare functions run those once over all rows first.  Saved
 * scratch is kept per chunk.
 *
 * Fused epilogues: when an op's def fuses the only op that reads its
 * output (a convolution or dense op followed by an activation, on a
 * backend with the fused kernels) and that output is not external, the
 * op runs the activation as its epilogue (kurc_exec_epilogue) and the
 * executor skips the activation op in both passes.  The op then writes the
 * activation's output tensor; its own output is never written, and its
 * gradient region is written whole with the activation's input gradient in
 * backward (so the backward pass does not zero it first: it lives for
 * that backward alone), or not at all by a backend that keeps it a chunk
 * at a time (the CPU convolution's conv_backward_bias_act).
 * Views: the output of an op whose def is a view (a reshape, such as
 * flatten) of a batched tensor with the same fold gets that tensor's
 * memory, value and gradient, and the op is skipped: its consumers read
 * and accumulate into the input's memory.
 * Fused and viewed runs compute the same bits as plain ones (no_fusion).
 *
 * reduce, when set, sums per-chunk partial sums over every chunk of every
 * rank (an all-reduce, or a fixed-order sum in deterministic mode): ops
 * such as batch normalisation call it from their prepare functions for
 * statistics of the global batch.  partials holds `chunks` rows of `width`
 * doubles (this rank's chunks in order; one row outside chunked mode) and
 * out receives the width sums.  NULL: each rank's batch stands alone.
 */
#ifndef KURC_EXEC_H
#define KURC_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "base/trace.h"
#include "core/backend.h"
#include "core/graph.h"
#include "core/params.h"

enum kurc_plan {
    KURC_PLAN_FLAT,    /* no sharing */
    KURC_PLAN_TRAIN,   /* liveness over forward and backward */
    KURC_PLAN_FORWARD, /* liveness over forward alone: no gradients, no backward */
};

struct kurc_live;

struct kurc_exec {
    struct kurc_backend *be;
    const struct kurc_graph *g;
    struct kurc_params *params;
    int64_t max_batch;
    int64_t batch;      /* samples in the current batch (<= max_batch) */
    bool training;      /* dropout on */
    uint64_t sample_base; /* global index of the batch's first sample (dropout masks) */
    float loss_scale;   /* d(objective) / d(per-sample loss) */
    enum kurc_plan plan;
    size_t *offsets;    /* per tensor: float offset of an input or activation */
    size_t *grad_offsets; /* per tensor: float offset of its gradient */
    struct kurc_live *lives; /* per tensor: its value's lifetime, then its gradient's */
    size_t *zero_first; /* per op: its gradients to zero first, zero_list[zero_first[i]..[i+1]) */
    int *zero_list;
    size_t *saved_at;   /* per op: float offset of its saved scratch */
    float *acts;        /* activation arena */
    float *grads;       /* activation gradients */
    float *saved;       /* ops' saved scratch */
    void *workspace;
    size_t act_floats;
    size_t grad_floats;
    size_t flat_floats; /* act_floats (and grad_floats) of a flat plan */
    size_t saved_floats;
    size_t workspace_bytes;
    /* what is allocated (kurc_exec_replan reuses it while it is enough) */
    size_t act_capacity;      /* floats of acts */
    size_t grad_capacity;     /* floats of grads */
    size_t saved_capacity;    /* floats */
    size_t workspace_capacity; /* bytes */
    size_t tensor_capacity;   /* entries of offsets, grad_offsets, zero_list, grad_written
                               * and view_of (lives: twice) */
    size_t op_capacity;       /* entries of saved_at, saved_stride, zero_first, epilogue
                               * and fused */
    size_t host_capacity;     /* doubles of host */

    /* hooks the session sets (see above) */
    void (*after_backward)(void *ctx, struct kurc_exec *x, int op);
    float *(*chunk_grads)(void *ctx, struct kurc_exec *x, int op); /* NULL: params->grads */
    void *hook_ctx;
    float *param_grads; /* chunk_grads' answer while the op's chunk runs, else NULL */
    void (*reduce)(void *ctx, const double *partials, int64_t chunks, int64_t width,
                   double *out);
    void *reduce_ctx;
    /* --trace: each pass and each op's forward and backward are recorded
     * here (NULL: nothing is; see base/trace.h) */
    struct kurc_trace *trace;

    /* chunked mode (see above) */
    int64_t chunk;       /* rows per chunk; 0: whole batches */
    int64_t chunk_index; /* the chunk running now, -1: all rows */
    int64_t row0;        /* the first row of the rows running now */
    size_t *saved_stride; /* per op: floats of one chunk's saved scratch */

    /* fused epilogues (see above) */
    bool no_fusion;      /* run every op on its own, no views (set, then kurc_exec_replan) */
    int *epilogue;       /* per op: the op it runs as its epilogue, or -1 */
    bool *fused;         /* per op: run by the op before it, or a view: skipped */
    int *view_of;        /* per tensor: the tensor whose memory it shares, or -1 */
    bool *grad_written;  /* per tensor: its gradient is written whole by a
                          * fused epilogue's backward, so not zeroed first */
    double *host;        /* host scratch of prepare functions */
    size_t host_doubles;
};

/* Plans and allocates memory for g at max_batch samples. */
enum kurc_status kurc_exec_create(struct kurc_backend *be, const struct kurc_graph *g,
                                  struct kurc_params *params, int64_t max_batch,
                                  struct kurc_exec **out, struct kurc_err *err);
void kurc_exec_free(struct kurc_exec *x);

/* The same as kurc_exec_create in chunked mode, chunk rows per chunk (0:
 * whole batches). */
enum kurc_status kurc_exec_create_chunked(struct kurc_backend *be, const struct kurc_graph *g,
                                          struct kurc_params *params, int64_t max_batch,
                                          int64_t chunk, struct kurc_exec **out,
                                          struct kurc_err *err);

/* The same with a plan of its own (kurc_exec_create's is flat); replans
 * keep it. */
enum kurc_status kurc_exec_create_planned(struct kurc_backend *be, const struct kurc_graph *g,
                                          struct kurc_params *params, int64_t max_batch,
                                          int64_t chunk, enum kurc_plan plan,
                                          struct kurc_exec **out, struct kurc_err *err);

/* An executor's memory, in bytes: its arenas as planned, and the two
 * arenas a flat plan would have. */
struct kurc_exec_bytes {
    size_t values, grads, saved, workspace;
    size_t flat_values, flat_grads;
};
void kurc_exec_bytes(const struct kurc_exec *x, struct kurc_exec_bytes *out);

/* The memory an executor would have (kurc_exec_create_planned's
 * arguments), planned without allocating it. */
void kurc_exec_measure(struct kurc_backend *be, const struct kurc_graph *g, int64_t max_batch,
                       int64_t chunk, enum kurc_plan plan, struct kurc_exec_bytes *out);

/* Plans x's memory again for another graph g at the same max_batch (a
 * model rebuilt for other input lengths: the same parameters, other
 * activation shapes).  Arenas big enough for g are kept as they are;
 * smaller ones are freed and allocated at g's size, so a graph no larger
 * than any planned before allocates nothing.  On failure x is unusable
 * (free it). */
enum kurc_status kurc_exec_replan(struct kurc_exec *x, const struct kurc_graph *g,
                                  struct kurc_err *err);

/* The chunks of the current batch (1 outside chunked mode), and chunk k's
 * first row and rows. */
int64_t kurc_exec_chunks(const struct kurc_exec *x);
void kurc_exec_chunk_rows(const struct kurc_exec *x, int64_t k, int64_t *row0, int64_t *rows);

/* Backend memory of a tensor's value and gradient (NULL when the tensor has
 * no gradient, or under a forward plan), from row x->row0 on.  Inputs are filled by the caller
 * before forward. */
float *kurc_exec_value(const struct kurc_exec *x, int tensor);
float *kurc_exec_grad(const struct kurc_exec *x, int tensor);

/* Runs every op forward for x->batch samples. */
void kurc_exec_forward(struct kurc_exec *x);

/* Runs the backward pass (see above). */
void kurc_exec_backward(struct kurc_exec *x);

/* The op that op runs as its fused epilogue (the activation that alone
 * reads op's output; op writes that op's output tensor), or NULL. */
const struct kurc_op *kurc_exec_epilogue(const struct kurc_exec *x, const struct kurc_op *op);

/* Elements of a batched tensor for the current batch. */
int64_t kurc_exec_count(const struct kurc_exec *x, int tensor);

/* The batch an op on this tensor works on: samples x folded slices. */
int64_t kurc_exec_batch(const struct kurc_exec *x, int tensor);

/* An op's saved scratch (see kurc_op_def.saved_floats): the current
 * chunk's in chunked mode.  _shared: the first chunk's, for scratch that
 * belongs to the whole batch (statistics). */
float *kurc_exec_saved(const struct kurc_exec *x, const struct kurc_op *op);
float *kurc_exec_saved_shared(const struct kurc_exec *x, const struct kurc_op *op);

#endif
