/* schema_kurfile.h - the schema of each Kurfile section.
 *
 * The keys, kinds and value sets Kur accepts in settings, train, validate,
 * test, evaluate, loss, templates and model.  The parameters of the data
 * suppliers, hooks, optimizers and losses these name are checked against
 * the components handed to the check (config/component.h); container
 * arguments inside `model` are checked by the model builder.
 */
#ifndef KURC_SCHEMA_KURFILE_H
#define KURC_SCHEMA_KURFILE_H

#include "config/schema.h"

/* The schema of a section by its canonical name ("train", not "training"),
 * or NULL for names that are not sections. */
const struct kurc_schema *kurc_schema_section(const char *section);

#endif
