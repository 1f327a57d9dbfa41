/* kur_dir.h - Kur's weight directories, read and written.
 *
 * Kur saved a model's weights as a directory of IDX files (formats/idx.h),
 * one per tensor, named LAYER+WEIGHT.kur with '/' in WEIGHT written '_'
 * (kur_map.h has the names and layouts of each backend).
 *
 * Loading walks the directory and its subdirectories, splits each file
 * name at its first '+', and tells the backend from the names (TF's ":0",
 * PyTorch's "weight", else Theano).  Layers that Kur's Keras `parallel`
 * named PARALLEL_CHILD_I_J are taken as CHILD's when the directory has no
 * layer CHILD (the highest J its layer, the others its hidden layers, in
 * order).  As in Kur, only the layers on disk
 * are restored: the model's layers that are absent keep their values
 * (with a warning naming them), files of layers the model lacks are
 * ignored (with a warning), and a layer whose weight names differ from the
 * model's is an error.  A name that maps to none of kurc's weights, a
 * shape that does not fit, a damaged IDX file or a value that is not
 * finite is an error naming the directory, the file and both shapes; a
 * failed load changes nothing.
 *
 * Saving writes Keras-on-TensorFlow names (LAYER+LAYER_kernel:0.kur) as
 * float32 IDX into DIR.tmp, which then takes DIR's place in one atomic
 * exchange (a rename when DIR is new), so DIR never holds a half-written
 * set; the old *.kur files are deleted (in subdirectories too, as Kur
 * did) and any other files of DIR are kept.  Errors are KURC_E_CHECKPOINT
 * (KURC_E_IO for a file that cannot be written), naming the directory. */
#ifndef KURC_KUR_DIR_H
#define KURC_KUR_DIR_H

#include <stdbool.h>

#include "base/status.h"
#include "core/params.h"

/* True when weights saved to path go to a Kur directory: path is a
 * directory or its name ends in ".kur" (or ".kur/"). */
bool kurc_kur_dir_wanted(const char *path);

enum kurc_status kurc_kur_dir_load(const char *dir, struct kurc_params *p, struct kurc_err *err);

enum kurc_status kurc_kur_dir_save(const char *dir, const struct kurc_params *p,
                                   struct kurc_err *err);

#endif
