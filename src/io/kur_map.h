/* kur_map.h - how kurc's parameters appear in a Kur weight directory.
 *
 * Kur (deepgram/kur) saved weights as one IDX file per tensor,
 * LAYER+WEIGHT.kur, named by its backend (see kur_dir.h):
 *
 *   Keras on TensorFlow  LAYER+LAYER_kernel:0.kur (the TF variable
 *                        "LAYER/kernel:0", '/' written '_'); Keras
 *                        layouts, which are kurc's.
 *   Keras on Theano      LAYER+kernel.kur (or LAYER_kernel); Keras
 *                        layouts, but convolution kernels are flipped in
 *                        every spatial axis (Theano convolves, TF and
 *                        kurc correlate).
 *   PyTorch              layer_NAME+weight.kur (state_dict names; NAME is
 *                        the container's name with every character but
 *                        [A-Za-z0-9_], and a leading digit, written '_');
 *                        (out, in) and (cout, cin, k...) layouts.
 *
 * A kurc parameter LAYER/WEIGHT maps to a Kur layer and a Keras weight:
 * WEIGHT_fwd and WEIGHT_rev of a bidirectional recurrent layer to layers
 * LAYER_fwd and LAYER_rev (Kur's sub-layers), the hidden layers of a
 * `dense: [a, b]` stack (kernel_I, bias_I) to layer LAYER_hiddenI, the rest
 * to LAYER.  Batch normalisation's moving mean and variance, which kurc
 * does not keep (it always normalises with the batch's statistics, as
 * Kur did), are read and ignored, and written as zeros and ones. */
#ifndef KURC_KUR_MAP_H
#define KURC_KUR_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "core/params.h"

enum kurc_kur_flavour { KURC_KUR_TENSORFLOW, KURC_KUR_THEANO, KURC_KUR_PYTORCH };

/* How a tensor on disk becomes a kurc parameter. */
enum kurc_kur_layout {
    KURC_KUR_COPY,      /* the same layout */
    KURC_KUR_FLIP,      /* Theano convolution kernel: every spatial axis reversed */
    KURC_KUR_TRANSPOSE, /* PyTorch (out, in) matrix of kurc's (in, out) */
    KURC_KUR_CONV_OIK,  /* PyTorch (cout, cin, k...) of kurc's (k..., cin, cout) */
    KURC_KUR_ADD,       /* PyTorch's second recurrent bias, added to the first */
    KURC_KUR_IGNORE,    /* statistics kurc does not keep: checked, not used */
};

#define KURC_KUR_MAX_TENSORS 16

/* One tensor a Kur layer holds. */
struct kurc_kur_tensor {
    char name[48]; /* TF/Theano: the Keras weight (kernel, bias, ...); PyTorch: the state_dict name */
    int param;     /* its kurc parameter; -1 when layout is IGNORE */
    enum kurc_kur_layout layout;
    bool optional;           /* may be absent (the statistics) */
    struct kurc_shape disk;  /* its shape on disk */
};

struct kurc_kur_layer {
    char *name;            /* in the directory's naming */
    const char *container; /* kurc's layer, for messages */
    struct kurc_kur_tensor t[KURC_KUR_MAX_TENSORS];
    int n;
    const char *unmappable; /* when set, why the flavour's tensors cannot be loaded */
};

/* The Kur layers of p in flavour f (*out, *n, freed with
 * kurc_kur_layers_free).  A parameter without a Kur name, or two that
 * would share one file, is a KURC_E_CHECKPOINT error about path. */
enum kurc_status kurc_kur_layers(const struct kurc_params *p, enum kurc_kur_flavour f,
                                 const char *path, struct kurc_kur_layer **out, size_t *n,
                                 struct kurc_err *err);
void kurc_kur_layers_free(struct kurc_kur_layer *layers, size_t n);

/* TF/Theano: the Keras 2 weight a file's weight name stands for
 * ("labels_kernel:0", "kernel" -> "kernel"; Keras 1's "labels_U:0" ->
 * "recurrent_kernel", "labels_b:0" -> "bias", "running_mean",
 * "running_std" -> the moving statistics), NULL when none.  Keras 1's
 * "W" (a kernel or an embedding table) is "W". */
const char *kurc_kur_role(const char *weight);

#endif
