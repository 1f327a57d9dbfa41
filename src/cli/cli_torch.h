/* cli_torch.h - what `kurc export --pytorch` and `kurc import --pytorch`
 * share: the state_dict entry of each parameter and the model.py writer.
 *
 * A parameter `weight` of layer `layer` is the state_dict entry
 * "<module>.<weight>", where <module> is the layer's name with every
 * character but letters, digits and '_' made '_' (prefixed with "l_" when
 * it does not start with a letter, or is a Python keyword or a name
 * torch.nn.Module has: Kur's
 * "..dense.0" is "l___dense_0"; "_2", "_3", ... after a name another layer
 * took).  Dense kernels are stored as
 * torch.nn.Linear's weight, (out, in); convolution kernels as torch's
 * (channels out, channels in, kernel...); every other parameter in
 * kurc's own layout (recurrent kernels (in, G units) and (units, G units)
 * with gate blocks z, r, h or i, f, c, o).
 */
#ifndef KURC_CLI_TORCH_H
#define KURC_CLI_TORCH_H

#include <stdio.h>

#include "base/status.h"
#include "model/model.h"

/* A parameter's state_dict entry: key, and the permutation taking kurc's
 * axes to the stored ones (stored axis i is kurc's axis perm[i]). */
struct kurc_torch_entry {
    char *module; /* the layer's module name */
    char *key;    /* module "." weight */
    int perm[KURC_MAX_DIMS];
    struct kurc_shape shape; /* as stored */
};

/* The entries of every parameter of m, in m->params order (free with
 * kurc_torch_entries_free). */
struct kurc_torch_entry *kurc_torch_entries(const struct kurc_model *m);
void kurc_torch_entries_free(struct kurc_torch_entry *e, size_t n);

/* Writes model.py for m to f.  probe (NULL: none) is m built with other
 * lengths for its free axes: an axis whose length differs between the two
 * follows the data and is left to the tensors.  kurfile names the source
 * in the file's docstring. */
enum kurc_status kurc_torch_write_model(FILE *f, const char *path, const struct kurc_model *m,
                                        const struct kurc_model *probe,
                                        const struct kurc_torch_entry *entries,
                                        const char *kurfile, struct kurc_err *err);

#endif
