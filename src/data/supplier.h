/* supplier.h - data suppliers: the entries of a `data` list.
 *
 * `- SUPPLIER: params` loads named sources: supplier.c finds the supplier
 * in its table, puts the parameters in their mapping form (a string or a
 * list fills the supplier's positional parameters), skips entries whose
 * `when` is false, and merges every supplier's sources into one dataset.
 * A supplier is a struct kurc_supplier_type in a file of its own under
 * src/data/, with the schema of its parameters, named kurc_supplier_NAME:
 * defining it lists it in the table of supplier.c.  Relative paths are relative to the working directory, as
 * in Kur.
 */
#ifndef KURC_SUPPLIER_H
#define KURC_SUPPLIER_H

#include "base/status.h"
#include "config/component.h"
#include "config/value/value.h"
#include "data/dataset.h"

struct kurc_supplier_type {
    struct kurc_component component; /* name, parameter schema, positional names */
    /* Loads the sources params (a mapping) describes into out.  where is
     * the supplier's place in the Kurfile, for errors about params.  NULL
     * for Kur's suppliers that kurc does not implement (unavailable.c). */
    enum kurc_status (*load)(const struct kurc_value *params, const struct kurc_loc *where,
                             struct kurc_dataset *out, struct kurc_err *err);
    /* Optional: as load, but reads only what the sources' shapes and
     * counts need (file headers) into out, a shapes-only dataset
     * (dataset.h); the same headers are checked as by load.  NULL: load
     * is used and its values dropped. */
    enum kurc_status (*describe)(const struct kurc_value *params, const struct kurc_loc *where,
                                 struct kurc_dataset *out, struct kurc_err *err);
    /* load may run on a thread of its own beside another supplier's: it
     * keeps no state shared between threads and uses no library that does
     * (kurc_data_concurrent). */
    bool concurrent;
};

/* The standard packaging keys {url, checksum, path} (data/package.h), for
 * the schemas of suppliers that read a data file. */
#define KURC_PACKAGING_KEYS                                                                      \
    {"url", &kurc_schema_string_or_null}, {"checksum", &kurc_schema_string_or_null},             \
        {"path", &kurc_schema_string_or_null}

/* The parameters of a supplier that reads one file, `source` (jsonl,
 * pickle, numpy_dict), also given as a string. */
extern const struct kurc_schema kurc_supplier_source;
#define KURC_SUPPLIER_SOURCE(name) {name, &kurc_supplier_source, KURC_NAMES("source")}

/* Every supplier's component, NULL-terminated (for the Kurfile's schema). */
extern const struct kurc_component *const kurc_supplier_table[];

/* The supplier of that name, or NULL. */
const struct kurc_supplier_type *kurc_supplier_find(const char *name);

/* Loads a parsed `data` list into one sealed dataset. */
enum kurc_status kurc_data_load(const struct kurc_value *list, struct kurc_dataset *out,
                                struct kurc_err *err);

/* The same with a shapes-only dataset: the sources' names, shapes and
 * counts, from what each supplier's describe reads (build, dump). */
enum kurc_status kurc_data_describe(const struct kurc_value *list, struct kurc_dataset *out,
                                    struct kurc_err *err);

/* Whether every supplier of a data list may load on a thread of its own
 * beside another (`concurrent`) and none of them downloads (names a url):
 * then two such lists may load at once (kurc_data_load_start). */
bool kurc_data_concurrent(const struct kurc_value *list);

/* kurc_data_load of list into out on a thread of its own
 * (load_async.c); its result comes from kurc_data_load_finish, which waits
 * for it and frees the job.  The list must stay alive until then. */
struct kurc_data_job;
struct kurc_data_job *kurc_data_load_start(const struct kurc_value *list,
                                           struct kurc_dataset *out);
enum kurc_status kurc_data_load_finish(struct kurc_data_job *job, struct kurc_err *err);

#endif
