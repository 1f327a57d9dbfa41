/* unpack.h - data archives for the speech_recognition supplier: safe
 * extraction next to the archive (Kur's package.unpack, which extracted
 * into the archive's directory), or reading members in place.
 *
 * Archives are whatever libarchive reads: tar (plain, gzip, bzip2, xz) and
 * zip.  A compressed archive is checked to the end of its stream before
 * anything is extracted (compressed.h).  Extraction refuses, naming the
 * archive and the member, absolute paths, paths with a `..` component, and
 * links whose target is absolute or leaves the extraction directory;
 * device files and fifos are skipped.
 */
#ifndef KURC_UNPACK_H
#define KURC_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/status.h"

/* The directory archive unpacks into: beside it, named by the archive
 * without its extension ("data/lsdc.tar.gz" -> "data/lsdc"; "x.d" when
 * there is no archive extension).  It is extracted unless it holds the
 * marker file `.kurc-unpacked` of an earlier extraction of the same
 * archive (its size and modification time).  *dir is a new string. */
enum kurc_status kurc_unpack_cached(const char *archive, char **dir, struct kurc_err *err);

/* Reads the regular members of an archive in order: for each member that
 * want(ctx, name) accepts, got(ctx, name, data, len, err) sees its bytes
 * (valid during the call).  Either callback may be NULL (want: all;
 * got: list only, want still sees every name).  The compressed stream's
 * checksums are not checked here: check the archive once with
 * kurc_compressed_check before reading it. */
enum kurc_status kurc_archive_each(const char *archive, bool (*want)(void *ctx, const char *name),
                                   enum kurc_status (*got)(void *ctx, const char *name,
                                                           const void *data, size_t len,
                                                           struct kurc_err *err),
                                   void *ctx, struct kurc_err *err);

/* The path of the first *.jsonl file (not hidden) under dir, searched
 * top-down, files of a directory before its subdirectories (hidden ones
 * and links to directories skipped), names in byte order.  NULL when
 * there is none. */
char *kurc_find_manifest(const char *dir);

/* Whether name (a path inside an archive or a directory) is a manifest:
 * a base name ending in .jsonl (any case) that does not start with '.'. */
bool kurc_is_manifest_name(const char *name);

#endif
