/* io_fixture.c - writes the files the Python checks in tests/io read:
 *   io_fixture DIR
 * DIR/weights.h5 and DIR/ckpt.h5 (weights and an Adam checkpoint), DIR/out.*
 * and DIR/result_only.* (evaluation results with and without truth, in
 * every destination format) and DIR/log (a binary log of two sessions).
 * Every value is a simple formula of its position, restated in the scripts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "io/destination.h"
#include "io/logger.h"
#include "io/weights.h"
#include "kernels/cpu/cpu_backend.h"
#include "optim/optimizer.h"

static int check(enum kurc_status st, const struct kurc_err *err) {
    if (st) {
        char buf[2048];
        kurc_err_format(err, buf, sizeof buf);
        fprintf(stderr, "io_fixture: %s\n", buf);
        exit(1);
    }
    return 0;
}

/* Parameter k, element i: (k + 1) + i / 64; optimizer state s adds
 * 1000 (s + 1). */
static void write_weights(const char *dir, struct kurc_backend *be) {
    static const struct {
        const char *layer, *weight;
        int ndim;
        int64_t dim[4];
    } decls[] = {
        {"conv1", "kernel", 4, {3, 3, 1, 2}},
        {"conv1", "bias", 1, {2}},
        {"..dense.0", "kernel", 2, {18, 4}},
        {"..dense.0", "bias", 1, {4}},
        {"norm", "gamma", 0, {0}},
    };
    struct kurc_params p;
    struct kurc_err err;
    kurc_params_init(&p);
    for (size_t k = 0; k < sizeof decls / sizeof decls[0]; k++) {
        struct kurc_shape s = kurc_shape_make(decls[k].ndim, decls[k].dim);
        kurc_params_add(&p, decls[k].layer, decls[k].weight, &s, true, KURC_INIT_ZEROS, 0, 0, 0);
    }
    check(kurc_params_allocate(&p, be, &err), &err);
    struct kurc_optimizer *o;
    check(kurc_optimizer_create(NULL, &p, be, &o, &err), &err);
    float *host = kurc_xcalloc(p.total, sizeof *host);
    for (int s = -1; s < 2; s++) {
        for (size_t k = 0; k < p.n; k++)
            for (int64_t i = 0; i < p.items[k].numel; i++)
                host[p.items[k].offset + (size_t)i] =
                    (float)(k + 1) + (float)i / 64.0f + (s >= 0 ? 1000.0f * (float)(s + 1) : 0);
        be->ops->upload(be, s < 0 ? p.values : o->state[s], host, p.total * sizeof *host);
    }
    o->iterations = 7;
    char *path = kurc_xasprintf("%s/weights.h5", dir);
    check(kurc_weights_save(path, &p, &err), &err);
    free(path);
    struct kurc_train_state ts = {3, 5, 65, 2080, {10.5, 8.25, 2.0, 0.5}, 0.25, INFINITY, 42};
    path = kurc_xasprintf("%s/ckpt.h5", dir);
    check(kurc_checkpoint_save(path, &p, o, &ts, "model:\n  - dense: 10\n", &err), &err);
    free(path);
    free(host);
    kurc_optimizer_free(o);
    kurc_params_release(&p);
}

/* result labels (3 x 2): i / 2 - 1; out_char (3 x 2 x 2): i / 4; truth
 * labels (3 x 2): 100 + i.  DIR/named.bin: a pickle by format name. */
static void write_destinations(const char *dir) {
    float labels[6], chars[12], truth[6];
    for (int i = 0; i < 12; i++) {
        chars[i] = (float)i / 4.0f;
        if (i < 6) {
            labels[i] = (float)i / 2.0f - 1.0f;
            truth[i] = 100.0f + (float)i;
        }
    }
    const struct kurc_named_array results[2] = {
        {"labels", kurc_shape_make(1, (const int64_t[]){2}), 3, labels},
        {"out_char", kurc_shape_make(2, (const int64_t[]){2, 2}), 3, chars},
    };
    const struct kurc_named_array truths[1] = {
        {"labels", kurc_shape_make(1, (const int64_t[]){2}), 3, truth},
    };
    static const char *const exts[3] = {"pkl", "h5", "npz"};
    struct kurc_err err;
    for (int i = 0; i < 3; i++) {
        char *path = kurc_xasprintf("%s/out.%s", dir, exts[i]);
        check(kurc_destination_write(path, NULL, results, 2, truths, 1, &err), &err);
        free(path);
        path = kurc_xasprintf("%s/result_only.%s", dir, exts[i]);
        check(kurc_destination_write(path, NULL, results, 2, NULL, 0, &err), &err);
        free(path);
    }
    char *path = kurc_xasprintf("%s/named.bin", dir);
    check(kurc_destination_write(path, "pickle", results, 2, truths, 1, &err), &err);
    free(path);

    /* dimensions past one byte: wide (2 x 300): i / 8 */
    float *wide_data = kurc_xmalloc(600 * sizeof *wide_data);
    for (int i = 0; i < 600; i++)
        wide_data[i] = (float)i / 8.0f;
    const struct kurc_named_array wide = {"wide", kurc_shape_make(1, (const int64_t[]){300}), 2,
                                          wide_data};
    for (int i = 0; i < 3; i++) {
        path = kurc_xasprintf("%s/wide.%s", dir, exts[i]);
        check(kurc_destination_write(path, NULL, &wide, 1, NULL, 0, &err), &err);
        free(path);
    }
    free(wide_data);
}

/* Session 1: batches 1-3 (labels b / 2, out_char b / 4 at time b), a
 * training record, validation overall and for dataset `default`.
 * Session 2: batch 4 and a training record. */
static void write_log(const char *dir) {
    char *path = kurc_xasprintf("%s/log", dir);
    static const char *const names[2] = {"labels", "out_char"};
    struct kurc_logger *l;
    struct kurc_log_summary s;
    struct kurc_err err;
    for (int session = 0; session < 2; session++) {
        check(kurc_logger_open(path, &l, &s, &err), &err);
        for (int b = session ? 4 : 1; b <= (session ? 4 : 3); b++) {
            const double v[2] = {b / 2.0, b / 4.0};
            check(kurc_logger_append(l, "batch", NULL, names, v, 2, b, b, &err), &err);
        }
        const double t[2] = {session ? 0.75 : 1.0, 0.5};
        check(kurc_logger_append(l, "training", NULL, names, t, 2, session ? 4 : 3,
                                 session ? 4.5 : 3.5, &err),
              &err);
        if (!session) {
            const double v[2] = {1.5, 0.25};
            check(kurc_logger_append(l, "validation", NULL, names, v, 2, 3, 3.75, &err), &err);
            check(kurc_logger_append(l, "validation", "default", names, v, 2, 3, 3.75, &err), &err);
        }
        s.epochs++;
        s.batches = session ? 4 : 3;
        s.samples = 32 * s.batches;
        for (int c = 0; c < 4; c++)
            s.clocks[c] = (c + 1) * (session + 1) * 0.5;
        check(kurc_logger_flush(l, &s, &err), &err);
        kurc_logger_close(l);
    }
    free(path);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: io_fixture DIR\n");
        return 2;
    }
    struct kurc_backend *be = kurc_cpu_backend_create(1);
    write_weights(argv[1], be);
    write_destinations(argv[1]);
    write_log(argv[1]);
    kurc_backend_release(be);
    return 0;
}
