/* cli_run.c - the commands that run a model: train (and kurc-train), test,
 * evaluate and data.  Each loads and checks the Kurfile, creates the
 * communicator and the backend, and hands over to src/train.
 *
 * Order: (1) the communicator (MPI when launched by MPI: rank, size,
 * local_rank), (2) the backend, on the local_rank-th allowed GPU or the
 * CPU, (3) the communicator fitted to the backend (NCCL, or MPI through
 * host buffers, when gradients live on a GPU; comm/comm_nccl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli_commands.h"
#include "comm/comm.h"
#include "comm/comm_nccl.h"
#include "config/kurfile.h"
#include "train/backend_select.h"
#include "train/run.h"

enum kurc_status kurc_cmd_run(const struct kurc_cli_args *args, struct kurc_err *err) {
    struct kurc_kurfile *kf;
    enum kurc_status st = kurc_cli_load(args, &kf, err);
    if (!kf)
        return st;
    struct kurc_run_options opt = {.step = args->step, .number = args->number,
                                   .target = args->mode, .trace = args->trace,
                                   .trace_steps = args->trace_steps};
    struct kurc_comm *comm = NULL;
    struct kurc_backend *be = NULL;
    if (st == KURC_OK && strcmp(args->command, "data") == 0) {
        st = kurc_run_data(kf, &opt, err);
    } else if (st == KURC_OK) {
        st = kurc_comm_create(&comm, err);
        if (st == KURC_OK)
            kurc_log_configure_rank(comm->size > 1 ? comm->rank : -1);
        if (st == KURC_OK)
            st = kurc_backend_select(kurc_kurfile_section(kf, "settings"),
                                     comm->size > 1 ? comm->rank : -1, comm->local_rank,
                                     comm->local_size, &be, err);
        if (st == KURC_OK)
            st = kurc_comm_attach_backend(&comm, be, err);
        /* training stops at a batch boundary and saves its state; test and
         * evaluate have nothing to save, so a signal ends them at once */
        if (strcmp(args->command, "train") == 0)
            kurc_run_catch_signals();
        if (st == KURC_OK && strcmp(args->command, "train") == 0)
            st = kurc_run_train(kf, comm, be, &opt, err);
        else if (st == KURC_OK && strcmp(args->command, "test") == 0)
            st = kurc_run_test(kf, comm, be, &opt, err);
        else if (st == KURC_OK)
            st = kurc_run_evaluate(kf, comm, be, &opt, err);
    }
    if (st == KURC_E_INTERRUPTED && comm && comm->size > 1) {
        /* every rank agreed to stop and rank 0 saved: rank 0 says so, and
         * only then (mpirun ends the job when the first rank exits with a
         * non-zero status) every rank exits with the "stopped" status */
        if (comm->rank == 0) {
            char line[2200];
            kurc_err_format(err, line, sizeof line);
            fprintf(stderr, "kurc: %s\n", line);
            fflush(stderr);
        }
        struct kurc_err ignored;
        comm->ops->barrier(comm, &ignored);
        kurc_comm_free(comm); /* first, as below */
        kurc_backend_release(be);
        kurc_kurfile_free(kf);
        exit(kurc_status_exit_code(st));
    }
    if (st && comm && comm->size > 1) {
        /* the other ranks may be waiting in a collective: end them all */
        char line[2200];
        kurc_err_format(err, line, sizeof line);
        fprintf(stderr, "kurc: rank %d of %d: %s\n", comm->rank, comm->size, line);
        fflush(stderr);
        comm->ops->abort(comm, kurc_status_exit_code(st));
    }
    kurc_comm_free(comm); /* first: an NCCL communicator uses the backend's stream */
    kurc_backend_release(be);
    kurc_kurfile_free(kf);
    return st;
}
