/* backend_select.h - the compute backend a Kurfile asks for.
 *
 * settings.backend is a name or {name, device, parallel, threads, ...}.
 *  - name: auto (or absent), keras and pytorch (Kur's names) pick the
 *    first device backend of the registry (kernels/backends.h: CUDA, when
 *    this build has it) when it sees a device, else the CPU; cpu asks for
 *    the CPU; cuda asks for a GPU and is an error without one.  The choice
 *    is logged at INFO level (-v) with the backend's description.
 *  - device (Kur's syntax): cpu; gpu (every GPU); gpuN; a range gpuA-B;
 *    exclusions gpu!N and gpu!A-B; several joined by commas or given as a
 *    list ("gpu2-6,gpu!3" is 2, 4, 5 and 6); a bare integer N is gpuN.
 *    Without includes, every visible GPU less the exclusions.  Numbers are
 *    CUDA ordinals after CUDA_VISIBLE_DEVICES.  device cpu with auto picks
 *    the CPU; with cuda it is an error.
 *  - parallel: use only the first `parallel` of the allowed GPUs.
 *  - One GPU per rank: the rank with local_rank r (its index among the
 *    ranks on its node) uses allowed GPU number r mod (allowed GPUs), so
 *    a rank that a launcher left one visible GPU (launch/kurc-rank,
 *    SLURM's --gpus-per-task=1) uses that one.  Whether ranks really
 *    share a GPU is decided afterwards by comparing the devices' UUIDs
 *    across ranks (comm/device_share.h): sharing ranks train, with a
 *    warning, and sum gradients through host memory, since NCCL needs a
 *    GPU per rank.  Kur's `parallel` (GPUs in one process) thus becomes
 *    ranks.
 *  - threads: the CPU backend's BLAS threads (kurc's key; default:
 *    OPENBLAS_NUM_THREADS or OMP_NUM_THREADS when set, else the cores the
 *    process may run on divided by the ranks on the node, at least 1), so
 *    ranks do not oversubscribe cores.
 * Environment (CUDA backend): KURC_CUDA_TF32=1 lets cuBLAS and cuDNN use
 * TF32 tensor cores; KURC_CUDNN_FIND=1 times convolution algorithms
 * (cudnnFind*) instead of using cuDNN's heuristics; KURC_CUDNN_NCHW=1 runs
 * convolutions in NCHW (normally only the fallback for geometries cuDNN
 * has no NHWC algorithm for).
 */
#ifndef KURC_BACKEND_SELECT_H
#define KURC_BACKEND_SELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"
#include "config/value/value.h"
#include "core/backend.h"

/* The most GPU ordinals a device specification can name. */
#define KURC_MAX_GPUS 64

/* Parses settings.backend.device (may be NULL: every GPU) into *allowed,
 * bit i for GPU i, for a machine with `count` visible GPUs (ordinals past
 * it are dropped), and *cpu, true when the specification is `cpu`.
 * KURC_E_CONFIG, with the place, for a malformed specification. */
enum kurc_status kurc_device_spec_parse(const struct kurc_value *device, int count,
                                        uint64_t *allowed, bool *cpu, struct kurc_err *err);

/* Which device a rank uses: the outcome of kurc_device_choose. */
struct kurc_device_choice {
    bool cpu;      /* settings.backend.device is cpu */
    int device;    /* the CUDA ordinal; -1 for none (cpu, or why says) */
    int usable;    /* how many GPUs settings.backend allows this node's ranks */
    char why[160]; /* when no GPU is allowed: the reason */
};

/* The device choice as a pure function of what a rank sees: its local rank
 * (<= 0 for the first or only rank), the `visible` GPUs and
 * settings.backend (backend, a name or a mapping with device and
 * parallel; may be NULL).  The rank takes allowed GPU number local_rank
 * mod (allowed GPUs).  KURC_E_CONFIG for a malformed device. */
enum kurc_status kurc_device_choose(const struct kurc_value *backend, int local_rank, int visible,
                                    struct kurc_device_choice *out, struct kurc_err *err);

/* Creates the backend for `settings` (may be NULL) for rank `rank` (-1 for
 * a single process), the local_rank-th of local_size ranks on its node.
 * Free it with kurc_backend_release (core/backend.h). */
enum kurc_status kurc_backend_select(const struct kurc_value *settings, int rank, int local_rank,
                                     int local_size, struct kurc_backend **out,
                                     struct kurc_err *err);

/* The GPUs this process can see: the devices of every backend this build
 * has that keeps its memory on a device (0 without one).  Kur's
 * gpu_count() template global (config/kurfile.h). */
int kurc_visible_gpus(void);

#endif
