/* stall.h - what the watchdog decides, apart from how it learns it: the
 * time limit of a collective and the message that names the ranks that
 * stopped making progress.  Pure functions of what the heartbeats told
 * (comm_mpi_watch.c gathers that), so they are tested without MPI.
 *
 * Every rank sends rank 0 a heartbeat once a period (its step, and whether
 * it is waiting in a collective), and rank 0 sends every rank its own.
 * When a rank's collective has not completed within the limit, rank 0
 * names the ranks that went silent or stopped short of the collective
 * ("rank 2 (host kc3) has made no progress for 15 s (last step 41)"); any
 * other rank knows only rank 0 and names it when rank 0 went silent.
 */
#ifndef KURC_STALL_H
#define KURC_STALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The automatic limit: this many times the slowest training step seen,
 * at least KURC_STALL_MIN seconds; KURC_STALL_FLOOR seconds before a step
 * was measured (start-up) and while one rank may work alone (checkpoints,
 * the end of an epoch).  The minimum is generous: on a loaded or
 * oversubscribed node a collective can wait far longer than the slowest
 * step seen, and a healthy job must not be ended. */
#define KURC_STALL_STEPS 10.0
#define KURC_STALL_MIN 120.0
#define KURC_STALL_FLOOR 600.0

/* Exit status of a rank whose watchdog ended the job (kurc-run and
 * kurc.sbatch know it). */
#define KURC_STALL_EXIT 4

/* What one rank knows of another (times in seconds of its monotonic
 * clock). */
struct kurc_stall_peer {
    bool known;    /* heartbeats from it are expected (rank 0 knows all, others rank 0) */
    double heard;  /* when its last heartbeat arrived (or the start) */
    double moved;  /* when its step or waiting changed last */
    int64_t step;  /* its last step (training batches done) */
    bool waiting;  /* it is in a blocking collective */
};

/* The limit for a call in seconds (0: none): `fixed` > 0 is the user's,
 * 0 is off, < 0 automatic from `slowest` (the slowest step, 0: none yet)
 * and `alone` (a rank may work alone before the next step).  Before a step
 * is measured (start-up: rank 0 loads the data while the others wait) the
 * limit is never below KURC_STALL_FLOOR, the user's included: a healthy
 * job is never ended for a slow start. */
double kurc_stall_limit(double fixed, double slowest, bool alone);

/* Writes into out who stalled, as seen by rank `self` at `now`: the known
 * peers silent for more than `silent` seconds, or not waiting and unmoved
 * for that long.  hosts[r] names rank r's host.  Returns the number of
 * ranks named. */
int kurc_stall_verdict(const struct kurc_stall_peer *peers, int size, int self,
                       const char *const *hosts, double now, double silent, char *out,
                       size_t cap);

#endif
