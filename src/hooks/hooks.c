/* hooks.c - the hook runner (see hooks.h): reads the entries of a `hooks`
 * list, finds each hook in the tables below (one line per hook), checks
 * them all before any runs, then runs the enabled ones in order.
 *
 * Kur knew hooks kurc does not run: slack and kurhub post to the network.
 * Naming one is an error at check time, unless its `when` turned it off
 * (Kur then never built it).
 */
#include "hooks/hooks_impl.h"

#include <math.h>
#include <string.h>

/* One hook kurc runs.  check (NULL: nothing to check) validates its
 * parameters; exactly one of evaluate and train is set. */
struct hook {
    const char *name;
    enum kurc_status (*check)(const struct kurc_value *params, const struct kurc_loc *loc,
                              struct kurc_err *err);
    enum kurc_status (*evaluate)(const struct kurc_eval_result *r, const struct kurc_value *params,
                                 const struct kurc_loc *loc, struct kurc_err *err);
    enum kurc_status (*train)(const struct kurc_value *params, const struct kurc_train_event *e,
                              const struct kurc_loc *loc, struct kurc_err *err);
};

static const struct hook evaluation_hooks[] = {
    {"mnist", NULL, kurc_hook_mnist, NULL},
    {"output", kurc_hook_output_check, kurc_hook_output, NULL},
    {"text", NULL, kurc_hook_text, NULL},
    {"transcript", NULL, kurc_hook_transcript, NULL},
    {NULL},
};

static const struct hook training_hooks[] = {
    {"plot", kurc_hook_plot_check, NULL, kurc_hook_plot},
    {NULL},
};

/* Kur's hooks that kurc refuses, and why ("the NAME hook WHY"). */
static const struct {
    const char *name;
    const char *why;
} refused_hooks[] = {
    {"slack", "posts to the network, which kurc does not do"},
    {"kurhub", "posts to the network, which kurc does not do"},
};

/* One entry of a hooks list, read. */
struct entry {
    const char *name;
    const struct kurc_value *params; /* NULL: none */
    const struct kurc_loc *loc;
    bool enabled; /* no `when`, or a true one */
};

const struct kurc_value *kurc_hook_param(const struct kurc_value *params, const char *name,
                                         size_t position) {
    const struct kurc_value *v = NULL;
    if (!params)
        return NULL;
    if (params->kind == KURC_MAP)
        v = kurc_map_get(params, name);
    else if (params->kind == KURC_LIST && position < params->u.list.len)
        v = params->u.list.items[position];
    else if (params->kind != KURC_LIST && position == 0)
        v = params;
    return v && v->kind != KURC_NULL ? v : NULL;
}

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
        e->params = p->val;
        e->loc = &p->key_loc;
    }
    if (!e->name)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, "the entry names no %s", kind);
    return KURC_OK;
}

static const struct hook *find_hook(const struct hook *table, const char *name) {
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0)
            return table;
    return NULL;
}

/* The hook an entry names in its table, or an error saying why there is
 * none.  *hook is NULL for a disabled entry of a hook kurc refuses. */
static enum kurc_status resolve(const struct entry *e, bool training, const struct hook **hook,
                                struct kurc_err *err) {
    const struct hook *table = training ? training_hooks : evaluation_hooks;
    const char *kind = training ? "training hook" : "evaluation hook";
    *hook = find_hook(table, e->name);
    if (*hook)
        return KURC_OK;
    for (size_t i = 0; i < sizeof refused_hooks / sizeof *refused_hooks; i++)
        if (strcmp(refused_hooks[i].name, e->name) == 0)
            return e->enabled ? kurc_err_set(err, KURC_E_UNSUPPORTED, e->loc, "the %s hook %s",
                                             e->name, refused_hooks[i].why)
                              : KURC_OK;
    if (find_hook(training ? evaluation_hooks : training_hooks, e->name))
        return kurc_err_set(err, KURC_E_CONFIG, e->loc, "'%s' is %s; it cannot run as %s", e->name,
                            training ? "an evaluation hook" : "a training hook",
                            training ? "a training hook" : "an evaluation hook");
    char known[128] = "";
    for (const struct hook *h = table; h->name; h++) {
        strncat(known, h == table ? "" : ", ", sizeof known - strlen(known) - 1);
        strncat(known, h->name, sizeof known - strlen(known) - 1);
    }
    return kurc_err_set(err, KURC_E_CONFIG, e->loc, "unknown %s '%s' (kurc has %s)", kind, e->name,
                        known);
}

/* Reads entry i of a hooks list and finds its hook; *hook NULL when the
 * entry is disabled. */
static enum kurc_status entry_at(const struct kurc_value *hooks, size_t i, bool training,
                                 struct entry *e, const struct hook **hook, struct kurc_err *err) {
    enum kurc_status st =
        read_entry(hooks->u.list.items[i], training ? "training hook" : "evaluation hook", e, err);
    if (st == KURC_OK)
        st = resolve(e, training, hook, err);
    if (st == KURC_OK && !e->enabled)
        *hook = NULL;
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
        const struct hook *h;
        enum kurc_status st = entry_at(hooks, i, training, &e, &h, err);
        if (st == KURC_OK && h && h->check)
            st = h->check(e.params, e.loc, err);
        if (st)
            return st;
    }
    return KURC_OK;
}

bool kurc_hooks_any_evaluation(const struct kurc_value *hooks) {
    for (size_t i = 0; i < entries(hooks); i++) {
        struct entry e;
        const struct hook *h;
        struct kurc_err ignored;
        if (entry_at(hooks, i, false, &e, &h, &ignored) != KURC_OK || h)
            return true;
    }
    return false;
}

enum kurc_status kurc_hooks_check_evaluation(const struct kurc_value *hooks,
                                             const struct kurc_value *destination,
                                             struct kurc_err *err) {
    enum kurc_status st = kurc_hooks_check(hooks, false, err);
    if (st == KURC_OK && destination && destination->kind != KURC_NULL)
        st = kurc_hook_output_check(destination, &destination->loc, err);
    return st;
}

enum kurc_status kurc_hooks_evaluate(const struct kurc_eval_result *r,
                                     const struct kurc_value *hooks,
                                     const struct kurc_value *destination, struct kurc_err *err) {
    bool write = destination && destination->kind != KURC_NULL;
    enum kurc_status st = kurc_hooks_check_evaluation(hooks, destination, err);
    for (size_t i = 0; i < entries(hooks) && st == KURC_OK; i++) {
        struct entry e;
        const struct hook *h;
        st = entry_at(hooks, i, false, &e, &h, err);
        if (st == KURC_OK && h)
            st = h->evaluate(r, e.params, e.loc, err);
    }
    if (st == KURC_OK && write)
        st = kurc_hook_output(r, destination, &destination->loc, err);
    return st;
}

enum kurc_status kurc_hooks_training(const struct kurc_value *hooks,
                                     const struct kurc_train_event *e, struct kurc_err *err) {
    enum kurc_status st = kurc_hooks_check(hooks, true, err);
    for (size_t i = 0; i < entries(hooks) && st == KURC_OK; i++) {
        struct entry entry;
        const struct hook *h;
        st = entry_at(hooks, i, true, &entry, &h, err);
        if (st == KURC_OK && h)
            st = h->train(entry.params, e, entry.loc, err);
    }
    return st;
}
