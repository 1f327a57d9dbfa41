/* cli_build.c - `kurc build`: parse the model, infer its shapes, emit its
 * graph and print one row per layer: name, type, inputs, output shape and
 * parameter count, then the totals. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_commands.h"
#include "config/kurfile.h"
#include "data/supplier.h"
#include "model/model.h"

/* The parameter count of every layer: layer name -> int64_t *. */
static GHashTable *layer_params(const struct kurc_model *m) {
    GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    for (size_t i = 0; i < m->params.n; i++) {
        const struct kurc_param *q = &m->params.items[i];
        int64_t *n = g_hash_table_lookup(counts, q->layer);
        if (!n) {
            n = g_new0(int64_t, 1);
            g_hash_table_insert(counts, q->layer, n);
        }
        *n += q->numel;
    }
    return counts;
}

/* Prints n with thousands separators. */
static void print_count(FILE *out, int64_t n, int width) {
    char digits[32], grouped[48];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)n), j = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            grouped[j++] = ',';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    fprintf(out, "%*s", width, grouped);
}

static void print_table(const struct kurc_model *m, FILE *out) {
    fprintf(out, "%-24s %-20s %-24s %-18s %12s\n", "container", "type", "inputs", "output shape",
            "parameters");
    GHashTable *counts = layer_params(m);
    for (size_t i = 0; i < m->n_nodes; i++) {
        const struct kurc_node *n = &m->nodes[i];
        char inputs[256] = "-", shape[96] = "-";
        size_t used = 0;
        for (size_t k = 0; k < n->n_inputs && used < sizeof inputs - 1; k++) {
            const struct kurc_container *from = m->nodes[n->inputs[k]].c;
            int w = snprintf(inputs + used, sizeof inputs - used, "%s%s", k ? ", " : "",
                             from->name);
            used += w > 0 ? (size_t)w : 0;
        }
        if (n->value >= 0)
            kurc_shape_format(kurc_graph_shape(m->graph, n->value), shape, sizeof shape);
        const char *type = n->suppressed ? "(when: false)" : n->c->type->name;
        fprintf(out, "%-24s %-20s %-24s %-18s ", n->c->name, type, inputs, shape);
        const int64_t *count = g_hash_table_lookup(counts, n->c->name);
        print_count(out, count ? *count : 0, 12);
        fputc('\n', out);
    }
    g_hash_table_destroy(counts);
    fprintf(out, "\noutputs: ");
    for (size_t i = 0; i < m->n_outputs; i++)
        fprintf(out, "%s%s", i ? ", " : "", m->outputs[i].name);
    fprintf(out, "\nparameters: ");
    print_count(out, kurc_params_count(&m->params, false), 0);
    fprintf(out, " (trainable ");
    print_count(out, kurc_params_count(&m->params, true), 0);
    fprintf(out, ")\n");
}

/* The section whose data shapes the model (Kur's `build -c`): the one
 * asked for, or with auto the first of train, test, evaluate that has data;
 * NULL for a bare build. */
static enum kurc_status pick_section(const struct kurc_kurfile *kf,
                                     const struct kurc_cli_args *args, const char **section,
                                     struct kurc_err *err) {
    static const char *const order[] = {"train", "test", "evaluate"};
    const char *mode = args->mode ? args->mode : "auto";
    *section = NULL;
    if (args->bare || strcmp(mode, "none") == 0)
        return KURC_OK;
    if (strcmp(mode, "auto") == 0) {
        for (int i = 0; i < 3 && !*section; i++) {
            const struct kurc_value *sec = kurc_kurfile_section(kf, order[i]);
            if (sec && kurc_map_get(sec, "data"))
                *section = order[i];
        }
        return KURC_OK;
    }
    for (int i = 0; i < 3; i++)
        if (strcmp(mode, order[i]) == 0)
            *section = order[i];
    if (!*section)
        return kurc_err_set(err, KURC_E_USAGE, NULL,
                            "build: --compile takes none, train, test, evaluate or auto, not '%s'",
                            mode);
    const struct kurc_value *sec = kurc_kurfile_section(kf, *section);
    if (!sec || !kurc_map_get(sec, "data"))
        return kurc_err_set(err, KURC_E_CONFIG, NULL, "build: the %s section has no data",
                            *section);
    return KURC_OK;
}

static bool data_shape(void *ctx, const char *name, struct kurc_shape *shape) {
    const struct kurc_source *s = kurc_dataset_find(ctx, name);
    if (s)
        *shape = s->shape;
    return s != NULL;
}

enum kurc_status kurc_cmd_build(const struct kurc_cli_args *args, struct kurc_err *err) {
    struct kurc_kurfile *kf;
    enum kurc_status st = kurc_cli_load(args, &kf, err);
    if (!kf)
        return st;
    struct kurc_model *m = NULL;
    struct kurc_dataset data;
    kurc_dataset_init(&data);
    const char *section = NULL;
    if (st == KURC_OK)
        st = pick_section(kf, args, &section, err);
    if (st == KURC_OK && section) {
        const struct kurc_value *list = kurc_map_get(kurc_kurfile_section(kf, section), "data");
        /* several data sets: the first one's shapes */
        if (list->kind == KURC_MAP && list->u.map.len)
            list = list->u.map.pairs[0].val;
        st = kurc_data_load(list, &data, err);
    }
    if (st == KURC_OK)
        st = kurc_model_parse(kf, 0, &m, err);
    struct kurc_shape_source shapes = {data_shape, &data};
    if (st == KURC_OK)
        st = kurc_model_build(m, section ? &shapes : NULL, err);
    if (st == KURC_OK)
        print_table(m, stdout);
    kurc_model_free(m);
    kurc_dataset_release(&data);
    kurc_kurfile_free(kf);
    return st;
}
