/* hooks.c - the hook runner (see hooks.h): reads the entries of a `hooks`
 * list, finds each hook in the tables below (generated from the hooks'
 * definitions), checks them all before any runs, then runs the enabled
 * ones in order.
 *
 * Kur knew hooks kurc does not run: slack and kurhub post to the network.
 * Naming one is an error at check time, unless its `when` turned it off
 * (Kur then never built it).
 */
#include "hooks/hooks_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"

/* Every hook: training hook `x` is the struct kurc_training_hook_x and
 * evaluation hook `x` the struct kurc_evaluation_hook_x, defined in x.c
 * (Kur's that kurc refuses in unavailable.c).  hooks/training_hooks.def
 * and hooks/evaluation_hooks.def list those definitions, sorted; the build
 * generates them (kurc_registry, CMakeLists.txt), so a hook is registered
 * by being defined. */
#define KURC_REGISTER(x) extern const struct kurc_hook_type kurc_training_hook_##x;
#include "hooks/training_hooks.def"
#undef KURC_REGISTER
#define KURC_REGISTER(x) &kurc_training_hook_##x.component,
const struct kurc_component *const kurc_training_hook_table[] = {
#include "hooks/training_hooks.def"
    NULL};
#undef KURC_REGISTER
#define KURC_REGISTER(x) extern const struct kurc_hook_type kurc_evaluation_hook_##x;
#include "hooks/evaluation_hooks.def"
#undef KURC_REGISTER
#define KURC_REGISTER(x) &kurc_evaluation_hook_##x.component,
const struct kurc_component *const kurc_evaluation_hook_table[] = {
#include "hooks/evaluation_hooks.def"
    NULL};
#undef KURC_REGISTER

/* One entry of a hooks list, read. */
struct entry {
    const char *name;
    const struct kurc_value *given; /* its parameters as written; NULL: none */
    const struct kurc_loc *loc;
    bool enabled; /* no `when`, or a true one */
};

int64_t kurc_hook_argmax(const float *row, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(row[i]))
            return i;
        if (row[i] > row[best])
            best = i;
    }
    return best;
}

/* `NAME` or {NAME: params, when: EXPR}: the schema has checked the shape,
 * this reads it (and refuses what it cannot read). */
static enum kurc_status read_entry(const struct kurc_value *v, const char *kind, struct entry *e,
                                   struct kurc_err *err) {
    memset(e, 0, sizeof *e);
    e->loc = &v->loc;
    e->enabled = true;
    if (v->kind == KURC_STR) {
        e->name = v->u.str.s;
        return KURC_OK;
    }
    if (v->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                            "a hook entry is a name or a mapping {NAME: params}, not %s",
                            kurc_kind_phrase(v->kind));
    for (size_t i = 0; i < v->u.map.len; i++) {
        const struct kurc_pair *p = &v->u.map.pairs[i];
        if (strcmp(p->key, "when") == 0) {
            e->enabled = kurc_value_truthy(p->val);
            continue;
        }
        if (e->name)
            return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                "an entry names one %s, found '%s' and '%s'", kind, e->name,
                                p->key);
        e->name = p->key;
        e->given = p->val;
        e->loc = &p->key_loc;
    }
    if (!e->name)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "the entry names no %s", kind);
    return KURC_OK;
}

/* The hook whose component c is (its first member), or NULL. */
static const struct kurc_hook_type *hook_of(const struct kurc_component *c) {
    return (const struct kurc_hook_type *)c;
}

/* The hook an entry names in its table, or an error saying why there is
 * none.  *hook is NULL for a disabled entry of a hook kurc refuses. */
static enum kurc_status resolve(const struct entry *e, bool training,
                                const struct kurc_hook_type **hook, struct kurc_err *err) {
    const struct kurc_component *const *table =
        training ? kurc_training_hook_table : kurc_evaluation_hook_table;
    const char *kind = training ? "training hook" : "evaluation hook";
    const struct kurc_hook_type *other = hook_of(kurc_component_find(
        training ? kurc_evaluation_hook_table : kurc_training_hook_table, e->name));
    *hook = hook_of(kurc_component_find(table, e->name));
    const struct kurc_hook_type *known = *hook ? *hook : other;
    if (known && known->refused) {
        *hook = NULL;
        return e->enabled ? kurc_err_set(err, KURC_E_UNSUPPORTED, e->loc, "the %s hook %s",
                                         e->name, known->refused)
                          : KURC_OK;
    }
    if (*hook)
        return KURC_OK;
    if (other)
        return kurc_err_set(err, KURC_E_CONFIG, e->loc, "'%s' is %s; it cannot run as %s", e->name,
                            training ? "an evaluation hook" : "a training hook",
                            training ? "a training hook" : "an evaluation hook");
    char known_names[128] = "";
    for (size_t i = 0; table[i]; i++) {
        if (hook_of(table[i])->refused)
            continue;
        strncat(known_names, known_names[0] ? ", " : "",
                sizeof known_names - strlen(known_names) - 1);
        strncat(known_names, table[i]->name, sizeof known_names - strlen(known_names) - 1);
    }
    return kurc_err_set(err, KURC_E_CONFIG, e->loc, "unknown %s '%s' (kurc has %s)", kind, e->name,
                        known_names);
}

/* The mapping form of a hook's parameters (kurc_component_params); *params
 * is a new tree. */
static enum kurc_status hook_params(const struct kurc_hook_type *h, const char *kind,
                                    const struct kurc_value *given, struct kurc_value **params,
                                    struct kurc_err *err) {
    char *what = kurc_xasprintf("the '%s' %s", h->component.name, kind);
    enum kurc_status st = kurc_component_params(&h->component, given, what, params, err);
    free(what);
    return st;
}

/* Reads entry i of a hooks list, finds its hook and puts its parameters in
 * their mapping form (*params, new; free it with kurc_value_free); *hook
 * NULL when the entry is disabled. */
static enum kurc_status entry_at(const struct kurc_value *hooks, size_t i, bool training,
                                 struct entry *e, const struct kurc_hook_type **hook,
                                 struct kurc_value **params, struct kurc_err *err) {
    const char *kind = training ? "training hook" : "evaluation hook";
    *params = NULL;
    enum kurc_status st = read_entry(hooks->u.list.items[i], kind, e, err);
    if (st == KURC_OK)
        st = resolve(e, training, hook, err);
    if (st == KURC_OK && !e->enabled)
        *hook = NULL;
    if (st == KURC_OK && *hook)
        st = hook_params(*hook, kind, e->given, params, err);
    return st;
}

/* Entries in a hooks value: null (or absent) is none. */
static size_t entries(const struct kurc_value *hooks) {
    return hooks && hooks->kind == KURC_LIST ? hooks->u.list.len : 0;
}

enum kurc_status kurc_hooks_check(const struct kurc_value *hooks, bool training,
                                  struct kurc_err *err) {
    if (hooks && hooks->kind != KURC_LIST && hooks->kind != KURC_NULL)
        return kurc_err_set(err, KURC_E_CONFIG, &hooks->loc, "`hooks` is a list, not %s",
                            kurc_kind_phrase(hooks->kind));
    for (size_t i = 0; i < entries(hooks); i++) {
        struct entry e;
        const struct kurc_hook_type *h;
        struct kurc_value *params;
        enum kurc_status st = entry_at(hooks, i, training, &e, &h, &params, err);
        if (st == KURC_OK && h && h->check)
            st = h->check(params, e.loc, err);
        kurc_value_free(params);
        if (st)
            return st;
    }
    return KURC_OK;
}

enum kurc_status kurc_hooks_check_training(const struct kurc_value *hooks, bool has_log,
                                           struct kurc_err *err) {
    enum kurc_status st = kurc_hooks_check(hooks, true, err);
    for (size_t i = 0; i < entries(hooks) && st == KURC_OK && !has_log; i++) {
        struct entry e;
        const struct kurc_hook_type *h;
        struct kurc_value *params;
        st = entry_at(hooks, i, true, &e, &h, &params, err);
        if (st == KURC_OK && h && h->needs_log)
            kurc_log_at(KURC_LOG_WARNING, e.loc,
                        "the %s hook draws the training log, and training keeps none (give "
                        "`train.log`); it is ignored, as Kur did",
                        e.name);
        kurc_value_free(params);
    }
    return st;
}

bool kurc_hooks_any_evaluation(const struct kurc_value *hooks) {
    for (size_t i = 0; i < entries(hooks); i++) {
        struct entry e;
        const struct kurc_hook_type *h;
        struct kurc_value *params;
        struct kurc_err ignored;
        bool runs = entry_at(hooks, i, false, &e, &h, &params, &ignored) != KURC_OK || h;
        kurc_value_free(params);
        if (runs)
            return true;
    }
    return false;
}

/* Checks (run false) or writes a destination: the output hook's
 * parameters. */
static enum kurc_status destination_do(const struct kurc_eval_result *r,
                                       const struct kurc_value *destination, bool run,
                                       struct kurc_err *err) {
    struct kurc_value *params;
    enum kurc_status st = hook_params(&kurc_evaluation_hook_output, "evaluation hook", destination, &params,
                                      err);
    if (st == KURC_OK)
        st = run ? kurc_evaluation_hook_output.evaluate(r, params, &destination->loc, err)
                 : kurc_evaluation_hook_output.check(params, &destination->loc, err);
    kurc_value_free(params);
    return st;
}

enum kurc_status kurc_hooks_check_evaluation(const struct kurc_value *hooks,
                                             const struct kurc_value *destination,
                                             struct kurc_err *err) {
    enum kurc_status st = kurc_hooks_check(hooks, false, err);
    if (st == KURC_OK && destination && destination->kind != KURC_NULL)
        st = destination_do(NULL, destination, false, err);
    return st;
}

enum kurc_status kurc_hooks_evaluate(const struct kurc_eval_result *r,
                                     const struct kurc_value *hooks,
                                     const struct kurc_value *destination, struct kurc_err *err) {
    bool write = destination && destination->kind != KURC_NULL;
    enum kurc_status st = kurc_hooks_check_evaluation(hooks, destination, err);
    for (size_t i = 0; i < entries(hooks) && st == KURC_OK; i++) {
        struct entry e;
        const struct kurc_hook_type *h;
        struct kurc_value *params;
        st = entry_at(hooks, i, false, &e, &h, &params, err);
        if (st == KURC_OK && h)
            st = h->evaluate(r, params, e.loc, err);
        kurc_value_free(params);
    }
    if (st == KURC_OK && write)
        st = destination_do(r, destination, true, err);
    return st;
}

enum kurc_status kurc_hooks_training(const struct kurc_value *hooks,
                                     const struct kurc_train_event *e, struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < entries(hooks) && st == KURC_OK; i++) {
        struct entry entry;
        const struct kurc_hook_type *h;
        struct kurc_value *params;
        st = entry_at(hooks, i, true, &entry, &h, &params, err);
        if (st == KURC_OK && h)
            st = h->train(params, e, entry.loc, err);
        kurc_value_free(params);
    }
    return st;
}
