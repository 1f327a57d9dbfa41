/* comm_mpi.h - creating the MPI communicator. */
#ifndef KURC_COMM_MPI_H
#define KURC_COMM_MPI_H

#include <stdbool.h>

#include "comm/comm.h"

/* True when this process was started by an MPI launcher (mpirun, srun
 * with PMIx): the environment names its rank. */
bool kurc_comm_mpi_launched(void);

/* Initialises MPI and makes the communicator of MPI_COMM_WORLD. */
enum kurc_status kurc_comm_mpi_create(struct kurc_comm **out, struct kurc_err *err);

#endif
