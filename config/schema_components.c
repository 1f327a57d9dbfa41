/* schema_components.c - parameter tables for suppliers, hooks, optimizers
 * and losses, and the checks that pick a component by name (see
 * schema_components.h).  Names and parameters are Kur's, plus kurc's hdf5
 * supplier. */
#include "config/schema_components.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/suggest.h"
#include "base/xalloc.h"

#define SCHEMA(...) (&(const struct kurc_schema){__VA_ARGS__})
#define KEYS(...) ((const struct kurc_schema_key[]){__VA_ARGS__, {NULL}})
#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct kurc_schema string[1] = {{.types = KT_STR}};
static const struct kurc_schema string_or_null[1] = {{.types = KT_STR | KT_NULL}};
static const struct kurc_schema flag[1] = {{.types = KT_BOOL | KT_NULL}};
static const struct kurc_schema number_or_null[1] = {{.types = KT_NUM | KT_NULL}};
static const struct kurc_schema positive_number_or_null[1] = {{.types = KT_NUM | KT_NULL, .has_min = true, .min = 0}};

/* Standard packaging: where a data file comes from (Kur's package.install). */
#define PACKAGING {"url", string_or_null}, {"checksum", string_or_null}, {"path", string_or_null}

static const struct kurc_schema file_spec = {
    .types = KT_STR | KT_MAP,
    .keys = KEYS(PACKAGING),
};

static const struct kurc_component suppliers[] = {
    {"mnist", SCHEMA(.types = KT_MAP, .keys = KEYS({"images", &file_spec, true},
                                                   {"labels", &file_spec, true})),
     NAMES("labels", "images")},
    {"cifar",
     SCHEMA(.types = KT_MAP,
            .keys = KEYS(PACKAGING, {"parts", SCHEMA(.types = KT_INT | KT_STR | KT_LIST)})),
     NAMES("url", "checksum", "path", "parts")},
    {"csv",
     SCHEMA(.types = KT_MAP,
            .keys = KEYS(PACKAGING,
                         {"format", SCHEMA(.types = KT_MAP | KT_NULL,
                                           .keys = KEYS({"delimiter", string_or_null},
                                                        {"quote", string_or_null}))},
                         {"header", flag})),
     NAMES("path", "url", "checksum", "format", "header")},
    {"jsonl", SCHEMA(.types = KT_MAP, .keys = KEYS({"source", string, true})), NAMES("source")},
    {"hdf5", SCHEMA(.types = KT_MAP, .keys = KEYS(PACKAGING)), NAMES("path", "url", "checksum")},
    {"pickle", SCHEMA(.types = KT_MAP, .keys = KEYS({"source", string, true})), NAMES("source")},
    {"numpy_dict", SCHEMA(.types = KT_MAP, .keys = KEYS({"source", string, true})),
     NAMES("source")},
    {"text",
     SCHEMA(.types = KT_MAP,
            .keys = KEYS({"path", string, true},
                         {"seq_len", SCHEMA(.types = KT_INT | KT_MAP), true},
                         {"vocabs", SCHEMA(.types = KT_MAP), true},
                         {"padding", SCHEMA(.types = KT_MAP | KT_NULL)},
                         {"pad_with", SCHEMA(.types = KT_MAP | KT_NULL)})),
     NAMES("path", "seq_len", "vocabs", "padding", "pad_with")},
    {"speech_recognition",
     SCHEMA(.types = KT_MAP,
            .keys = KEYS(PACKAGING, {"unpack", flag},
                         {"type", SCHEMA(.types = KT_STR | KT_NULL,
                                         .choices = NAMES("spec", "mfcc"))},
                         {"normalization", SCHEMA(.types = KT_STR | KT_MAP | KT_NULL)},
                         {"min_duration", positive_number_or_null},
                         {"max_duration", positive_number_or_null},
                         {"max_frequency", positive_number_or_null},
                         {"vocab", SCHEMA(.types = KT_STR | KT_LIST | KT_MAP | KT_NULL)},
                         {"samples", SCHEMA(.types = KT_INT | KT_STR | KT_NULL)},
                         {"fill", SCHEMA(.types = KT_STR | KT_NULL,
                                         .choices = NAMES("zero", "loop"))},
                         {"key", SCHEMA(.types = KT_STR | KT_LIST | KT_NULL)},
                         {"bucket", positive_number_or_null},
                         {"data_cpus", SCHEMA(.types = KT_INT | KT_NULL)},
                         {"unknown", string_or_null})),
     NAMES("url", "checksum", "path")},
    {NULL},
};

static const struct kurc_schema plot_params = {
    .types = KT_STR | KT_MAP,
    .keys = KEYS({"loss_per_batch", string_or_null}, {"loss_per_time", string_or_null},
                 {"throughput_per_time", string_or_null}),
};

static const struct kurc_schema slack_params = {
    .types = KT_MAP,
    .keys = KEYS({"channel", string, true}, {"url", string_or_null}, {"user", string_or_null},
                 {"icon", string_or_null}, {"title", string_or_null}, {"token", string_or_null},
                 {"extra_files", SCHEMA(.types = KT_STR | KT_LIST | KT_NULL)},
                 {"extra_only", flag}),
};

static const struct kurc_schema no_params[1] = {{.types = KT_NULL}};

static const struct kurc_component training_hooks[] = {
    {"plot", &plot_params, NAMES("loss_per_batch")},
    {"slack", &slack_params, NULL},
    {"kurhub", SCHEMA(.types = KT_MAP, .keys = KEYS({"uuid", string, true},
                                                    {"endpoint", string_or_null})),
     NULL},
    {NULL},
};

static const struct kurc_component evaluation_hooks[] = {
    {"mnist", no_params, NULL},
    {"output", SCHEMA(.types = KT_MAP, .keys = KEYS({"path", string, true},
                                                    {"format", SCHEMA(.types = KT_STR | KT_NULL,
                                                                      .choices = NAMES(
                                                                          "pkl", "pickle",
                                                                          "csv", "h5", "hdf5",
                                                                          "npz"))})),
     NAMES("path", "format")},
    {"transcript", SCHEMA(.types = KT_MAP | KT_NULL,
                          .keys = KEYS({"word", flag}, {"warp", flag}, {"output", string_or_null},
                                       {"input", string_or_null}, {"passthrough", flag})),
     NULL},
    {"text", no_params, NULL},
    {"slack", &slack_params, NULL},
    {NULL},
};

#define OPTIMIZER_COMMON                                                                         \
    {"name", string}, {"clip", SCHEMA(.types = KT_MAP | KT_NULL,                                 \
                                      .keys = KEYS({"norm", positive_number_or_null},            \
                                                   {"abs", positive_number_or_null}))},          \
        {"scale_rate", string_or_null}, {                                                        \
        "scale_mode", SCHEMA(.types = KT_STR | KT_NULL, .choices = NAMES("linear", "sqrt"))      \
    }

static const struct kurc_component optimizers[] = {
    {"adam",
     SCHEMA(.types = KT_MAP, .keys = KEYS(OPTIMIZER_COMMON, {"learning_rate", number_or_null},
                                          {"decay", number_or_null})),
     NULL},
    {"sgd",
     SCHEMA(.types = KT_MAP, .keys = KEYS(OPTIMIZER_COMMON, {"learning_rate", number_or_null},
                                          {"momentum", number_or_null},
                                          {"decay", number_or_null}, {"nesterov", flag})),
     NULL},
    {"rmsprop",
     SCHEMA(.types = KT_MAP, .keys = KEYS(OPTIMIZER_COMMON, {"learning_rate", number_or_null},
                                          {"rho", number_or_null}, {"epsilon", number_or_null},
                                          {"decay", number_or_null})),
     NULL},
    {"adadelta",
     SCHEMA(.types = KT_MAP, .keys = KEYS(OPTIMIZER_COMMON, {"learning_rate", number_or_null},
                                          {"rho", number_or_null}, {"decay", number_or_null})),
     NULL},
    {NULL},
};

#define LOSS_COMMON {"target", string, true}, {"name", string, true}, {"weight", number_or_null}

static const struct kurc_component losses[] = {
    {"categorical_crossentropy", SCHEMA(.types = KT_MAP, .keys = KEYS(LOSS_COMMON)), NULL},
    {"mean_squared_error", SCHEMA(.types = KT_MAP, .keys = KEYS(LOSS_COMMON)), NULL},
    {"ctc",
     SCHEMA(.types = KT_MAP,
            .keys = KEYS(LOSS_COMMON, {"input_length", string, true},
                         {"output_length", string, true}, {"output", string, true},
                         {"relative_to", string_or_null},
                         {"variant", SCHEMA(.types = KT_STR | KT_LIST | KT_NULL)})),
     NULL},
    {NULL},
};

const struct kurc_component *kurc_schema_components(const char *kind) {
    if (strcmp(kind, "supplier") == 0)
        return suppliers;
    if (strcmp(kind, "training hook") == 0)
        return training_hooks;
    if (strcmp(kind, "evaluation hook") == 0)
        return evaluation_hooks;
    if (strcmp(kind, "optimizer") == 0)
        return optimizers;
    if (strcmp(kind, "loss") == 0)
        return losses;
    return NULL;
}

/* Finds a component by name or reports an unknown one with a suggestion. */
static enum kurc_status find_component(const struct kurc_component *table, const char *kind,
                                       const char *name, const struct kurc_loc *loc,
                                       const char *path, const struct kurc_component **out,
                                       struct kurc_err *err) {
    size_t n = 0;
    while (table[n].name)
        n++;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *out = &table[i];
            return KURC_OK;
        }
    }
    const char **names = kurc_xcalloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++)
        names[i] = table[i].name;
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
    return st;
}

/* Checks a component's parameters in any of its accepted forms. */
static enum kurc_status check_params(const struct kurc_component *c, const char *kind,
                                     const struct kurc_value *params, const char *path,
                                     struct kurc_err *err) {
    char what[96];
    snprintf(what, sizeof what, "the %s %s", c->name, kind);
    if (params->kind == KURC_MAP || !c->positional ||
        (c->params->types & (1u << params->kind)))
        return kurc_schema_check_as(params, c->params, path, what, err);
    size_t n_pos = 0;
    while (c->positional[n_pos])
        n_pos++;
    const struct kurc_value *const *items = &params;
    size_t count = 1;
    if (params->kind == KURC_LIST) {
        items = (const struct kurc_value *const *)params->u.list.items;
        count = params->u.list.len;
    } else if (params->kind == KURC_NULL) {
        count = 0;
    }
    if (count > n_pos)
        return kurc_err_set(err, KURC_E_CONFIG, &params->loc,
                            "%s: the %s '%s' takes at most %zu positional parameters, found %zu",
                            path, kind, c->name, n_pos, count);
    /* Rebuild the mapping form and check that. */
    struct kurc_value *as_map = kurc_value_map(&params->loc);
    for (size_t i = 0; i < count; i++)
        kurc_map_set(as_map, c->positional[i], &items[i]->loc, kurc_value_copy(items[i]));
    enum kurc_status st = kurc_schema_check_as(as_map, c->params, path, what, err);
    kurc_value_free(as_map);
    return st;
}

/* A mapping entry naming one component among optional extra keys (`when`,
 * `name`). */
static enum kurc_status check_named_entry(const struct kurc_value *v, const char *path,
                                          const char *kind, const char *const *extra,
                                          struct kurc_err *err) {
    const struct kurc_component *table = kurc_schema_components(kind);
    if (v->kind == KURC_STR) {
        const struct kurc_component *c;
        enum kurc_status st = find_component(table, kind, v->u.str.s, &v->loc, path, &c, err);
        if (st)
            return st;
        struct kurc_value none = {.kind = KURC_NULL, .loc = v->loc};
        return check_params(c, kind, &none, path, err);
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
    const struct kurc_component *c;
    enum kurc_status st = find_component(table, kind, chosen->key, &chosen->key_loc, path, &c, err);
    if (st)
        return st;
    char *sub = kurc_schema_path_key(path, chosen->key);
    st = check_params(c, kind, chosen->val, sub, err);
    free(sub);
    if (st == KURC_OK) {
        const struct kurc_value *name = kurc_map_get(v, "name");
        if (name && name->kind != KURC_STR && name->kind != KURC_NULL)
            st = kurc_schema_check(name, string_or_null, path, err);
    }
    return st;
}

static enum kurc_status check_supplier(const struct kurc_value *v, const char *path,
                                       struct kurc_err *err) {
    return check_named_entry(v, path, "supplier", NAMES("when", "name"), err);
}

static enum kurc_status check_training_hook(const struct kurc_value *v, const char *path,
                                            struct kurc_err *err) {
    return check_named_entry(v, path, "training hook", NAMES("when"), err);
}

static enum kurc_status check_evaluation_hook(const struct kurc_value *v, const char *path,
                                              struct kurc_err *err) {
    return check_named_entry(v, path, "evaluation hook", NAMES("when"), err);
}

const struct kurc_schema kurc_schema_supplier_entry = {.types = KT_MAP, .check = check_supplier};
const struct kurc_schema kurc_schema_training_hook = {.types = KT_STR | KT_MAP,
                                                      .check = check_training_hook};
const struct kurc_schema kurc_schema_evaluation_hook = {.types = KT_STR | KT_MAP,
                                                        .check = check_evaluation_hook};

/* optimizer: a name, or a mapping whose `name` (default adam) picks the
 * parameter table. */
static enum kurc_status check_optimizer(const struct kurc_value *v, const char *path,
                                        struct kurc_err *err) {
    const struct kurc_component *c;
    if (v->kind == KURC_NULL)
        return KURC_OK;
    const struct kurc_value *name = v->kind == KURC_STR ? v : kurc_map_get(v, "name");
    if (name && name->kind != KURC_STR)
        return kurc_schema_check(name, string, path, err);
    enum kurc_status st = find_component(optimizers, "optimizer", name ? name->u.str.s : "adam",
                                         name ? &name->loc : &v->loc, path, &c, err);
    if (st || v->kind == KURC_STR)
        return st;
    char what[64];
    snprintf(what, sizeof what, "the %s optimizer", c->name);
    return kurc_schema_check_as(v, c->params, path, what, err);
}

const struct kurc_schema kurc_schema_optimizer = {.types = KT_STR | KT_MAP | KT_NULL,
                                                  .check = check_optimizer};

static enum kurc_status check_loss(const struct kurc_value *v, const char *path,
                                   struct kurc_err *err) {
    const struct kurc_value *name = kurc_map_get(v, "name");
    if (!name)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "%s: missing required key 'name'", path);
    if (name->kind != KURC_STR) {
        char *sub = kurc_schema_path_key(path, "name");
        enum kurc_status st = kurc_schema_check(name, string, sub, err);
        free(sub);
        return st;
    }
    const struct kurc_component *c;
    enum kurc_status st = find_component(losses, "loss", name->u.str.s, &name->loc, path, &c, err);
    if (st)
        return st;
    char what[64];
    snprintf(what, sizeof what, "the %s loss", c->name);
    return kurc_schema_check_as(v, c->params, path, what, err);
}

const struct kurc_schema kurc_schema_loss_entry = {.types = KT_MAP, .check = check_loss};
