/* paths.h - file-name helpers with Python os.path semantics.
 *
 * Kurfiles name files the way Kur's Python code read them: `~` and `$VAR`
 * are expanded (os.path.expanduser / expandvars), relative names are joined
 * to a directory (os.path.join), and include names may be shell globs with a
 * recursive `**` (glob.glob(recursive=True)).
 */
#ifndef KURC_PATHS_H
#define KURC_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/* $VAR and ${VAR} replaced from the environment (unknown ones kept as
 * written), then a leading ~ or ~user replaced by the home directory.
 * Returns a new string. */
char *kurc_path_expand(const char *path);

/* os.path.join(dir, name): name itself when it is absolute.  New string. */
char *kurc_path_join(const char *dir, const char *name);

/* os.path.dirname; "" for a bare name.  New string. */
char *kurc_path_dirname(const char *path);

/* mkdir -p: creates dir and the directories above it that are missing.
 * Returns 0, or the errno of the first mkdir that failed with *failed (when
 * failed is not NULL) the directory it could not make, a new string. */
int kurc_path_make_dirs(const char *dir, char **failed);

/* True if the name contains glob magic (*, ? or [). */
bool kurc_path_has_magic(const char *path);

/* Expands a glob pattern into the sorted list of existing paths it names
 * (`**` as a whole component matches any number of directories, hidden ones
 * excluded, like Python).  A name without magic yields itself if it exists.
 * *matches and every string in it are new; free with kurc_path_list_free. */
void kurc_path_glob(const char *pattern, char ***matches, size_t *count);
void kurc_path_list_free(char **list, size_t count);

#endif
