/* convolution.c - `convolution`: 1-D, 2-D or 3-D convolution, channels
 * last.  {kernels: N, size: k or [k...] (its length is the number of
 * spatial axes), strides: s or [s...] (default 1), border: same|valid
 * (default same), activation: NAME (kurc's addition; default linear)}.
 * Weights (k..., channels in, kernels) are Glorot-uniform, the bias zero. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"

struct convolution {
    int64_t kernels;
    int ndim;
    int64_t size[3];
    int64_t strides[3];
    bool same;
    enum kurc_act act;
    bool softmax;
    float alpha;
};

static const struct kurc_schema int_or_list = {.types = KT_INT | KT_LIST};

static const struct kurc_schema convolution_args = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"kernels", &(const struct kurc_schema){.types = KT_INT}, true},
            {"size", &int_or_list, true},
            {"strides", &int_or_list},
            {"border",
             &(const struct kurc_schema){.types = KT_STR,
                                         .choices = (const char *const[]){"same", "valid", NULL}}},
            {"activation",
             &(const struct kurc_schema){.types = KT_STR | KT_NULL,
                                         .choices = kurc_activation_names}},
            {"separable", &(const struct kurc_schema){.types = KT_BOOL}},
            {"highway", &(const struct kurc_schema){.types = KT_BOOL}},
            {"bias", &(const struct kurc_schema){.types = KT_NUM | KT_NULL}},
            {NULL},
        },
};

static enum kurc_status convolution_parse(struct kurc_model *m, struct kurc_container *c,
                                          struct kurc_err *err) {
    (void)m;
    struct convolution *v = kurc_xcalloc(1, sizeof *v);
    c->priv = v;
    enum kurc_status st;
    if ((st = kurc_arg_int(c, kurc_map_get(c->args, "kernels"), "kernels", 1, &v->kernels, err)))
        return st;
    if ((st = kurc_arg_ints(c, kurc_map_get(c->args, "size"), "size", 3, 1, 0, v->size, &v->ndim,
                            err)))
        return st;
    const struct kurc_value *strides = kurc_map_get(c->args, "strides");
    for (int i = 0; i < v->ndim; i++)
        v->strides[i] = 1;
    if (strides) {
        int n;
        if ((st = kurc_arg_ints(c, strides, "strides", 3, 1, v->ndim, v->strides, &n, err)))
            return st;
        if (n != v->ndim)
            return kurc_container_error(c, err,
                                        "'strides' lists %d values but 'size' has %d axes", n,
                                        v->ndim);
    }
    const struct kurc_value *border = kurc_map_get(c->args, "border");
    v->same = !border || strcmp(border->u.str.s, "same") == 0;
    const struct kurc_value *act = kurc_map_get(c->args, "activation");
    kurc_activation_lookup(act && act->kind == KURC_STR ? act->u.str.s : "linear", &v->act,
                           &v->softmax, &v->alpha);
    const char *unsupported[] = {"separable", "highway"};
    for (int i = 0; i < 2; i++) {
        const struct kurc_value *flag = kurc_map_get(c->args, unsupported[i]);
        if (flag && flag->u.b)
            return kurc_container_error(c, err,
                                        "%s convolutions were PyTorch-only in Kur and are not "
                                        "supported",
                                        unsupported[i]);
    }
    return KURC_OK;
}

static enum kurc_status convolution_build(struct kurc_model *m, struct kurc_container *c,
                                          const int *inputs, int n_inputs, int *out,
                                          struct kurc_err *err) {
    const struct convolution *v = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "convolution takes one input, found %d", n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    if (xs->ndim != v->ndim + 1) {
        char have[96];
        kurc_shape_format(xs, have, sizeof have);
        return kurc_container_error(c, err,
                                    "a %d-D convolution needs inputs of %d axes (%s channels), "
                                    "but its input has shape %s",
                                    v->ndim, v->ndim + 1,
                                    v->ndim == 1   ? "rows and"
                                    : v->ndim == 2 ? "rows, columns and"
                                                   : "rows, columns, frames and",
                                    have);
    }
    int64_t cin = xs->dim[v->ndim], receptive = 1;
    struct kurc_shape ks = {.ndim = v->ndim + 2};
    for (int i = 0; i < v->ndim; i++) {
        ks.dim[i] = v->size[i];
        receptive *= v->size[i];
    }
    ks.dim[v->ndim] = cin;
    ks.dim[v->ndim + 1] = v->kernels;
    struct kurc_shape bs = {.ndim = 1, .dim = {v->kernels}};
    int w = kurc_model_param(m, c, "kernel", &ks, KURC_INIT_GLOROT_UNIFORM, 0, cin * receptive,
                             v->kernels * receptive, err);
    int b = w < 0 ? -1 : kurc_model_param(m, c, "bias", &bs, KURC_INIT_ZEROS, 0, 0, 0, err);
    if (b < 0)
        return err->status;
    int y = kurc_emit_conv(m->graph, inputs[0], w, b, v->strides, v->same, c->name, err);
    if (y < 0)
        return kurc_container_error(c, err, "%s", err->msg);
    if (v->softmax)
        y = kurc_emit_softmax(m->graph, y, false, c->name);
    else if (v->act != KURC_ACT_LINEAR)
        y = kurc_emit_activation(m->graph, y, v->act, v->alpha, c->name);
    *out = y;
    return KURC_OK;
}

const struct kurc_container_type kurc_container_convolution = {
    .name = "convolution",
    .args = &convolution_args,
    .parse = convolution_parse,
    .build = convolution_build,
    .free_priv = free,
};
