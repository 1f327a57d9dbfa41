/* suggest.h - "did you mean ...?" for misspelt names. */
#ifndef KURC_SUGGEST_H
#define KURC_SUGGEST_H

#include <stddef.h>

/* Returns the candidate closest to word by edit distance (insertions,
 * deletions, substitutions and swaps of neighbours), or NULL when none is
 * close enough to be a likely typo (distance at most a third of the length,
 * and at least 1).  candidates is a NULL-terminated array. */
const char *kurc_suggest(const char *word, const char *const *candidates);

#endif
