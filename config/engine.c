/* engine.c - scope chain, container registration and fixpoint evaluation
 * (see engine.h). */
#include "config/engine.h"

#include <stdlib.h>
#include <string.h>

#include "base/paths.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "config/template/template.h"
#include "config/value/pyliteral.h"
#include "config/yaml_load.h"

/* Nesting of recursive evaluation (a template that keeps producing lists
 * that contain itself). */
#define MAX_EVAL_DEPTH 200

/* A scope: a mapping of variables, or one named variable (name set). */
struct frame {
    const struct kurc_value *map;
    struct kurc_value *owned;
    const char *name;
};

struct kurc_engine {
    struct frame *frames;
    size_t n_frames;
    size_t cap_frames;
    struct kurc_value *state; /* {layers: [], tags: {}, oldest: {}} */
    const struct kurc_value *templates;
    struct kurc_sources *sources;
    char *kurfile_dir;
    int (*gpu_count)(void);
    int eval_depth;
    struct kurc_tmpl_budget budget; /* what all renders may still use */
};

struct kurc_engine *kurc_engine_create(const char *kurfile_path, struct kurc_sources *sources) {
    struct kurc_engine *e = kurc_xcalloc(1, sizeof *e);
    e->sources = sources;
    e->kurfile_dir = kurfile_path ? kurc_path_dirname(kurfile_path) : kurc_xstrdup("");
    e->budget = (struct kurc_tmpl_budget)KURC_TMPL_BUDGET_INIT;
    e->state = kurc_value_map(NULL);
    kurc_map_set(e->state, "tags", NULL, kurc_value_map(NULL));
    kurc_map_set(e->state, "oldest", NULL, kurc_value_map(NULL));
    kurc_map_set(e->state, "layers", NULL, kurc_value_list(NULL));
    return e;
}

void kurc_engine_free(struct kurc_engine *engine) {
    if (!engine)
        return;
    while (engine->n_frames)
        kurc_engine_pop(engine);
    free(engine->frames);
    kurc_value_free(engine->state);
    free(engine->kurfile_dir);
    free(engine);
}

static void push_frame(struct kurc_engine *e, const struct kurc_value *map,
                       struct kurc_value *owned, const char *name) {
    if (e->n_frames == e->cap_frames) {
        e->cap_frames = e->cap_frames ? 2 * e->cap_frames : 16;
        e->frames = kurc_xrealloc(e->frames, e->cap_frames * sizeof *e->frames);
    }
    e->frames[e->n_frames++] = (struct frame){map, owned, name ? kurc_xstrdup(name) : NULL};
}

void kurc_engine_push_borrowed(struct kurc_engine *engine, const struct kurc_value *map) {
    push_frame(engine, map, NULL, NULL);
}

void kurc_engine_push_owned(struct kurc_engine *engine, struct kurc_value *map) {
    push_frame(engine, map, map, NULL);
}

void kurc_engine_push_var_borrowed(struct kurc_engine *engine, const char *name,
                                   const struct kurc_value *value) {
    push_frame(engine, value, NULL, name);
}

void kurc_engine_push_var(struct kurc_engine *engine, const char *name,
                          const struct kurc_value *value) {
    struct kurc_value *map = kurc_value_map(&value->loc);
    kurc_map_set(map, name, NULL, kurc_value_copy(value));
    kurc_engine_push_owned(engine, map);
}

void kurc_engine_pop(struct kurc_engine *engine) {
    if (!engine->n_frames)
        return;
    struct frame *f = &engine->frames[--engine->n_frames];
    kurc_value_free(f->owned);
    free((char *)f->name);
}

size_t kurc_engine_depth(const struct kurc_engine *engine) {
    return engine->n_frames;
}

const struct kurc_value *kurc_engine_lookup(const struct kurc_engine *engine, const char *name) {
    for (size_t i = engine->n_frames; i-- > 0;) {
        const struct frame *f = &engine->frames[i];
        if (f->name) {
            if (strcmp(f->name, name) == 0)
                return f->map;
            continue;
        }
        const struct kurc_value *v = kurc_map_get(f->map, name);
        if (v)
            return v;
    }
    return kurc_map_get(engine->state, name);
}

void kurc_engine_register(struct kurc_engine *engine, const char *name, const char *const *tags,
                          size_t n_tags, const char *const *oldest, size_t n_oldest) {
    struct kurc_value *tag_map = kurc_map_get(engine->state, "tags");
    struct kurc_value *oldest_map = kurc_map_get(engine->state, "oldest");
    for (size_t i = 0; i < n_tags; i++)
        kurc_map_set(tag_map, tags[i], NULL, kurc_value_str(name, NULL));
    for (size_t i = 0; i < n_oldest; i++)
        if (!kurc_map_get(oldest_map, oldest[i]))
            kurc_map_set(oldest_map, oldest[i], NULL, kurc_value_str(name, NULL));
    kurc_list_append(kurc_map_get(engine->state, "layers"), kurc_value_str(name, NULL));
}

void kurc_engine_set_templates(struct kurc_engine *engine, const struct kurc_value *templates) {
    engine->templates = templates;
}

const struct kurc_value *kurc_engine_template(const struct kurc_engine *engine, const char *name) {
    return kurc_map_get(engine->templates, name);
}

void kurc_engine_set_gpu_count(struct kurc_engine *engine, int (*count)(void)) {
    engine->gpu_count = count;
}

static const struct kurc_value *env_lookup(void *ctx, const char *name) {
    return kurc_engine_lookup(ctx, name);
}

/* load_json()/load_yaml(): names are relative to the Kurfile, as in Kur. */
static enum kurc_status env_load_file(void *ctx, const char *path, int is_yaml,
                                      struct kurc_value **out, struct kurc_err *err) {
    struct kurc_engine *e = ctx;
    char *expanded = kurc_path_expand(path);
    char *full = kurc_path_join(e->kurfile_dir, expanded);
    free(expanded);
    enum kurc_status st = kurc_load_file_as(e->sources, full,
                                            is_yaml ? KURC_FORMAT_YAML : KURC_FORMAT_JSON, NULL,
                                            out, err);
    free(full);
    if (st == KURC_OK && !*out)
        *out = kurc_value_null(NULL);
    return st;
}

static int env_gpu_count(void *ctx) {
    int (*count)(void) = ((struct kurc_engine *)ctx)->gpu_count;
    return count ? count() : 0;
}

static enum kurc_status render(struct kurc_engine *e, const struct kurc_value *s,
                               const struct kurc_loc *loc, struct kurc_strbuf *out,
                               struct kurc_err *err) {
    const struct kurc_tmpl_env env = {
        .lookup = env_lookup,
        .load_file = env_load_file,
        .gpu_count = env_gpu_count,
        .ctx = e,
        .budget = &e->budget,
    };
    kurc_strbuf_reset(out);
    return kurc_template_render(s->u.str.s, s->u.str.len, &env, loc, out, err);
}

static enum kurc_status evaluate(struct kurc_engine *e, const struct kurc_value *in, bool recursive,
                                 struct kurc_value **out, struct kurc_err *err);

/* Renders and coerces a string until it stops changing (Kur's loop). */
static enum kurc_status evaluate_string(struct kurc_engine *e, const struct kurc_value *in,
                                        bool recursive, struct kurc_value **out,
                                        struct kurc_err *err) {
    struct kurc_value *cur = kurc_value_copy(in);
    struct kurc_strbuf text = KURC_STRBUF_INIT;
    enum kurc_status st = KURC_OK;
    for (int round = 0;; round++) {
        if (round == KURC_ENGINE_MAX_RENDERS) {
            st = kurc_err_set(err, KURC_E_CONFIG, &in->loc,
                              "template still changes after %d renderings (does it refer to "
                              "itself?)",
                              KURC_ENGINE_MAX_RENDERS);
            break;
        }
        if ((st = render(e, cur, &in->loc, &text, err)))
            break;
        struct kurc_value *next = NULL;
        if (!kurc_py_literal_parse(text.data, text.len, &in->loc, &next))
            next = kurc_value_strn(text.data, text.len, &in->loc);
        if (next->kind == KURC_STR && kurc_value_identical(next, cur)) {
            kurc_value_free(next);
            break;
        }
        kurc_value_free(cur);
        cur = next;
        if (cur->kind != KURC_STR) {
            if (recursive && (cur->kind == KURC_LIST || cur->kind == KURC_MAP)) {
                struct kurc_value *deeper = NULL;
                st = evaluate(e, cur, true, &deeper, err);
                kurc_value_free(cur);
                cur = deeper;
            }
            break;
        }
    }
    kurc_strbuf_free(&text);
    if (st) {
        kurc_value_free(cur);
        return st;
    }
    *out = cur;
    return KURC_OK;
}

static enum kurc_status evaluate(struct kurc_engine *e, const struct kurc_value *in, bool recursive,
                                 struct kurc_value **out, struct kurc_err *err) {
    *out = NULL;
    if (in->kind == KURC_STR)
        return evaluate_string(e, in, recursive, out, err);
    if (!recursive || (in->kind != KURC_LIST && in->kind != KURC_MAP)) {
        *out = kurc_value_copy(in);
        return KURC_OK;
    }
    if (e->eval_depth >= MAX_EVAL_DEPTH)
        return kurc_err_set(err, KURC_E_CONFIG, &in->loc,
                            "templates expand into values nested deeper than %d levels",
                            MAX_EVAL_DEPTH);
    e->eval_depth++;
    enum kurc_status st = KURC_OK;
    struct kurc_value *result;
    if (in->kind == KURC_LIST) {
        result = kurc_value_list(&in->loc);
        for (size_t i = 0; i < in->u.list.len && st == KURC_OK; i++) {
            struct kurc_value *item = NULL;
            if ((st = evaluate(e, in->u.list.items[i], true, &item, err)) == KURC_OK)
                kurc_list_append(result, item);
        }
    } else {
        result = kurc_value_map(&in->loc);
        for (size_t i = 0; i < in->u.map.len && st == KURC_OK; i++) {
            const struct kurc_pair *p = &in->u.map.pairs[i];
            struct kurc_value *val = NULL;
            if ((st = evaluate(e, p->val, true, &val, err)) == KURC_OK)
                kurc_map_set(result, p->key, &p->key_loc, val);
        }
    }
    e->eval_depth--;
    if (st) {
        kurc_value_free(result);
        return st;
    }
    *out = result;
    return KURC_OK;
}

enum kurc_status kurc_engine_evaluate(struct kurc_engine *engine, const struct kurc_value *in,
                                      bool recursive, struct kurc_value **out,
                                      struct kurc_err *err) {
    engine->eval_depth = 0;
    return evaluate(engine, in, recursive, out, err);
}
