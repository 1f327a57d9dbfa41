/* cli_build.c - `kurc build`: parse the model, infer its shapes, emit its
 * graph and print one row per layer: name, type, inputs, output shape and
 * parameter count, then the totals.
 *
 * Free axes (a declared `None`, a variable-length data source's first
 * axis) are shown as Kur showed them, `None`, also where data fixed their
 * length for a batch: the model is built with two lengths for them, and an
 * output's axis that differs between the two follows a free axis.  Where
 * that cannot be (the parameters depend on such a length), the model is
 * built from the data's lengths, without data an error.
 *
 * Then, on stderr (stdout keeps Kur's table), the activation memory of a
 * training step at the train section's batch size as the executor plans
 * it by liveness (exec.h), and what it would take without reuse; a forward
 * pass alone where the Kurfile has no loss. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli_commands.h"
#include "config/kurfile.h"
#include "core/exec.h"
#include "data/provider.h"
#include "data/supplier.h"
#include "kernels/backends.h"
#include "loss/loss.h"
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

/* n with thousands separators, in grouped (48 chars). */
static const char *grouped_count(int64_t n, char *grouped) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)n), j = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            grouped[j++] = ',';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    return grouped;
}

static void print_count(FILE *out, int64_t n, int width) {
    char grouped[48];
    fprintf(out, "%*s", width, grouped_count(n, grouped));
}

/* The output shape of node i of m; an axis that differs in free (the same
 * model built with other free lengths; NULL: none) is None. */
static void node_shape(const struct kurc_model *m, const struct kurc_model *probe, size_t i,
                       char *buf, size_t size) {
    struct kurc_shape shape = *kurc_graph_shape(m->graph, m->nodes[i].value);
    const struct kurc_shape *other =
        probe ? kurc_graph_shape(probe->graph, probe->nodes[i].value) : NULL;
    for (int k = 0; other && other->ndim == shape.ndim && k < shape.ndim; k++)
        if (other->dim[k] != shape.dim[k])
            shape.dim[k] = -1;
    kurc_shape_format(&shape, buf, size);
}

static void print_table(const struct kurc_model *m, const struct kurc_model *probe, FILE *out) {
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
            node_shape(m, probe, i, shape, sizeof shape);
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
    const struct kurc_cli_shapes *b = ctx;
    const struct kurc_source *s = b->data ? kurc_dataset_find(b->data, name) : NULL;
    if (s)
        *shape = s->shape;
    if (s && s->lengths && b->source.free_length > 0)
        shape->dim[0] = b->source.free_length;
    return s != NULL;
}

static enum kurc_status build_model(struct kurc_kurfile *kf, struct kurc_cli_shapes *b,
                                    const struct kurc_dataset *data, int64_t free_length,
                                    struct kurc_model **m, struct kurc_err *err) {
    *b = (struct kurc_cli_shapes){data, {data_shape, b, free_length}};
    enum kurc_status st = kurc_model_parse(kf, 0, m, err);
    if (st == KURC_OK)
        st = kurc_model_build(*m, data || free_length ? &b->source : NULL, err);
    return st;
}

static bool same_parameters(const struct kurc_model *a, const struct kurc_model *b) {
    if (a->params.n != b->params.n)
        return false;
    for (size_t i = 0; i < a->params.n; i++)
        if (!kurc_shape_equal(&a->params.items[i].shape, &b->params.items[i].shape))
            return false;
    return true;
}

/* Two lengths for the free axes, far apart, so that every axis that
 * follows one differs (strides and kernels included). */
enum { FREE_LENGTH_A = 997, FREE_LENGTH_B = 1999 };

enum kurc_status kurc_cli_build_model(struct kurc_kurfile *kf, const struct kurc_cli_args *args,
                                      struct kurc_cli_built *out, struct kurc_err *err) {
    out->m = out->probe = NULL;
    kurc_dataset_init(&out->data);
    const char *section = NULL;
    enum kurc_status st = pick_section(kf, args, &section, err);
    if (st == KURC_OK && section) {
        const struct kurc_value *list = kurc_map_get(kurc_kurfile_section(kf, section), "data");
        /* several data sets: the first one's shapes */
        if (list->kind == KURC_MAP && list->u.map.len)
            list = list->u.map.pairs[0].val;
        st = kurc_data_describe(list, &out->data, err);
    }
    const struct kurc_dataset *given = section ? &out->data : NULL;
    if (st)
        return st;
    /* the first build says what the Kurfile's warnings are; the others
     * would repeat them */
    struct kurc_err free_err;
    bool free_ok =
        build_model(kf, &out->shapes[0], given, FREE_LENGTH_A, &out->m, &free_err) == KURC_OK;
    enum kurc_log_level level = kurc_log_set_threshold(KURC_LOG_ERROR);
    if (!free_ok ||
        build_model(kf, &out->shapes[1], given, FREE_LENGTH_B, &out->probe, &free_err) ||
        !same_parameters(out->m, out->probe)) {
        kurc_model_free(out->m);
        kurc_model_free(out->probe);
        out->probe = NULL;
        st = build_model(kf, &out->shapes[0], given, 0, &out->m, err);
    }
    kurc_log_set_threshold(level);
    return st;
}

void kurc_cli_built_release(struct kurc_cli_built *b) {
    kurc_model_free(b->m);
    kurc_model_free(b->probe);
    kurc_dataset_release(&b->data);
    b->m = b->probe = NULL;
}

/* Logs (info: `kurc -v build`) the activation memory of m (see the top of
 * the file).  A loss that cannot be built (it needs more than the shapes)
 * leaves it unsaid. */
static void log_memory(struct kurc_kurfile *kf, struct kurc_model *m,
                       const struct kurc_model *probe) {
    if (!kurc_log_enabled(KURC_LOG_INFO))
        return;
    bool free_axes = false; /* m was built with FREE_LENGTH_A for them */
    for (size_t i = 0; probe && i < m->n_nodes; i++)
        if (m->nodes[i].value >= 0 &&
            !kurc_shape_equal(kurc_graph_shape(m->graph, m->nodes[i].value),
                              kurc_graph_shape(probe->graph, probe->nodes[i].value)))
            free_axes = true;
    const struct kurc_value *loss = kurc_kurfile_section(kf, "loss");
    int64_t batch = kurc_provider_batch_size(kurc_kurfile_section(kf, "train"));
    struct kurc_losses losses = {0};
    struct kurc_err err;
    enum kurc_log_level level = kurc_log_set_threshold(KURC_LOG_ERROR);
    bool training = loss && kurc_losses_build(m, loss, &losses, &err) == KURC_OK;
    kurc_log_set_threshold(level);
    struct kurc_backend *be = NULL;
    const struct kurc_backend_type *cpu = kurc_backend_type_find("cpu");
    if (!loss || training)
        cpu->create(&(struct kurc_backend_options){.threads = 1, .rank = -1}, &be, &err);
    if (be) {
        struct kurc_exec_bytes b;
        kurc_exec_measure(be, m->graph, batch, 0, training ? KURC_PLAN_TRAIN : KURC_PLAN_FORWARD,
                          &b);
        size_t rest = b.saved + b.workspace;
        char lengths[64] = "", n[6][48];
        if (free_axes)
            snprintf(lengths, sizeof lengths, " (free axes of length %d)", FREE_LENGTH_A);
        kurc_log(KURC_LOG_INFO,
                 "activation memory, %s a batch of %lld%s: %s bytes (values %s, gradients %s, "
                 "saved %s, workspace %s); without reuse %s",
                 training ? "a training step on" : "a forward pass on", (long long)batch, lengths,
                 grouped_count((int64_t)(b.values + b.grads + rest), n[0]),
                 grouped_count((int64_t)b.values, n[1]), grouped_count((int64_t)b.grads, n[2]),
                 grouped_count((int64_t)b.saved, n[3]), grouped_count((int64_t)b.workspace, n[4]),
                 grouped_count((int64_t)(b.flat_values + b.flat_grads + rest), n[5]));
    }
    kurc_backend_release(be);
    kurc_losses_release(&losses);
}

enum kurc_status kurc_cmd_build(const struct kurc_cli_args *args, struct kurc_err *err) {
    struct kurc_kurfile *kf;
    enum kurc_status st = kurc_cli_load(args, &kf, err);
    if (!kf)
        return st;
    struct kurc_cli_built built;
    bool have = st == KURC_OK;
    if (have)
        st = kurc_cli_build_model(kf, args, &built, err);
    if (st == KURC_OK) {
        print_table(built.m, built.probe, stdout);
        fflush(stdout);
        log_memory(kf, built.m, built.probe);
    }
    if (have)
        kurc_cli_built_release(&built);
    kurc_kurfile_free(kf);
    return st;
}
