/* gpu_absent.h - what a GPU test does when CUDA sees no GPU: skip (exit 77,
 * "skipped: <why>") on a machine without one, but fail (exit 1) when
 * `nvidia-smi -L` lists GPUs, since then CUDA cannot reach a GPU that is
 * there (a driver older than the CUDA runtime, a broken install) and a
 * skip would hide it.  Shared by every GPU test and benchmark; needs no
 * CUDA. */
#ifndef KURC_GPU_ABSENT_H
#define KURC_GPU_ABSENT_H

#include <stdbool.h>

/* How many GPUs `nvidia-smi -L` lists (KURC_NVIDIA_SMI names the program
 * instead, for tests); 0 when it lists none or cannot run. */
int ct_listed_gpus(void);

/* The exit status for "CUDA sees no GPU because `why`": 77, or 1 when
 * nvidia-smi lists GPUs; says which on stdout when `say` is set (one rank
 * of several says it). */
int ct_no_gpu_status(const char *why, bool say);

#endif
