/* optimizer.c - the optimizer table, reading the spec's shared parts,
 * decay and clipping (see optimizer.h). */
#include "optim/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

/* Every optimizer: optimizer `x` is the struct kurc_optimizer_x defined
 * in x.c.  optim/optimizers.def lists those definitions, sorted; the build
 * generates it (kurc_registry, CMakeLists.txt), so an optimizer is
 * registered by being defined. */
#define KURC_REGISTER(x) extern const struct kurc_optimizer_type kurc_optimizer_##x;
#include "optim/optimizers.def"
#undef KURC_REGISTER
#define KURC_REGISTER(x) &kurc_optimizer_##x.component,
const struct kurc_component *const kurc_optimizer_table[] = {
#include "optim/optimizers.def"
    NULL};
#undef KURC_REGISTER

const struct kurc_schema kurc_optimizer_clip = {
    .types = KT_MAP | KT_NULL,
    .keys = KURC_KEYS({"norm", &kurc_schema_non_negative_or_null},
                      {"abs", &kurc_schema_non_negative_or_null}),
};

const struct kurc_schema kurc_optimizer_scale_mode = {
    .types = KT_STR | KT_NULL,
    .choices = KURC_NAMES("linear", "sqrt"),
};

const struct kurc_schema kurc_optimizer_reference_batch = {
    .types = KT_INT, .has_min = true, .min = 1};

float kurc_optimizer_param(const struct kurc_value *spec, const char *key, float fallback) {
    double x = kurc_param_number(spec, key, 0);
    const struct kurc_value *given = kurc_param(spec, key);
    if (x == 0 && fallback != 0 && given)
        kurc_log_at(KURC_LOG_WARNING, &given->loc, "%s: 0 means the default, %g, as in Kur", key,
                    (double)fallback);
    return x != 0 ? (float)x : fallback;
}

/* The type spec names (NULL: none known); *name gets the name. */
static const struct kurc_optimizer_type *find_type(const struct kurc_value *spec,
                                                   const char **name) {
    *name = KURC_OPTIMIZER_DEFAULT;
    if (spec && spec->kind == KURC_STR)
        *name = spec->u.str.s;
    if (kurc_param_str(spec, "name"))
        *name = kurc_param_str(spec, "name");
    /* the component is the type's first member */
    return (const struct kurc_optimizer_type *)kurc_component_find(kurc_optimizer_table, *name);
}

int kurc_optimizer_state_arenas(const struct kurc_value *spec) {
    const char *name;
    const struct kurc_optimizer_type *type = find_type(spec, &name);
    return type ? type->n_state : 2;
}

enum kurc_status kurc_optimizer_create(const struct kurc_value *spec, struct kurc_params *p,
                                       struct kurc_backend *be, struct kurc_optimizer **out,
                                       struct kurc_err *err) {
    return kurc_optimizer_create_shard(spec, 0, p->total, be, out, err);
}

enum kurc_status kurc_optimizer_create_shard(const struct kurc_value *spec, size_t lo, size_t n,
                                             struct kurc_backend *be, struct kurc_optimizer **out,
                                             struct kurc_err *err) {
    const char *name;
    const struct kurc_optimizer_type *type = find_type(spec, &name);
    if (!type)
        return kurc_err_set(err, KURC_E_CONFIG, spec ? &spec->loc : NULL,
                            "train.optimizer: unknown optimizer '%s'", name);
    struct kurc_optimizer *o = kurc_xcalloc(1, sizeof *o);
    o->type = type;
    o->be = be;
    o->lo = lo;
    o->n = n;
    o->learning_rate = kurc_optimizer_param(spec, "learning_rate", type->learning_rate);
    o->decay = kurc_optimizer_param(spec, "decay", 0.0f);
    o->schedule = (struct kurc_schedule){.scale = 1, .gamma = 1};
    if (type->read) {
        o->settings = kurc_xcalloc(1, type->settings_size);
        type->read(spec, o->settings);
    }
    const struct kurc_value *clip = kurc_param(spec, "clip");
    if (clip && clip->kind == KURC_MAP) {
        if (kurc_map_get(clip, "norm") && kurc_map_get(clip, "abs")) {
            kurc_optimizer_free(o);
            return kurc_err_set(err, KURC_E_CONFIG, &clip->loc,
                                "train.optimizer.clip: give either norm or abs, not both");
        }
        o->clip = kurc_map_get(clip, "norm") ? KURC_CLIP_NORM
                  : kurc_map_get(clip, "abs") ? KURC_CLIP_ABS
                                              : KURC_CLIP_NONE;
        o->clip_value =
            kurc_optimizer_param(clip, o->clip == KURC_CLIP_NORM ? "norm" : "abs", 0.0f);
        if (o->clip != KURC_CLIP_NONE && o->clip_value <= 0) {
            kurc_log_at(KURC_LOG_WARNING, &clip->loc,
                        "train.optimizer.clip: %s 0 (or null) clips nothing",
                        o->clip == KURC_CLIP_NORM ? "norm" : "abs");
            o->clip = KURC_CLIP_NONE;
        }
    }
    for (int i = 0; i < type->n_state; i++) {
        o->state[i] = be->ops->alloc(be, (n ? n : 1) * sizeof(float));
        if (!o->state[i]) {
            struct kurc_err why; /* the backend's own account (CUDA: the free memory) */
            bool known = kurc_backend_check(be, &why) != KURC_OK;
            kurc_optimizer_free(o);
            return kurc_err_set(err, KURC_E_BACKEND, NULL,
                                "cannot allocate %zu bytes of %s optimizer state%s%.1200s",
                                n * sizeof(float), name, known ? ": " : "",
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
    free(o->settings);
    free(o);
}

float kurc_optimizer_rate(const struct kurc_optimizer *o) {
    double lr = kurc_schedule_rate(&o->schedule, o->learning_rate, o->iterations);
    return (float)(lr / (1.0 + (double)o->decay * (double)o->iterations));
}

size_t kurc_optimizer_norm_block(size_t total) {
    size_t block = 256;
    while (total / block >= 1024)
        block *= 2;
    return block;
}

void kurc_optimizer_block_squares(const struct kurc_optimizer *o, const struct kurc_params *p,
                                  size_t lo, size_t n, double *out) {
    size_t block = kurc_optimizer_norm_block(p->total);
    for (size_t at = lo, i = 0; at < lo + n; at += block, i++) {
        size_t len = lo + n - at < block ? lo + n - at : block;
        o->be->ops->sum_squares(o->be, (int64_t)len, p->grads + at, &out[i]);
    }
}

void kurc_optimizer_clip_range(const struct kurc_optimizer *o, struct kurc_params *p, size_t lo,
                               size_t n, double norm) {
    float *g = p->grads + lo;
    /* Keras' clip_norm: g * c / norm once the norm reaches c */
    if (o->clip == KURC_CLIP_NORM && norm >= o->clip_value)
        o->be->ops->axpby(o->be, (int64_t)n, (float)(o->clip_value / norm), g, 0.0f, g);
    else if (o->clip == KURC_CLIP_ABS)
        o->be->ops->clip(o->be, (int64_t)n, o->clip_value, g);
}

void kurc_optimizer_update(const struct kurc_optimizer *o, struct kurc_params *p, size_t lo,
                           size_t n, float lr_scale) {
    /* the type's step over a view: the range's values, gradients and state */
    struct kurc_params view = *p;
    view.values = p->values + lo;
    view.grads = p->grads + lo;
    view.total = n;
    struct kurc_optimizer part = *o;
    for (int i = 0; i < o->type->n_state; i++)
        part.state[i] = o->state[i] + (lo - o->lo);
    o->type->step(&part, &view, kurc_optimizer_rate(o) * lr_scale);
}

double kurc_optimizer_step(struct kurc_optimizer *o, struct kurc_params *p, float lr_scale) {
    double norm = 0;
    if (o->clip == KURC_CLIP_NORM && !o->block_norm) {
        double squares;
        o->be->ops->sum_squares(o->be, (int64_t)p->total, p->grads, &squares);
        norm = sqrt(squares);
    } else if (o->clip == KURC_CLIP_NORM) {
        size_t block = kurc_optimizer_norm_block(p->total);
        size_t blocks = (p->total + block - 1) / block;
        double *squares = kurc_xcalloc(blocks ? blocks : 1, sizeof *squares);
        kurc_optimizer_block_squares(o, p, 0, p->total, squares);
        double sum = 0;
        for (size_t i = 0; i < blocks; i++)
            sum += squares[i];
        free(squares);
        norm = sqrt(sum);
    }
    kurc_optimizer_clip_range(o, p, 0, p->total, norm);
    kurc_optimizer_update(o, p, 0, p->total, lr_scale);
    o->iterations++;
    return norm;
}
