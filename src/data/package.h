/* package.h - Kur's standard packaging of a data file: `url`, `checksum`
 * (SHA-256, compared case-insensitively) and `path`.
 *
 *  - path only: a local file (checked when a checksum is given);
 *  - url only: downloaded into the system temporary directory as the URL's
 *    base name;
 *  - url and path: path is a directory (created when missing; ~ and $VAR
 *    expanded) unless it is an existing file; the file is path/basename(url)
 *    and is downloaded only when it is missing or fails its checksum;
 *    a download that fails its checksum is an error naming the file.
 * URLs may be http, https or file (libcurl).  Downloads go to a temporary
 * name and are renamed when complete; on a terminal a progress bar shows
 * bytes received.  Like Kur, a URL without a path always goes to the
 * temporary directory, with or without a checksum (Kur's examples write
 * `path: ~/kur` to keep their downloads).  A checksum must be 64 hex digits.
 */
#ifndef KURC_PACKAGE_H
#define KURC_PACKAGE_H

#include "base/status.h"
#include "config/value/value.h"

/* Resolves spec (a path string, or {url, checksum, path}) to a local file,
 * fetching it when needed.  *local is a new string. */
enum kurc_status kurc_package_fetch(const struct kurc_value *spec, char **local,
                                    struct kurc_err *err);

/* The SHA-256 of a file as 64 lower-case hex digits. */
enum kurc_status kurc_package_sha256(const char *path, char hex[65], struct kurc_err *err);

#endif
