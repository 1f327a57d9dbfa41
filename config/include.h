/* include.h - a Kurfile and the files it includes, merged into one tree.
 *
 * `include` takes a file name (or glob), a list of them, or entries
 * {source: NAME-or-list, method: blend|merge|concat}.  Names are expanded
 * (~, $VAR) and taken relative to the including file.  See include.c for the
 * merge order.
 */
#ifndef KURC_INCLUDE_H
#define KURC_INCLUDE_H

#include "base/status.h"
#include "config/sources.h"
#include "config/value/value.h"

/* Loads the Kurfile at path with everything it includes; the result is a
 * mapping without `include` keys.  Names of all files read are interned in
 * sources. */
enum kurc_status kurc_include_load(struct kurc_sources *sources, const char *path,
                                   struct kurc_value **out, struct kurc_err *err);

#endif
