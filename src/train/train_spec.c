/* train_spec.c - reading stop conditions, weights, checkpoint and log
 * settings from the parsed Kurfile (see train_spec.h).  The schema already
 * checked kinds and keys; this file applies Kur's defaults and rules. */
#include "train/train_spec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/xalloc.h"

static bool is_infinite(const struct kurc_value *v) {
    return v && v->kind == KURC_STR;
}

static double number(const struct kurc_value *v) {
    return v->kind == KURC_INT ? (double)v->u.i : v->kind == KURC_FLOAT ? v->u.f : 0;
}

static char *path_of(const struct kurc_value *v) {
    return v && v->kind == KURC_STR ? kurc_path_expand(v->u.str.s) : NULL;
}

/* epochs: N | inf | {number, mode}; stop_when wins where both say. */
static void read_stop(const struct kurc_value *train, struct kurc_train_spec *s) {
    const struct kurc_value *epochs = kurc_map_get(train, "epochs");
    const struct kurc_value *stop = kurc_map_get(train, "stop_when");
    const struct kurc_value *limit = NULL, *mode = NULL, *elapsed = NULL;
    if (epochs && epochs->kind == KURC_MAP) {
        limit = kurc_map_get(epochs, "number");
        mode = kurc_map_get(epochs, "mode");
    } else if (epochs && epochs->kind != KURC_NULL) {
        limit = epochs;
    }
    if (stop && stop->kind == KURC_MAP) {
        if (epochs && epochs->kind != KURC_NULL)
            kurc_log_at(KURC_LOG_WARNING, &epochs->loc,
                        "`epochs` is deprecated next to `stop_when`; stop_when wins where both "
                        "say");
        if (kurc_map_find(stop, "epochs"))
            limit = kurc_map_get(stop, "epochs");
        if (kurc_map_find(stop, "mode"))
            mode = kurc_map_get(stop, "mode");
        elapsed = kurc_map_get(stop, "elapsed");
    }
    s->epochs = limit && limit->kind == KURC_INT ? limit->u.i : -1;
    if (is_infinite(limit) || (limit && limit->kind == KURC_NULL))
        s->epochs = -1;
    s->total_mode = mode && mode->kind == KURC_STR && strcmp(mode->u.str.s, "total") == 0;
    s->elapsed_seconds = -1;
    s->clock = KURC_CLOCK_ALL;
    if (!elapsed || elapsed->kind == KURC_NULL || is_infinite(elapsed))
        return;
    if (elapsed->kind != KURC_MAP) {
        s->elapsed_seconds = 60 * number(elapsed); /* Kur crashed on this form */
        return;
    }
    static const struct {
        const char *key;
        double seconds;
    } units[] = {{"days", 86400}, {"hours", 3600}, {"minutes", 60}};
    s->elapsed_seconds = 0;
    for (size_t i = 0; i < 3; i++) {
        const struct kurc_value *u = kurc_map_get(elapsed, units[i].key);
        if (u && u->kind != KURC_NULL)
            s->elapsed_seconds += units[i].seconds * number(u);
    }
    const struct kurc_value *clock = kurc_map_get(elapsed, "clock");
    if (clock && clock->kind == KURC_STR) {
        static const char *const clocks[] = {"all", "train", "validate", "batch"};
        for (int i = 0; i < 4; i++)
            if (strcmp(clock->u.str.s, clocks[i]) == 0)
                s->clock = (enum kurc_clock)i;
    }
}

static void read_checkpoint(const struct kurc_value *ck, struct kurc_train_spec *s) {
    if (!ck || ck->kind == KURC_NULL)
        return;
    if (ck->kind == KURC_STR) {
        s->checkpoint = kurc_path_expand(ck->u.str.s);
        s->checkpoint_epochs = 1;
        return;
    }
    const struct kurc_value *path = kurc_map_get(ck, "path");
    s->checkpoint = path && path->kind == KURC_STR ? kurc_path_expand(path->u.str.s)
                                                   : kurc_xstrdup("checkpoint");
    const char *keys[] = {"epochs", "batches", "samples"};
    int64_t *fields[] = {&s->checkpoint_epochs, &s->checkpoint_batches, &s->checkpoint_samples};
    bool any = false;
    for (int i = 0; i < 3; i++) {
        const struct kurc_value *v = kurc_map_get(ck, keys[i]);
        if (v && v->kind == KURC_INT && v->u.i > 0) {
            *fields[i] = v->u.i;
            any = true;
        }
    }
    const struct kurc_value *minutes = kurc_map_get(ck, "minutes");
    if (minutes && (minutes->kind == KURC_INT || minutes->kind == KURC_FLOAT) &&
        number(minutes) > 0) {
        s->checkpoint_minutes = number(minutes);
        any = true;
    }
    if (!any)
        s->checkpoint_epochs = 1;
    const struct kurc_value *validation = kurc_map_get(ck, "validation");
    if (validation && validation->kind == KURC_BOOL)
        s->checkpoint_validation = validation->u.b ? -1 : 0;
    else if (validation && validation->kind == KURC_INT)
        s->checkpoint_validation = validation->u.i;
}

enum kurc_status kurc_train_spec_read(const struct kurc_kurfile *kf, struct kurc_train_spec *s,
                                      struct kurc_err *err) {
    memset(s, 0, sizeof *s);
    const struct kurc_value *train = kurc_kurfile_section(kf, "train");
    if (!train)
        return kurc_err_set(err, KURC_E_CONFIG, &kf->raw->loc,
                            "there is nothing to train: the Kurfile has no `train` section");
    read_stop(train, s);
    const struct kurc_value *acc = kurc_map_get(train, "accumulate");
    s->accumulate = acc && acc->kind == KURC_INT && acc->u.i > 1 ? acc->u.i : 1;

    const struct kurc_value *validate = kurc_kurfile_section(kf, "validate");
    const struct kurc_value *vw = validate ? kurc_map_get(validate, "weights") : NULL;
    if (vw && vw->kind == KURC_STR)
        s->best_valid = path_of(vw);
    else if (vw && vw->kind == KURC_MAP)
        s->best_valid = path_of(kurc_map_get(vw, "best"));

    const struct kurc_value *tw = kurc_map_get(train, "weights");
    if (tw && tw->kind == KURC_STR) {
        s->initial = path_of(tw);
        if (!s->best_valid)
            s->best_train = path_of(tw);
    } else if (tw && tw->kind == KURC_MAP) {
        s->initial = path_of(kurc_map_get(tw, "initial"));
        s->best_train = path_of(kurc_map_get(tw, "best"));
        s->last = path_of(kurc_map_get(tw, "last"));
        const struct kurc_value *must = kurc_map_get(tw, "must_exist");
        s->must_exist = must && must->kind == KURC_BOOL && must->u.b;
        const struct kurc_value *old = kurc_map_get(tw, "checkpoint");
        if (old && !kurc_map_get(train, "checkpoint")) {
            kurc_log_at(KURC_LOG_WARNING, &old->loc,
                        "`checkpoint` belongs under `train`, not under `weights`");
            read_checkpoint(old, s);
        }
    }
    read_checkpoint(kurc_map_get(train, "checkpoint"), s);

    const struct kurc_value *log = kurc_map_get(train, "log");
    if (log && log->kind == KURC_STR)
        s->log = path_of(log);
    else if (log && log->kind == KURC_MAP)
        s->log = path_of(kurc_map_get(log, "path"));
    return KURC_OK;
}

void kurc_train_spec_release(struct kurc_train_spec *s) {
    free(s->initial);
    free(s->best_train);
    free(s->best_valid);
    free(s->last);
    free(s->checkpoint);
    free(s->log);
    memset(s, 0, sizeof *s);
}

char *kurc_section_weights(const struct kurc_value *section, bool *must_exist) {
    *must_exist = false;
    const struct kurc_value *w = section ? kurc_map_get(section, "weights") : NULL;
    if (w && w->kind == KURC_MAP) {
        const struct kurc_value *must = kurc_map_get(w, "must_exist");
        *must_exist = must && must->kind == KURC_BOOL && must->u.b;
        w = kurc_map_get(w, "initial");
    }
    return path_of(w);
}
