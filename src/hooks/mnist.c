/* mnist.c - Kur's `mnist` evaluation hook: per-digit accuracy of a
 * classifier, printed to stdout as Kur's table (kur/model/hooks/
 * mnist_hook.py): the argmax of each prediction against the argmax of its
 * one-hot truth, counted per true digit 0..9, then ALL.
 *
 * The output judged is the only one, or the one named `labels` when there
 * are several.  Where Kur logged a problem and skipped the hook (no truth,
 * no such output), kurc stops with an error naming the hook.  Truths whose
 * argmax is not a digit are left out of the counts with a warning, as in
 * Kur.
 */
#include "hooks/hooks_impl.h"

#include <stdio.h>
#include <string.h>

static double percent(int64_t correct, int64_t total) {
    return total ? (double)correct * 100. / (double)total : 0.;
}

static enum kurc_status mnist_evaluate(const struct kurc_eval_result *r,
                                       const struct kurc_value *params, const struct kurc_loc *loc,
                                       struct kurc_err *err) {
    (void)params;
    size_t key = 0;
    if (r->n == 0)
        return kurc_err_set(err, KURC_E_INVALID, loc, "the mnist hook: the model has no outputs");
    if (r->n > 1) {
        while (key < r->n && strcmp(r->names[key], "labels") != 0)
            key++;
        if (key == r->n)
            return kurc_err_set(err, KURC_E_CONFIG, loc,
                                "the mnist hook: the model has %zu outputs and none is named "
                                "'labels', so it cannot tell which one to judge",
                                r->n);
    }
    if (!r->truths || !r->truths[key])
        return kurc_err_set(err, KURC_E_DATA, loc,
                            "the mnist hook needs the truth of output '%s', and the data has none",
                            r->names[key]);

    int64_t correct[10] = {0}, total[10] = {0}, out_of_range = 0;
    int64_t per = kurc_shape_numel(&r->shapes[key]);
    for (int64_t s = 0; s < r->count && per > 0; s++) {
        int64_t estimate = kurc_hook_argmax(r->outputs[key] + s * per, per);
        int64_t truth = kurc_hook_argmax(r->truths[key] + s * per, per);
        if (truth >= 10) {
            out_of_range++;
            continue;
        }
        total[truth]++;
        correct[truth] += truth == estimate;
    }
    if (out_of_range)
        kurc_hook_warn_once(r, loc,
                            "the mnist hook: %lld samples have a truth that is not a digit 0-9",
                            (long long)out_of_range);

    int64_t all_correct = 0, all_total = 0;
    printf("%-10s%-10s%-10s%-10s\n", "LABEL", "CORRECT", "TOTAL", "ACCURACY");
    for (int i = 0; i < 10; i++) {
        printf("%-10d%-10lld%-10lld%5.1f%%\n", i, (long long)correct[i], (long long)total[i],
               percent(correct[i], total[i]));
        all_correct += correct[i];
        all_total += total[i];
    }
    printf("%-10s%-10lld%-10lld%5.1f%%\n", "ALL", (long long)all_correct, (long long)all_total,
           percent(all_correct, all_total));
    fflush(stdout);
    return KURC_OK;
}

const struct kurc_hook_type kurc_evaluation_hook_mnist = {
    .component = {"mnist", KURC_SCHEMA(.types = KT_NULL)},
    .evaluate = mnist_evaluate,
};
