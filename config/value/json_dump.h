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

/* How json.dumps is called. */
struct kurc_json_style {
    /* NULL: Python's indent=None, one line with ", " between items; else a
     * line per item, indented by this string once per level ("" breaks
     * lines without indenting) */
    const char *indent;
    bool sort_keys;
    /* How bytes that are not valid UTF-8 are written: false, each maximal
     * invalid subsequence as \ufffd (above); true, as the template engine
     * reads its strings (kurc_utf8_next: a byte b that starts no sequence
     * is the code point U+DC00 + b, Python's surrogateescape) */
    bool surrogateescape;
    /* NULL, or false for a value json.dumps cannot write (the template
     * engine's dict views and loop objects) */
    bool (*writable)(const struct kurc_value *v);
};

/* Appends json.dumps(v, ...) exactly as Python 3 prints it: the
 * separators ", " and ": " (with indent, "," and ": "), sorted keys if
 * asked.  Returns NULL, or the first value that style->writable refuses
 * (in the order written); out then holds part of the text. */
const struct kurc_value *kurc_json_write(const struct kurc_value *v,
                                         const struct kurc_json_style *style,
                                         struct kurc_strbuf *out);

/* The same with indent a number of spaces (indent < 0 means Python's
 * indent=None; indent 0 still breaks lines) and every value writable. */
void kurc_json_dump(const struct kurc_value *v, int indent, bool sort_keys,
                    struct kurc_strbuf *out);

/* json's spelling of a float: repr(f), but "Infinity", "-Infinity" and
 * "NaN" for the non-finite values.  out must hold at least 32 bytes. */
void kurc_json_float_repr(double f, char *out);

#endif
