/* merge.c - `merge`: combines the tensors of its `inputs`.  `merge: MODE`
 * or `merge: {mode: MODE, axis: A}`; MODE is concat (the default),
 * add, multiply or average (any case); axis (concat only, default -1)
 * counts the per-sample axes from 0, negative from the end, as Kur's shape
 * rule did.  Unlike Kur, the mapping form without `axis` works.  Inputs
 * must have equal shapes, except along the concat axis.  A single input
 * passes through unchanged (Kur's Keras path). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "model/args.h"
#include "model/model.h"
#include "ops/ops.h"

enum merge_mode { MERGE_CONCAT, MERGE_ADD, MERGE_MULTIPLY, MERGE_AVERAGE };

static const char *const mode_names[] = {"concat", "add", "multiply", "average", NULL};

struct merge {
    enum merge_mode mode;
    int64_t axis;
};

static const struct kurc_schema merge_args = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"mode", &(const struct kurc_schema){.types = KT_STR | KT_NULL}},
            {"axis", &(const struct kurc_schema){.types = KT_INT | KT_NULL}},
            {NULL},
        },
};

static enum kurc_status merge_parse(struct kurc_model *m, struct kurc_container *c,
                                    struct kurc_err *err) {
    (void)m;
    struct merge *s = kurc_xcalloc(1, sizeof *s);
    c->priv = s;
    s->mode = MERGE_CONCAT;
    s->axis = -1;
    const struct kurc_value *mode = c->args, *axis = NULL;
    if (c->args && c->args->kind == KURC_MAP) {
        mode = kurc_map_get(c->args, "mode");
        axis = kurc_map_get(c->args, "axis");
    }
    if (mode && mode->kind == KURC_STR) {
        int i = 0;
        while (mode_names[i] && strcasecmp(mode_names[i], mode->u.str.s) != 0)
            i++;
        if (!mode_names[i])
            return kurc_container_error(c, err,
                                        "unknown merge mode '%s' (use concat, add, multiply or "
                                        "average)",
                                        mode->u.str.s);
        s->mode = (enum merge_mode)i;
    }
    if (axis && axis->kind == KURC_INT) {
        s->axis = axis->u.i;
        if (s->mode != MERGE_CONCAT)
            kurc_log_at(KURC_LOG_WARNING, &axis->loc,
                        "%s (merge): 'axis' applies to concat only; it is ignored for %s",
                        c->name, mode_names[s->mode]);
    }
    return KURC_OK;
}

static enum kurc_status merge_build(struct kurc_model *m, struct kurc_container *c,
                                    const int *inputs, int n_inputs, int *out,
                                    struct kurc_err *err) {
    const struct merge *s = c->priv;
    struct kurc_graph *g = m->graph;
    if (n_inputs < 1)
        return kurc_container_error(c, err, "merge needs `inputs`");
    if (n_inputs == 1) {
        *out = inputs[0];
        return KURC_OK;
    }
    const struct kurc_shape *first = kurc_graph_shape(g, inputs[0]);
    int axis = -1;
    if (s->mode == MERGE_CONCAT) {
        int64_t a = s->axis < 0 ? s->axis + first->ndim : s->axis;
        if (a < 0 || a >= first->ndim)
            return kurc_container_error(c, err,
                                        "axis %lld is out of range for inputs with %d axes",
                                        (long long)s->axis, first->ndim);
        axis = (int)a;
    }
    for (int k = 1; k < n_inputs; k++) {
        const struct kurc_shape *sk = kurc_graph_shape(g, inputs[k]);
        bool fits = sk->ndim == first->ndim;
        for (int i = 0; fits && i < sk->ndim; i++)
            fits = i == axis || sk->dim[i] == first->dim[i];
        if (!fits) {
            char a[96], b[96];
            kurc_shape_format(first, a, sizeof a);
            kurc_shape_format(sk, b, sizeof b);
            return kurc_container_error(
                c, err, "cannot %s its inputs: '%s' has shape %s but '%s' has shape %s%s",
                mode_names[s->mode], g->tensors[inputs[0]].name, a, g->tensors[inputs[k]].name,
                b, axis >= 0 ? " (only the concat axis may differ)" : "");
        }
    }
    int y = inputs[0];
    if (s->mode == MERGE_CONCAT) {
        y = kurc_emit_concat(g, inputs, n_inputs, axis, c->name, err);
    } else {
        for (int k = 1; k < n_inputs && y >= 0; k++)
            y = s->mode == MERGE_MULTIPLY ? kurc_emit_mul(g, y, inputs[k], c->name, err)
                                          : kurc_emit_add(g, y, inputs[k], c->name, err);
        if (y >= 0 && s->mode == MERGE_AVERAGE)
            y = kurc_emit_scale(g, y, 1.0f / (float)n_inputs, c->name);
    }
    if (y < 0)
        return kurc_container_error(c, err, "%s", err->msg);
    *out = y;
    return KURC_OK;
}

const struct kurc_container_type kurc_container_merge = {
    .name = "merge",
    .anonymous = true,
    .args = &merge_args,
    .parse = merge_parse,
    .build = merge_build,
    .free_priv = free,
};
