/* schema_components.h - schemas of the named components a Kurfile uses:
 * data suppliers, training and evaluation hooks, optimizers and losses.
 * Each is chosen by name and its parameters are checked against that
 * component's table in schema_components.c. */
#ifndef KURC_SCHEMA_COMPONENTS_H
#define KURC_SCHEMA_COMPONENTS_H

#include "config/schema.h"

/* `- SUPPLIER: params` (params a mapping, a first positional string, or a
 * positional list), plus optional `when` and `name`. */
extern const struct kurc_schema kurc_schema_supplier_entry;

/* `- NAME` or `- NAME: params` (plus optional `when`). */
extern const struct kurc_schema kurc_schema_training_hook;
extern const struct kurc_schema kurc_schema_evaluation_hook;

/* `optimizer: NAME` or `{name: NAME, ...params}` (adam when no name). */
extern const struct kurc_schema kurc_schema_optimizer;

/* `- {target: OUTPUT, name: LOSS, ...params}`. */
extern const struct kurc_schema kurc_schema_loss_entry;

/* A component kind: its name and the schema of its parameter mapping;
 * positional lists the parameter names a string or list form fills, in
 * order (NULL-terminated; NULL when only the mapping form is accepted). */
struct kurc_component {
    const char *name;
    const struct kurc_schema *params;
    const char *const *positional;
};

/* The component table for "supplier", "training hook", "evaluation hook",
 * "optimizer" or "loss" (NULL-name terminated), or NULL. */
const struct kurc_component *kurc_schema_components(const char *kind);

#endif
