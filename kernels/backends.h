/* backends.h - the registry of compute backends: one entry (struct
 * kurc_backend_type, core/backend.h) for every backend this build has, so
 * that whoever picks a backend (src/train/backend_select.c) chooses by name
 * and availability and creates it without knowing any backend. */
#ifndef KURC_BACKENDS_H
#define KURC_BACKENDS_H

#include <stdbool.h>

#include "core/backend.h"

/* The backends of this build, NULL-terminated. */
extern const struct kurc_backend_type *const kurc_backend_types[];

/* The entry named `name`, or NULL when this build has none. */
const struct kurc_backend_type *kurc_backend_type_find(const char *name);

/* False when a cheap look, loading nothing, finds that this machine has
 * no device for t (for CUDA: no NVIDIA driver), so that `auto` need not
 * ask t's available(), which may load libraries (the CUDA module); true
 * otherwise, and for host backends. */
bool kurc_backend_type_present(const struct kurc_backend_type *t);

#endif
