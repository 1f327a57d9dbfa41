/* loss_pass.c - forward-only loss passes (see loss_pass.h). */
#include "train/loss_pass.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/progress.h"
#include "base/xalloc.h"

double kurc_loss_total(const struct kurc_session *s, const double *sums) {
    size_t n = s->losses.n;
    double count = sums[n], total = 0;
    for (size_t i = 0; i < n; i++)
        total += s->losses.terms[i].weight * (count > 0 ? sums[i] / count : 0);
    return total;
}

enum kurc_status kurc_loss_pass(struct kurc_session *s, struct kurc_provider *p,
                                struct kurc_bindings *b, int64_t pass, int64_t max_batches,
                                const char *label, bool show, double *sums,
                                struct kurc_err *err) {
    size_t n = s->losses.n;
    double *batch = kurc_xcalloc(n + 1, sizeof *batch);
    memset(sums, 0, (n + 1) * sizeof *sums);
    kurc_provider_start_epoch(p, pass);
    int64_t batches = kurc_provider_batches(p);
    if (max_batches >= 0 && max_batches < batches)
        batches = max_batches;
    int64_t total = 0;
    for (int64_t i = 0; i < batches; i++) {
        int64_t m;
        const int64_t *idx;
        kurc_provider_batch(p, i, &idx, &m);
        total += m;
    }
    struct kurc_progress bar;
    kurc_progress_start(&bar, label, KURC_PROGRESS_SAMPLES, total, show && s->comm->rank == 0);
    enum kurc_status st = KURC_OK;
    s->exec->training = false;
    for (int64_t i = 0; i < batches && st == KURC_OK; i++) {
        const int64_t *idx;
        int64_t m, first, count;
        if ((st = kurc_session_step_pause(s, label, i, err)))
            break;
        kurc_provider_batch(p, i, &idx, &m);
        kurc_session_slice(s, m, &first, &count);
        if ((st = kurc_session_load(s, b, idx, m, first, count, err)))
            break;
        kurc_exec_forward(s->exec);
        if ((st = kurc_session_loss_sums(s, batch, err)))
            break;
        for (size_t k = 0; k <= n; k++)
            sums[k] += batch[k];
        kurc_progress_update(&bar, (int64_t)sums[n], kurc_loss_total(s, sums));
    }
    kurc_progress_finish(&bar);
    free(batch);
    return st;
}
