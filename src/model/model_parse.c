/* model_parse.c - model entries to containers, in Kur's order and scopes
 * (see model.h): the generic keys, the arguments, the type's parse, and the
 * registration with the template engine. */
#include "model/model.h"

#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/suggest.h"
#include "base/xalloc.h"
#include "config/engine.h"

static const char *const generic_keys[] = {"name",   "tag",  "oldest", "inputs",
                                           "sink",   "freeze", "when", NULL};

bool kurc_container_frozen(const struct kurc_container *c) {
    for (; c; c = c->parent)
        if (c->freeze >= 0)
            return c->freeze == 1;
    return false;
}

enum kurc_status kurc_container_error(const struct kurc_container *c, struct kurc_err *err,
                                      const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return kurc_err_set(err, KURC_E_CONFIG, &c->loc, "%s (%s): %s", c->name ? c->name : "?",
                        c->type ? c->type->name : "container", msg);
}

static void free_strings(char **list, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void container_free(struct kurc_container *c) {
    if (c->type && c->type->free_priv && c->priv)
        c->type->free_priv(c->priv);
    free(c->children);
    free(c->name);
    free_strings(c->tags, c->n_tags);
    free_strings(c->oldest, c->n_oldest);
    free_strings(c->inputs, c->n_inputs);
    kurc_value_free(c->entry);
    kurc_value_free(c->args);
    free(c);
}

void kurc_model_free(struct kurc_model *m) {
    if (!m)
        return;
    for (size_t i = 0; i < m->n_all; i++)
        container_free(m->all[i]);
    free(m->all);
    if (m->by_name)
        g_hash_table_destroy(m->by_name);
    free(m->roots);
    for (size_t i = 0; i < m->n_nodes; i++) {
        free(m->nodes[i].names);
        free(m->nodes[i].inputs);
    }
    free(m->nodes);
    free(m->inputs);
    free(m->outputs);
    kurc_feeds_release(m->feeds, m->n_feeds);
    kurc_params_release(&m->params);
    kurc_graph_free(m->graph);
    free(m);
}

struct kurc_container *kurc_model_find(const struct kurc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t k = 0; k < m->nodes[i].n_names; k++)
            if (strcmp(m->nodes[i].names[k], name) == 0)
                return m->nodes[i].c;
    return m->by_name ? g_hash_table_lookup(m->by_name, name) : NULL;
}

/* Evaluates v through the engine. */
static enum kurc_status evaluate(struct kurc_model *m, const struct kurc_value *v, bool recursive,
                                 struct kurc_value **out, struct kurc_err *err) {
    return kurc_engine_evaluate(m->engine, v, recursive, out, err);
}

/* Evaluates (recursively) the generic key `key` of c's entry: *raw is its
 * value as written, *v the result; both NULL when the entry lacks it. */
static enum kurc_status evaluate_key(struct kurc_model *m, const struct kurc_container *c,
                                     const char *key, const struct kurc_value **raw,
                                     struct kurc_value **v, struct kurc_err *err) {
    *raw = kurc_map_get(c->entry, key);
    *v = NULL;
    return *raw ? evaluate(m, *raw, true, v, err) : KURC_OK;
}

/* A string or a list of strings (tag, oldest, inputs) as a string array. */
static enum kurc_status string_list(struct kurc_model *m, struct kurc_container *c,
                                    const char *key, char ***list, size_t *n,
                                    struct kurc_err *err) {
    const struct kurc_value *raw;
    struct kurc_value *v;
    *list = NULL;
    *n = 0;
    enum kurc_status st = evaluate_key(m, c, key, &raw, &v, err);
    if (st || !v)
        return st;
    const struct kurc_value *const *items = (const struct kurc_value *const *)&v;
    size_t count = 1;
    if (v->kind == KURC_LIST) {
        items = (const struct kurc_value *const *)v->u.list.items;
        count = v->u.list.len;
    } else if (v->kind == KURC_NULL) {
        count = 0;
    }
    for (size_t i = 0; i < count && st == KURC_OK; i++) {
        if (items[i]->kind != KURC_STR) {
            st = kurc_err_set(err, KURC_E_CONFIG, &raw->loc,
                              "%s: '%s' must be a name or a list of names, found %s", c->name, key,
                              kurc_kind_phrase(items[i]->kind));
            break;
        }
        *list = kurc_xrealloc(*list, (*n + 1) * sizeof **list);
        (*list)[(*n)++] = kurc_xstrdup(items[i]->u.str.s);
    }
    kurc_value_free(v);
    return st;
}

/* sink, freeze: booleans (sink also takes yes/no/true/false/on/off
 * strings, as Kur did). */
static enum kurc_status flag(struct kurc_model *m, struct kurc_container *c, const char *key,
                             int *out, struct kurc_err *err) {
    const struct kurc_value *raw;
    struct kurc_value *v;
    enum kurc_status st = evaluate_key(m, c, key, &raw, &v, err);
    if (st || !v)
        return st;
    if (v->kind == KURC_BOOL) {
        *out = v->u.b;
    } else if (v->kind == KURC_NULL && strcmp(key, "freeze") == 0) {
        *out = -1;
    } else if (v->kind == KURC_STR && strcmp(key, "sink") == 0 &&
               (!strcmp(v->u.str.s, "yes") || !strcmp(v->u.str.s, "true") ||
                !strcmp(v->u.str.s, "on") || !strcmp(v->u.str.s, "no") ||
                !strcmp(v->u.str.s, "false") || !strcmp(v->u.str.s, "off"))) {
        *out = !strcmp(v->u.str.s, "yes") || !strcmp(v->u.str.s, "true") ||
               !strcmp(v->u.str.s, "on");
    } else {
        st = kurc_err_set(err, KURC_E_CONFIG, &raw->loc, "%s: '%s' must be yes or no, found %s",
                          c->name, key, kurc_kind_phrase(v->kind));
    }
    kurc_value_free(v);
    return st;
}

static char *auto_name(struct kurc_model *m, const char *type) {
    size_t i = 0;
    while (i < m->n_counters && strcmp(m->counters[i].type, type) != 0)
        i++;
    if (i == m->n_counters && i < sizeof m->counters / sizeof m->counters[0]) {
        m->counters[i].type = type;
        m->counters[i].count = 0;
        m->n_counters++;
    }
    return kurc_xasprintf("..%s.%d", type, m->counters[i].count++);
}

/* Finds the container type an entry names (exactly one type key, or else
 * one template name, whose type is "meta"); *key is that key. */
static enum kurc_status find_type(struct kurc_model *m, const struct kurc_value *entry,
                                  const struct kurc_container_type **type, const char **key,
                                  struct kurc_err *err) {
    *type = NULL;
    *key = NULL;
    const struct kurc_pair *found = NULL;
    for (size_t i = 0; i < entry->u.map.len; i++) {
        const struct kurc_pair *p = &entry->u.map.pairs[i];
        const struct kurc_container_type *t = kurc_container_type_find(p->key);
        bool is_template = !t && kurc_engine_template(m->engine, p->key);
        if (!t && !is_template)
            continue;
        if (found)
            return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                "a model entry names one container, found '%s' and '%s'",
                                found->key, p->key);
        found = p;
        *type = t ? t : kurc_container_type_find("meta");
    }
    if (found) {
        *key = found->key;
        return KURC_OK;
    }
    /* Nothing known: suggest the closest type or template for the first
     * key that is not a generic one. */
    for (size_t i = 0; i < entry->u.map.len; i++) {
        const struct kurc_pair *p = &entry->u.map.pairs[i];
        bool generic = false;
        for (const char *const *g = generic_keys; *g && !generic; g++)
            generic = strcmp(*g, p->key) == 0;
        if (generic)
            continue;
        const char *names[128];
        size_t n = 0;
        for (const struct kurc_container_type *const *t = kurc_container_types(); *t && n < 100;
             t++)
            if (strcmp((*t)->name, "meta") != 0)
                names[n++] = (*t)->name;
        const struct kurc_value *tmpl = m->kf->data ? kurc_map_get(m->kf->data, "templates") : NULL;
        for (size_t j = 0; tmpl && tmpl->kind == KURC_MAP && j < tmpl->u.map.len && n < 127; j++)
            names[n++] = tmpl->u.map.pairs[j].key;
        names[n] = NULL;
        const char *hint = kurc_suggest(p->key, names);
        if (hint)
            return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                "unknown container '%s'; did you mean '%s'?", p->key, hint);
        return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                            "unknown container '%s' (not a layer, an operator or a template)",
                            p->key);
    }
    return kurc_err_set(err, KURC_E_CONFIG, &entry->loc,
                        "a model entry needs a container, such as `- dense: 10`");
}

/* Checks that every key of the entry is its type key or a generic key. */
static enum kurc_status check_entry_keys(const struct kurc_value *entry, const char *type_key,
                                         struct kurc_err *err) {
    for (size_t i = 0; i < entry->u.map.len; i++) {
        const struct kurc_pair *p = &entry->u.map.pairs[i];
        if (strcmp(p->key, type_key) == 0)
            continue;
        bool generic = false;
        for (const char *const *g = generic_keys; *g && !generic; g++)
            generic = strcmp(*g, p->key) == 0;
        if (!generic) {
            const char *hint = kurc_suggest(p->key, generic_keys);
            return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                "unknown key '%s' in a '%s' entry%s%s%s (entries take name, tag, "
                                "oldest, inputs, sink, freeze and when)",
                                p->key, type_key, hint ? "; did you mean '" : "",
                                hint ? hint : "", hint ? "'?" : "");
        }
    }
    return KURC_OK;
}

static enum kurc_status register_container(struct kurc_model *m, struct kurc_container *c,
                                           struct kurc_err *err) {
    if (!m->by_name)
        m->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    const struct kurc_container *other = g_hash_table_lookup(m->by_name, c->name);
    if (other)
        return kurc_err_set(err, KURC_E_CONFIG, &c->loc,
                            "the name '%s' is already used by the %s container at line %d",
                            c->name, other->type->name, other->loc.line);
    g_hash_table_insert(m->by_name, c->name, c); /* the key is the container's own name */
    kurc_engine_register(m->engine, c->name, (const char *const *)c->tags, c->n_tags,
                         (const char *const *)c->oldest, c->n_oldest);
    return KURC_OK;
}

/* The generic keys and arguments of a new container (Kur's _parse_pre and
 * _parse_core). */
static enum kurc_status parse_core(struct kurc_model *m, struct kurc_container *c,
                                   const char *type_key, struct kurc_err *err) {
    const struct kurc_value *raw_args = kurc_map_get(c->entry, type_key);
    enum kurc_status st;
    /* `input: NAME` names the container (a `name:` key wins, as in Kur). */
    if (c->type->named_by_args && raw_args) {
        struct kurc_value *v;
        if ((st = evaluate(m, raw_args, false, &v, err)))
            return st;
        if (v->kind == KURC_STR && !kurc_map_get(c->entry, "name"))
            c->name = kurc_xstrdup(v->u.str.s);
        kurc_value_free(v);
    }
    if ((st = string_list(m, c, "tag", &c->tags, &c->n_tags, err)))
        return st;
    if (!c->name) {
        const struct kurc_value *name = kurc_map_get(c->entry, "name");
        if (name) {
            struct kurc_value *v;
            if ((st = evaluate(m, name, false, &v, err)))
                return st;
            if (v->kind != KURC_STR) {
                st = kurc_err_set(err, KURC_E_CONFIG, &name->loc,
                                  "a container's name must be a string, found %s",
                                  kurc_kind_phrase(v->kind));
                kurc_value_free(v);
                return st;
            }
            c->name = kurc_xstrdup(v->u.str.s);
            kurc_value_free(v);
        } else {
            c->name = auto_name(m, c->type->name);
            c->auto_named = true;
        }
    }
    if ((st = string_list(m, c, "oldest", &c->oldest, &c->n_oldest, err)))
        return st;
    if ((st = string_list(m, c, "inputs", &c->inputs, &c->n_inputs, err)))
        return st;
    int sink = 0;
    if ((st = flag(m, c, "sink", &sink, err)) || (st = flag(m, c, "freeze", &c->freeze, err)))
        return st;
    c->sink = sink;
    const struct kurc_value *when;
    struct kurc_value *v;
    if ((st = evaluate_key(m, c, "when", &when, &v, err)))
        return st;
    c->when = !v || kurc_value_truthy(v);
    kurc_value_free(v);
    if (!raw_args || (raw_args->kind == KURC_NULL && !c->type->raw_args)) {
        c->args = raw_args ? kurc_value_copy(raw_args) : NULL;
    } else if (c->type->raw_args) {
        c->args = kurc_value_copy(raw_args);
    } else if ((st = evaluate(m, raw_args, true, &c->args, err))) {
        return st;
    }
    if (c->args && (c->type->ignored & (1u << c->args->kind))) {
        kurc_log_at(KURC_LOG_WARNING, &c->args->loc,
                    "%s (%s): ignoring %s, as Kur did", c->name, c->type->name,
                    kurc_kind_phrase(c->args->kind));
        kurc_value_free(c->args);
        c->args = NULL;
    }
    if (c->type->args && c->args) {
        char path[256];
        snprintf(path, sizeof path, "%s (%s)", c->name, c->type->name);
        if ((st = kurc_schema_check(c->args, c->type->args, path, NULL, err)))
            return st;
    } else if (!c->args && !c->type->anonymous && c->type->args &&
               !(c->type->args->types & KT_NULL)) {
        return kurc_container_error(c, err, "'%s' needs arguments", c->type->name);
    }
    return KURC_OK;
}

/* Makes and parses one container from a model entry. */
static enum kurc_status parse_entry(struct kurc_model *m, struct kurc_container *parent,
                                    const struct kurc_value *raw, struct kurc_container **out,
                                    struct kurc_err *err) {
    struct kurc_value *entry = NULL;
    enum kurc_status st;
    if (raw->kind == KURC_STR) {
        /* `- flatten` or `- "{{ ... }}"`: evaluated, a name means {name: null} */
        if ((st = evaluate(m, raw, false, &entry, err)))
            return st;
        if (entry->kind == KURC_STR) {
            struct kurc_value *map = kurc_value_map(&raw->loc);
            kurc_map_set(map, entry->u.str.s, &raw->loc, kurc_value_null(&raw->loc));
            kurc_value_free(entry);
            entry = map;
        }
    } else {
        entry = kurc_value_copy(raw);
    }
    if (entry->kind != KURC_MAP) {
        st = kurc_err_set(err, KURC_E_CONFIG, &raw->loc,
                          "a model entry must be a mapping such as `- dense: 10`, found %s",
                          kurc_kind_phrase(entry->kind));
        kurc_value_free(entry);
        return st;
    }
    const struct kurc_container_type *type;
    const char *key;
    if ((st = find_type(m, entry, &type, &key, err)) ||
        (st = check_entry_keys(entry, key, err))) {
        kurc_value_free(entry);
        return st;
    }
    if (m->n_all >= KURC_MODEL_MAX_CONTAINERS) {
        kurc_value_free(entry);
        return kurc_err_set(err, KURC_E_CONFIG, &raw->loc,
                            "the model has more than %d containers (a loop too long?)",
                            KURC_MODEL_MAX_CONTAINERS);
    }
    struct kurc_container *c = kurc_xcalloc(1, sizeof *c);
    c->type = type;
    c->parent = parent;
    c->freeze = -1;
    c->loc = raw->loc;
    c->entry = entry;
    m->all = kurc_xrealloc(m->all, (m->n_all + 1) * sizeof *m->all);
    m->all[m->n_all++] = c;
    if (parent) {
        parent->children =
            kurc_xrealloc(parent->children, (parent->n_children + 1) * sizeof *parent->children);
        parent->children[parent->n_children++] = c;
    }
    *out = c;
    /* templates see their own key; everything else its type name */
    if ((st = parse_core(m, c, key, err)))
        return st;
    if (type->parse && (st = type->parse(m, c, err)))
        return st;
    return register_container(m, c, err);
}

enum kurc_status kurc_model_parse_child(struct kurc_model *m, struct kurc_container *parent,
                                        const struct kurc_value *entry, struct kurc_err *err) {
    struct kurc_container *child;
    return parse_entry(m, parent, entry, &child, err);
}

enum kurc_status kurc_model_assemble(struct kurc_model *m, struct kurc_err *err);

/* A template may not take the name of a container type or a generic key:
 * an entry with that key would be ambiguous. */
static enum kurc_status check_templates(const struct kurc_kurfile *kf, struct kurc_err *err) {
    const struct kurc_value *tmpl = kf->data ? kurc_map_get(kf->data, "templates") : NULL;
    for (size_t i = 0; tmpl && tmpl->kind == KURC_MAP && i < tmpl->u.map.len; i++) {
        const struct kurc_pair *p = &tmpl->u.map.pairs[i];
        bool generic = false;
        for (const char *const *g = generic_keys; *g && !generic; g++)
            generic = strcmp(*g, p->key) == 0;
        if (generic || kurc_container_type_find(p->key))
            return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                "the template '%s' has the name of a built-in %s; rename the "
                                "template",
                                p->key, generic ? "container key" : "container");
    }
    return KURC_OK;
}

enum kurc_status kurc_model_parse(struct kurc_kurfile *kf, uint64_t seed, struct kurc_model **out,
                                  struct kurc_err *err) {
    struct kurc_model *m = kurc_xcalloc(1, sizeof *m);
    m->kf = kf;
    m->engine = kf->engine;
    m->seed = seed;
    kurc_params_init(&m->params);
    *out = NULL;
    const struct kurc_value *section = kurc_kurfile_section(kf, "model");
    enum kurc_status st = check_templates(kf, err);
    for (size_t i = 0; section && i < section->u.list.len && st == KURC_OK; i++) {
        struct kurc_container *c = NULL;
        st = parse_entry(m, NULL, section->u.list.items[i], &c, err);
        if (c) {
            m->roots = kurc_xrealloc(m->roots, (m->n_roots + 1) * sizeof *m->roots);
            m->roots[m->n_roots++] = c;
        }
    }
    if (st == KURC_OK)
        st = kurc_model_assemble(m, err);
    if (st) {
        kurc_model_free(m);
        return st;
    }
    *out = m;
    return KURC_OK;
}
