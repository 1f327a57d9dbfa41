/* model_build.c - emitting the op graph of a parsed model (see model.h):
 * input shapes, each leaf's ops in wiring order, parameters, outputs. */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/xalloc.h"
#include "model/containers/input.h"

int kurc_model_param(struct kurc_model *m, const struct kurc_container *c, const char *weight,
                     const struct kurc_shape *shape, enum kurc_init init, float init_arg,
                     int64_t fan_in, int64_t fan_out, struct kurc_err *err) {
    int index = kurc_params_find(&m->params, c->name, weight);
    if (!kurc_shape_numel_ok(shape)) {
        char have[96];
        kurc_shape_format(shape, have, sizeof have);
        kurc_container_error(c, err, "its parameter '%s' of shape %s has too many elements",
                             weight, have);
        return -1;
    }
    if (index < 0) {
        if (m->params.values) {
            kurc_container_error(c, err, "its parameter '%s' appeared after the model was "
                                         "allocated",
                                 weight);
            return -1;
        }
        index = kurc_params_add(&m->params, c->name, weight, shape, !kurc_container_frozen(c),
                                init, init_arg, fan_in, fan_out);
    } else if (!kurc_shape_equal(&m->params.items[index].shape, shape)) {
        char have[96], want[96];
        kurc_shape_format(&m->params.items[index].shape, have, sizeof have);
        kurc_shape_format(shape, want, sizeof want);
        kurc_container_error(c, err, "its parameter '%s' has shape %s, but this input needs %s",
                             weight, have, want);
        return -1;
    }
    char name[512];
    snprintf(name, sizeof name, "%s/%s", c->name, weight);
    return kurc_graph_add_tensor(m->graph, KURC_TENSOR_PARAM, shape, index,
                                 m->params.items[index].trainable, name);
}

uint64_t kurc_model_seed(const struct kurc_model *m, const struct kurc_container *c) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *s = c->name; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return kurc_rng_derive(m->seed, h);
}

/* The shape of an input: its data's (by any of its names) merged with its
 * declared `shape` (a declared -1 is free; a disagreement is an error), a
 * scalar promoted to (1,). */
static enum kurc_status input_shape(const struct kurc_model *m, const struct kurc_node *n,
                                    const struct kurc_shape_source *source,
                                    struct kurc_shape *out, struct kurc_err *err) {
    const struct kurc_input_settings *declared = n->c->priv;
    bool from_data = false;
    for (size_t k = 0; source && k < n->n_names && !from_data; k++)
        from_data = source->lookup(source->ctx, n->names[k], out);
    if (!from_data && !declared->has_shape)
        return kurc_container_error(n->c, err,
                                    "the input needs a shape: declare `shape:` or give data with "
                                    "a source named '%s'",
                                    n->c->name);
    int64_t free_length = source ? source->free_length : 0;
    if (declared->has_shape) {
        if (!from_data) {
            *out = declared->shape;
            for (int i = 0; i < out->ndim && free_length == 0; i++)
                if (out->dim[i] < 0)
                    return kurc_container_error(n->c, err,
                                                "the input's shape has a free axis (None), so it "
                                                "needs data to fix it");
        } else {
            bool fits = declared->shape.ndim == out->ndim;
            for (int i = 0; fits && i < out->ndim; i++)
                fits = declared->shape.dim[i] < 0 || declared->shape.dim[i] == out->dim[i];
            if (!fits) {
                char have[96], want[96];
                kurc_shape_format(out, have, sizeof have);
                kurc_shape_format(&declared->shape, want, sizeof want);
                return kurc_container_error(n->c, err,
                                            "the data has shape %s per sample, but the input "
                                            "declares %s",
                                            have, want);
            }
        }
        for (int i = 0; i < out->ndim && free_length > 0; i++)
            if (declared->shape.dim[i] < 0)
                out->dim[i] = free_length;
    }
    (void)m;
    if (out->ndim == 0)
        *out = (struct kurc_shape){.ndim = 1, .dim = {1}};
    return KURC_OK;
}

/* The tensors from index `from` on have shapes whose sizes do not overflow. */
static enum kurc_status check_sizes(const struct kurc_container *c, const struct kurc_graph *g,
                                    size_t from, struct kurc_err *err) {
    for (size_t t = from; t < g->n_tensors; t++) {
        if (kurc_shape_numel_ok(&g->tensors[t].shape))
            continue;
        char have[96];
        kurc_shape_format(&g->tensors[t].shape, have, sizeof have);
        return kurc_container_error(c, err, "its output of shape %s has too many elements",
                                    have);
    }
    return KURC_OK;
}

static void add_io(struct kurc_model_io **list, size_t *n, const char *name, size_t node,
                   int tensor) {
    *list = kurc_xrealloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = (struct kurc_model_io){name, node, tensor};
}

enum kurc_status kurc_model_build(struct kurc_model *m, const struct kurc_shape_source *shapes,
                                  struct kurc_err *err) {
    kurc_graph_free(m->graph);
    m->graph = kurc_graph_create();
    free(m->inputs);
    free(m->outputs);
    m->inputs = m->outputs = NULL;
    m->n_inputs = m->n_outputs = 0;
    kurc_feeds_release(m->feeds, m->n_feeds);
    m->feeds = NULL;
    m->n_feeds = 0;
    m->shapes = shapes;
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < m->n_nodes && st == KURC_OK; i++) {
        struct kurc_node *n = &m->nodes[i];
        n->value = -1;
        m->graph->owner = (int)i;
        if (n->is_input) {
            struct kurc_shape shape;
            if ((st = input_shape(m, n, shapes, &shape, err)))
                break;
            n->value = kurc_graph_add_tensor(m->graph, KURC_TENSOR_INPUT, &shape, -1, false,
                                             n->c->name);
            if ((st = check_sizes(n->c, m->graph, (size_t)n->value, err)))
                break;
            add_io(&m->inputs, &m->n_inputs, n->c->name, i, n->value);
            continue;
        }
        int ins[KURC_OP_MAX_INPUTS];
        if (n->n_inputs > KURC_OP_MAX_INPUTS) {
            st = kurc_container_error(n->c, err, "at most %d inputs, found %zu",
                                      KURC_OP_MAX_INPUTS, n->n_inputs);
            break;
        }
        for (size_t k = 0; k < n->n_inputs; k++)
            ins[k] = m->nodes[n->inputs[k]].value;
        if (n->c->type->passthrough || n->suppressed) {
            n->value = ins[0];
            continue;
        }
        size_t before = m->graph->n_tensors;
        st = n->c->type->build(m, n->c, ins, (int)n->n_inputs, &n->value, err);
        if (st == KURC_OK)
            st = check_sizes(n->c, m->graph, before, err);
    }
    m->graph->owner = -1;
    if (st)
        return st;
    /* outputs are read after the passes: a liveness plan keeps them (exec.h) */
    for (size_t i = 0; i < m->n_nodes; i++) {
        if (!m->nodes[i].output)
            continue;
        add_io(&m->outputs, &m->n_outputs, m->nodes[i].names[0], i, m->nodes[i].value);
        if (m->nodes[i].value >= 0)
            m->graph->tensors[m->nodes[i].value].external = true;
    }
    return KURC_OK;
}
