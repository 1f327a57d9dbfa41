/* container.h - containers: the entries of a Kurfile's `model` section.
 *
 * A container is a layer (it emits ops: dense, convolution, ...) or an
 * operator (it makes child containers: for, for_each, templates, ...).
 * A layer may own children too (parallel): it parses them, and builds
 * them itself inside its own build; they are not nodes of the model.
 * Each type is a struct kurc_container_type, with the schema of its
 * arguments, in its own file under src/model/containers, named
 * kurc_container_NAME: defining it lists it in the table of registry.c
 * (generated from the definitions).  Kur's generic keys (name, tag, oldest, inputs,
 * sink, freeze, when) are handled here for every type; a type sees only
 * its own arguments (the value under its key, e.g. `dense: 10`).
 *
 * Life of a container (see model.h for the model as a whole):
 *   parse - the model parser has evaluated the generic keys and, unless the
 *           type asks for raw arguments, the arguments (recursively, in the
 *           current template scope) and checked them against the type's
 *           schema; parse turns them into the type's private settings (and
 *           for operators, creates and parses the children);
 *   build - emits the ops for given input tensors (layers only).
 */
#ifndef KURC_CONTAINER_H
#define KURC_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "config/schema.h"
#include "config/value/value.h"
#include "core/graph.h"
#include "core/params.h"

struct kurc_model;
struct kurc_container;

struct kurc_container_type {
    const char *name;     /* the Kurfile key: "dense", "for", ... */
    bool operator;        /* makes children instead of ops */
    bool raw_args;        /* parse receives unevaluated arguments (operators) */
    bool anonymous;       /* needs no arguments (flatten, templates) */
    bool passthrough;     /* makes no op: its input passes through (output) */
    bool named_by_args;   /* `TYPE: NAME` names the container (input, output) */
    const struct kurc_schema *args; /* schema of the evaluated arguments, or NULL */
    unsigned ignored; /* KT_* kinds of arguments Kur accepted and did nothing with:
                         a warning, and the container has none */
    /* Reads c->args into c->priv; operators make their children. */
    enum kurc_status (*parse)(struct kurc_model *m, struct kurc_container *c,
                              struct kurc_err *err);
    /* Emits ops on inputs[0..n) and sets *out to the result.  Layers that
     * are not pass-through only. */
    enum kurc_status (*build)(struct kurc_model *m, struct kurc_container *c, const int *inputs,
                              int n_inputs, int *out, struct kurc_err *err);
    void (*free_priv)(void *priv);
};

struct kurc_container {
    const struct kurc_container_type *type;
    struct kurc_container *parent;
    struct kurc_container **children;
    size_t n_children;
    char *name;        /* unique; Kur's auto names start with ".." */
    bool auto_named;
    char **tags;
    size_t n_tags;
    char **oldest;
    size_t n_oldest;
    char **inputs;     /* explicit `inputs`, by any name of a container */
    size_t n_inputs;
    bool sink;
    int freeze;        /* -1 inherit, 0 no, 1 yes */
    bool when;
    struct kurc_value *entry; /* the entry as written (after its own evaluation) */
    struct kurc_value *args;  /* arguments: evaluated, or raw for raw_args types */
    struct kurc_loc loc;      /* where the entry is */
    void *priv;               /* the type's settings */
};

/* True when the container's weights are frozen: its own `freeze`, else the
 * nearest ancestor's, else false. */
bool kurc_container_frozen(const struct kurc_container *c);

/* The registry (registry.c): the type for a Kurfile key, or NULL. */
const struct kurc_container_type *kurc_container_type_find(const char *name);
/* The NULL-name terminated list of every type, for messages and tests. */
const struct kurc_container_type *const *kurc_container_types(void);

/* Reports an error about a container: "NAME (TYPE): message" at its place. */
enum kurc_status kurc_container_error(const struct kurc_container *c, struct kurc_err *err,
                                      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
