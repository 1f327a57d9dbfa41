/* opgraph.h - small op graphs built emitter by emitter for op-level tests,
 * on the CPU backend, with a scalar objective and finite-difference
 * gradient checks.
 *
 * A test adds inputs (og_input; an input may be given needs_grad, which the
 * model builder never does but the executor supports: the input then gets
 * a gradient region like an activation, so input gradients are checked
 * with a real batch), parameters (og_param: a kurc_params entry and its
 * PARAM tensor), emits the ops under test with the kurc_emit_* functions on
 * og.g, and ends with og_objective (and/or og_loss) and og_ready.
 *
 * The objective is
 *     J = loss_scale * (sum_i r_i y_i + sum_l weight_l sum_s loss_l[s])
 * where y is the tensor given to og_objective and r a fixed random input of
 * its shape.  The r term is a test-only op ("dot", defined in opgraph.c):
 * its forward writes each sample's sum r.y and its backward adds
 * loss_scale * r to y's gradient, so kurc_exec_backward runs unchanged
 * (it zeroes the activation gradients, every loss seeds itself, and each op
 * under test gets an exactly known output gradient).  The loss terms are
 * kurc loss ops (cce, mse), which seed themselves.  J itself is computed on
 * the host in double from the float forward values.
 *
 * og_gradcheck also runs the graph, with the same inputs and parameters, on
 * every backend this build has and this machine can run (a second CPU
 * backend everywhere, the GPU where there is one) and compares their
 * gradients with the CPU's, so an op's one test covers its kernels on
 * every backend.
 */
#ifndef KURC_OPGRAPH_H
#define KURC_OPGRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/exec.h"
#include "core/graph.h"
#include "core/params.h"
#include "ops/ops.h"

#define OG_MAX_LOSSES 4

struct og {
    struct kurc_graph *g;
    struct kurc_params p;
    struct kurc_backend *be;
    struct kurc_exec *x;
    int y;   /* the tensor the dot objective reads (-1: none) */
    int r;   /* its weights */
    int dot; /* the dot op's output */
    int losses[OG_MAX_LOSSES];
    float weights[OG_MAX_LOSSES];
    int n_losses;
};

/* A shape from its dimensions: SHAPE(3, 4, 5). */
#define SHAPE(...)                                                                                 \
    kurc_shape_make((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),                     \
                    (int64_t[]){__VA_ARGS__})

void og_init(struct og *t);
void og_free(struct og *t);

/* A model input (batched); needs_grad makes it differentiable. */
int og_input(struct og *t, const char *name, struct kurc_shape shape, bool needs_grad);
/* A parameter (whole shape) and its tensor; zero until filled. */
int og_param(struct og *t, const char *name, struct kurc_shape shape, bool trainable);

/* Adds the dot term on y (once). */
void og_objective(struct og *t, int y);
/* Adds the per-sample loss tensor of a kurc loss op to the objective. */
void og_loss(struct og *t, int loss);

/* Allocates the parameters and an executor for batch samples, in
 * training mode with loss_scale 1, and fills r from U(-1, 1).  Aborts the
 * test with a message on failure. */
void og_ready(struct og *t, int64_t batch);

/* Host memory of a tensor's value (inputs, parameters and activations)
 * and its element count for the current batch. */
float *og_value(const struct og *t, int tensor);
int64_t og_count(const struct og *t, int tensor);

/* Fills a tensor with U(lo, hi) from seed. */
void og_fill(struct og *t, int tensor, uint64_t seed, float lo, float hi);
/* U(lo, hi) with every |value| >= gap (values inside are pushed out):
 * keeps inputs away from kinks at 0. */
void og_fill_away(struct og *t, int tensor, uint64_t seed, float lo, float hi, float gap);
/* Distinct values spaced `step` apart, in random order, centred on 0:
 * max pooling without ties. */
void og_fill_distinct(struct og *t, int tensor, uint64_t seed, float step);

/* Runs forward and returns J (see above). */
double og_eval(struct og *t);

/* Runs forward and backward (parameter gradients zeroed first). */
void og_backward(struct og *t);

/* Checks the gradient of tensor (an input with needs_grad or a trainable
 * parameter): backward once, the same gradient on every other backend
 * (see above), then the central finite difference of J
 * along up to `samples` of its elements (all when it has fewer; else a
 * seeded random choice) with step h0 max(1, |v|).  Returns the worst
 * relative error |g - fd| / max(|g|, |fd|, floor) and prints offenders
 * above tol, and the tensor's worst, labelled with what. */
double og_gradcheck(struct og *t, int tensor, int samples, double h0, double floor, double tol,
                    const char *what);

/* Uniform integer in [lo, hi] from (seed, i). */
int64_t og_rand_int(uint64_t seed, uint64_t i, int64_t lo, int64_t hi);

#endif
