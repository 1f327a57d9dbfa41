/* graph.h - the op graph a model compiles to.
 *
 * A graph is a list of tensors and a list of ops in the order they were
 * emitted, which is a topological order: every op reads tensors made
 * earlier.  Tensors are model inputs, parameters (views into the flat
 * parameter arena, see params.h) or activations (made by one op).  Input
 * and activation shapes are per sample; the batch axis is the executor's.
 * Reverse-mode autodiff is the op list walked backwards (exec.h).
 */
#ifndef KURC_GRAPH_H
#define KURC_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "core/backend.h"
#include "core/tensor.h"

enum kurc_tensor_kind {
    KURC_TENSOR_INPUT,
    KURC_TENSOR_PARAM,
    KURC_TENSOR_ACTIVATION,
};

struct kurc_tensor {
    enum kurc_tensor_kind kind;
    struct kurc_shape shape; /* per sample; a parameter's whole shape */
    int param;               /* KURC_TENSOR_PARAM: index in the parameter set */
    bool needs_grad;         /* depends on a trainable parameter */
    int64_t fold;            /* leading slices folded into the batch (see below) */
    bool external;           /* read by the caller after the passes (a model output,
                              * a loss value): never fused away, and a liveness
                              * plan never reuses it (exec.h) */
    char *name;              /* for messages: "conv1" or "input images" */
};

/* Folding: a time-distributed container (Kur's `parallel`) applies its
 * children to every slice of a leading axis of length T with shared
 * weights.  kurc folds that axis into the batch: inside, tensors have the
 * per-slice shape and fold T, and ops treat batch x T as their batch. */

#define KURC_OP_MAX_INPUTS 8

/* Attributes of each op kind (one union, read by that kind's functions). */
union kurc_op_attr {
    struct kurc_conv_geom conv; /* batch set at run time */
    struct kurc_pool_geom pool;
    struct {
        enum kurc_act act;
        float alpha;
    } act;
    bool log_softmax;
    struct {
        float rate;
        uint64_t seed;
        int64_t elements; /* per slice */
    } dropout;
    struct {
        int64_t outer, channels, inner; /* per sample; outer is scaled by the batch */
        float eps;
    } norm;
    struct {
        int perm[8];
    } transpose;
    struct {
        int axis;
        int64_t start; /* slice: first index along axis */
    } axis;
    struct {
        int64_t count;
    } repeat;
    int64_t fold; /* fold/unfold: the slices folded */
    float scale;
    struct {
        int64_t length;    /* of the reduced (last) axis */
        int64_t rows;      /* per sample */
        bool mean;
    } reduce;
    struct {
        float weight;      /* the loss's weight in the total */
        int64_t rows;      /* rows per sample (time steps) */
    } loss;
    struct {
        enum kurc_rnn_cell cell;
        enum kurc_act act, gate;
        float act_alpha, gate_alpha;
        bool reverse;      /* scan from the last step to the first */
        bool sequence;     /* output every step (T, units), else the last (units) */
        int64_t steps, inputs, units;
    } rnn;                 /* see src/ops/op_rnn.c */
    struct {
        float weight;      /* first, as in `loss` (a common initial member) */
        bool loss_scale;   /* Kur's variant: times mean(input length) / 100 */
        struct kurc_ctc_geom geom; /* batch set at run time */
    } ctc;                 /* see src/ops/op_ctc.c */
};

struct kurc_exec;
struct kurc_op;

/* The values an op's backward does not read (kurc_op_def.backward_unread):
 * bit i for input i, KURC_UNREAD_OUTPUT for the output. */
#define KURC_UNREAD_INPUT(i) (1u << (i))
#define KURC_UNREAD_INPUTS ((1u << KURC_OP_MAX_INPUTS) - 1)
#define KURC_UNREAD_OUTPUT (1u << KURC_OP_MAX_INPUTS)

/* What an op kind does.  forward overwrites its output; backward adds the
 * gradients of its inputs that need them (from its output's gradient).
 * saved_floats: per-op scratch kept from forward to backward;
 * workspace_bytes: scratch used only inside one call (shared by all ops).
 * Both are asked for a batch of samples x the output's folded slices. */
struct kurc_op_def {
    const char *name;
    void (*forward)(struct kurc_exec *x, const struct kurc_op *op);
    void (*backward)(struct kurc_exec *x, const struct kurc_op *op);
    size_t (*saved_floats)(const struct kurc_op *op, int64_t batch);
    size_t (*workspace_bytes)(struct kurc_backend *be, const struct kurc_op *op, int64_t batch);
    /* Optional, for ops whose results depend on the whole batch across
     * ranks (batch normalisation): called once before the forward (or
     * backward) calls of a pass, over all of the rank's rows, to compute and
     * reduce statistics through kurc_exec.reduce; host_doubles is the host
     * scratch (kurc_exec.host) they need for `chunks` chunks. */
    void (*prepare_forward)(struct kurc_exec *x, const struct kurc_op *op);
    void (*prepare_backward)(struct kurc_exec *x, const struct kurc_op *op);
    size_t (*host_doubles)(const struct kurc_op *op, int64_t chunks);
    /* The output is the input's elements as they lie (a reshape): the
     * executor may give it the input's memory and skip the op. */
    bool view;
    /* Optional: whether this op can run `next`, the only op that reads its
     * output, as its fused epilogue on backend be (see kurc_exec_epilogue). */
    bool (*fuses)(const struct kurc_backend *be, const struct kurc_op *op,
                  const struct kurc_op *next);
    /* Optional: the values (inputs, output) backward never reads, as
     * KURC_UNREAD_* bits, so that a liveness plan (exec.h) may reuse their
     * memory once forward is done with them.  NULL: backward may read any. */
    unsigned (*backward_unread)(const struct kurc_op *op);
};

struct kurc_op {
    const struct kurc_op_def *def;
    int in[KURC_OP_MAX_INPUTS];
    int n_in;
    int out;
    int owner;          /* the container that emitted it (-1: none) */
    int index;          /* position in the graph's op list */
    union kurc_op_attr attr;
};

struct kurc_graph {
    struct kurc_tensor *tensors;
    size_t n_tensors;
    size_t cap_tensors;
    struct kurc_op *ops;
    size_t n_ops;
    size_t cap_ops;
    int owner;    /* container whose ops are being emitted (-1: none) */
    int64_t fold; /* the fold of tensors made now (1 outside `parallel`) */
};

struct kurc_graph *kurc_graph_create(void);
void kurc_graph_free(struct kurc_graph *g);

/* Adds a tensor; returns its index.  name is copied. */
int kurc_graph_add_tensor(struct kurc_graph *g, enum kurc_tensor_kind kind,
                          const struct kurc_shape *shape, int param, bool needs_grad,
                          const char *name);

/* Appends an op that makes a new activation of shape out_shape from the
 * given inputs; the output needs a gradient when any input does.  Returns
 * the output tensor's index. */
int kurc_graph_add_op(struct kurc_graph *g, const struct kurc_op_def *def, const int *inputs,
                      int n_inputs, const struct kurc_shape *out_shape,
                      const union kurc_op_attr *attr, const char *name);

static inline const struct kurc_shape *kurc_graph_shape(const struct kurc_graph *g, int t) {
    return &g->tensors[t].shape;
}

/* Whether t has a batch axis (a region per sample in the executor's
 * arenas): every tensor but a parameter. */
static inline bool kurc_tensor_batched(const struct kurc_tensor *t) {
    return t->kind != KURC_TENSOR_PARAM;
}

#endif
