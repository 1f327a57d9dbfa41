/* memory.h - how much memory this process may use, and the check that a
 * size read from input (a layer's width, a batch, a member of an archive)
 * fits in it before anything of that size is allocated.
 *
 * The memory available is the smallest of the machine's physical memory,
 * the memory limit of the process's cgroup (v2 memory.max, v1
 * memory.limit_in_bytes) and RLIMIT_AS. */
#ifndef KURC_MEMORY_H
#define KURC_MEMORY_H

#include <stdint.h>

#include "base/status.h"

/* KURC_OK when need bytes fit in the memory available, else an error of
 * the given status: "not enough memory for WHAT: N GiB needed, M GiB
 * available (LIMIT)". */
enum kurc_status kurc_memory_check(uint64_t need, enum kurc_status status, const char *what,
                                   struct kurc_err *err);

#endif
