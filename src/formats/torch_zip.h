/* torch_zip.h - PyTorch's torch.save files of float32 state_dicts, written
 * and read without Python.
 *
 * The format is torch.save's zip format (PyTorch 1.6 and later): a stored
 * zip archive whose entries share one top folder: `archive/data.pkl`, a
 * protocol-2 pickle of an OrderedDict of name -> tensor, each tensor
 * rebuilt by torch._utils._rebuild_tensor_v2 from a storage given by a
 * persistent id ('storage', torch.FloatStorage, key, 'cpu', numel);
 * `archive/data/KEY`, each storage's raw little-endian bytes; and
 * `archive/version` ("3").  torch.load reads what kurc_torch_save writes.
 *
 * kurc_torch_load reads such files as torch.save writes them too (any top
 * folder name, protocols 2 to 4, memo opcodes, the state_dict's _metadata,
 * strided and offset views of shared storages), with a pickle machine that
 * knows only the globals a state_dict uses and calls nothing.  A tensor of
 * another dtype than float32, a stream that is not a state_dict and a
 * file that is not a torch zip archive are errors naming the file (and the
 * key).  Errors are KURC_E_CHECKPOINT.
 */
#ifndef KURC_TORCH_ZIP_H
#define KURC_TORCH_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "core/tensor.h"

/* One entry of a state_dict: a C-ordered float32 tensor. */
struct kurc_torch_tensor {
    char *name;
    struct kurc_shape shape;
    int64_t numel;
    float *data;
};

/* Writes the n tensors, in order, to path (through path.tmp, renamed when
 * complete, so a failure leaves nothing under path). */
enum kurc_status kurc_torch_save(const char *path, const struct kurc_torch_tensor *t, size_t n,
                                 struct kurc_err *err);

/* Reads every tensor of the state_dict at path, in the file's order; *t
 * (free it with kurc_torch_tensors_free) is NULL after an error. */
enum kurc_status kurc_torch_load(const char *path, struct kurc_torch_tensor **t, size_t *n,
                                 struct kurc_err *err);

void kurc_torch_tensors_free(struct kurc_torch_tensor *t, size_t n);

#endif
