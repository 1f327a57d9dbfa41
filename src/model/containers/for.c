/* for.c - `for`: {range: N, with_index: NAME (default index), iterate:
 * [containers...]}.  Parses the `iterate` list N times, with the iteration
 * number (0-based) in scope as NAME; each copy is a new set of children
 * with their own names and weights.  range is evaluated once and must be
 * a non-negative integer ("{{ cnn.kernels|length }}" works) no larger than
 * the containers a model may hold. */
#include <stdlib.h>

#include "config/engine.h"
#include "model/args.h"
#include "model/containers/children.h"
#include "model/model.h"

static const struct kurc_schema for_args = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"range", NULL, true},
            {"with_index", NULL},
            {"iterate", NULL, true},
            {NULL},
        },
};

static enum kurc_status for_parse(struct kurc_model *m, struct kurc_container *c,
                                  struct kurc_err *err) {
    struct kurc_value *range = NULL, *name = NULL, *entries = NULL;
    int64_t count = 0;
    enum kurc_status st =
        kurc_engine_evaluate(m->engine, kurc_map_get(c->args, "range"), false, &range, err);
    if (!st)
        st = kurc_arg_int(c, range, "range", 0, &count, err);
    if (!st && count > KURC_MODEL_MAX_CONTAINERS)
        st = kurc_container_error(c, err, "'range' is %lld, more than a model may hold (%d)",
                                  (long long)count, KURC_MODEL_MAX_CONTAINERS);
    if (!st)
        st = kurc_loop_var_name(m, c, "with_index", "index", &name, err);
    if (!st)
        st = kurc_children_entries(m, c, kurc_map_get(c->args, "iterate"), "iterate", &entries,
                                   err);
    for (int64_t i = 0; i < count && !st; i++) {
        struct kurc_value *index = kurc_value_int(i, &c->loc);
        kurc_engine_push_var(m->engine, name->u.str.s, index);
        kurc_value_free(index);
        st = kurc_children_parse(m, c, entries, err);
        kurc_engine_pop(m->engine);
    }
    kurc_value_free(range);
    kurc_value_free(name);
    kurc_value_free(entries);
    return st;
}

const struct kurc_container_type kurc_container_for = {
    .name = "for",
    .operator = true,
    .raw_args = true,
    .args = &for_args,
    .parse = for_parse,
};
