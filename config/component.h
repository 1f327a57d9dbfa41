/* component.h - the named components a Kurfile chooses: data suppliers,
 * training and evaluation hooks, optimizers and losses.
 *
 * config knows none of them.  Each kind keeps one table of its types
 * (generated from their definitions) in its own library (src/data, src/hooks, src/optim, src/loss), every type
 * starting with a struct kurc_component - its name, the schema of its
 * parameters and the names its positional forms fill - and the tables
 * reach the schema checks as a struct kurc_components handed to
 * kurc_kurfile_parse (src/train/components.h has kurc's).  Here are the
 * schemas of the entries that name a component, which find it by name
 * (with a "did you mean") and check its parameters in any of their forms,
 * and the reading of parameters that the components' code shares.
 */
#ifndef KURC_COMPONENT_H
#define KURC_COMPONENT_H

#include "config/schema.h"

/* A component: its name, the schema of its parameter mapping, and the
 * parameter names a string or list form fills, in order (NULL-terminated;
 * NULL when only the mapping form is accepted).  A kind's type embeds it
 * as its first member, so a component found in a kind's table converts
 * back to its type. */
struct kurc_component {
    const char *name;
    const struct kurc_schema *params;
    const char *const *positional;
};

/* The components a Kurfile may name, one NULL-terminated table per kind,
 * in the order messages list them, and the optimizer an `optimizer` that
 * gives no name means. */
struct kurc_components {
    const struct kurc_component *const *suppliers;
    const struct kurc_component *const *training_hooks;
    const struct kurc_component *const *evaluation_hooks;
    const struct kurc_component *const *optimizers;
    const struct kurc_component *const *losses;
    const char *default_optimizer;
    /* Unknown training hooks are warnings, not errors: Kur built training
     * hooks only in `kur train`, so its other commands ran such files. */
    bool unknown_training_hooks_warn;
};

/* `- SUPPLIER: params` (params a mapping, a first positional string, or a
 * positional list), plus optional `when` and `name`. */
extern const struct kurc_schema kurc_schema_supplier_entry;

/* `- NAME` or `- NAME: params` (plus optional `when`). */
extern const struct kurc_schema kurc_schema_training_hook;
extern const struct kurc_schema kurc_schema_evaluation_hook;

/* `optimizer: NAME` or `{name: NAME, ...params}`. */
extern const struct kurc_schema kurc_schema_optimizer;

/* `- {target: OUTPUT, name: LOSS, ...params}`. */
extern const struct kurc_schema kurc_schema_loss_entry;

/* The component of that name in a table, or NULL. */
const struct kurc_component *kurc_component_find(const struct kurc_component *const *table,
                                                 const char *name);

/* The mapping form of the parameters `given` to c: a mapping as it is,
 * null (or NULL) as no parameters, a list as c's positional parameters in
 * order, any other value as the first one.  *out is a new tree.  More
 * values than c has positional names is an error at given, "WHAT takes at
 * most N positional parameters, found M". */
enum kurc_status kurc_component_params(const struct kurc_component *c,
                                       const struct kurc_value *given, const char *what,
                                       struct kurc_value **out, struct kurc_err *err);

/* Parameter `name` of a parameter mapping: NULL when params is not a
 * mapping or the parameter is absent or null. */
const struct kurc_value *kurc_param(const struct kurc_value *params, const char *name);

/* The same as a string: NULL also when it is not one. */
const char *kurc_param_str(const struct kurc_value *params, const char *name);

/* The same as a number: fallback also when it is not one. */
double kurc_param_number(const struct kurc_value *params, const char *name, double fallback);

/* The same as a flag: its truth (Python's), false when absent. */
bool kurc_param_flag(const struct kurc_value *params, const char *name);

#endif
