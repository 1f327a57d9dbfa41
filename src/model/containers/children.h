/* children.h - helpers for containers that have children: operators (for,
 * for_each, templates) that parse entries as children, and the layers that
 * build other containers' layers themselves (parallel builds its children
 * on a folded tensor, reuse re-applies its target's layers). */
#ifndef KURC_CONTAINERS_CHILDREN_H
#define KURC_CONTAINERS_CHILDREN_H

#include <stdbool.h>

#include "model/model.h"

/* Evaluates raw (a model-entry list, or one entry) once in the current
 * scopes, as Kur does before iterating it, and returns it as a list (a
 * single mapping or name is wrapped).  what names the argument in errors
 * ("iterate", "apply"). */
enum kurc_status kurc_children_entries(struct kurc_model *m, const struct kurc_container *c,
                                       const struct kurc_value *raw, const char *what,
                                       struct kurc_value **out, struct kurc_err *err);

/* Parses every entry of a list (from kurc_children_entries) as a child of c,
 * in the engine's current scopes. */
enum kurc_status kurc_children_parse(struct kurc_model *m, struct kurc_container *c,
                                     const struct kurc_value *entries, struct kurc_err *err);

/* Evaluates the loop variable's name under key (with_index, loop_var) in
 * c's arguments, or fallback when it is absent; *out is a new string. */
enum kurc_status kurc_loop_var_name(struct kurc_model *m, struct kurc_container *c,
                                    const char *key, const char *fallback,
                                    struct kurc_value **out, struct kurc_err *err);

/* Applies the layers under c (c itself when it is a layer; an operator's
 * leaves in order) as one chain: the first layer reads inputs[0..n), every
 * later one the previous output.  Layers switched off with `when` and
 * pass-through layers hand their single input on; `input` containers are
 * an error.  Parameters are those of the layers' own containers, so
 * applying a container twice shares its weights. */
enum kurc_status kurc_container_apply(struct kurc_model *m, struct kurc_container *c,
                                      const int *inputs, int n_inputs, int *out,
                                      struct kurc_err *err);

#endif
