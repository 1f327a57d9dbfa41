/* component.c - finding a component by name and checking its parameters,
 * the entry schemas that do so, and reading parameters (see component.h). */
#include "config/component.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/suggest.h"
#include "base/xalloc.h"

const struct kurc_component *kurc_component_find(const struct kurc_component *const *table,
                                                 const char *name) {
    for (; *table; table++)
        if (strcmp((*table)->name, name) == 0)
            return *table;
    return NULL;
}

enum kurc_status kurc_component_params(const struct kurc_component *c,
                                       const struct kurc_value *given, const char *what,
                                       struct kurc_value **out, struct kurc_err *err) {
    *out = NULL;
    if (given && given->kind == KURC_MAP) {
        *out = kurc_value_copy(given);
        return KURC_OK;
    }
    size_t n_pos = 0;
    while (c->positional && c->positional[n_pos])
        n_pos++;
    const struct kurc_value *const *items = &given;
    size_t count = 1;
    if (!given || given->kind == KURC_NULL) {
        count = 0;
    } else if (given->kind == KURC_LIST) {
        items = (const struct kurc_value *const *)given->u.list.items;
        count = given->u.list.len;
    }
    if (count > n_pos)
        return kurc_err_set(err, KURC_E_CONFIG, &given->loc,
                            "%s takes at most %zu positional parameters, found %zu", what, n_pos,
                            count);
    *out = kurc_value_map(given ? &given->loc : NULL);
    for (size_t i = 0; i < count; i++)
        kurc_map_set(*out, c->positional[i], &items[i]->loc, kurc_value_copy(items[i]));
    return KURC_OK;
}

const struct kurc_value *kurc_param(const struct kurc_value *params, const char *name) {
    const struct kurc_value *v =
        params && params->kind == KURC_MAP ? kurc_map_get(params, name) : NULL;
    return v && v->kind != KURC_NULL ? v : NULL;
}

const char *kurc_param_str(const struct kurc_value *params, const char *name) {
    const struct kurc_value *v = kurc_param(params, name);
    return v && v->kind == KURC_STR ? v->u.str.s : NULL;
}

double kurc_param_number(const struct kurc_value *params, const char *name, double fallback) {
    const struct kurc_value *v = kurc_param(params, name);
    if (v && v->kind == KURC_INT)
        return (double)v->u.i;
    return v && v->kind == KURC_FLOAT ? v->u.f : fallback;
}

bool kurc_param_flag(const struct kurc_value *params, const char *name) {
    const struct kurc_value *v = kurc_param(params, name);
    return v && kurc_value_truthy(v);
}

/* Finds a component by name or reports an unknown one with a suggestion:
 * an error, or with warn_only a warning (then *out is NULL). */
static enum kurc_status find_component(const struct kurc_component *const *table, const char *kind,
                                       const char *name, const struct kurc_loc *loc,
                                       const char *path, bool warn_only,
                                       const struct kurc_component **out, struct kurc_err *err) {
    *out = kurc_component_find(table, name);
    if (*out)
        return KURC_OK;
    size_t n = 0;
    while (table[n])
        n++;
    const char **names = kurc_xcalloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = table[i]->name;
    const char *hint = kurc_suggest(name, names);
    enum kurc_status st;
    if (hint) {
        st = kurc_err_set(err, KURC_E_CONFIG, loc, "%s: unknown %s '%s'; did you mean '%s'?", path,
                          kind, name, hint);
    } else {
        struct kurc_strbuf list = KURC_STRBUF_INIT;
        for (size_t i = 0; i < n; i++)
            kurc_strbuf_printf(&list, "%s%s", i ? ", " : "", names[i]);
        st = kurc_err_set(err, KURC_E_CONFIG, loc, "%s: unknown %s '%s' (expected %s)", path, kind,
                          name, list.data);
        kurc_strbuf_free(&list);
    }
    free(names);
    if (warn_only) {
        kurc_log_at(KURC_LOG_WARNING, loc, "%s; only `kurc train` runs training hooks, so it is "
                    "ignored here", err->msg);
        return KURC_OK;
    }
    return st;
}

/* Checks a component's parameters in any of its accepted forms. */
static enum kurc_status check_params(const struct kurc_component *c, const char *kind,
                                     const struct kurc_value *params, const char *path,
                                     const struct kurc_components *components,
                                     struct kurc_err *err) {
    char what[96];
    snprintf(what, sizeof what, "the %s %s", c->name, kind);
    if (params->kind == KURC_MAP || !c->positional || (c->params->types & (1u << params->kind)))
        return kurc_schema_check_as(params, c->params, path, what, components, err);
    /* Check the mapping form. */
    char *subject = kurc_xasprintf("%s: the %s '%s'", path, kind, c->name);
    struct kurc_value *as_map;
    enum kurc_status st = kurc_component_params(c, params, subject, &as_map, err);
    free(subject);
    if (st == KURC_OK)
        st = kurc_schema_check_as(as_map, c->params, path, what, components, err);
    kurc_value_free(as_map);
    return st;
}

/* A mapping entry naming one component of table among optional extra keys
 * (`when`, `name`); a string names one without parameters.  Without a
 * table only the entry's shape is checked.  With unknown_warns an unknown
 * name is a warning and the entry is not checked further. */
static enum kurc_status
check_named_entry(const struct kurc_value *v, const char *path, const char *kind,
                  const struct kurc_component *const *table, const char *const *extra,
                  bool unknown_warns, const struct kurc_components *components,
                  struct kurc_err *err) {
    const struct kurc_component *c;
    if (v->kind == KURC_STR) {
        enum kurc_status st = table ? find_component(table, kind, v->u.str.s, &v->loc, path,
                                                     unknown_warns, &c, err)
                                    : KURC_OK;
        if (st || !table || !c)
            return st;
        struct kurc_value none = {.kind = KURC_NULL, .loc = v->loc};
        return check_params(c, kind, &none, path, components, err);
    }
    const struct kurc_pair *chosen = NULL;
    for (size_t i = 0; i < v->u.map.len; i++) {
        const struct kurc_pair *p = &v->u.map.pairs[i];
        bool is_extra = false;
        for (const char *const *e = extra; *e && !is_extra; e++)
            is_extra = strcmp(*e, p->key) == 0;
        if (is_extra)
            continue;
        if (chosen)
            return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                "%s: an entry names one %s, found '%s' and '%s'", path, kind,
                                chosen->key, p->key);
        chosen = p;
    }
    if (!chosen)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "%s: the entry names no %s", path, kind);
    enum kurc_status st = KURC_OK;
    if (table) {
        st = find_component(table, kind, chosen->key, &chosen->key_loc, path, unknown_warns, &c,
                            err);
        char *sub = kurc_schema_path_key(path, chosen->key);
        if (st == KURC_OK && c)
            st = check_params(c, kind, chosen->val, sub, components, err);
        free(sub);
    }
    if (st == KURC_OK) {
        const struct kurc_value *name = kurc_map_get(v, "name");
        if (name && name->kind != KURC_STR && name->kind != KURC_NULL)
            st = kurc_schema_check(name, &kurc_schema_string_or_null, path, components, err);
    }
    return st;
}

static enum kurc_status check_supplier(const struct kurc_value *v, const char *path,
                                       const struct kurc_components *components,
                                       struct kurc_err *err) {
    return check_named_entry(v, path, "supplier", components ? components->suppliers : NULL,
                             KURC_NAMES("when", "name"), false, components, err);
}

/* A hook entry, `NAME` or {NAME: params, when: EXPR}, of the training
 * hooks or of the evaluation hooks.  An unknown training hook is only a
 * warning where components say so (commands other than train). */
static enum kurc_status check_hook(const struct kurc_value *v, const char *path, bool training,
                                   const struct kurc_components *components, struct kurc_err *err) {
    const struct kurc_component *const *table = NULL;
    if (components)
        table = training ? components->training_hooks : components->evaluation_hooks;
    return check_named_entry(v, path, training ? "training hook" : "evaluation hook", table,
                             KURC_NAMES("when"),
                             training && components && components->unknown_training_hooks_warn,
                             components, err);
}

static enum kurc_status check_training_hook(const struct kurc_value *v, const char *path,
                                            const struct kurc_components *components,
                                            struct kurc_err *err) {
    return check_hook(v, path, true, components, err);
}

static enum kurc_status check_evaluation_hook(const struct kurc_value *v, const char *path,
                                              const struct kurc_components *components,
                                              struct kurc_err *err) {
    return check_hook(v, path, false, components, err);
}

const struct kurc_schema kurc_schema_supplier_entry = {.types = KT_MAP, .check = check_supplier};
const struct kurc_schema kurc_schema_training_hook = {.types = KT_STR | KT_MAP,
                                                      .check = check_training_hook};
const struct kurc_schema kurc_schema_evaluation_hook = {.types = KT_STR | KT_MAP,
                                                        .check = check_evaluation_hook};

/* Checks a mapping of a component's parameters that names the component
 * itself (an optimizer, a loss) against that component's schema. */
static enum kurc_status check_named_by(const struct kurc_value *v, const char *path,
                                       const char *kind, const struct kurc_component *const *table,
                                       const char *name, const struct kurc_loc *name_loc,
                                       const struct kurc_components *components,
                                       struct kurc_err *err) {
    const struct kurc_component *c;
    enum kurc_status st = find_component(table, kind, name, name_loc, path, false, &c, err);
    if (st || v->kind != KURC_MAP)
        return st;
    char what[64];
    snprintf(what, sizeof what, "the %s %s", c->name, kind);
    return kurc_schema_check_as(v, c->params, path, what, components, err);
}

/* optimizer: a name, or a mapping whose `name` (default: the components'
 * default optimizer) picks the parameter table. */
static enum kurc_status check_optimizer(const struct kurc_value *v, const char *path,
                                        const struct kurc_components *components,
                                        struct kurc_err *err) {
    if (v->kind == KURC_NULL)
        return KURC_OK;
    const struct kurc_value *name = v->kind == KURC_STR ? v : kurc_map_get(v, "name");
    if (name && name->kind != KURC_STR)
        return kurc_schema_check(name, &kurc_schema_string, path, components, err);
    if (!components)
        return KURC_OK;
    return check_named_by(v, path, "optimizer", components->optimizers,
                          name ? name->u.str.s : components->default_optimizer,
                          name ? &name->loc : &v->loc, components, err);
}

const struct kurc_schema kurc_schema_optimizer = {.types = KT_STR | KT_MAP | KT_NULL,
                                                  .check = check_optimizer};

static enum kurc_status check_loss(const struct kurc_value *v, const char *path,
                                   const struct kurc_components *components, struct kurc_err *err) {
    const struct kurc_value *name = kurc_map_get(v, "name");
    if (!name)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "%s: missing required key 'name'", path);
    if (name->kind != KURC_STR) {
        char *sub = kurc_schema_path_key(path, "name");
        enum kurc_status st = kurc_schema_check(name, &kurc_schema_string, sub, components, err);
        free(sub);
        return st;
    }
    if (!components)
        return KURC_OK;
    return check_named_by(v, path, "loss", components->losses, name->u.str.s, &name->loc,
                          components, err);
}

const struct kurc_schema kurc_schema_loss_entry = {.types = KT_MAP, .check = check_loss};
