/* yaml_load.h - reading one YAML or JSON document into a value tree.
 *
 * YAML follows PyYAML (what Kur used): YAML 1.1 scalar typing, anchors and
 * aliases (copied, so the tree is a tree), `<<` merge keys in the single and
 * the list form.  JSON files are read with the same parser but typed as
 * Python's json.loads types them, and YAML-only syntax is refused.
 * Duplicate keys in one mapping are an error (PyYAML silently kept the last).
 */
#ifndef KURC_YAML_LOAD_H
#define KURC_YAML_LOAD_H

#include <stddef.h>

#include "base/status.h"
#include "config/sources.h"
#include "config/value/value.h"

enum kurc_doc_format {
    KURC_FORMAT_YAML,
    KURC_FORMAT_JSON,
};

/* Limits that keep hostile documents (alias bombs, deep nesting) cheap. */
#define KURC_LOAD_MAX_VALUES 2000000
#define KURC_LOAD_MAX_DEPTH 256

/* Parses data (len bytes) as one document.  file is the name used in
 * locations; it must outlive the tree (intern it in a kurc_sources).  On
 * success *out is the document's root (NULL for an empty document). */
enum kurc_status kurc_load_buffer(const char *data, size_t len, enum kurc_doc_format format,
                                  const char *file, struct kurc_value **out,
                                  struct kurc_err *err);

/* Reads path (format from its extension) and parses it.  The name is
 * interned in sources.  where, if not NULL, is the place that asked for the
 * file (an include), used when the file cannot be read. */
enum kurc_status kurc_load_file(struct kurc_sources *sources, const char *path,
                                const struct kurc_loc *where, struct kurc_value **out,
                                struct kurc_err *err);

/* Like kurc_load_file with the format given instead of implied. */
enum kurc_status kurc_load_file_as(struct kurc_sources *sources, const char *path,
                                   enum kurc_doc_format format, const struct kurc_loc *where,
                                   struct kurc_value **out, struct kurc_err *err);

#endif
