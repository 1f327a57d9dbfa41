/* utf8.h - UTF-8: one code point at a time, encoding, counting.
 *
 * kurc's strings are UTF-8 bytes, but not every byte string is valid
 * UTF-8, and each part that reads one mimics a Python behaviour for the
 * bytes that are not: the decoders below say where an ill-formed sequence
 * ends, and each caller decides what it becomes (Python's surrogateescape
 * code points, repr's \x escapes, json's U+FFFD).
 */
#ifndef KURC_UTF8_H
#define KURC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

/* What a decoder sets *cp to for an ill-formed sequence. */
#define KURC_UTF8_BAD UINT32_MAX

/* True for a continuation byte (10xxxxxx): one that starts no character. */
static inline bool kurc_utf8_is_cont(unsigned char b) {
    return (b & 0xC0) == 0x80;
}

/* Decodes the sequence at the start of s (avail > 0 bytes) into *cp and
 * returns its length.  Lenient, by shape alone: a lead byte 0xC0-0xF7
 * with the continuation bytes it announces is a sequence, whatever it
 * encodes (overlong forms and surrogates too).  An ill-formed sequence (a
 * continuation byte or 0xF8-0xFF first, or fewer continuation bytes than
 * announced) sets *cp to KURC_UTF8_BAD and returns the length of its lead
 * byte and the continuation bytes that follow it, at least 1. */
size_t kurc_utf8_decode(const char *s, size_t avail, uint32_t *cp);

/* The same by Unicode's table of well-formed sequences: no overlong forms,
 * surrogates or code points above U+10FFFF.  An ill-formed sequence's
 * length is its maximal subpart, which Python's decoder replaces with one
 * U+FFFD. */
size_t kurc_utf8_decode_strict(const char *s, size_t avail, uint32_t *cp);

/* Python's view of s[0..len) decoded with surrogateescape (leniently, as
 * kurc_utf8_decode): the code point at byte i into *cp, and the index of
 * the next one.  A byte b that starts no sequence is one code point,
 * U+DC00 + b. */
size_t kurc_utf8_next(const char *s, size_t len, size_t i, uint32_t *cp);

/* The number of code points of s[0..len) by kurc_utf8_next. */
size_t kurc_utf8_count(const char *s, size_t len);

/* Appends code point cp (at most 0x1FFFFF) in UTF-8: 1 to 4 bytes. */
void kurc_utf8_put(struct kurc_strbuf *sb, uint32_t cp);

#endif
