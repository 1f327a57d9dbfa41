/* package_double.h - a test double for kurc_package_fetch: suppliers'
 * tests use local files, and check what a supplier asks the fetcher for
 * when its packaging names a url or a checksum. */
#ifndef KURC_PACKAGE_DOUBLE_H
#define KURC_PACKAGE_DOUBLE_H

#include "config/value/value.h"

/* The file the next fetches resolve to (NULL: fetches fail with an I/O
 * error). */
void package_double_resolve_to(const char *local);

/* A copy of the spec the last fetch received (NULL before any), and the
 * number of fetches so far. */
const struct kurc_value *package_double_last_spec(void);
int package_double_calls(void);

/* Frees what the double holds. */
void package_double_reset(void);

#endif
