/* schedule.c - the learning-rate schedule and the linear scaling rule
 * (see schedule.h). */
#include "optim/schedule.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "config/component.h"

static const struct kurc_schema non_negative = {.types = KT_NUM, .has_min = true, .min = 0};
static const struct kurc_schema positive = {.types = KT_NUM, .has_min = true, .min = 1e-300};
static const struct kurc_schema steps = {.types = KT_INT, .has_min = true, .min = 0};
static const struct kurc_schema positive_steps = {.types = KT_INT, .has_min = true, .min = 1};

const struct kurc_schema kurc_schedule_schema = {
    .types = KT_MAP | KT_NULL,
    .keys = KURC_KEYS({"warmup_steps", &steps}, {"warmup_epochs", &non_negative},
                      {"decay", KURC_SCHEMA(.types = KT_STR,
                                            .choices = KURC_NAMES("none", "step", "exponential",
                                                                  "cosine", "linear"))},
                      {"gamma", &positive}, {"every_steps", &positive_steps},
                      {"every_epochs", &positive}, {"total_steps", &positive_steps},
                      {"total_epochs", &positive}, {"final_lr", &non_negative}),
};

static double number(const struct kurc_value *v) {
    return v->kind == KURC_INT ? (double)v->u.i : v->u.f;
}

/* A count of steps given as `<what>_steps` or `<what>_epochs` (rounded to
 * whole steps, at least `least`); *given false when neither is there. */
static enum kurc_status steps_or_epochs(const struct kurc_value *sched, const char *what,
                                        const struct kurc_schedule_context *ctx, int64_t least,
                                        int64_t *out, bool *given, struct kurc_err *err) {
    char steps_key[32], epochs_key[32];
    snprintf(steps_key, sizeof steps_key, "%s_steps", what);
    snprintf(epochs_key, sizeof epochs_key, "%s_epochs", what);
    const struct kurc_value *s = kurc_map_get(sched, steps_key);
    const struct kurc_value *e = kurc_map_get(sched, epochs_key);
    *given = s || e;
    if (s && e)
        return kurc_err_set(err, KURC_E_CONFIG, &e->loc,
                            "train.optimizer.schedule: give %s or %s, not both", steps_key,
                            epochs_key);
    if (s)
        *out = s->u.i;
    if (e) {
        double n = floor(number(e) * (double)ctx->steps_per_epoch + 0.5);
        *out = (int64_t)n;
        if (*out < least)
            return kurc_err_set(err, KURC_E_CONFIG, &e->loc,
                                "train.optimizer.schedule.%s: %g epochs of %lld optimizer steps "
                                "is less than %lld step",
                                epochs_key, number(e), (long long)ctx->steps_per_epoch,
                                (long long)least);
    }
    return KURC_OK;
}

/* A key that the chosen decay does not read is a mistake worth naming. */
static enum kurc_status unused(const struct kurc_value *sched, const char *key,
                               const char *decay, const char *users, struct kurc_err *err) {
    const struct kurc_value *v = kurc_map_get(sched, key);
    if (!v)
        return KURC_OK;
    return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                        "train.optimizer.schedule.%s is for %s decay, and the decay is %s", key,
                        users, decay);
}

static enum kurc_status read_scale(const struct kurc_value *opt,
                                   const struct kurc_schedule_context *ctx,
                                   struct kurc_schedule *out, struct kurc_err *err) {
    const struct kurc_value *on = kurc_param(opt, "scale_with_batch");
    const struct kurc_value *ref = kurc_param(opt, "reference_batch");
    bool scaled = on && on->kind == KURC_BOOL && on->u.b;
    if (scaled && !ref)
        return kurc_err_set(err, KURC_E_CONFIG, &on->loc,
                            "train.optimizer.scale_with_batch needs reference_batch: the global "
                            "batch the learning rate is given for");
    if (!scaled && ref)
        return kurc_err_set(err, KURC_E_CONFIG, &ref->loc,
                            "train.optimizer.reference_batch is read only with "
                            "scale_with_batch: yes");
    if (scaled)
        out->scale = (double)ctx->global_batch / (double)ref->u.i;
    return KURC_OK;
}

enum kurc_status kurc_schedule_read(const struct kurc_value *opt,
                                    const struct kurc_schedule_context *ctx,
                                    struct kurc_schedule *out, struct kurc_err *err) {
    *out = (struct kurc_schedule){.scale = 1, .decay = KURC_DECAY_NONE, .gamma = 1};
    if (!opt || opt->kind != KURC_MAP)
        return KURC_OK;
    enum kurc_status st = read_scale(opt, ctx, out, err);
    const struct kurc_value *sched = kurc_map_get(opt, "schedule");
    if (st || !sched || sched->kind != KURC_MAP)
        return st;
    bool given;
    if ((st = steps_or_epochs(sched, "warmup", ctx, 0, &out->warmup, &given, err)))
        return st;
    const char *decay = kurc_param_str(sched, "decay");
    if (!decay)
        decay = "none";
    static const char *const names[] = {"none", "step", "exponential", "cosine", "linear"};
    for (int i = 0; i < 5; i++)
        if (strcmp(decay, names[i]) == 0)
            out->decay = (enum kurc_decay)i;
    bool uses_gamma = out->decay == KURC_DECAY_STEP || out->decay == KURC_DECAY_EXPONENTIAL;
    bool to_final = out->decay == KURC_DECAY_COSINE || out->decay == KURC_DECAY_LINEAR;
    const struct kurc_value *where = kurc_map_get(sched, "decay");
    if (uses_gamma) {
        const struct kurc_value *g = kurc_map_get(sched, "gamma");
        if (!g)
            return kurc_err_set(err, KURC_E_CONFIG, &where->loc,
                                "train.optimizer.schedule: %s decay needs gamma, its factor",
                                decay);
        out->gamma = number(g);
    } else if ((st = unused(sched, "gamma", decay, "step and exponential", err))) {
        return st;
    }
    if (out->decay == KURC_DECAY_STEP) {
        if ((st = steps_or_epochs(sched, "every", ctx, 1, &out->every, &given, err)))
            return st;
        if (!given)
            return kurc_err_set(err, KURC_E_CONFIG, &where->loc,
                                "train.optimizer.schedule: step decay needs every_steps or "
                                "every_epochs, how often it multiplies by gamma");
    } else if ((st = unused(sched, "every_steps", decay, "step", err)) ||
               (st = unused(sched, "every_epochs", decay, "step", err))) {
        return st;
    }
    if (!to_final)
        return (st = unused(sched, "total_steps", decay, "cosine and linear", err)) ||
                       (st = unused(sched, "total_epochs", decay, "cosine and linear", err))
                   ? st
                   : unused(sched, "final_lr", decay, "cosine and linear", err);
    if ((st = steps_or_epochs(sched, "total", ctx, 1, &out->total, &given, err)))
        return st;
    if (!given && ctx->epochs < 0)
        return kurc_err_set(err, KURC_E_CONFIG, &where->loc,
                            "train.optimizer.schedule: %s decay needs total_steps or "
                            "total_epochs when train.epochs is not given",
                            decay);
    if (!given)
        out->total = ctx->epochs * ctx->steps_per_epoch;
    if (out->total <= out->warmup) {
        const struct kurc_value *at = kurc_map_get(sched, "total_steps");
        if (!at)
            at = kurc_map_get(sched, "total_epochs");
        return kurc_err_set(err, KURC_E_CONFIG, at ? &at->loc : &where->loc,
                            "train.optimizer.schedule: the decay ends at step %lld, not after "
                            "the warm-up's %lld steps",
                            (long long)out->total, (long long)out->warmup);
    }
    const struct kurc_value *f = kurc_map_get(sched, "final_lr");
    out->final_lr = f ? number(f) : 0;
    return KURC_OK;
}

double kurc_schedule_rate(const struct kurc_schedule *s, double lr, int64_t step) {
    double peak = lr * s->scale;
    if (step < s->warmup)
        return peak * (double)(step + 1) / (double)s->warmup;
    int64_t t = step - s->warmup;
    int64_t span = s->total - s->warmup;
    double u = span > 0 ? (double)(t < span ? t : span) / (double)span : 1;
    switch (s->decay) {
    case KURC_DECAY_STEP:
        return peak * pow(s->gamma, (double)(t / s->every));
    case KURC_DECAY_EXPONENTIAL:
        return peak * pow(s->gamma, (double)t);
    case KURC_DECAY_COSINE:
        return s->final_lr + (peak - s->final_lr) * 0.5 * (1 + cos(3.14159265358979323846 * u));
    case KURC_DECAY_LINEAR:
        return peak + (s->final_lr - peak) * u;
    case KURC_DECAY_NONE:
        break;
    }
    return peak;
}
