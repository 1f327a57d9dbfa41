/* weights.h - weight files and checkpoints (HDF5), and Kur's weight
 * directories.
 *
 * A weight file holds every parameter: one group per layer (the container's
 * name), one float32 dataset per parameter named as the layer named it
 * (kernel, bias, ...), readable with h5dump or h5py.  Root attributes:
 * format = "kurc-weights", format_version, kurc_version.  A checkpoint is a
 * weight file with format = "kurc-checkpoint" that also holds the
 * optimizer's state (/optimizer/state<i>/<layer>/<weight>, attribute
 * `name` and `iterations`), the training counters and the data position
 * (/training attributes), and the resolved Kurfile (/kurfile, a string).
 * Files are written to PATH.tmp and renamed, so a crash never leaves a
 * half-written file under the real name.  Loading checks every parameter's
 * name and shape and reports the first that disagrees, and names the file's
 * datasets the model lacks; a failed load changes nothing.
 *
 * kurc_weights_load and kurc_weights_save are the entry points for every
 * weight path: a path that is a directory loads as Kur's weight directory,
 * and weights saved to a directory or to a name ending in ".kur" are
 * written as one, in Kur's Keras-on-TensorFlow naming (kur_dir.h; its
 * rules for missing layers are Kur's, not the ones below).  Checkpoints
 * are always HDF5.
 *
 * Layer and weight names must be HDF5 link names (not empty or ".", no
 * '/'; Kur's auto names such as "..dense.0" are fine), and a checkpoint
 * cannot hold a layer named optimizer, training or kurfile.  Errors are
 * KURC_E_CHECKPOINT, naming the file.
 */
#ifndef KURC_WEIGHTS_H
#define KURC_WEIGHTS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "core/params.h"
#include "optim/optimizer.h"

/* The training position a checkpoint records (global terms: independent
 * of the number of ranks). */
struct kurc_train_state {
    int64_t epoch;          /* epochs completed */
    int64_t batch;          /* batches completed in the current epoch */
    int64_t batches;        /* batches completed in total */
    int64_t samples;        /* samples trained on in total */
    double clocks[4];       /* seconds: all, train, validate, batch */
    double best_train_loss; /* +inf when none */
    double best_valid_loss;
    uint64_t seed;
};

enum kurc_status kurc_weights_save(const char *path, const struct kurc_params *p,
                                   struct kurc_err *err);

/* Loads every parameter of p from path.  A parameter missing from the file,
 * a dataset of another shape, or a file parameter the model does not have
 * is an error naming it. */
enum kurc_status kurc_weights_load(const char *path, struct kurc_params *p, struct kurc_err *err);

enum kurc_status kurc_checkpoint_save(const char *path, const struct kurc_params *p,
                                      const struct kurc_optimizer *o,
                                      const struct kurc_train_state *state, const char *kurfile,
                                      struct kurc_err *err);

/* Loads weights, optimizer state (which must be of the same kind) and the
 * training state.  *kurfile (kurfile may be NULL) receives a new copy of
 * the resolved Kurfile stored in it, NULL when it was saved without one
 * (kurfile NULL in kurc_checkpoint_save).  A weight file is not a
 * checkpoint; a checkpoint's weights load with kurc_weights_load. */
enum kurc_status kurc_checkpoint_load(const char *path, struct kurc_params *p,
                                      struct kurc_optimizer *o, struct kurc_train_state *state,
                                      char **kurfile, struct kurc_err *err);

/* True when path holds a kurc checkpoint (not only weights). */
bool kurc_checkpoint_is(const char *path);

#endif
