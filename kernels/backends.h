/* backends.h - the registry of compute backends: one entry (struct
 * kurc_backend_type, core/backend.h) for every backend this build has, so
 * that whoever picks a backend (src/train/backend_select.c) chooses by name
 * and availability and creates it without knowing any backend. */
#ifndef KURC_BACKENDS_H
#define KURC_BACKENDS_H

#include "core/backend.h"

/* The backends of this build, NULL-terminated. */
extern const struct kurc_backend_type *const kurc_backend_types[];

/* The entry named `name`, or NULL when this build has none. */
const struct kurc_backend_type *kurc_backend_type_find(const char *name);

#endif
