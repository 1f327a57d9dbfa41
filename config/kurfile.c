/* kurfile.c - loading and parsing a Kurfile in Kur's section order (see
 * kurfile.h). */
#include "config/kurfile.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/paths.h"
#include "base/suggest.h"
#include "base/xalloc.h"
#include "config/include.h"
#include "config/schema_kurfile.h"
#include "config/yaml_load.h"

/* The sections, in the order Kur parses them, with their aliases (the
 * first name is canonical). */
static const struct section {
    const char *names[3];
    bool evaluated; /* rendered through the engine */
    bool scoped;    /* visible to later sections by name */
} sections[] = {
    {{"settings"}, true, true},
    {{"train", "training"}, true, true},
    {{"validate", "validation"}, true, true},
    {{"test", "testing"}, true, true},
    {{"evaluate", "evaluation"}, true, true},
    {{"templates"}, false, false},
    {{"model"}, false, false},
    {{"loss"}, true, true},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

static const char *const all_section_names[] = {
    "include", "settings",   "train",      "training", "validate", "validation", "test",
    "testing", "evaluate",   "evaluation", "templates", "model",   "loss",       NULL,
};

enum kurc_status kurc_kurfile_load(const char *path, struct kurc_kurfile **out,
                                   struct kurc_err *err) {
    struct kurc_kurfile *kf = kurc_xcalloc(1, sizeof *kf);
    kf->path = kurc_path_expand(path);
    kf->sources = kurc_sources_create();
    enum kurc_status st = kurc_include_load(kf->sources, kf->path, &kf->raw, err);
    if (st) {
        kurc_kurfile_free(kf);
        *out = NULL;
        return st;
    }
    *out = kf;
    return KURC_OK;
}

enum kurc_status kurc_kurfile_from_text(const char *text, size_t len, const char *name,
                                        struct kurc_kurfile **out, struct kurc_err *err) {
    struct kurc_kurfile *kf = kurc_xcalloc(1, sizeof *kf);
    kf->path = kurc_xstrdup(name);
    kf->sources = kurc_sources_create();
    const char *file = kurc_sources_intern(kf->sources, name);
    enum kurc_status st = kurc_load_buffer(text, len, KURC_FORMAT_YAML, file, &kf->raw, err);
    struct kurc_loc top = {file, 1, 1};
    if (st == KURC_OK && (!kf->raw || kf->raw->kind != KURC_MAP))
        st = kurc_err_set(err, KURC_E_CONFIG, &top,
                          "the top level of a Kurfile must be a mapping of sections");
    if (st == KURC_OK && kurc_map_get(kf->raw, "include"))
        st = kurc_err_set(err, KURC_E_CONFIG, &top,
                          "a Kurfile given as text cannot include other files");
    if (st) {
        kurc_kurfile_free(kf);
        *out = NULL;
        return st;
    }
    *out = kf;
    return KURC_OK;
}

void kurc_kurfile_free(struct kurc_kurfile *kf) {
    if (!kf)
        return;
    kurc_engine_free(kf->engine);
    kurc_value_free(kf->data);
    kurc_value_free(kf->raw);
    kurc_sources_free(kf->sources);
    free(kf->path);
    free(kf);
}

/* Every top-level key must name a section, and no section may be given
 * under two of its names. */
static enum kurc_status check_top_level(const struct kurc_value *raw, struct kurc_err *err) {
    for (size_t i = 0; i < raw->u.map.len; i++) {
        const struct kurc_pair *p = &raw->u.map.pairs[i];
        bool known = false;
        for (const char *const *n = all_section_names; *n && !known; n++)
            known = strcmp(*n, p->key) == 0;
        if (!known) {
            const char *hint = kurc_suggest(p->key, all_section_names);
            if (hint)
                return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                    "unknown section '%s'; did you mean '%s'?", p->key, hint);
            return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                "unknown section '%s' (sections are settings, train, validate, "
                                "test, evaluate, templates, model, loss and include)",
                                p->key);
        }
    }
    for (size_t s = 0; s < N_SECTIONS; s++) {
        const struct kurc_pair *first = kurc_map_find(raw, sections[s].names[0]);
        const struct kurc_pair *alias =
            sections[s].names[1] ? kurc_map_find(raw, sections[s].names[1]) : NULL;
        if (first && alias)
            return kurc_err_set(err, KURC_E_CONFIG, &alias->key_loc,
                                "section '%s' is given twice, also as '%s' (line %d)",
                                sections[s].names[0], alias->key, first->key_loc.line);
    }
    if (!kurc_map_find(raw, "model"))
        return kurc_err_set(err, KURC_E_CONFIG, &raw->loc, "missing required section 'model'");
    return KURC_OK;
}

/* The base scope of Kur's parse: filename, raw, parsed and host. */
static void push_base_scope(struct kurc_kurfile *kf) {
    struct kurc_value *base = kurc_value_map(&kf->raw->loc);
    kurc_map_set(base, "filename", NULL, kurc_value_str(kf->path, &kf->raw->loc));
    kurc_map_set(base, "raw", NULL, kurc_value_copy(kf->raw));
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    kurc_map_set(base, "host", NULL, kurc_value_str(host, &kf->raw->loc));
    kurc_engine_push_owned(kf->engine, base);
    kurc_engine_push_var_borrowed(kf->engine, "parsed", kf->data);
}

/* Evaluates one section found under key, checks it, stores it under every
 * alias and makes it visible to the sections after it. */
static enum kurc_status parse_section(struct kurc_kurfile *kf, const struct section *sec,
                                      const char *key, const struct kurc_components *components,
                                      struct kurc_err *err) {
    const struct kurc_value *raw = kurc_map_get(kf->data, key);
    struct kurc_value *evaluated = NULL;
    enum kurc_status st;
    if (sec->evaluated) {
        size_t depth = kurc_engine_depth(kf->engine);
        kurc_engine_push_var(kf->engine, key, raw);
        if (strcmp(key, "settings") == 0 && raw->kind == KURC_MAP)
            kurc_engine_push_owned(kf->engine, kurc_value_copy(raw));
        st = kurc_engine_evaluate(kf->engine, raw, true, &evaluated, err);
        while (kurc_engine_depth(kf->engine) > depth)
            kurc_engine_pop(kf->engine);
        if (st)
            return st;
    } else {
        evaluated = kurc_value_copy(raw);
    }
    st = kurc_schema_check(evaluated, kurc_schema_section(sec->names[0]), sec->names[0],
                           components, err);
    if (st) {
        kurc_value_free(evaluated);
        return st;
    }
    if (sec->scoped) {
        if (strcmp(key, "settings") == 0 && evaluated->kind == KURC_MAP)
            kurc_engine_push_owned(kf->engine, kurc_value_copy(evaluated));
        kurc_engine_push_var(kf->engine, key, evaluated);
    }
    const struct kurc_pair *at = kurc_map_find(kf->data, key);
    struct kurc_loc key_loc = at->key_loc;
    for (int a = 0; a < 3 && sec->names[a]; a++)
        kurc_map_set(kf->data, sec->names[a], &key_loc, kurc_value_copy(evaluated));
    kurc_value_free(evaluated);
    return KURC_OK;
}

enum kurc_status kurc_kurfile_parse(struct kurc_kurfile *kf,
                                    const struct kurc_components *components,
                                    struct kurc_err *err) {
    enum kurc_status st = check_top_level(kf->raw, err);
    if (st)
        return st;
    kurc_engine_free(kf->engine);
    kurc_value_free(kf->data);
    kf->data = kurc_value_copy(kf->raw);
    kf->engine = kurc_engine_create(kf->path, kf->sources);
    kurc_engine_set_gpu_count(kf->engine, kf->gpu_count);
    push_base_scope(kf);
    for (size_t s = 0; s < N_SECTIONS && st == KURC_OK; s++) {
        const char *key = NULL;
        for (int a = 0; a < 3 && sections[s].names[a] && !key; a++)
            if (kurc_map_find(kf->data, sections[s].names[a]))
                key = sections[s].names[a];
        if (key)
            st = parse_section(kf, &sections[s], key, components, err);
    }
    if (st == KURC_OK)
        kurc_engine_set_templates(kf->engine, kurc_map_get(kf->data, "templates"));
    return st;
}

const struct kurc_value *kurc_kurfile_section(const struct kurc_kurfile *kf, const char *name) {
    return kf->data ? kurc_map_get(kf->data, name) : NULL;
}
