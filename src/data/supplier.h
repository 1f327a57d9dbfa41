/* supplier.h - data suppliers: the entries of a `data` list.
 *
 * `- SUPPLIER: params` loads named sources (supplier.c normalises the
 * positional forms into a mapping using the table in
 * config/schema_components.c, skips entries whose `when` is false, and
 * merges every supplier's sources into one dataset).  Each supplier is one
 * file under src/data/ and one line in the table of supplier.c.  Relative
 * paths are relative to the working directory, as in Kur.
 */
#ifndef KURC_SUPPLIER_H
#define KURC_SUPPLIER_H

#include "base/status.h"
#include "config/value/value.h"
#include "data/dataset.h"

struct kurc_supplier_type {
    const char *name;
    /* Loads the sources params (a mapping) describes into out.  where is
     * the supplier's place in the Kurfile, for errors about params. */
    enum kurc_status (*load)(const struct kurc_value *params, const struct kurc_loc *where,
                             struct kurc_dataset *out, struct kurc_err *err);
};

/* The supplier of that name, or NULL. */
const struct kurc_supplier_type *kurc_supplier_find(const char *name);

/* Loads a parsed `data` list into one sealed dataset. */
enum kurc_status kurc_data_load(const struct kurc_value *list, struct kurc_dataset *out,
                                struct kurc_err *err);

#endif
