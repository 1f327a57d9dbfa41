/* json_dump.h - Python's json.dumps for Kurfile values.
 *
 * Kur writes JSON with Python's json module (json.dumps with sort_keys and
 * indent), and kurc's outputs must match it byte for byte: the separators,
 * the float spellings (repr, plus Infinity/-Infinity/NaN) and the
 * ensure_ascii escaping.
 *
 * Strings are UTF-8.  A Python str cannot hold bytes that are not valid
 * UTF-8; should a kurc string hold them, each maximal invalid subsequence is
 * written as \ufffd (what Python's "replace" error handler would decode it
 * to).
 */
#ifndef KURC_JSON_DUMP_H
#define KURC_JSON_DUMP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/strbuf.h"
#include "config/value/value.h"

/* Appends json.dumps(v, sort_keys=sort_keys, indent=indent) exactly as
 * Python 3 prints it (indent < 0 means Python's indent=None compact form
 * with ", " and ": " separators; indent 0 still breaks lines). */
void kurc_json_dump(const struct kurc_value *v, int indent, bool sort_keys,
                    struct kurc_strbuf *out);

/* Appends a string as json.dumps writes it: quoted, ensure_ascii escaping. */
void kurc_json_dump_string(const char *s, size_t len, struct kurc_strbuf *out);

/* json's spelling of a float: repr(f), but "Infinity", "-Infinity" and
 * "NaN" for the non-finite values.  out must hold at least 32 bytes. */
void kurc_json_float_repr(double f, char *out);

#endif
