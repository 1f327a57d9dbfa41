/* cuda_module.h - the CUDA module: in builds with CUDA, the CUDA backend
 * and the NCCL communicator live in a shared library of their own,
 * libkurc_cuda.so (src/cuda_module/), linked against cudart, cuBLAS, cuDNN and
 * NCCL; the programs link none of them.  The module is opened (dlopen)
 * the first time a GPU is asked for, so that a CPU run of a CUDA build -
 * and `kurc --version`, `--help`, `build` - maps nothing of CUDA, and runs
 * where the CUDA libraries are absent.
 *
 * The programs find it through their RUNPATH: lib/kurc/ beside their bin/
 * folder ($ORIGIN/../lib/kurc, in the build tree and in the GPU kit), the
 * build tree's lib/kurc/ for the test programs, and LD_LIBRARY_PATH before
 * both.  Its one exported entry, KURC_CUDA_MODULE_SYMBOL, is the table
 * below.  The module resolves kurc's own functions against the program's
 * (the programs export them), so that logging and the other state of
 * src/base exist once. */
#ifndef KURC_CUDA_MODULE_H
#define KURC_CUDA_MODULE_H

#include <stdbool.h>

#include "base/status.h"
#include "core/backend.h"

#define KURC_CUDA_MODULE_FILE "libkurc_cuda.so"
#define KURC_CUDA_MODULE_SYMBOL "kurc_cuda_module"
/* changes whenever the table or what it points to changes */
#define KURC_CUDA_MODULE_ABI 1

struct kurc_comm;

/* What the module gives. */
struct kurc_cuda_module {
    int abi; /* KURC_CUDA_MODULE_ABI when it was built */
    const struct kurc_backend_type *backend; /* the "cuda" backend */
    /* The NCCL communicator (comm/comm_nccl.h's kurc_comm_nccl_create);
     * NULL when the module was built without NCCL. */
    enum kurc_status (*comm_nccl_create)(struct kurc_comm *inner, struct kurc_backend *be,
                                         struct kurc_comm **out, struct kurc_err *err);
};

/* Opens the module once per process (later calls give the same answer):
 * *out its table, or KURC_E_BACKEND naming the module and the loader's
 * reason (a missing file, one of the CUDA libraries it needs missing, a
 * module of another kurc). */
enum kurc_status kurc_cuda_module_load(const struct kurc_cuda_module **out, struct kurc_err *err);

/* Whether this machine may have an NVIDIA GPU, by a look that loads
 * nothing: the driver's /proc/driver/nvidia, its /dev/nvidiactl or WSL's
 * /dev/dxg.  False: surely none, so `auto` need not open the module. */
bool kurc_cuda_driver_present(void);

#endif
