/* meta.c - template instances (Kur's Meta container).  A model entry whose
 * key names a template of the Kurfile's `templates` section,
 * `- NAME: {arg: value, ...}`, parses the template's containers as its
 * children with, in scope: `args` (the evaluated argument mapping),
 * `inputs` (the entry's explicit `inputs`, else a list holding the most
 * recently registered container, else an empty list) and, above those,
 * every argument by its own name (so an argument may shadow `inputs`).
 * Each template entry is evaluated in that scope before it is parsed.
 *
 * Templates cannot shadow built-in containers or generic keys (the model
 * parser refuses such a template), and a template cannot instantiate
 * itself, directly or through other templates. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/engine.h"
#include "model/containers/children.h"
#include "model/model.h"

static const struct kurc_schema meta_args = {.types = KT_MAP | KT_NULL};

static enum kurc_status meta_parse(struct kurc_model *m, struct kurc_container *c,
                                   struct kurc_err *err) {
    const char *name = NULL;
    const struct kurc_value *tmpl = NULL;
    for (size_t i = 0; i < c->entry->u.map.len && !tmpl; i++) {
        name = c->entry->u.map.pairs[i].key;
        tmpl = kurc_engine_template(m->engine, name);
    }
    if (!tmpl)
        return kurc_container_error(c, err,
                                    "names no template; a template instance is an entry whose "
                                    "key is a name from the `templates` section");
    c->priv = kurc_xstrdup(name);
    for (const struct kurc_container *a = c->parent; a; a = a->parent)
        if (a->type == c->type && strcmp(a->priv, name) == 0)
            return kurc_container_error(c, err,
                                        "the template '%s' instantiates itself (inside '%s')",
                                        name, a->name);
    /* {args: ARGS, inputs: [...]}, then ARGS flattened on top */
    struct kurc_value *outer = kurc_value_map(&c->loc);
    struct kurc_value *args =
        c->args && c->args->kind == KURC_MAP ? kurc_value_copy(c->args) : kurc_value_map(&c->loc);
    struct kurc_value *inputs = kurc_value_list(&c->loc);
    if (c->n_inputs) {
        for (size_t i = 0; i < c->n_inputs; i++)
            kurc_list_append(inputs, kurc_value_str(c->inputs[i], &c->loc));
    } else {
        const struct kurc_value *layers = kurc_engine_lookup(m->engine, "layers");
        if (layers && layers->kind == KURC_LIST && layers->u.list.len)
            kurc_list_append(inputs, kurc_value_copy(layers->u.list.items[layers->u.list.len - 1]));
    }
    kurc_map_set(outer, "args", NULL, kurc_value_copy(args));
    kurc_map_set(outer, "inputs", NULL, inputs);
    kurc_engine_push_owned(m->engine, outer);
    kurc_engine_push_owned(m->engine, args);
    struct kurc_value *entries;
    enum kurc_status st = kurc_children_entries(m, c, tmpl, "template", &entries, err);
    if (!st) {
        st = kurc_children_parse(m, c, entries, err);
        kurc_value_free(entries);
    }
    kurc_engine_pop(m->engine);
    kurc_engine_pop(m->engine);
    return st;
}

const struct kurc_container_type kurc_container_meta = {
    .name = "meta",
    .operator = true,
    .anonymous = true,
    .args = &meta_args,
    .parse = meta_parse,
    .free_priv = free,
};
