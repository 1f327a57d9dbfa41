/* comm_mpi_watch.c - the MPI communicator's watchdog (comm_mpi_watch.h).
 *
 * The thread wakes once a period (1 s, or a quarter of a shorter fixed
 * limit).  Each time it exchanges heartbeats on a communicator of their
 * own (a duplicate of MPI_COMM_WORLD, nonblocking sends and receives, so
 * a silent peer never blocks it): every rank sends rank 0 its step and
 * whether it waits in a blocking call, rank 0 sends every rank its own.
 * Then it checks the blocking call under way against the limit
 * (stall.h).  Rank 0 decides first: another rank that still hears rank 0
 * gives it a few more periods to name the culprit and end the job.
 *
 * Ending the job: the message goes to stderr and is appended to the file
 * KURC_STALL_FILE names (kurc-run watches it and ends mpirun or srun when
 * they do not end by themselves); then MPI_Abort, and if that has not
 * ended this process after a few seconds (its link is gone, so mpirun
 * cannot be told), it exits by itself, status KURC_STALL_EXIT.
 *
 * A stopped process (SIGSTOP, a paused machine) sees a jump of its clock
 * between two wakes: the time it was stopped counts neither against its
 * call nor against the others' silence.
 */
#include "comm/comm_mpi_watch.h"

#include <fcntl.h>
#include <mpi.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comm/stall.h"

enum { HOST = 64, TAG = 7302 };

/* Seconds a rank whose MPI_Abort has not ended it waits before it exits by
 * itself; periods without a heartbeat that make a peer silent. */
#define ABORT_GRACE 5.0
#define SILENT_PERIODS 3.0
/* Seconds the heartbeats still on their way at the end may take. */
#define SEND_GRACE 10.0

struct beat {
    int64_t step;
    int64_t waiting;
};

struct kurc_mpi_watch {
    int rank, size;
    bool threads;
    MPI_Comm hb;
    char (*hosts)[HOST];
    const char **host_names;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop;
    double timeout; /* > 0 fixed, 0 off, < 0 automatic */
    /* the blocking call under way */
    bool busy;
    double since;
    const char *call;
    char what[96];
    /* the trainer's progress */
    int64_t step;
    double last_mark, slowest;
    bool alone, dirty;
    /* heartbeats: peers[r] is what this rank knows of rank r; out[r] and
     * in[r] the buffers of the messages to and from it */
    struct kurc_stall_peer *peers;
    struct beat *out, *in;
    MPI_Request *sends, *recvs;
};

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Frees the memory of w (no MPI). */
static void release(struct kurc_mpi_watch *w) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->hosts);
    free(w->host_names);
    free(w->peers);
    free(w->out);
    free(w->in);
    free(w->sends);
    free(w->recvs);
    free(w);
}

struct kurc_mpi_watch *kurc_mpi_watch_create(int rank, int size, bool threads) {
    struct kurc_mpi_watch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    size_t n = (size_t)size;
    w->hosts = calloc(n, sizeof *w->hosts);
    w->host_names = calloc(n, sizeof *w->host_names);
    w->peers = calloc(n, sizeof *w->peers);
    w->out = calloc(n, sizeof *w->out);
    w->in = calloc(n, sizeof *w->in);
    w->sends = calloc(n, sizeof *w->sends);
    w->recvs = calloc(n, sizeof *w->recvs);
    w->rank = rank;
    w->size = size;
    w->threads = threads && size > 1;
    w->hb = MPI_COMM_NULL;
    if (!w->hosts || !w->host_names || !w->peers || !w->out || !w->in || !w->sends ||
        !w->recvs) {
        release(w);
        return NULL;
    }
    char me[HOST] = {0};
    gethostname(me, sizeof me - 1);
    MPI_Allgather(me, HOST, MPI_CHAR, w->hosts, HOST, MPI_CHAR, MPI_COMM_WORLD);
    double now = now_seconds();
    for (int r = 0; r < size; r++) {
        w->hosts[r][HOST - 1] = '\0';
        w->host_names[r] = w->hosts[r];
        w->sends[r] = w->recvs[r] = MPI_REQUEST_NULL;
        w->peers[r] = (struct kurc_stall_peer){
            .known = r != rank && (rank == 0 || r == 0), .heard = now, .moved = now};
    }
    if (w->threads) {
        MPI_Comm_dup(MPI_COMM_WORLD, &w->hb);
        MPI_Comm_set_errhandler(w->hb, MPI_ERRORS_RETURN);
    }
    return w;
}

/* --- heartbeats -------------------------------------------------------------- */

/* Takes in what arrived from rank r, and listens for its next one. */
static void hear(struct kurc_mpi_watch *w, int r, double now) {
    int done = 0;
    if (w->recvs[r] != MPI_REQUEST_NULL &&
        (MPI_Test(&w->recvs[r], &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || !done))
        return;
    if (done) {
        struct kurc_stall_peer *p = &w->peers[r];
        bool waiting = w->in[r].waiting != 0;
        if (w->in[r].step != p->step || waiting != p->waiting)
            p->moved = now;
        p->step = w->in[r].step;
        p->waiting = waiting;
        p->heard = now;
    }
    if (MPI_Irecv(&w->in[r], 2, MPI_INT64_T, r, TAG, w->hb, &w->recvs[r]) != MPI_SUCCESS)
        w->recvs[r] = MPI_REQUEST_NULL;
}

/* Sends rank r this rank's state, unless the last one is still on its way. */
static void tell(struct kurc_mpi_watch *w, int r, struct beat b) {
    int done = 1;
    if (w->sends[r] != MPI_REQUEST_NULL &&
        (MPI_Test(&w->sends[r], &done, MPI_STATUS_IGNORE) != MPI_SUCCESS || !done))
        return;
    w->out[r] = b;
    if (MPI_Isend(&w->out[r], 2, MPI_INT64_T, r, TAG, w->hb, &w->sends[r]) != MPI_SUCCESS)
        w->sends[r] = MPI_REQUEST_NULL;
}

/* One round: rank 0 with every rank, the others with rank 0.  Called
 * without the lock (MPI may take a while); peers is the thread's alone. */
static void exchange(struct kurc_mpi_watch *w, struct beat mine, double now) {
    for (int r = 0; r < w->size; r++) {
        if (!w->peers[r].known)
            continue;
        hear(w, r, now);
        tell(w, r, mine);
    }
}

/* --- ending the job ------------------------------------------------------------ */

/* The thread's period: 1 s, or a quarter of a shorter fixed limit. */
static double period_of(const struct kurc_mpi_watch *w) {
    return w->timeout > 0 && w->timeout < 4 ? w->timeout / 4 : 1.0;
}

static void *exit_later(void *arg) {
    (void)arg;
    struct timespec t = {(time_t)ABORT_GRACE, 0};
    nanosleep(&t, NULL);
    _exit(KURC_STALL_EXIT);
}

/* Appends the message to the file KURC_STALL_FILE names, if any. */
static void leave_word(const char *msg) {
    const char *path = getenv("KURC_STALL_FILE");
    if (!path || !*path)
        return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        return;
    ssize_t n = write(fd, msg, strlen(msg));
    (void)n;
    close(fd);
}

static void describe_limit(const struct kurc_mpi_watch *w, char *out, size_t cap) {
    if (w->timeout >= KURC_STALL_FLOOR || (w->timeout > 0 && w->slowest > 0))
        snprintf(out, cap, "settings.comm_timeout");
    else if (w->timeout > 0)
        snprintf(out, cap, "the limit of start-up, at least %g s", KURC_STALL_FLOOR);
    else if (w->alone || w->slowest <= 0)
        snprintf(out, cap,
                 "the automatic limit before a step is measured or while one rank works alone; "
                 "settings.comm_timeout sets one");
    else
        snprintf(out, cap,
                 "the automatic limit: %g times the slowest step (%.3f s), at least %g s; "
                 "settings.comm_timeout sets one",
                 KURC_STALL_STEPS, w->slowest, KURC_STALL_MIN);
}

/* Names the culprits and ends the job; never returns. */
static void fire(struct kurc_mpi_watch *w, double now, double late) {
    char verdict[1024], limit[192], msg[1600];
    if (w->threads)
        kurc_stall_verdict(w->peers, w->size, w->rank, w->host_names, now,
                           SILENT_PERIODS * period_of(w), verdict, sizeof verdict);
    else
        snprintf(verdict, sizeof verdict,
                 "another rank has stopped or called a different collective");
    describe_limit(w, limit, sizeof limit);
    snprintf(msg, sizeof msg,
             "kurc: rank %d (host %s): %s of %s has not completed after %.0f s (%s): %s; "
             "ending the job\n",
             w->rank, w->host_names[w->rank], w->call, w->what, late, limit, verdict);
    fputs(msg, stderr);
    fflush(stderr);
    leave_word(msg);
    pthread_t t;
    if (w->threads && pthread_create(&t, NULL, exit_later, NULL) == 0)
        MPI_Abort(MPI_COMM_WORLD, KURC_STALL_EXIT);
    _exit(KURC_STALL_EXIT);
}

/* --- the thread ------------------------------------------------------------------ */

/* This process was stopped for `gap` seconds: that time counts for no one. */
static void forgive(struct kurc_mpi_watch *w, double gap) {
    w->since += gap;
    if (w->last_mark > 0)
        w->last_mark += gap;
    for (int r = 0; r < w->size; r++) {
        w->peers[r].heard += gap;
        w->peers[r].moved += gap;
    }
}

static void *watch_main(void *arg) {
    struct kurc_mpi_watch *w = arg;
    double last = now_seconds();
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        double period = period_of(w);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long)(period * 1e9);
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
        if (w->stop)
            break;
        double now = now_seconds();
        if (now - last > SILENT_PERIODS * period + 1)
            forgive(w, now - last - period);
        last = now;
        if (w->threads) {
            struct beat mine = {w->step, w->busy};
            w->peers[w->rank].step = w->step;
            pthread_mutex_unlock(&w->mu);
            exchange(w, mine, now);
            pthread_mutex_lock(&w->mu);
        }
        double limit = kurc_stall_limit(w->timeout, w->slowest, w->alone);
        if (w->stop || !w->busy || limit <= 0 || now - w->since < limit)
            continue;
        /* rank 0 names the culprits; the others wait for it while it lives */
        const struct kurc_stall_peer *root = &w->peers[0];
        bool root_alive = w->rank != 0 && w->threads &&
                          now - root->heard <= SILENT_PERIODS * period;
        if (root_alive && now - w->since < limit + (SILENT_PERIODS + 1) * period)
            continue;
        fire(w, now, now - w->since);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void kurc_mpi_watch_set_timeout(struct kurc_mpi_watch *w, double seconds) {
    pthread_mutex_lock(&w->mu);
    w->timeout = seconds;
    if (seconds != 0 && !w->running)
        w->running = pthread_create(&w->thread, NULL, watch_main, w) == 0;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void kurc_mpi_watch_begin(struct kurc_mpi_watch *w, const char *call, const char *fmt, ...) {
    if (!w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->busy = true;
    w->since = now_seconds();
    w->call = call;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->what, sizeof w->what, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&w->mu);
}

void kurc_mpi_watch_end(struct kurc_mpi_watch *w) {
    if (!w->running)
        return;
    pthread_mutex_lock(&w->mu);
    w->busy = false;
    pthread_mutex_unlock(&w->mu);
}

void kurc_mpi_watch_progress(struct kurc_mpi_watch *w, int64_t step, bool alone) {
    pthread_mutex_lock(&w->mu);
    double now = now_seconds();
    w->step = step;
    if (alone) {
        w->alone = w->dirty = true;
    } else {
        if (w->last_mark > 0 && !w->dirty && now - w->last_mark > w->slowest)
            w->slowest = now - w->last_mark;
        w->last_mark = now;
        w->alone = w->dirty = false;
    }
    pthread_mutex_unlock(&w->mu);
}

/* The buffers of the heartbeats that had not completed when their watchdog
 * was freed (finish_sends). */
static struct beat *still_sending;

/* Waits at most SEND_GRACE seconds for the heartbeats still on their way
 * (a peer that is alive takes them at once, even after it stopped
 * listening).  MPI may read a send's buffer until the send completes,
 * also after MPI_Request_free, so the buffers must outlive the sends.
 * True when every send completed. */
static bool finish_sends(struct kurc_mpi_watch *w) {
    double until = now_seconds() + SEND_GRACE;
    for (;;) {
        int done = 0;
        if (MPI_Testall(w->size, w->sends, &done, MPI_STATUSES_IGNORE) == MPI_SUCCESS && done)
            return true;
        if (now_seconds() > until)
            return false;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
}

void kurc_mpi_watch_free(struct kurc_mpi_watch *w) {
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->running)
        pthread_join(w->thread, NULL);
    for (int r = 0; r < w->size; r++) {
        if (w->recvs[r] != MPI_REQUEST_NULL) {
            MPI_Cancel(&w->recvs[r]);
            MPI_Wait(&w->recvs[r], MPI_STATUS_IGNORE);
        }
    }
    if (!finish_sends(w)) {
        /* MPI may still read them: they stay, reachable, until exit */
        still_sending = w->out;
        w->out = NULL;
        for (int r = 0; r < w->size; r++)
            if (w->sends[r] != MPI_REQUEST_NULL)
                MPI_Request_free(&w->sends[r]);
    }
    if (w->hb != MPI_COMM_NULL)
        MPI_Comm_free(&w->hb);
    release(w);
}
