/* signals.c - SIGINT, SIGTERM and SIGUSR1 become a request to stop at the
 * next batch boundary (see run.h). */
#include <signal.h>
#include <string.h>

#include "train/run.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    stop_signal = sig;
}

void kurc_run_catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int kurc_run_stop_requested(void) {
    return stop_signal;
}
