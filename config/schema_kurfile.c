/* schema_kurfile.c - section schemas: settings, the four action sections,
 * loss, templates and model (see schema_kurfile.h).  Components named inside
 * sections (suppliers, hooks, optimizers, losses) are checked by the entry
 * schemas of component.h against the tables handed to the check. */
#include "config/schema_kurfile.h"

#include <stdio.h>
#include <string.h>

#include "config/component.h"

static const struct kurc_schema count_or_null[1] = {{.types = KT_INT | KT_NULL, .has_min = true, .min = 1}};
static const struct kurc_schema size_or_null[1] = {
    {.types = KT_INT | KT_NULL, .has_min = true, .min = 0}};
static const struct kurc_schema non_negative_or_null[1] = {{.types = KT_INT | KT_NULL, .has_min = true, .min = 0}};

/* settings.backend: a name or {name, device, parallel, ...}. */
static const char *const backend_names[] = {"auto", "cpu", "cuda", "keras", "pytorch", NULL};
static const struct kurc_schema backend = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .choices = backend_names,
    .keys =
        (const struct kurc_schema_key[]){
            {"name", KURC_SCHEMA(.types = KT_STR | KT_NULL, .choices = backend_names)},
            {"device", KURC_SCHEMA(.types = KT_STR | KT_INT | KT_LIST | KT_NULL)},
            {"parallel", count_or_null},
            {"threads", count_or_null},
            {"variant", KURC_SCHEMA(.types = KT_STR | KT_LIST | KT_NULL)},
            {"gpu_busy_load", KURC_SCHEMA(.types = KT_NUM | KT_NULL)},
            {"skip_check", &kurc_schema_flag},
            {"backend", KURC_SCHEMA(.types = KT_STR | KT_NULL)},
            {"optimizer", &kurc_schema_flag},
            {"theano_flags", KURC_SCHEMA(.types = KT_MAP | KT_NULL)},
            {NULL},
        },
};

/* kurc's settings for several ranks (README: Running on several ranks). */
static const struct kurc_schema positive_mb = {.types = KT_NUM, .has_min = true, .min = 1e-6};

static const struct kurc_schema buckets = {
    .types = KT_BOOL | KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"first_mb", &positive_mb},
            {"mb", &positive_mb},
            {NULL},
        },
};

static const struct {
    const char *key;
    const struct kurc_schema *schema;
} typed_settings[] = {
    {"backend", &backend},
    {"seed", KURC_SCHEMA(.types = KT_INT | KT_NULL)},
    {"deterministic", &kurc_schema_flag},
    {"deterministic_chunk", count_or_null},
    {"buckets", &buckets},
    {"batch_norm",
     KURC_SCHEMA(.types = KT_STR | KT_NULL, .choices = KURC_NAMES("global", "per_rank"))},
    {"comm_timeout", KURC_SCHEMA(.types = KT_NUM | KT_NULL, .has_min = true, .min = 0)},
    {"shard_optimizer", &kurc_schema_flag},
};

/* settings: free-form user variables, but the keys Kur (or kurc) gives
 * meaning are typed. */
static enum kurc_status check_settings(const struct kurc_value *v, const char *path,
                                       const struct kurc_components *components,
                                       struct kurc_err *err) {
    if (v->kind != KURC_MAP)
        return KURC_OK;
    for (size_t i = 0; i < sizeof typed_settings / sizeof typed_settings[0]; i++) {
        const struct kurc_value *k = kurc_map_get(v, typed_settings[i].key);
        char where[64];
        snprintf(where, sizeof where, "settings.%s", typed_settings[i].key);
        enum kurc_status st =
            k ? kurc_schema_check(k, typed_settings[i].schema, where, components, err) : KURC_OK;
        if (st)
            return st;
    }
    (void)path;
    return KURC_OK;
}

static const struct kurc_schema settings = {.types = KT_MAP | KT_NULL, .check = check_settings};

static const struct kurc_schema provider = {
    .types = KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"name", KURC_SCHEMA(.types = KT_STR, .choices = KURC_NAMES("batch_provider"))},
            {"batch_size", size_or_null}, /* Kur: batch_size or 32 (0 too) */
            {"num_batches", count_or_null},
            {"randomize", KURC_SCHEMA(.types = KT_BOOL | KT_INT)},
            {"sort_by", &kurc_schema_string_or_null},
            {"sortagrad", &kurc_schema_string_or_null},
            {"shuffle_after", non_negative_or_null},
            {"reverse", &kurc_schema_flag},
            {"force_batch_size", &kurc_schema_flag},
            {"neighborhood_sort", &kurc_schema_string_or_null},
            {"neighborhood_size", count_or_null},
            {"neighborhood_growth", KURC_SCHEMA(.types = KT_NUM | KT_NULL)},
            {NULL},
        },
};

static const struct kurc_schema log_spec = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"name", KURC_SCHEMA(.types = KT_STR, .choices = KURC_NAMES("binary", "memory"))},
            {"path", &kurc_schema_string},
            {"keep_batch", &kurc_schema_flag},
            {"rate", non_negative_or_null},
            {NULL},
        },
};

static const char *const infinite_words[] = {"inf", "all", "infinite", "infinity", NULL};

static const struct kurc_schema epochs_limit = {
    .types = KT_INT | KT_STR | KT_NULL,
    .choices = infinite_words,
    .has_min = true,
    .min = 0,
};

static const struct kurc_schema stop_mode = {
    .types = KT_STR | KT_NULL,
    .choices = (const char *const[]){"additional", "total", NULL},
};

static const struct kurc_schema epochs = {
    .types = KT_INT | KT_STR | KT_MAP | KT_NULL,
    .choices = infinite_words,
    .has_min = true,
    .min = 0,
    .keys =
        (const struct kurc_schema_key[]){
            {"number", &epochs_limit},
            {"mode", &stop_mode},
            {NULL},
        },
};

static const struct kurc_schema elapsed = {
    .types = KT_NUM | KT_STR | KT_MAP | KT_NULL,
    .choices = infinite_words,
    .has_min = true,
    .min = 0,
    .keys =
        (const struct kurc_schema_key[]){
            {"days", &kurc_schema_non_negative_or_null},
            {"hours", &kurc_schema_non_negative_or_null},
            {"minutes", &kurc_schema_non_negative_or_null},
            {"clock", KURC_SCHEMA(.types = KT_STR | KT_NULL,
                                  .choices = KURC_NAMES("all", "train", "validate", "batch"))},
            {NULL},
        },
};

static const struct kurc_schema stop_when = {
    .types = KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"epochs", &epochs_limit},
            {"elapsed", &elapsed},
            {"mode", &stop_mode},
            {NULL},
        },
};

static const struct kurc_schema checkpoint = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"path", &kurc_schema_string},
            {"epochs", non_negative_or_null},
            {"batches", non_negative_or_null},
            {"samples", non_negative_or_null},
            {"minutes", KURC_SCHEMA(.types = KT_NUM | KT_NULL, .has_min = true, .min = 0)},
            {"validation",
             KURC_SCHEMA(.types = KT_BOOL | KT_INT | KT_NULL, .has_min = true, .min = 0)},
            {NULL},
        },
};

static const struct kurc_schema train_weights = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"initial", &kurc_schema_string_or_null},
            {"must_exist", &kurc_schema_flag},
            {"best", &kurc_schema_string_or_null},
            {"last", &kurc_schema_string_or_null},
            {"checkpoint", &checkpoint},
            {NULL},
        },
};

static const struct kurc_schema validate_weights = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .keys = (const struct kurc_schema_key[]){{"best", &kurc_schema_string_or_null}, {NULL}},
};

static const struct kurc_schema load_weights = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"initial", &kurc_schema_string_or_null},
            {"must_exist", &kurc_schema_flag},
            {NULL},
        },
};

static const struct kurc_schema destination = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"path", &kurc_schema_string, true},
            {"format", KURC_SCHEMA(.types = KT_STR | KT_NULL)},
            {NULL},
        },
};

static const struct kurc_schema supplier_list = {
    .types = KT_LIST | KT_NULL,
    .items = &kurc_schema_supplier_entry,
};

/* validate/test may name several data sets: {name: [suppliers...]}. */
static const struct kurc_schema data_sets = {
    .types = KT_LIST | KT_MAP | KT_NULL,
    .items = &kurc_schema_supplier_entry,
    .values = &supplier_list,
};

static const struct kurc_schema train = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"data", &supplier_list},
            {"provider", &provider},
            {"log", &log_spec},
            {"epochs", &epochs},
            {"stop_when", &stop_when},
            {"weights", &train_weights},
            {"checkpoint", &checkpoint},
            {"optimizer", &kurc_schema_optimizer},
            {"accumulate", count_or_null}, /* kurc: micro-batches per step */
            {"hooks",
             KURC_SCHEMA(.types = KT_LIST | KT_NULL, .items = &kurc_schema_training_hook)},
            {NULL},
        },
};

static const struct kurc_schema evaluation_hooks[1] = {{.types = KT_LIST | KT_NULL, .items = &kurc_schema_evaluation_hook}};

static const struct kurc_schema validate = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"data", &data_sets},
            {"provider", &provider},
            {"weights", &validate_weights},
            {"hooks", evaluation_hooks},
            {NULL},
        },
};

static const struct kurc_schema test = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"data", &data_sets},
            {"provider", &provider},
            {"weights", &load_weights},
            {"hooks", evaluation_hooks},
            {NULL},
        },
};

static const struct kurc_schema evaluate = {
    .types = KT_MAP,
    .keys =
        (const struct kurc_schema_key[]){
            {"data", &supplier_list},
            {"provider", &provider},
            {"weights", &load_weights},
            {"hooks", evaluation_hooks},
            {"destination", &destination},
            {NULL},
        },
};

static const struct kurc_schema loss = {
    .types = KT_LIST | KT_NULL,
    .items = &kurc_schema_loss_entry,
};

/* templates: {name: container or [containers]}. */
static const struct kurc_schema templates = {
    .types = KT_MAP | KT_NULL,
    .values = KURC_SCHEMA(.types = KT_MAP | KT_LIST | KT_STR),
};

/* model: a list of container entries (a mapping, or a bare name such as
 * `- flatten`); their arguments are the model builder's to check. */
static const struct kurc_schema model = {
    .types = KT_LIST,
    .items = KURC_SCHEMA(.types = KT_MAP | KT_STR),
};

const struct kurc_schema *kurc_schema_section(const char *section) {
    static const struct {
        const char *name;
        const struct kurc_schema *schema;
    } sections[] = {
        {"settings", &settings}, {"train", &train},         {"validate", &validate},
        {"test", &test},         {"evaluate", &evaluate},   {"loss", &loss},
        {"templates", &templates}, {"model", &model},
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strcmp(sections[i].name, section) == 0)
            return sections[i].schema;
    return NULL;
}
