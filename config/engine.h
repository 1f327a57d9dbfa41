/* engine.h - Kur's template engine: scopes, rendering and literal coercion.
 *
 * Kur evaluates a Kurfile by rendering every string with Jinja2 against a
 * chain of scopes and reading the output back with Python's literal parser
 * ("[3, 3]" becomes a list, "2e-4" a float), repeating until the string
 * stops changing (kur/engine/engine.py).  This engine does the same with
 * kurc's template renderer (template.h) and literal parser (pyliteral.h).
 *
 * Scopes are mappings searched from the most recently pushed down to the
 * engine's own state at the bottom, which holds the model builder's
 * variables: `layers` (names of the containers registered so far), `tags`
 * (tag -> latest holder) and `oldest` (tag -> first holder).  The model
 * builder pushes loop variables (`index`, `item`, template arguments) as
 * scopes and registers each container as it is created.
 */
#ifndef KURC_ENGINE_H
#define KURC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"
#include "config/sources.h"
#include "config/value/value.h"

struct kurc_engine;

/* Renderings of one string before the engine gives up on a template that
 * keeps changing (a template that refers to itself). */
#define KURC_ENGINE_MAX_RENDERS 64

/* kurfile_path (may be NULL) anchors the relative paths of load_json() and
 * load_yaml(); files they read are interned in sources. */
struct kurc_engine *kurc_engine_create(const char *kurfile_path, struct kurc_sources *sources);
void kurc_engine_free(struct kurc_engine *engine);

/* Pushes a mapping as the innermost scope.  _borrowed keeps a pointer (the
 * mapping must outlive the scope); _owned frees it on pop; _var copies value
 * into a one-variable scope. */
void kurc_engine_push_borrowed(struct kurc_engine *engine, const struct kurc_value *map);
void kurc_engine_push_owned(struct kurc_engine *engine, struct kurc_value *map);
void kurc_engine_push_var(struct kurc_engine *engine, const char *name,
                          const struct kurc_value *value);
/* Pushes one variable whose value is borrowed (it must outlive the scope). */
void kurc_engine_push_var_borrowed(struct kurc_engine *engine, const char *name,
                                   const struct kurc_value *value);
void kurc_engine_pop(struct kurc_engine *engine);
size_t kurc_engine_depth(const struct kurc_engine *engine);

/* The innermost definition of name, or NULL. */
const struct kurc_value *kurc_engine_lookup(const struct kurc_engine *engine, const char *name);

/* Records a container: appends name to `layers`, makes it the holder of
 * each tag, and the holder of each `oldest` name not yet held. */
void kurc_engine_register(struct kurc_engine *engine, const char *name, const char *const *tags,
                          size_t n_tags, const char *const *oldest, size_t n_oldest);

/* Templates (the Kurfile's `templates` section, borrowed). */
void kurc_engine_set_templates(struct kurc_engine *engine, const struct kurc_value *templates);
const struct kurc_value *kurc_engine_template(const struct kurc_engine *engine, const char *name);

/* What the gpu_count() template global reports: count(), asked each time
 * a template calls it (NULL, the default: 0). */
void kurc_engine_set_gpu_count(struct kurc_engine *engine, int (*count)(void));

/* Evaluates a value as Kur's Engine.evaluate does: a string is rendered and
 * coerced until it stops changing; numbers, booleans and null pass through;
 * lists and mappings are evaluated element by element when recursive is true
 * and copied unchanged otherwise.  *out is new; every node keeps the place of
 * the value it came from. */
enum kurc_status kurc_engine_evaluate(struct kurc_engine *engine, const struct kurc_value *in,
                                      bool recursive, struct kurc_value **out,
                                      struct kurc_err *err);

#endif
