/* eval_result.c - collecting outputs and truths for evaluation hooks (see
 * hooks.h). */
#include "train/eval_result.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "core/exec.h"
#include "data/provider.h"
#include "model/model.h"
#include "train/session.h"

void kurc_eval_result_init(struct kurc_eval_result *r, const struct kurc_model *m,
                           const struct kurc_dataset *data, bool truth, int64_t count) {
    memset(r, 0, sizeof *r);
    r->n = m->n_outputs;
    r->count = count;
    r->data = data;
    r->names = kurc_xcalloc(r->n + 1, sizeof *r->names);
    r->n_inputs = m->n_inputs;
    r->input_names = kurc_xcalloc(m->n_inputs + 1, sizeof *r->input_names);
    for (size_t i = 0; i < m->n_inputs; i++)
        r->input_names[i] = m->inputs[i].name;
    r->shapes = kurc_xcalloc(r->n + 1, sizeof *r->shapes);
    r->tensors = kurc_xcalloc(r->n + 1, sizeof *r->tensors);
    r->outputs = kurc_xcalloc(r->n + 1, sizeof *r->outputs);
    r->truths = kurc_xcalloc(r->n + 1, sizeof *r->truths);
    r->truth_sources = kurc_xcalloc(r->n + 1, sizeof *r->truth_sources);
    r->steps = kurc_xcalloc(r->n + 1, sizeof *r->steps);
    r->indices = kurc_xcalloc((size_t)(count > 0 ? count : 1), sizeof *r->indices);
    for (size_t i = 0; i < r->n; i++) {
        const struct kurc_node *node = &m->nodes[m->outputs[i].node];
        r->names[i] = m->outputs[i].name;
        r->tensors[i] = m->outputs[i].tensor;
        r->shapes[i] = *kurc_graph_shape(m->graph, r->tensors[i]);
        size_t floats = (size_t)(count * kurc_shape_numel(&r->shapes[i]));
        r->outputs[i] = kurc_xcalloc(floats ? floats : 1, sizeof(float));
        r->steps[i] = kurc_xcalloc((size_t)(count > 0 ? count : 1), sizeof **r->steps);
        for (size_t k = 0; truth && k < node->n_names && !r->truth_sources[i]; k++)
            r->truth_sources[i] = kurc_dataset_find(data, node->names[k]);
        if (r->truth_sources[i])
            r->truths[i] = kurc_xcalloc(floats ? floats : 1, sizeof(float));
    }
}

/* Whether shape `got` is `want` with fewer (or as many) rows on its first
 * axis. */
static bool shorter(const struct kurc_shape *got, const struct kurc_shape *want) {
    if (got->ndim != want->ndim || got->ndim == 0 || got->dim[0] > want->dim[0])
        return false;
    for (int i = 1; i < got->ndim; i++)
        if (got->dim[i] != want->dim[i])
            return false;
    return true;
}

/* Downloads n samples of output i whose batch shape is `got`, padding
 * each sample's rows with zeros up to r->shapes[i]. */
static void store_padded(struct kurc_eval_result *r, const struct kurc_session *s, size_t i,
                         int tensor, const struct kurc_shape *got, int64_t n, int64_t position) {
    int64_t per = kurc_shape_numel(&r->shapes[i]), got_per = kurc_shape_numel(got);
    float *host = kurc_xmalloc((size_t)(n * got_per > 0 ? n * got_per : 1) * sizeof *host);
    s->be->ops->download(s->be, host, kurc_exec_value(s->exec, tensor),
                         (size_t)(n * got_per) * sizeof(float));
    for (int64_t k = 0; k < n; k++) {
        float *dst = r->outputs[i] + (position + k) * per;
        memcpy(dst, host + k * got_per, (size_t)got_per * sizeof(float));
        memset(dst + got_per, 0, (size_t)(per - got_per) * sizeof(float));
    }
    free(host);
}

void kurc_eval_result_store(struct kurc_eval_result *r, const struct kurc_session *s,
                            const int64_t *indices, int64_t n, int64_t position) {
    const struct kurc_model *m = s->model;
    for (int64_t k = 0; k < n; k++)
        r->indices[position + k] = indices[k];
    for (size_t i = 0; i < r->n; i++) {
        int64_t per = kurc_shape_numel(&r->shapes[i]);
        int tensor = i < m->n_outputs ? m->outputs[i].tensor : r->tensors[i];
        const struct kurc_shape *got = kurc_graph_shape(m->graph, tensor);
        int64_t rows = got->ndim ? got->dim[0] : 1;
        if (kurc_shape_equal(got, &r->shapes[i]))
            s->be->ops->download(s->be, r->outputs[i] + position * per,
                                 kurc_exec_value(s->exec, tensor),
                                 (size_t)(n * per) * sizeof(float));
        else if (shorter(got, &r->shapes[i]))
            store_padded(r, s, i, tensor, got, n, position);
        else /* cannot be stored in this result's layout */
            rows = 0;
        for (int64_t k = 0; k < n; k++)
            r->steps[i][position + k] = rows;
        const struct kurc_source *t = r->truth_sources[i];
        if (!r->truths[i])
            continue;
        int64_t length = r->shapes[i].ndim ? r->shapes[i].dim[0] : 1;
        if (kurc_source_ragged(t) && length * kurc_source_inner(t) != per)
            continue; /* a truth that does not line up with its output */
        kurc_provider_gather(t, indices, n, length, r->truths[i] + position * per);
    }
}

/* Sums n host floats over the ranks.  allreduce_float works in the comm's
 * memory (the device's for NCCL), so host arrays go through
 * allreduce_double, a chunk at a time.  Each element is non-zero on one
 * rank at most, so the sum is exact. */
static enum kurc_status sum_host(struct kurc_comm *comm, float *data, int64_t n,
                                 struct kurc_err *err) {
    enum { CHUNK = 1 << 20 };
    double *buf = kurc_xmalloc((size_t)(n < CHUNK ? (n > 0 ? n : 1) : CHUNK) * sizeof *buf);
    enum kurc_status st = KURC_OK;
    for (int64_t at = 0; at < n && st == KURC_OK; at += CHUNK) {
        int64_t m = n - at < CHUNK ? n - at : CHUNK;
        for (int64_t i = 0; i < m; i++)
            buf[i] = data[at + i];
        st = comm->ops->allreduce_double(comm, buf, m, err);
        for (int64_t i = 0; i < m && st == KURC_OK; i++)
            data[at + i] = (float)buf[i];
    }
    free(buf);
    return st;
}

/* Sums n host integers over the ranks (each is non-zero on one rank at
 * most; exact below 2^53). */
static enum kurc_status sum_host_ints(struct kurc_comm *comm, int64_t *data, int64_t n,
                                      struct kurc_err *err) {
    double *buf = kurc_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *buf);
    for (int64_t i = 0; i < n; i++)
        buf[i] = (double)data[i];
    enum kurc_status st = comm->ops->allreduce_double(comm, buf, n, err);
    for (int64_t i = 0; i < n && st == KURC_OK; i++)
        data[i] = (int64_t)buf[i];
    free(buf);
    return st;
}

enum kurc_status kurc_eval_result_join(struct kurc_eval_result *r, struct kurc_comm *comm,
                                       struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    if (comm->size > 1 && r->indices)
        st = sum_host_ints(comm, r->indices, r->count, err);
    for (size_t i = 0; i < r->n && st == KURC_OK && comm->size > 1; i++) {
        int64_t floats = r->count * kurc_shape_numel(&r->shapes[i]);
        st = sum_host(comm, r->outputs[i], floats, err);
        if (st == KURC_OK && r->steps && r->steps[i])
            st = sum_host_ints(comm, r->steps[i], r->count, err);
        if (st == KURC_OK && r->truths[i])
            st = sum_host(comm, r->truths[i], floats, err);
    }
    return st;
}

void kurc_eval_result_release(struct kurc_eval_result *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->outputs[i]);
        free(r->truths[i]);
        if (r->steps)
            free(r->steps[i]);
    }
    free(r->names);
    free(r->input_names);
    free(r->shapes);
    free(r->tensors);
    free(r->outputs);
    free(r->truths);
    free(r->truth_sources);
    free(r->steps);
    free(r->indices);
    memset(r, 0, sizeof *r);
}
