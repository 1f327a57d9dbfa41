/* comm_mpi_watch.h - the MPI communicator's watchdog: a thread per rank
 * that times the blocking calls, exchanges heartbeats with rank 0 and,
 * when a call outlives its limit, names the ranks that stalled and ends
 * the job (see comm.h and stall.h). */
#ifndef KURC_COMM_MPI_WATCH_H
#define KURC_COMM_MPI_WATCH_H

#include <stdbool.h>
#include <stdint.h>

struct kurc_mpi_watch;

/* Collective over MPI_COMM_WORLD (the ranks' host names, the heartbeat
 * communicator); `threads`: MPI gave MPI_THREAD_MULTIPLE, so the thread may
 * call MPI (heartbeats, MPI_Abort).  NULL when out of memory. */
struct kurc_mpi_watch *kurc_mpi_watch_create(int rank, int size, bool threads);

/* seconds > 0: that limit; 0: off; < 0: automatic (stall.h).  Starts the
 * thread the first time it is on. */
void kurc_mpi_watch_set_timeout(struct kurc_mpi_watch *w, double seconds);

/* A blocking call begins (call: "MPI_Allreduce", what: printf-style) and
 * ends. */
__attribute__((format(printf, 3, 4))) void kurc_mpi_watch_begin(struct kurc_mpi_watch *w,
                                                                 const char *call,
                                                                 const char *fmt, ...);
void kurc_mpi_watch_end(struct kurc_mpi_watch *w);

/* The trainer's progress (comm.h's progress op). */
void kurc_mpi_watch_progress(struct kurc_mpi_watch *w, int64_t step, bool alone);

/* Stops the thread and frees everything (before MPI_Finalize). */
void kurc_mpi_watch_free(struct kurc_mpi_watch *w);

#endif
