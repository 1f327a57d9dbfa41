/* supplier.c - the table of data suppliers and the loading of a `data`
 * list (see supplier.h): each entry whose `when` is not false has its
 * parameters put in their mapping form, is loaded into a dataset of its
 * own and merged into the result, sources of the same name stacked in the
 * order of the list (Kur's Supplier.from_specification and
 * merge_suppliers). */
#include "data/supplier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

/* Every supplier: supplier `x` is the struct kurc_supplier_x defined in a
 * file of this folder (Kur's that kurc does not implement in
 * unavailable.c).  data/suppliers.def lists those definitions, sorted; the
 * build generates it (kurc_registry, CMakeLists.txt), so a supplier is
 * registered by being defined. */
#define KURC_REGISTER(x) extern const struct kurc_supplier_type kurc_supplier_##x;
#include "data/suppliers.def"
#undef KURC_REGISTER
#define KURC_REGISTER(x) &kurc_supplier_##x.component,
const struct kurc_component *const kurc_supplier_table[] = {
#include "data/suppliers.def"
    NULL};
#undef KURC_REGISTER

const struct kurc_schema kurc_supplier_source = {
    .types = KT_MAP,
    .keys = KURC_KEYS({"source", &kurc_schema_string, true}),
};

/* The supplier whose component c is (its first member), or NULL. */
static const struct kurc_supplier_type *type_of(const struct kurc_component *c) {
    return (const struct kurc_supplier_type *)c;
}

const struct kurc_supplier_type *kurc_supplier_find(const char *name) {
    return type_of(kurc_component_find(kurc_supplier_table, name));
}

/* Reports a supplier kurc cannot load: one Kur has (type, in the table)
 * is unsupported, anything else is unknown. */
static enum kurc_status no_such_supplier(const struct kurc_pair *p,
                                         const struct kurc_supplier_type *type,
                                         struct kurc_err *err) {
    if (type)
        return kurc_err_set(err, KURC_E_UNSUPPORTED, &p->key_loc,
                            "the '%s' supplier is not available in kurc", p->key);
    struct kurc_strbuf names = KURC_STRBUF_INIT;
    for (size_t i = 0; kurc_supplier_table[i]; i++)
        if (type_of(kurc_supplier_table[i])->load)
            kurc_strbuf_printf(&names, "%s%s", names.len ? ", " : "",
                               kurc_supplier_table[i]->name);
    enum kurc_status st = kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                       "unknown supplier '%s' (expected one of: %s)", p->key,
                                       names.data);
    kurc_strbuf_free(&names);
    return st;
}

/* The parameter mapping of `SUPPLIER: given` (kurc_component_params): a
 * mapping, a string, a list or null.  *params is a new tree. */
static enum kurc_status normalise(const struct kurc_pair *p, const struct kurc_supplier_type *type,
                                  struct kurc_value **params, struct kurc_err *err) {
    const struct kurc_value *given = p->val;
    *params = NULL;
    if (given->kind != KURC_MAP && given->kind != KURC_LIST && given->kind != KURC_NULL &&
        given->kind != KURC_STR)
        return kurc_err_set(err, KURC_E_CONFIG, &given->loc,
                            "the parameters of the '%s' supplier must be a mapping, a string or "
                            "a list, not %s",
                            p->key, kurc_kind_phrase(given->kind));
    char *what = kurc_xasprintf("the '%s' supplier", p->key);
    enum kurc_status st = kurc_component_params(&type->component, given, what, params, err);
    free(what);
    return st;
}

/* Gives an error that has no place the place of the entry. */
static enum kurc_status place(enum kurc_status st, const struct kurc_loc *loc,
                              struct kurc_err *err) {
    if (st)
        kurc_err_place(err, loc);
    return st;
}

/* Loads one entry of a data list and merges its sources into out (only
 * their shapes when out is shapes-only). */
static enum kurc_status load_entry(const struct kurc_value *entry, struct kurc_dataset *out,
                                   struct kurc_err *err) {
    if (entry->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, &entry->loc,
                            "a data entry must be a mapping naming a supplier, not %s",
                            kurc_kind_phrase(entry->kind));
    const struct kurc_pair *chosen = NULL;
    for (size_t i = 0; i < entry->u.map.len; i++) {
        const struct kurc_pair *p = &entry->u.map.pairs[i];
        if (strcmp(p->key, "when") == 0 || strcmp(p->key, "name") == 0)
            continue;
        if (chosen)
            return kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                                "a data entry names one supplier, found '%s' and '%s'",
                                chosen->key, p->key);
        chosen = p;
    }
    if (!chosen)
        return kurc_err_set(err, KURC_E_CONFIG, &entry->loc, "the data entry names no supplier");
    const struct kurc_value *when = kurc_map_get(entry, "when");
    if (when && !kurc_value_truthy(when)) {
        kurc_log_at(KURC_LOG_DEBUG, &entry->loc, "skipping the %s supplier ('when' is false)",
                    chosen->key);
        return KURC_OK;
    }
    const struct kurc_value *name = kurc_map_get(entry, "name");
    if (name && name->kind != KURC_STR && name->kind != KURC_NULL)
        return kurc_err_set(err, KURC_E_CONFIG, &name->loc,
                            "the 'name' of a data entry must be a string, not %s",
                            kurc_kind_phrase(name->kind));
    const struct kurc_supplier_type *type = kurc_supplier_find(chosen->key);
    if (!type || !type->load)
        return no_such_supplier(chosen, type, err);
    struct kurc_value *params;
    enum kurc_status st = normalise(chosen, type, &params, err);
    if (st)
        return st;
    struct kurc_dataset loaded;
    kurc_dataset_init(&loaded);
    loaded.shapes_only = out->shapes_only;
    bool describe = out->shapes_only && type->describe;
    st = place((describe ? type->describe : type->load)(params, &entry->loc, &loaded, err),
               &entry->loc, err);
    kurc_value_free(params);
    if (st) {
        kurc_dataset_release(&loaded);
        return st;
    }
    for (size_t i = 0; i < loaded.n; i++)
        if (loaded.sources[i].count == 0) {
            st = kurc_err_set(err, KURC_E_DATA, &entry->loc,
                              "the %s supplier gave no samples: source '%s' (%s) is empty; "
                              "there is nothing to train or test on",
                              type->component.name, loaded.sources[i].name,
                              loaded.sources[i].origin);
            kurc_dataset_release(&loaded);
            return st;
        }
    if (kurc_log_enabled(KURC_LOG_INFO)) {
        struct kurc_strbuf names = KURC_STRBUF_INIT;
        for (size_t i = 0; i < loaded.n; i++)
            kurc_strbuf_printf(&names, "%s%s", i ? ", " : "", loaded.sources[i].name);
        kurc_log_at(KURC_LOG_INFO, &entry->loc, "the %s supplier%s%s gave %zu sources: %s",
                    type->component.name, name && name->kind == KURC_STR ? " " : "",
                    name && name->kind == KURC_STR ? name->u.str.s : "", loaded.n,
                    loaded.n ? names.data : "none");
        kurc_strbuf_free(&names);
    }
    return place(kurc_dataset_merge(out, &loaded, err), &entry->loc, err);
}

/* kurc_data_load and kurc_data_describe. */
static enum kurc_status data_read(const struct kurc_value *list, bool shapes_only,
                                  struct kurc_dataset *out, struct kurc_err *err) {
    kurc_dataset_init(out);
    out->shapes_only = shapes_only;
    if (!list || list->kind == KURC_NULL)
        return KURC_OK;
    if (list->kind != KURC_LIST)
        return kurc_err_set(err, KURC_E_CONFIG, &list->loc,
                            "'data' must be a list of suppliers, not %s",
                            kurc_kind_phrase(list->kind));
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < list->u.list.len && st == KURC_OK; i++)
        st = load_entry(list->u.list.items[i], out, err);
    if (st == KURC_OK)
        st = place(kurc_dataset_seal(out, err), &list->loc, err);
    if (st)
        kurc_dataset_release(out);
    return st;
}

enum kurc_status kurc_data_load(const struct kurc_value *list, struct kurc_dataset *out,
                                struct kurc_err *err) {
    return data_read(list, false, out, err);
}

enum kurc_status kurc_data_describe(const struct kurc_value *list, struct kurc_dataset *out,
                                    struct kurc_err *err) {
    return data_read(list, true, out, err);
}
