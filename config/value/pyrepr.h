/* pyrepr.h - Python's str() and repr() of Kurfile values.
 *
 * Kur renders templates with Jinja2, which prints values with Python's str(),
 * and reads the result back with ast.literal_eval.  kurc keeps that round
 * trip exact, so it needs Python's spelling of every value: None, True,
 * 0.001, 1e-05, [1, 'a'], {'k': 2.0}.
 */
#ifndef KURC_PYREPR_H
#define KURC_PYREPR_H

#include "base/strbuf.h"
#include "config/value/value.h"

/* Python repr(float): the shortest digits that read back to the same double,
 * in Python's layout ("0.1", "1e-05", "1e+16", "100.0", "inf", "nan").
 * out must hold at least 32 bytes. */
void kurc_py_float_repr(double f, char *out);

/* Appends str(v): strings as they are, everything else as repr. */
void kurc_py_str(const struct kurc_value *v, struct kurc_strbuf *sb);

/* Appends repr(v): strings quoted and escaped the way Python does. */
void kurc_py_repr(const struct kurc_value *v, struct kurc_strbuf *sb);

/* Appends repr of a raw string (Python's quoting rules). */
void kurc_py_repr_string(const char *s, size_t len, struct kurc_strbuf *sb);

/* Writes one element of a container: kurc_py_repr, or the template
 * engine's repr, which also knows tuples and dict views. */
typedef void (*kurc_py_repr_fn)(const struct kurc_value *v, struct kurc_strbuf *sb);

/* Appends the items of list v separated by ", ", each written by repr. */
void kurc_py_repr_items(const struct kurc_value *v, kurc_py_repr_fn repr, struct kurc_strbuf *sb);

/* Appends mapping v as {'key': value, ...}, each value written by repr. */
void kurc_py_repr_dict(const struct kurc_value *v, kurc_py_repr_fn repr, struct kurc_strbuf *sb);

#endif
