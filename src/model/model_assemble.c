/* model_assemble.c - from the container tree to wired leaves (Kur's
 * Model.enumerate_nodes and assemble_graph; see model.h). */
#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

enum kurc_status kurc_model_assemble(struct kurc_model *m, struct kurc_err *err);

static void add_name(struct kurc_node *n, const char *name, bool front) {
    n->names = kurc_xrealloc(n->names, (n->n_names + 1) * sizeof *n->names);
    if (front) {
        memmove(n->names + 1, n->names, n->n_names * sizeof *n->names);
        n->names[0] = (char *)name;
    } else {
        n->names[n->n_names] = (char *)name;
    }
    n->n_names++;
}

/* A leaf's own inputs, or those an operator above it handed down. */
struct pending_inputs {
    char **names;
    size_t n;
};

static bool suppressed(const struct kurc_container *c) {
    for (; c; c = c->parent)
        if (!c->when)
            return true;
    return false;
}

/* Appends the leaves under c (Kur's enumerate_nodes): an operator's inputs
 * go to its first leaf, its name to its last (before that leaf's own name
 * unless it is an automatic name), and its sink to its last leaf.  Every
 * layer is a leaf, also one that owns children (parallel builds its
 * children itself, inside its own build), and an operator without layers
 * (debug, assert) makes no node. */
static void enumerate(struct kurc_model *m, struct kurc_container *c,
                      struct pending_inputs **pending) {
    if (!c->type->operator) {
        m->nodes = kurc_xrealloc(m->nodes, (m->n_nodes + 1) * sizeof *m->nodes);
        struct kurc_node *n = &m->nodes[m->n_nodes];
        memset(n, 0, sizeof *n);
        n->c = c;
        n->value = -1;
        n->is_input = strcmp(c->type->name, "input") == 0;
        n->suppressed = suppressed(c);
        add_name(n, c->name, false);
        *pending = kurc_xrealloc(*pending, (m->n_nodes + 1) * sizeof **pending);
        (*pending)[m->n_nodes] = (struct pending_inputs){c->inputs, c->n_inputs};
        m->n_nodes++;
        return;
    }
    size_t first = m->n_nodes;
    for (size_t i = 0; i < c->n_children; i++)
        enumerate(m, c->children[i], pending);
    if (m->n_nodes == first)
        return;
    if (c->n_inputs)
        (*pending)[first] = (struct pending_inputs){c->inputs, c->n_inputs};
    struct kurc_node *last = &m->nodes[m->n_nodes - 1];
    add_name(last, c->name, !c->auto_named);
    if (c->sink)
        last->c->sink = true;
}

static size_t find_node(const struct kurc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t k = 0; k < m->nodes[i].n_names; k++)
            if (strcmp(m->nodes[i].names[k], name) == 0)
                return i;
    return (size_t)-1;
}

static void add_input(struct kurc_node *n, size_t from) {
    n->inputs = kurc_xrealloc(n->inputs, (n->n_inputs + 1) * sizeof *n->inputs);
    n->inputs[n->n_inputs++] = from;
}

/* A pass-through leaf (an `output`, or one whose `when` is false) makes no
 * op: it hands its input on, and takes over that input's names, so an
 * `- output: asr` after a softmax makes `asr` the softmax's output key.
 * Outputs are the leaves nobody reads, and every sink. */
static enum kurc_status pass_through(struct kurc_model *m, struct kurc_err *err) {
    for (size_t i = 0; i < m->n_nodes; i++) {
        struct kurc_node *n = &m->nodes[i];
        if (!n->c->type->passthrough && !n->suppressed)
            continue;
        if (n->is_input)
            return kurc_container_error(n->c, err, "an input cannot be switched off with `when`");
        if (n->n_inputs != 1)
            return kurc_container_error(n->c, err,
                                        "a container that makes no layer (an output, or `when` "
                                        "false) needs exactly one input, found %zu",
                                        n->n_inputs);
        struct kurc_node *from = &m->nodes[n->inputs[0]];
        for (size_t k = 0; k < from->n_names; k++)
            add_name(n, from->names[k], false);
        from->n_names = 0;
    }
    for (size_t i = 0; i < m->n_nodes; i++)
        m->nodes[i].output = (!m->nodes[i].used || m->nodes[i].c->sink) &&
                             m->nodes[i].n_names > 0;
    return KURC_OK;
}

enum kurc_status kurc_model_assemble(struct kurc_model *m, struct kurc_err *err) {
    struct pending_inputs *pending = NULL;
    for (size_t i = 0; i < m->n_roots; i++)
        enumerate(m, m->roots[i], &pending);
    enum kurc_status st = KURC_OK;
    size_t recent = (size_t)-1;
    for (size_t i = 0; i < m->n_nodes && st == KURC_OK; i++) {
        struct kurc_node *n = &m->nodes[i];
        if (pending[i].n) {
            if (n->is_input) {
                st = kurc_container_error(n->c, err, "an input cannot have inputs");
                break;
            }
            for (size_t k = 0; k < pending[i].n; k++) {
                size_t from = find_node(m, pending[i].names[k]);
                if (from == (size_t)-1 && kurc_model_find(m, pending[i].names[k])) {
                    st = kurc_container_error(n->c, err,
                                              "its input '%s' makes no layer of its own (a "
                                              "debug or assert, an operator without layers, or "
                                              "a container inside a parallel)",
                                              pending[i].names[k]);
                    break;
                }
                if (from == (size_t)-1) {
                    st = kurc_container_error(n->c, err,
                                              "its input '%s' is not the name of any container",
                                              pending[i].names[k]);
                    break;
                }
                if (from >= i) {
                    st = kurc_container_error(n->c, err,
                                              "its input '%s' comes later in the model; inputs "
                                              "must come first",
                                              pending[i].names[k]);
                    break;
                }
                add_input(n, from);
            }
        } else if (n->is_input) {
            recent = (size_t)-1;
        } else if (recent != (size_t)-1) {
            add_input(n, recent);
        } else {
            st = kurc_container_error(n->c, err,
                                      "it has no input: the model must start with an `input` "
                                      "container (or name its inputs)");
        }
        recent = i;
    }
    free(pending);
    if (st)
        return st;
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t k = 0; k < m->nodes[i].n_inputs; k++)
            m->nodes[m->nodes[i].inputs[k]].used = true;
    return pass_through(m, err);
}
