/* for_each.c - `for_each` (also spelled `each`): {items: [...], loop_var:
 * NAME (default item), iterate: [containers...]}.  items is evaluated
 * once and must be a list; for each item, evaluated again (recursively),
 * the `iterate` list is parsed with the item in scope as NAME. */
#include <stdlib.h>

#include "config/engine.h"
#include "model/containers/children.h"
#include "model/model.h"

static const struct kurc_schema for_each_args = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"items", NULL, true},
            {"loop_var", NULL},
            {"iterate", NULL, true},
            {NULL},
        },
};

static enum kurc_status for_each_parse(struct kurc_model *m, struct kurc_container *c,
                                       struct kurc_err *err) {
    struct kurc_value *items = NULL, *name = NULL, *entries = NULL;
    enum kurc_status st =
        kurc_engine_evaluate(m->engine, kurc_map_get(c->args, "items"), false, &items, err);
    if (!st && items->kind != KURC_LIST)
        st = kurc_container_error(c, err, "'items' must be a list, found %s",
                                  kurc_kind_phrase(items->kind));
    if (!st)
        st = kurc_loop_var_name(m, c, "loop_var", "item", &name, err);
    if (!st)
        st = kurc_children_entries(m, c, kurc_map_get(c->args, "iterate"), "iterate", &entries,
                                   err);
    for (size_t i = 0; !st && i < items->u.list.len; i++) {
        struct kurc_value *item;
        if ((st = kurc_engine_evaluate(m->engine, items->u.list.items[i], true, &item, err)))
            break;
        kurc_engine_push_var(m->engine, name->u.str.s, item);
        kurc_value_free(item);
        st = kurc_children_parse(m, c, entries, err);
        kurc_engine_pop(m->engine);
    }
    kurc_value_free(items);
    kurc_value_free(name);
    kurc_value_free(entries);
    return st;
}

const struct kurc_container_type kurc_container_for_each = {
    .name = "for_each",
    .operator = true,
    .raw_args = true,
    .args = &for_each_args,
    .parse = for_each_parse,
};

const struct kurc_container_type kurc_container_each = {
    .name = "each",
    .operator = true,
    .raw_args = true,
    .args = &for_each_args,
    .parse = for_each_parse,
};
