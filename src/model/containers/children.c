/* children.c - parsing operators' children and applying a container's
 * layers in sequence (see children.h). */
#include "model/containers/children.h"

#include <string.h>

#include "config/engine.h"

enum kurc_status kurc_children_entries(struct kurc_model *m, const struct kurc_container *c,
                                       const struct kurc_value *raw, const char *what,
                                       struct kurc_value **out, struct kurc_err *err) {
    struct kurc_value *v;
    enum kurc_status st = kurc_engine_evaluate(m->engine, raw, false, &v, err);
    if (st)
        return st;
    if (v->kind == KURC_MAP || v->kind == KURC_STR) {
        struct kurc_value *list = kurc_value_list(&v->loc);
        kurc_list_append(list, v);
        v = list;
    } else if (v->kind != KURC_LIST) {
        st = kurc_container_error(c, err, "'%s' must be a list of containers, found %s", what,
                                  kurc_kind_phrase(v->kind));
        kurc_value_free(v);
        return st;
    }
    *out = v;
    return KURC_OK;
}

enum kurc_status kurc_children_parse(struct kurc_model *m, struct kurc_container *c,
                                     const struct kurc_value *entries, struct kurc_err *err) {
    for (size_t i = 0; i < entries->u.list.len; i++) {
        enum kurc_status st = kurc_model_parse_child(m, c, entries->u.list.items[i], err);
        if (st)
            return st;
    }
    return KURC_OK;
}

enum kurc_status kurc_loop_var_name(struct kurc_model *m, struct kurc_container *c,
                                    const char *key, const char *fallback,
                                    struct kurc_value **out, struct kurc_err *err) {
    const struct kurc_value *raw = kurc_map_get(c->args, key);
    if (!raw) {
        *out = kurc_value_str(fallback, &c->loc);
        return KURC_OK;
    }
    enum kurc_status st = kurc_engine_evaluate(m->engine, raw, false, out, err);
    if (st)
        return st;
    if ((*out)->kind != KURC_STR || !(*out)->u.str.len) {
        st = kurc_container_error(c, err, "'%s' must be a variable name, found %s", key,
                                  kurc_kind_phrase((*out)->kind));
        kurc_value_free(*out);
        *out = NULL;
    }
    return st;
}

/* True when c or one of its ancestors has `when` false. */
static bool kurc_container_suppressed(const struct kurc_container *c) {
    for (; c; c = c->parent)
        if (!c->when)
            return true;
    return false;
}

/* The tensors flowing through a chain. */
struct chain {
    int t[KURC_OP_MAX_INPUTS];
    int n;
};

static enum kurc_status apply(struct kurc_model *m, struct kurc_container *c, struct chain *x,
                              struct kurc_err *err) {
    if (c->type->operator) {
        for (size_t i = 0; i < c->n_children; i++) {
            enum kurc_status st = apply(m, c->children[i], x, err);
            if (st)
                return st;
        }
        return KURC_OK;
    }
    if (strcmp(c->type->name, "input") == 0)
        return kurc_container_error(c, err, "an input cannot be applied inside another layer");
    if (c->type->passthrough || kurc_container_suppressed(c)) {
        if (x->n != 1)
            return kurc_container_error(c, err,
                                        "a container that makes no layer needs exactly one "
                                        "input, found %d",
                                        x->n);
        return KURC_OK;
    }
    int y = -1;
    enum kurc_status st = c->type->build(m, c, x->t, x->n, &y, err);
    if (st)
        return st;
    x->t[0] = y;
    x->n = 1;
    return KURC_OK;
}

enum kurc_status kurc_container_apply(struct kurc_model *m, struct kurc_container *c,
                                      const int *inputs, int n_inputs, int *out,
                                      struct kurc_err *err) {
    struct chain x = {.n = n_inputs};
    if (n_inputs < 1 || n_inputs > KURC_OP_MAX_INPUTS)
        return kurc_container_error(c, err, "needs 1 to %d inputs, found %d", KURC_OP_MAX_INPUTS,
                                    n_inputs);
    memcpy(x.t, inputs, (size_t)n_inputs * sizeof *inputs);
    enum kurc_status st = apply(m, c, &x, err);
    if (st)
        return st;
    if (x.n != 1)
        return kurc_container_error(c, err,
                                    "makes no layer, so it needs exactly one input, found %d",
                                    x.n);
    *out = x.t[0];
    return KURC_OK;
}
