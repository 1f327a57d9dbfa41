/* reuse.c - `reuse: TARGET` or `reuse: {target: TARGET}`: applies the
 * layers of the container named TARGET again, with the same parameters
 * (weight sharing).  TARGET is any container parsed before the reuse: a
 * layer, or an operator, whose layers then apply in order as one chain
 * (the reuse's input goes to the first; explicit `inputs` inside the
 * target are not followed, as in Kur).  The parameters stay the target's:
 * they are declared under the target layers' names, keep the target's
 * `freeze`, and their gradients sum over every use.
 *
 * A reuse cannot target a container that contains it (its own operator or
 * parallel, or a template instance it is part of): that is a cycle, found
 * when the reuse is parsed; a reuse met again while it is being built is
 * reported as a cycle too. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/engine.h"
#include "model/containers/children.h"
#include "model/model.h"

struct reuse {
    struct kurc_container *target;
    bool building;
};

static const struct kurc_schema reuse_args = {
    .types = KT_STR | KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"target", &(const struct kurc_schema){.types = KT_STR}, true},
            {NULL},
        },
};

static bool contains_input(const struct kurc_container *c) {
    if (strcmp(c->type->name, "input") == 0)
        return true;
    for (size_t i = 0; i < c->n_children; i++)
        if (contains_input(c->children[i]))
            return true;
    return false;
}

static enum kurc_status reuse_parse(struct kurc_model *m, struct kurc_container *c,
                                    struct kurc_err *err) {
    struct reuse *r = kurc_xcalloc(1, sizeof *r);
    c->priv = r;
    const struct kurc_value *target =
        c->args->kind == KURC_MAP ? kurc_map_get(c->args, "target") : c->args;
    const char *name = target->u.str.s;
    if (strcmp(c->name, name) == 0)
        return kurc_container_error(c, err, "a reuse cannot reuse itself");
    for (const struct kurc_container *a = c->parent; a; a = a->parent)
        if (strcmp(a->name, name) == 0)
            return kurc_container_error(c, err,
                                        "cannot reuse '%s': it contains this reuse (a cycle)",
                                        name);
    /* Containers parse depth first, so every container listed before this
     * one that is not its ancestor is complete. */
    for (size_t i = 0; i < m->n_all && m->all[i] != c; i++) {
        if (strcmp(m->all[i]->name, name) == 0) {
            r->target = m->all[i];
            if (contains_input(r->target))
                return kurc_container_error(c, err, "cannot reuse '%s': it is or contains an input",
                                            name);
            return KURC_OK;
        }
    }
    return kurc_container_error(c, err,
                                "its target '%s' is not the name of a container before it (a "
                                "reuse must come after what it reuses)",
                                name);
}

static enum kurc_status reuse_build(struct kurc_model *m, struct kurc_container *c,
                                    const int *inputs, int n_inputs, int *out,
                                    struct kurc_err *err) {
    struct reuse *r = c->priv;
    if (r->building)
        return kurc_container_error(c, err, "reuse cycle: building '%s' reaches this reuse again",
                                    r->target->name);
    r->building = true;
    enum kurc_status st = kurc_container_apply(m, r->target, inputs, n_inputs, out, err);
    r->building = false;
    return st;
}

const struct kurc_container_type kurc_container_reuse = {
    .name = "reuse",
    .args = &reuse_args,
    .parse = reuse_parse,
    .build = reuse_build,
    .free_priv = free,
};
