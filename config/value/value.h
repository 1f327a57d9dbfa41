/* value.h - the Kurfile value tree.
 *
 * Every Kurfile (YAML or JSON, after includes and merges) becomes one tree of
 * struct kurc_value nodes.  The kinds are those of Python's json module:
 * null, bool, int (64-bit), float (double), string, list and mapping.
 * Mappings keep insertion order; keys are NUL-terminated strings.  Every node
 * keeps the file:line:col where it was written, so any later stage can name
 * the place of a bad value.
 *
 * Ownership: a node owns its children.  Functions that take a child
 * (append, set) take ownership of it; kurc_value_free frees a whole subtree.
 * The file names inside locations are borrowed from the loader's source table
 * (struct kurc_sources), which must outlive the tree.
 */
#ifndef KURC_VALUE_H
#define KURC_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/strbuf.h"

enum kurc_kind {
    KURC_NULL,
    KURC_BOOL,
    KURC_INT,
    KURC_FLOAT,
    KURC_STR,
    KURC_LIST,
    KURC_MAP,
};

struct kurc_value;

struct kurc_pair {
    char *key;
    struct kurc_loc key_loc;
    struct kurc_value *val;
};

struct kurc_value {
    enum kurc_kind kind;
    struct kurc_loc loc;
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *s; /* NUL-terminated, len bytes before the NUL */
            size_t len;
        } str;
        struct {
            struct kurc_value **items;
            size_t len;
            size_t cap;
        } list;
        struct {
            struct kurc_pair *pairs;
            size_t len;
            size_t cap;
        } map;
    } u;
};

/* Constructors.  loc may be NULL (no place). */
struct kurc_value *kurc_value_null(const struct kurc_loc *loc);
struct kurc_value *kurc_value_bool(bool b, const struct kurc_loc *loc);
struct kurc_value *kurc_value_int(int64_t i, const struct kurc_loc *loc);
struct kurc_value *kurc_value_float(double f, const struct kurc_loc *loc);
struct kurc_value *kurc_value_str(const char *s, const struct kurc_loc *loc);
struct kurc_value *kurc_value_strn(const char *s, size_t len, const struct kurc_loc *loc);
/* Takes ownership of a malloc'ed NUL-terminated string of length len. */
struct kurc_value *kurc_value_str_take(char *s, size_t len, const struct kurc_loc *loc);
/* Takes the text of sb (which is left empty). */
struct kurc_value *kurc_value_str_buf(struct kurc_strbuf *sb, const struct kurc_loc *loc);
struct kurc_value *kurc_value_list(const struct kurc_loc *loc);
struct kurc_value *kurc_value_map(const struct kurc_loc *loc);

void kurc_value_free(struct kurc_value *v);

/* A deep copy that keeps every location. */
struct kurc_value *kurc_value_copy(const struct kurc_value *v);

/* Lists. */
void kurc_list_append(struct kurc_value *list, struct kurc_value *item);

/* Mappings.  kurc_map_set replaces (and frees) an existing value for key or
 * appends a new pair at the end.  key_loc may be NULL (uses the value's). */
struct kurc_value *kurc_map_get(const struct kurc_value *map, const char *key);
const struct kurc_pair *kurc_map_find(const struct kurc_value *map, const char *key);
void kurc_map_set(struct kurc_value *map, const char *key, const struct kurc_loc *key_loc,
                  struct kurc_value *val);
/* Removes key and returns its value (caller owns it), or NULL if absent. */
struct kurc_value *kurc_map_take(struct kurc_value *map, const char *key);

/* Python equality: numbers compare by value across int/float/bool
 * (1 == 1.0 == True), lists element-wise, mappings as unordered key sets. */
bool kurc_value_equal(const struct kurc_value *a, const struct kurc_value *b);

/* Strict structural equality: kinds must match exactly (1 != 1.0 != true)
 * and mapping order is ignored.  Used by tests and fixpoint checks. */
bool kurc_value_identical(const struct kurc_value *a, const struct kurc_value *b);

/* The kind with its article, for messages: "null", "a boolean", "an integer",
 * "a float", "a string", "a list", "a mapping". */
const char *kurc_kind_phrase(enum kurc_kind kind);

/* Python truthiness: null, false, 0, 0.0, "" and empty containers are false. */
bool kurc_value_truthy(const struct kurc_value *v);

#endif
