/* args.c - argument readers shared by the containers. */
#include "model/args.h"

#include <math.h>
#include <string.h>

enum kurc_status kurc_arg_int(const struct kurc_container *c, const struct kurc_value *v,
                              const char *what, int64_t min, int64_t *out, struct kurc_err *err) {
    int64_t value;
    if (v->kind == KURC_INT) {
        value = v->u.i;
    } else if (v->kind == KURC_FLOAT && fabs(v->u.f) < 9.0e18 && v->u.f == floor(v->u.f)) {
        value = (int64_t)v->u.f;
    } else {
        return kurc_container_error(c, err, "'%s' must be an integer, found %s", what,
                                    kurc_kind_phrase(v->kind));
    }
    if (value < min)
        return kurc_container_error(c, err, "'%s' must be at least %lld, found %lld", what,
                                    (long long)min, (long long)value);
    *out = value;
    return KURC_OK;
}

enum kurc_status kurc_arg_ints(const struct kurc_container *c, const struct kurc_value *v,
                               const char *what, int max_len, int64_t min, int repeat,
                               int64_t *out, int *n, struct kurc_err *err) {
    if (v->kind != KURC_LIST) {
        enum kurc_status st = kurc_arg_int(c, v, what, min, out, err);
        if (st)
            return st;
        *n = repeat > 0 ? repeat : 1;
        for (int i = 1; i < *n; i++)
            out[i] = out[0];
        return KURC_OK;
    }
    if (v->u.list.len < 1 || (int)v->u.list.len > max_len)
        return kurc_container_error(c, err, "'%s' must list 1 to %d integers, found %zu", what,
                                    max_len, v->u.list.len);
    for (size_t i = 0; i < v->u.list.len; i++) {
        enum kurc_status st = kurc_arg_int(c, v->u.list.items[i], what, min, &out[i], err);
        if (st)
            return st;
    }
    *n = (int)v->u.list.len;
    return KURC_OK;
}

const char *const kurc_activation_names[] = {
    "linear",   "none",     "relu", "tanh", "sigmoid", "hard_sigmoid", "softplus",
    "softsign", "elu",      "selu", "leakyrelu", "softmax", NULL,
};

bool kurc_activation_lookup(const char *name, enum kurc_act *act, bool *softmax, float *alpha) {
    static const struct {
        const char *name;
        enum kurc_act act;
        float alpha;
    } table[] = {
        {"linear", KURC_ACT_LINEAR, 0},     {"none", KURC_ACT_LINEAR, 0},
        {"relu", KURC_ACT_RELU, 0},         {"tanh", KURC_ACT_TANH, 0},
        {"sigmoid", KURC_ACT_SIGMOID, 0},   {"hard_sigmoid", KURC_ACT_HARD_SIGMOID, 0},
        {"softplus", KURC_ACT_SOFTPLUS, 0}, {"softsign", KURC_ACT_SOFTSIGN, 0},
        {"elu", KURC_ACT_ELU, 1.0f},        {"selu", KURC_ACT_SELU, 0},
        {"leakyrelu", KURC_ACT_LEAKY_RELU, 0.3f},
    };
    *softmax = strcmp(name, "softmax") == 0;
    *act = KURC_ACT_LINEAR;
    *alpha = 0;
    if (*softmax)
        return true;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *act = table[i].act;
            *alpha = table[i].alpha;
            return true;
        }
    }
    return false;
}
