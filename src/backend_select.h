/* backend_select.h - the compute backend a Kurfile asks for.
 *
 * settings.backend is a name or {name, device, threads, ...}.  Kur's names
 * keras and pytorch, and auto, pick CUDA when this build has it and a GPU
 * is visible, else the CPU; cpu and cuda ask for one.  The CPU backend uses
 * `threads` BLAS threads (kurc's key; default: the node's cores divided by
 * the ranks on the node, at least 1), so ranks do not oversubscribe cores.
 */
#ifndef KURC_BACKEND_SELECT_H
#define KURC_BACKEND_SELECT_H

#include "backend.h"
#include "status.h"
#include "value.h"

/* Creates the backend for `settings` (may be NULL) for a rank that shares
 * its node with local_size ranks.  Says which at INFO level. */
enum kurc_status kurc_backend_select(const struct kurc_value *settings, int local_rank,
                                     int local_size, struct kurc_backend **out,
                                     struct kurc_err *err);
void kurc_backend_release(struct kurc_backend *be);

#endif
