/* schema.h - declarative checks of Kurfile values.
 *
 * A schema says which kinds a value may have and, per kind, what it may hold:
 * the keys a mapping may use (anything else is an error with a "did you
 * mean" hint), the schema of list items or mapping values, the strings
 * allowed, a lower bound for numbers, and an optional extra check.  Errors
 * name the value's place and its dotted path ("train.provider.batch_size").
 */
#ifndef KURC_SCHEMA_H
#define KURC_SCHEMA_H

#include <stdbool.h>

#include "base/status.h"
#include "config/value/value.h"

enum {
    KT_NULL = 1 << KURC_NULL,
    KT_BOOL = 1 << KURC_BOOL,
    KT_INT = 1 << KURC_INT,
    KT_FLOAT = 1 << KURC_FLOAT,
    KT_STR = 1 << KURC_STR,
    KT_LIST = 1 << KURC_LIST,
    KT_MAP = 1 << KURC_MAP,
    KT_NUM = KT_INT | KT_FLOAT,
    KT_ANY = 0x7f,
};

struct kurc_schema;
struct kurc_components;

/* An extra check run after the declarative ones; path is the dotted path of
 * v.  components is the check's context: the components a Kurfile may name
 * (config/component.h), or NULL, where entries naming one are checked for
 * their shape only.  Returns KURC_OK or an error. */
typedef enum kurc_status (*kurc_schema_fn)(const struct kurc_value *v, const char *path,
                                           const struct kurc_components *components,
                                           struct kurc_err *err);

struct kurc_schema_key {
    const char *name;
    const struct kurc_schema *schema; /* NULL: any value */
    bool required;
};

struct kurc_schema {
    unsigned types;                     /* KT_* bits accepted */
    const struct kurc_schema_key *keys; /* mappings: allowed keys ({NULL} ends); NULL: free-form */
    const struct kurc_schema *values;   /* free-form mappings: schema of every value */
    const struct kurc_schema *items;    /* lists: schema of every item */
    const char *const *choices;         /* strings: allowed values (NULL ends); NULL: any */
    bool has_min;                       /* numbers: value >= min */
    double min;
    kurc_schema_fn check;
};

/* Building blocks for schema tables: an unnamed schema, a key list and a
 * name list (compound literals, static at file scope). */
#define KURC_SCHEMA(...) (&(const struct kurc_schema){__VA_ARGS__})
#define KURC_KEYS(...) ((const struct kurc_schema_key[]){__VA_ARGS__, {NULL}})
#define KURC_NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Schemas many tables use: a string; a string or null; a boolean or null
 * (a flag); a number or null; a number >= 0 or null. */
extern const struct kurc_schema kurc_schema_string;
extern const struct kurc_schema kurc_schema_string_or_null;
extern const struct kurc_schema kurc_schema_flag;
extern const struct kurc_schema kurc_schema_number_or_null;
extern const struct kurc_schema kurc_schema_non_negative_or_null;

/* Checks v against s; path names v in messages, components is handed to
 * the extra checks (see kurc_schema_fn). */
enum kurc_status kurc_schema_check(const struct kurc_value *v, const struct kurc_schema *s,
                                   const char *path, const struct kurc_components *components,
                                   struct kurc_err *err);

/* Like kurc_schema_check; what (may be NULL) names the component whose
 * keys these are, for messages ("the sgd optimizer"). */
enum kurc_status kurc_schema_check_as(const struct kurc_value *v, const struct kurc_schema *s,
                                      const char *path, const char *what,
                                      const struct kurc_components *components,
                                      struct kurc_err *err);

/* Joins a path and a key ("train" + "provider" -> "train.provider"; a list
 * index as "[2]").  Returns a new string. */
char *kurc_schema_path_key(const char *path, const char *key);

#endif
