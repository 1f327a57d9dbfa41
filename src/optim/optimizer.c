/* optimizer.c - reading the optimizer spec, the optimizer table, decay and
 * clipping (see optimizer.h). */
#include "optim/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

extern const struct kurc_optimizer_type kurc_optimizer_adadelta;
extern const struct kurc_optimizer_type kurc_optimizer_adam;
extern const struct kurc_optimizer_type kurc_optimizer_rmsprop;
extern const struct kurc_optimizer_type kurc_optimizer_sgd;

static const struct kurc_optimizer_type *const types[] = {
    &kurc_optimizer_adadelta,
    &kurc_optimizer_adam,
    &kurc_optimizer_rmsprop,
    &kurc_optimizer_sgd,
};

/* A number from the spec, or fallback when absent, null or 0 (Kur's
 * `value or default`). */
static float number(const struct kurc_value *spec, const char *key, float fallback) {
    const struct kurc_value *v = spec && spec->kind == KURC_MAP ? kurc_map_get(spec, key) : NULL;
    double x = !v ? 0 : v->kind == KURC_INT ? (double)v->u.i : v->kind == KURC_FLOAT ? v->u.f : 0;
    return x != 0 ? (float)x : fallback;
}

enum kurc_status kurc_optimizer_create(const struct kurc_value *spec, struct kurc_params *p,
                                       struct kurc_backend *be, struct kurc_optimizer **out,
                                       struct kurc_err *err) {
    const char *name = "adam";
    if (spec && spec->kind == KURC_STR)
        name = spec->u.str.s;
    const struct kurc_value *nv = spec && spec->kind == KURC_MAP ? kurc_map_get(spec, "name") : NULL;
    if (nv && nv->kind == KURC_STR)
        name = nv->u.str.s;
    const struct kurc_optimizer_type *type = NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i]->name, name) == 0)
            type = types[i];
    if (!type)
        return kurc_err_set(err, KURC_E_CONFIG, spec ? &spec->loc : NULL,
                            "train.optimizer: unknown optimizer '%s'", name);
    struct kurc_optimizer *o = kurc_xcalloc(1, sizeof *o);
    o->type = type;
    o->be = be;
    o->learning_rate = number(spec, "learning_rate", type->learning_rate);
    o->decay = number(spec, "decay", 0.0f);
    o->momentum = number(spec, "momentum", 0.0f);
    o->rho = number(spec, "rho", type->rho);
    o->epsilon = number(spec, "epsilon", type->epsilon);
    const struct kurc_value *nesterov =
        spec && spec->kind == KURC_MAP ? kurc_map_get(spec, "nesterov") : NULL;
    o->nesterov = nesterov && nesterov->kind == KURC_BOOL && nesterov->u.b;
    const struct kurc_value *clip = spec && spec->kind == KURC_MAP ? kurc_map_get(spec, "clip") : NULL;
    if (clip && clip->kind == KURC_MAP) {
        if (kurc_map_get(clip, "norm") && kurc_map_get(clip, "abs")) {
            free(o);
            return kurc_err_set(err, KURC_E_CONFIG, &clip->loc,
                                "train.optimizer.clip: give either norm or abs, not both");
        }
        o->clip = kurc_map_get(clip, "norm") ? KURC_CLIP_NORM
                  : kurc_map_get(clip, "abs") ? KURC_CLIP_ABS
                                              : KURC_CLIP_NONE;
        o->clip_value = number(clip, o->clip == KURC_CLIP_NORM ? "norm" : "abs", 0.0f);
        if (o->clip != KURC_CLIP_NONE && o->clip_value <= 0)
            o->clip = KURC_CLIP_NONE;
    }
    for (int i = 0; i < type->n_state; i++) {
        o->state[i] = be->ops->alloc(be, (p->total ? p->total : 1) * sizeof(float));
        if (!o->state[i]) {
            struct kurc_err why; /* the backend's own account (CUDA: the free memory) */
            bool known = kurc_backend_check(be, &why) != KURC_OK;
            kurc_optimizer_free(o);
            return kurc_err_set(err, KURC_E_BACKEND, NULL,
                                "cannot allocate %zu bytes of %s optimizer state%s%.1200s",
                                p->total * sizeof(float), name, known ? ": " : "",
                                known ? why.msg : "");
        }
    }
    *out = o;
    return KURC_OK;
}

void kurc_optimizer_free(struct kurc_optimizer *o) {
    if (!o)
        return;
    for (int i = 0; i < 2; i++)
        if (o->state[i])
            o->be->ops->free(o->be, o->state[i]);
    free(o);
}

float kurc_optimizer_rate(const struct kurc_optimizer *o) {
    return (float)(o->learning_rate / (1.0 + (double)o->decay * (double)o->iterations));
}

double kurc_optimizer_step(struct kurc_optimizer *o, struct kurc_params *p, float lr_scale) {
    struct kurc_backend *be = o->be;
    int64_t n = (int64_t)p->total;
    double norm = 0;
    if (o->clip == KURC_CLIP_NORM) {
        double squares;
        be->ops->sum_squares(be, n, p->grads, &squares);
        norm = sqrt(squares);
        /* Keras' clip_norm: g * c / norm once the norm reaches c */
        if (norm >= o->clip_value)
            be->ops->axpby(be, n, (float)(o->clip_value / norm), p->grads, 0.0f, p->grads);
    } else if (o->clip == KURC_CLIP_ABS) {
        be->ops->clip(be, n, o->clip_value, p->grads);
    }
    o->type->step(o, p, kurc_optimizer_rate(o) * lr_scale);
    o->iterations++;
    return norm;
}
