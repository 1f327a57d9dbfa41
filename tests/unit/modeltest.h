/* modeltest.h - building a model from Kurfile text for tests, running it on
 * the CPU backend, training it a few steps, and checking its gradients
 * against finite differences. */
#ifndef KURC_MODELTEST_H
#define KURC_MODELTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "config/kurfile.h"
#include "core/exec.h"
#include "loss/loss.h"
#include "model/model.h"

struct mt_model {
    struct kurc_kurfile *kf;
    struct kurc_model *m;
    struct kurc_backend *be;
    struct kurc_exec *x;
    struct kurc_losses losses;
    char path[256];
};

/* Loads Kurfile text (YAML), parses it, builds the model with declared
 * shapes, adds its `loss` section, allocates and seeds the parameters and
 * an executor for `batch` samples.  Returns KURC_OK or the error (err). */
enum kurc_status mt_load(struct mt_model *t, const char *yaml, int64_t batch,
                         struct kurc_err *err);
/* The same, building with data shapes (inputs, sequence lengths, ctc
 * labels; see model.h); shapes may be NULL. */
enum kurc_status mt_load_with(struct mt_model *t, const char *yaml, int64_t batch,
                              const struct kurc_shape_source *shapes, struct kurc_err *err);
void mt_free(struct mt_model *t);

/* The tensor of the model's input or output `name`.  A name the model
 * lacks is the test's own mistake: it is printed and the test aborts. */
int mt_input_tensor(const struct kurc_model *m, const char *name);
int mt_output_tensor(const struct kurc_model *m, const char *name);

/* Fills every input tensor (data and truth) with U(lo, hi) from seed. */
void mt_fill_inputs(struct mt_model *t, uint64_t seed, float lo, float hi);

/* Runs forward and returns the objective: sum of the per-sample losses
 * times weight / batch (the mean loss). */
double mt_objective(struct mt_model *t);

/* Takes `steps` steps of kurc's default optimizer (Adam) on the inputs as
 * they are filled: zeroes the gradients, runs mt_objective and backward,
 * steps.  With fresh, step s reads samples from s * batch on (sample_base),
 * so dropout draws anew each step.  *first and *last get the first and the
 * last objective; an objective that is not finite is an error. */
enum kurc_status mt_train(struct mt_model *t, int steps, bool fresh, double *first, double *last,
                          struct kurc_err *err);

/* Runs forward and backward, then compares the gradient of every trainable
 * parameter (up to `samples` elements of each) with central finite
 * differences of mt_objective.  Returns
 * the worst relative error |g - fd| / max(|g|, |fd|, floor), and prints
 * offenders above tol. */
double mt_gradcheck(struct mt_model *t, int samples, double floor, double tol);

/* The directional check: the derivative of mt_objective along a random
 * direction v over all trainable parameters, by central differences, versus
 * the analytic g . v.  One number over every parameter averages out the
 * noise and the kinks (relu, max pooling) that defeat element-wise
 * differences in deep models.  Returns |g.v - fd| / max(|g.v|, |fd|). */
double mt_gradcheck_direction(struct mt_model *t, uint64_t seed);

#endif
