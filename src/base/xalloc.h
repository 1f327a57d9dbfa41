/* xalloc.h - allocation that never returns NULL.
 *
 * Running out of memory while building the small trees of the front end is
 * not an input error the user can fix line by line, so these helpers print a
 * message naming the size and abort instead of threading NULL checks through
 * every tree operation.  Large buffers (tensors, data sets) do not use them:
 * those report KURC_E_* statuses with the size asked for.
 */
#ifndef KURC_XALLOC_H
#define KURC_XALLOC_H

#include <stddef.h>

void *kurc_xmalloc(size_t size);
void *kurc_xcalloc(size_t count, size_t size);
void *kurc_xrealloc(void *ptr, size_t size);
char *kurc_xstrdup(const char *s);
char *kurc_xstrndup(const char *s, size_t n);

/* printf into a newly allocated string. */
char *kurc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
