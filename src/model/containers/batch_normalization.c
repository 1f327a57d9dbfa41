/* batch_normalization.c - `batch_normalization`: normalises every channel
 * of `axis` over the batch and the other axes, then scales by a learned
 * gamma (ones) and shifts by a learned beta (zeros); epsilon 1e-3 as in
 * Keras.  `- batch_normalization` or `{axis, momentum}`.  As in Kur (Keras
 * 1 mode 2, and Kur's Keras 2 layer forced to training=False), the batch's
 * own statistics are used in training and evaluation alike: no running
 * averages, so `momentum` is accepted and unused.  `axis` is Keras's:
 * default -1 (the channels), negative from the end, and a non-negative
 * axis counts the batch axis as 0, so axis 1 is the first per-sample axis
 * and axis 0 (the batch) is an error. */
#include <stdlib.h>

#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"

#define BATCHNORM_EPS 1e-3f

struct batchnorm {
    int64_t axis;
};

static const struct kurc_schema batchnorm_args = {
    .types = KT_NULL | KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"axis", &(const struct kurc_schema){.types = KT_INT}},
            {"momentum", &(const struct kurc_schema){.types = KT_NUM}},
            {NULL},
        },
};

static enum kurc_status batchnorm_parse(struct kurc_model *m, struct kurc_container *c,
                                        struct kurc_err *err) {
    (void)m;
    struct batchnorm *b = kurc_xcalloc(1, sizeof *b);
    c->priv = b;
    b->axis = -1;
    const struct kurc_value *axis = kurc_map_get(c->args, "axis");
    if (axis)
        b->axis = axis->u.i;
    if (b->axis == 0)
        return kurc_container_error(c, err,
                                    "axis 0 is the batch axis, which cannot be normalised "
                                    "per channel; per-sample axes start at 1 (or count from "
                                    "the end: -1)");
    return KURC_OK;
}

static enum kurc_status batchnorm_build(struct kurc_model *m, struct kurc_container *c,
                                        const int *inputs, int n_inputs, int *out,
                                        struct kurc_err *err) {
    const struct batchnorm *b = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "batch_normalization takes one input, found %d",
                                    n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    int64_t axis = b->axis < 0 ? b->axis + xs->ndim : b->axis - 1;
    if (axis < 0 || axis >= xs->ndim) {
        char have[96];
        kurc_shape_format(xs, have, sizeof have);
        return kurc_container_error(c, err,
                                    "axis %lld is out of range for its input of shape %s (the "
                                    "batch axis is 0)",
                                    (long long)b->axis, have);
    }
    struct kurc_shape ps = {.ndim = 1, .dim = {xs->dim[axis]}};
    int gamma = kurc_model_param(m, c, "gamma", &ps, KURC_INIT_ONES, 0, 0, 0, err);
    int beta = gamma < 0 ? -1 : kurc_model_param(m, c, "beta", &ps, KURC_INIT_ZEROS, 0, 0, 0, err);
    if (beta < 0)
        return err->status;
    *out = kurc_emit_batchnorm(m->graph, inputs[0], gamma, beta, (int)axis, BATCHNORM_EPS, c->name,
                               err);
    return *out < 0 ? kurc_container_error(c, err, "%s", err->msg) : KURC_OK;
}

const struct kurc_container_type kurc_container_batch_normalization = {
    .name = "batch_normalization",
    .anonymous = true,
    .args = &batchnorm_args,
    .ignored = KT_ANY & ~(KT_NULL | KT_MAP), /* Kur read only a mapping's axis, momentum */
    .parse = batchnorm_parse,
    .build = batchnorm_build,
    .free_priv = free,
};
