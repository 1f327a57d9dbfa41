/* comm_create.c - the communicator a process should use: MPI when an MPI
 * launcher started it (and this build has MPI), else the single-process
 * one. */
#include "comm/comm.h"

#include "base/kurc_config.h"
#include "base/log.h"
#if KURC_HAVE_MPI
#include "comm/comm_mpi.h"
#endif

enum kurc_status kurc_comm_create(struct kurc_comm **out, struct kurc_err *err) {
#if KURC_HAVE_MPI
    if (kurc_comm_mpi_launched())
        return kurc_comm_mpi_create(out, err);
#endif
    *out = kurc_comm_self_create();
    if (!*out)
        return kurc_err_set(err, KURC_E_COMM, NULL, "out of memory");
    return KURC_OK;
}
