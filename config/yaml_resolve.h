/* yaml_resolve.h - the type of an unquoted scalar in a Kurfile.
 *
 * Kur loads YAML Kurfiles with PyYAML 3.12 (YAML 1.1 implicit typing:
 * "yes" is true, "017" is 15, "1:30" is 90, "1e5" is a string) and JSON
 * Kurfiles with Python's json module.  kurc reads both with libyaml, which
 * leaves every scalar a string, so the loader types each plain (unquoted)
 * scalar here.
 *
 * Limits against Python, where the value stays a string instead:
 *   - YAML ints outside int64 (Python ints are unbounded);
 *   - "0b_", "0x_", "._" and the like, which match PyYAML's regexes but make
 *     its constructor raise ValueError (int('', 2), float('.'));
 *   - timestamps ("2001-12-14"), which PyYAML makes datetime objects.
 * "<<" and "=" resolve in PyYAML to the merge and value tags (a "<<" key
 * merges mappings; as values both make SafeLoader raise); they come back
 * here as strings and the loader handles them.
 */
#ifndef KURC_YAML_RESOLVE_H
#define KURC_YAML_RESOLVE_H

#include <stddef.h>

#include "config/value/value.h"

/* Types a plain YAML scalar the way PyYAML's SafeLoader/Loader does (YAML
 * 1.1): returns a new value with *loc (loc may be NULL). */
struct kurc_value *kurc_yaml_resolve_plain(const char *s, size_t len, const struct kurc_loc *loc);

/* Types a plain scalar of a JSON document the way Python's json.loads does:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? (int when there is no
 * fraction and no exponent, else float; big ints beyond int64 -> return
 * NULL), true, false, null, NaN, Infinity, -Infinity.  Anything else returns
 * NULL (the caller reports "invalid JSON value"). */
struct kurc_value *kurc_json_resolve_plain(const char *s, size_t len, const struct kurc_loc *loc);

#endif
