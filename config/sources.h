/* sources.h - the table of files a Kurfile was loaded from.
 *
 * Every value's location points at a file name owned by this table, so the
 * table lives as long as any tree loaded through it.  It also remembers the
 * text of each file (for fingerprints and checkpoints).
 */
#ifndef KURC_SOURCES_H
#define KURC_SOURCES_H

#include <stddef.h>

struct kurc_sources;

struct kurc_sources *kurc_sources_create(void);
void kurc_sources_free(struct kurc_sources *sources);

/* Returns a stable copy of name, owned by the table (the same pointer for the
 * same name). */
const char *kurc_sources_intern(struct kurc_sources *sources, const char *name);

#endif
