/* step_pause.c - `--step`: before each batch, rank 0 says which batch is
 * next and waits for ENTER; every rank waits for rank 0 (Kur's --step).
 * Once a signal asked training to stop, it no longer waits: a signal that
 * interrupts the wait lets that batch run, and the loop stops at the next
 * batch boundary. */
#include <stdio.h>

#include "train/run.h"
#include "train/session.h"

enum kurc_status kurc_session_step_pause(struct kurc_session *s, const char *what, int64_t batch,
                                         struct kurc_err *err) {
    if (!s->step)
        return KURC_OK;
    /* waiting for a person is no stall: no watchdog while stepping */
    kurc_comm_set_timeout(s->comm, 0);
    if (s->comm->rank == 0 && !kurc_run_stop_requested()) {
        fprintf(stderr, "%s, Batch %lld: press ENTER to run it\n", what, (long long)batch + 1);
        int c;
        while (!kurc_run_stop_requested() && (c = getchar()) != EOF && c != '\n')
            ;
    }
    return s->comm->ops->barrier(s->comm, err);
}
