/* pyliteral.h - Python's ast.literal_eval on Kurfile strings.
 *
 * Kur renders every Kurfile string through Jinja2 and then tries
 * ast.literal_eval on the result; when that succeeds the value changes type
 * ("[3, 3]" becomes a list, "2e-4" a float, "None" null).  This module
 * reproduces Python 3.11's literal_eval (its tokenizer and its grammar for
 * the literal subset) so that kurc types rendered strings the same way.
 *
 * Where a Python literal has no kurc value the parse fails, so the caller
 * keeps the string, as it does for anything Python rejects:
 *   - complex numbers, sets, bytes, f-strings, Ellipsis;
 *   - integers outside int64 (Python has arbitrary precision);
 *   - strings holding surrogate code points (\ud800) or \N{...} escapes;
 *   - dict keys that are lists, tuples or dicts, or strings with a NUL;
 *   - more than 100 nested brackets (Python allows about 200).
 * Tuples become lists.  Dict keys become strings the way json.dumps writes
 * them (1 -> "1", 0.5 -> "0.5", True -> "true", None -> "null"); keys that
 * Python treats as one (1, 1.0, True) merge as in a Python dict, keeping the
 * first key and the last value; distinct keys with the same spelling
 * (1 and '1') also merge, since a kurc mapping has string keys.
 * Bytes that are not valid UTF-8 inside string literals are copied as they
 * are (a Python str cannot hold them, so Kur never sees such input).
 */
#ifndef KURC_PYLITERAL_H
#define KURC_PYLITERAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config/value/value.h"

/* Parses s as a Python 3 literal the way ast.literal_eval does.  On success
 * returns true and sets *out to a new value (every node's loc = *loc; loc
 * may be NULL).  Returns false (and leaves *out NULL) when Python would
 * raise, or when the literal has no kurc value (see above).  Never errors
 * otherwise. */
bool kurc_py_literal_parse(const char *s, size_t len, const struct kurc_loc *loc,
                           struct kurc_value **out);

#endif
