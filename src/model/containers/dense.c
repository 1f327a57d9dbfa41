/* dense.c - `dense`: affine layers over the last axis, y = x W + b (no
 * activation).  `dense: N`, `dense: [N1, N2, ...]` (a stack; only the last
 * layer carries the container's name, the hidden ones' weights are named
 * kernel_<i>/bias_<i>), or `dense: {size, flatten}` where flatten: yes
 * flattens the input first.  Kernels are Glorot-uniform, biases zero. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"

#define MAX_STACK 32

struct dense {
    int64_t size[MAX_STACK];
    int n;
    bool flatten;
};

static const struct kurc_schema size_schema = {.types = KT_INT | KT_LIST};

static const struct kurc_schema dense_args = {
    .types = KT_INT | KT_LIST | KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"size", &size_schema, true},
            {"flatten", &(const struct kurc_schema){.types = KT_BOOL}},
            {"highway", &(const struct kurc_schema){.types = KT_BOOL}},
            {"bias", &(const struct kurc_schema){.types = KT_NUM | KT_NULL}},
            {NULL},
        },
};

static enum kurc_status dense_parse(struct kurc_model *m, struct kurc_container *c,
                                    struct kurc_err *err) {
    (void)m;
    struct dense *d = kurc_xcalloc(1, sizeof *d);
    c->priv = d;
    const struct kurc_value *size = c->args;
    if (c->args->kind == KURC_MAP) {
        size = kurc_map_get(c->args, "size");
        const struct kurc_value *flatten = kurc_map_get(c->args, "flatten");
        d->flatten = flatten && flatten->u.b;
        const struct kurc_value *highway = kurc_map_get(c->args, "highway");
        if (highway && highway->u.b)
            return kurc_container_error(c, err,
                                        "highway dense layers were PyTorch-only in Kur and are "
                                        "not supported");
    }
    return kurc_arg_ints(c, size, "size", MAX_STACK, 1, 0, d->size, &d->n, err);
}

static enum kurc_status dense_build(struct kurc_model *m, struct kurc_container *c,
                                    const int *inputs, int n_inputs, int *out,
                                    struct kurc_err *err) {
    const struct dense *d = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "dense takes one input, found %d", n_inputs);
    int x = inputs[0];
    if (d->flatten) {
        struct kurc_shape flat = {.ndim = 1,
                                  .dim = {kurc_shape_numel(kurc_graph_shape(m->graph, x))}};
        if ((x = kurc_emit_reshape(m->graph, x, &flat, c->name, err)) < 0)
            return err->status;
    }
    for (int i = 0; i < d->n; i++) {
        const struct kurc_shape *xs = kurc_graph_shape(m->graph, x);
        int64_t in = xs->ndim ? xs->dim[xs->ndim - 1] : 1;
        char kname[32] = "kernel", bname[32] = "bias";
        if (i + 1 < d->n) {
            snprintf(kname, sizeof kname, "kernel_%d", i);
            snprintf(bname, sizeof bname, "bias_%d", i);
        }
        struct kurc_shape ks = {.ndim = 2, .dim = {in, d->size[i]}};
        struct kurc_shape bs = {.ndim = 1, .dim = {d->size[i]}};
        int w = kurc_model_param(m, c, kname, &ks, KURC_INIT_GLOROT_UNIFORM, 0, in, d->size[i],
                                 err);
        int b = w < 0 ? -1 : kurc_model_param(m, c, bname, &bs, KURC_INIT_ZEROS, 0, 0, 0, err);
        if (b < 0)
            return err->status;
        if ((x = kurc_emit_dense(m->graph, x, w, b, c->name, err)) < 0)
            return kurc_container_error(c, err, "%s", err->msg);
    }
    *out = x;
    return KURC_OK;
}

const struct kurc_container_type kurc_container_dense = {
    .name = "dense",
    .args = &dense_args,
    .parse = dense_parse,
    .build = dense_build,
    .free_priv = free,
};
