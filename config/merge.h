/* merge.h - Kur's deep merge of Kurfile trees (kur/utils/mergetools.py).
 *
 * kurc_merge(base, over) is Kur's deep_merge(base, over): `over` (the
 * including file) wins.  All methods merge mappings recursively (base's keys
 * first, then keys new in over); they differ in lists:
 *   blend  - element-wise: pairs merged recursively, the longer tail kept;
 *   merge  - over's list replaces base's;
 *   concat - base's items, then over's.
 * Any other pair of kinds: over wins.
 */
#ifndef KURC_MERGE_H
#define KURC_MERGE_H

#include "config/value/value.h"

enum kurc_merge_method {
    KURC_MERGE_BLEND,
    KURC_MERGE_MERGE,
    KURC_MERGE_CONCAT,
};

/* Parses "blend", "merge" or "concat"; returns -1 for anything else. */
int kurc_merge_method_parse(const char *name);

/* Merges and returns the result; consumes both trees. */
struct kurc_value *kurc_merge(struct kurc_value *base, struct kurc_value *over,
                              enum kurc_merge_method method);

#endif
