/* pool.c - `pool`: max or average pooling over 1 to 3 spatial axes,
 * channels last.  `pool: SIZE` (an integer or a list of 1-3) or
 * `pool: {size, strides, type: max|average (default max), border:
 * valid|same (default valid)}`.  As in Kur, strides default to 1 in every
 * axis (not to the pool size, as Keras would) and an integer stride applies
 * to every axis.  The input is (spatial..., channels) with one axis more
 * than the size lists; same borders give ceil(in / stride) (TensorFlow's
 * padding), valid ones (in - size) / stride + 1. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"

struct pool {
    int ndim;
    int64_t size[3];
    int64_t strides[3];
    enum kurc_pool_type type;
    bool same;
};

static const struct kurc_schema int_or_list = {.types = KT_INT | KT_LIST};

static const struct kurc_schema pool_args = {
    .types = KT_INT | KT_LIST | KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"size", &int_or_list, true},
            {"strides", &int_or_list},
            {"type",
             &(const struct kurc_schema){.types = KT_STR,
                                         .choices = (const char *const[]){"max", "average", NULL}}},
            {"border",
             &(const struct kurc_schema){.types = KT_STR,
                                         .choices = (const char *const[]){"valid", "same", NULL}}},
            {NULL},
        },
};

static enum kurc_status pool_parse(struct kurc_model *m, struct kurc_container *c,
                                   struct kurc_err *err) {
    (void)m;
    struct pool *p = kurc_xcalloc(1, sizeof *p);
    c->priv = p;
    p->type = KURC_POOL_MAX;
    bool map = c->args->kind == KURC_MAP;
    enum kurc_status st = kurc_arg_ints(c, map ? kurc_map_get(c->args, "size") : c->args, "size", 3,
                                        1, 0, p->size, &p->ndim, err);
    if (st)
        return st;
    for (int i = 0; i < p->ndim; i++)
        p->strides[i] = 1;
    if (!map)
        return KURC_OK;
    const struct kurc_value *strides = kurc_map_get(c->args, "strides");
    if (strides) {
        int n;
        if ((st = kurc_arg_ints(c, strides, "strides", 3, 1, p->ndim, p->strides, &n, err)))
            return st;
        if (n != p->ndim)
            return kurc_container_error(c, err, "'strides' lists %d values but 'size' has %d axes",
                                        n, p->ndim);
    }
    const struct kurc_value *type = kurc_map_get(c->args, "type");
    if (type && strcmp(type->u.str.s, "average") == 0)
        p->type = KURC_POOL_AVERAGE;
    const struct kurc_value *border = kurc_map_get(c->args, "border");
    p->same = border && strcmp(border->u.str.s, "same") == 0;
    return KURC_OK;
}

static enum kurc_status pool_build(struct kurc_model *m, struct kurc_container *c,
                                   const int *inputs, int n_inputs, int *out,
                                   struct kurc_err *err) {
    const struct pool *p = c->priv;
    if (n_inputs != 1)
        return kurc_container_error(c, err, "pool takes one input, found %d", n_inputs);
    const struct kurc_shape *xs = kurc_graph_shape(m->graph, inputs[0]);
    char have[96];
    kurc_shape_format(xs, have, sizeof have);
    if (xs->ndim != p->ndim + 1)
        return kurc_container_error(c, err,
                                    "a %d-D pool needs inputs of %d axes (%d spatial and the "
                                    "channels), but its input has shape %s",
                                    p->ndim, p->ndim + 1, p->ndim, have);
    for (int i = 0; i < p->ndim && !p->same; i++)
        if (xs->dim[i] < p->size[i])
            return kurc_container_error(c, err,
                                        "its input of shape %s is smaller than the pool size "
                                        "along axis %d (%lld < %lld) with a valid border",
                                        have, i, (long long)xs->dim[i], (long long)p->size[i]);
    *out = kurc_emit_pool(m->graph, inputs[0], p->type, p->ndim, p->size, p->strides, p->same,
                          c->name, err);
    return *out < 0 ? kurc_container_error(c, err, "%s", err->msg) : KURC_OK;
}

const struct kurc_container_type kurc_container_pool = {
    .name = "pool",
    .args = &pool_args,
    .parse = pool_parse,
    .build = pool_build,
    .free_priv = free,
};
