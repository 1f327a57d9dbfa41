/* exec.h - running a graph forward and backward on a backend.
 *
 * An executor plans memory for a graph once, for a maximum batch size:
 * every input and activation gets a region of max_batch x numel floats in
 * one activation arena, its gradient the same region of a gradient arena,
 * ops their saved scratch, and all ops share one workspace.  Nothing is
 * allocated while running.  Parameters and their gradients live in the
 * parameter set (params.h) the executor borrows.
 *
 * Backward is reverse-mode autodiff: activation gradients are zeroed, each
 * loss op seeds its own gradient (scaled by loss_scale, which the trainer
 * sets to 1 / global batch so gradients are per-sample means across
 * ranks), then the ops run their backward functions in reverse order,
 * accumulating into the gradients of their inputs.  Parameter gradients
 * accumulate too; the trainer zeroes them per step.
 */
#ifndef KURC_EXEC_H
#define KURC_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "graph.h"
#include "params.h"
#include "status.h"

struct kurc_exec {
    struct kurc_backend *be;
    const struct kurc_graph *g;
    struct kurc_params *params;
    int64_t max_batch;
    int64_t batch;      /* samples in the current batch (<= max_batch) */
    bool training;      /* dropout on */
    uint64_t sample_base; /* global index of the batch's first sample (dropout masks) */
    float loss_scale;   /* d(objective) / d(per-sample loss) */
    size_t *offsets;    /* per tensor: float offset of an input or activation */
    size_t *saved_at;   /* per op: float offset of its saved scratch */
    float *acts;        /* activation arena */
    float *grads;       /* activation gradients, same layout */
    float *saved;       /* ops' saved scratch */
    void *workspace;
    size_t act_floats;
    size_t saved_floats;
    size_t workspace_bytes;
    /* what is allocated (kurc_exec_replan reuses it while it is enough) */
    size_t act_capacity;      /* floats of acts and of grads */
    size_t saved_capacity;    /* floats */
    size_t workspace_capacity; /* bytes */
    size_t tensor_capacity;   /* entries of offsets */
    size_t op_capacity;       /* entries of saved_at */
};

/* Plans and allocates memory for g at max_batch samples. */
enum kurc_status kurc_exec_create(struct kurc_backend *be, const struct kurc_graph *g,
                                  struct kurc_params *params, int64_t max_batch,
                                  struct kurc_exec **out, struct kurc_err *err);
void kurc_exec_free(struct kurc_exec *x);

/* Plans x's memory again for another graph g at the same max_batch (a
 * model rebuilt for other input lengths: the same parameters, other
 * activation shapes).  Arenas big enough for g are kept as they are;
 * smaller ones are freed and allocated at g's size, so a graph no larger
 * than any planned before allocates nothing.  On failure x is unusable
 * (free it). */
enum kurc_status kurc_exec_replan(struct kurc_exec *x, const struct kurc_graph *g,
                                  struct kurc_err *err);

/* Backend memory of a tensor's value and gradient (NULL when the tensor has
 * no gradient).  Inputs are filled by the caller before forward. */
float *kurc_exec_value(const struct kurc_exec *x, int tensor);
float *kurc_exec_grad(const struct kurc_exec *x, int tensor);

/* Runs every op forward for x->batch samples. */
void kurc_exec_forward(struct kurc_exec *x);

/* Runs the backward pass (see above). */
void kurc_exec_backward(struct kurc_exec *x);

/* Elements of a batched tensor for the current batch. */
int64_t kurc_exec_count(const struct kurc_exec *x, int tensor);

/* The batch an op on this tensor works on: samples x folded slices. */
int64_t kurc_exec_batch(const struct kurc_exec *x, int tensor);

/* An op's saved scratch (see kurc_op_def.saved_floats). */
float *kurc_exec_saved(const struct kurc_exec *x, const struct kurc_op *op);

#endif
