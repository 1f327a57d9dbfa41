/* eval_result.c - collecting outputs and truths for evaluation hooks (see
 * hooks.h). */
#include "hooks.h"

#include <stdlib.h>
#include <string.h>

#include "data/provider.h"
#include "exec.h"
#include "model.h"
#include "train/session.h"
#include "xalloc.h"

void kurc_eval_result_init(struct kurc_eval_result *r, const struct kurc_model *m,
                           const struct kurc_dataset *data, bool truth, int64_t count) {
    memset(r, 0, sizeof *r);
    r->n = m->n_outputs;
    r->count = count;
    r->names = kurc_xcalloc(r->n + 1, sizeof *r->names);
    r->shapes = kurc_xcalloc(r->n + 1, sizeof *r->shapes);
    r->tensors = kurc_xcalloc(r->n + 1, sizeof *r->tensors);
    r->outputs = kurc_xcalloc(r->n + 1, sizeof *r->outputs);
    r->truths = kurc_xcalloc(r->n + 1, sizeof *r->truths);
    r->truth_sources = kurc_xcalloc(r->n + 1, sizeof *r->truth_sources);
    for (size_t i = 0; i < r->n; i++) {
        const struct kurc_node *node = &m->nodes[m->outputs[i].node];
        r->names[i] = m->outputs[i].name;
        r->tensors[i] = m->outputs[i].tensor;
        r->shapes[i] = *kurc_graph_shape(m->graph, r->tensors[i]);
        size_t floats = (size_t)(count * kurc_shape_numel(&r->shapes[i]));
        r->outputs[i] = kurc_xcalloc(floats ? floats : 1, sizeof(float));
        for (size_t k = 0; truth && k < node->n_names && !r->truth_sources[i]; k++)
            r->truth_sources[i] = kurc_dataset_find(data, node->names[k]);
        if (r->truth_sources[i])
            r->truths[i] = kurc_xcalloc(floats ? floats : 1, sizeof(float));
    }
}

void kurc_eval_result_store(struct kurc_eval_result *r, const struct kurc_session *s,
                            const int64_t *indices, int64_t n, int64_t position) {
    for (size_t i = 0; i < r->n; i++) {
        int64_t per = kurc_shape_numel(&r->shapes[i]);
        s->be->ops->download(s->be, r->outputs[i] + position * per,
                             kurc_exec_value(s->exec, r->tensors[i]),
                             (size_t)(n * per) * sizeof(float));
        if (r->truths[i])
            kurc_provider_gather(r->truth_sources[i], indices, n, r->truths[i] + position * per);
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

enum kurc_status kurc_eval_result_join(struct kurc_eval_result *r, struct kurc_comm *comm,
                                       struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < r->n && st == KURC_OK && comm->size > 1; i++) {
        int64_t floats = r->count * kurc_shape_numel(&r->shapes[i]);
        st = sum_host(comm, r->outputs[i], floats, err);
        if (st == KURC_OK && r->truths[i])
            st = sum_host(comm, r->truths[i], floats, err);
    }
    return st;
}

void kurc_eval_result_release(struct kurc_eval_result *r) {
    for (size_t i = 0; i < r->n; i++) {
        free(r->outputs[i]);
        free(r->truths[i]);
    }
    free(r->names);
    free(r->shapes);
    free(r->tensors);
    free(r->outputs);
    free(r->truths);
    free(r->truth_sources);
    memset(r, 0, sizeof *r);
}
