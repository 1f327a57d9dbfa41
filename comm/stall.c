/* stall.c - the watchdog's limit and its verdict (see stall.h). */
#include "comm/stall.h"

#include <stdarg.h>
#include <stdio.h>

double kurc_stall_limit(double fixed, double slowest, bool alone) {
    if (fixed == 0)
        return 0;
    if (fixed > 0) /* the user's, but never below the floor at start-up */
        return slowest <= 0 && fixed < KURC_STALL_FLOOR ? KURC_STALL_FLOOR : fixed;
    if (alone || slowest <= 0)
        return KURC_STALL_FLOOR;
    double limit = KURC_STALL_STEPS * slowest;
    return limit > KURC_STALL_MIN ? limit : KURC_STALL_MIN;
}

/* Appends printf-style text to out at *at, never past cap. */
__attribute__((format(printf, 4, 5))) static void put(char *out, size_t cap, size_t *at, const char *fmt, ...) {
    if (*at >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *at, cap - *at, fmt, ap);
    va_end(ap);
    *at += n > 0 ? (size_t)n : 0;
}

static bool silent_for(const struct kurc_stall_peer *p, double now, double silent) {
    return now - p->heard > silent;
}

int kurc_stall_verdict(const struct kurc_stall_peer *peers, int size, int self,
                       const char *const *hosts, double now, double silent, char *out,
                       size_t cap) {
    size_t at = 0;
    int named = 0, known = 0, mute = 0;
    double quiet = 0;
    if (cap)
        out[0] = '\0';
    for (int r = 0; r < size; r++) {
        const struct kurc_stall_peer *p = &peers[r];
        if (r == self || !p->known)
            continue;
        known++;
        if (silent_for(p, now, silent)) {
            mute++;
            quiet = now - p->heard > quiet ? now - p->heard : quiet;
        }
    }
    /* rank 0 hearing nobody: its own link is the likelier cause */
    if (self == 0 && known > 1 && mute == known) {
        put(out, cap, &at,
            "rank 0 (host %s) has heard from no other rank for %.0f s (last step %lld): this "
            "host's network is down, or every other rank has stopped",
            hosts[0], quiet, (long long)peers[0].step);
        return known;
    }
    for (int r = 0; r < size; r++) {
        const struct kurc_stall_peer *p = &peers[r];
        if (r == self || !p->known)
            continue;
        bool mute_r = silent_for(p, now, silent);
        if (!mute_r && (p->waiting || now - p->moved <= silent))
            continue;
        put(out, cap, &at, "%srank %d (host %s) has made no progress for %.0f s (last step %lld)%s",
            named ? "; " : "", r, hosts[r], now - p->moved, (long long)p->step,
            mute_r ? (self == 0 ? ", no heartbeat"
                                : ", no heartbeat: its link to this host is down, or it stopped")
                   : ", not waiting in a collective");
        named++;
    }
    if (!named)
        put(out, cap, &at,
            "%s waiting in a collective: the ranks called different collectives, or the "
            "network is too slow for the limit",
            self == 0 ? "every rank is" : "rank 0 is alive and");
    return named;
}
