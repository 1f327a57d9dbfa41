/* test_weights.c - HDF5 weight files and checkpoints on the CPU backend:
 * bit-exact round trips (weights; weights, Adam state, counters and the
 * Kurfile of a checkpoint, and training resumed from it), the exact errors
 * for missing, extra and mis-shaped tensors and for the wrong kind of file
 * or optimizer, and failed writes that must leave the previous file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/weights.h"
#include "iotest.h"
#include "kernels/cpu/cpu_backend.h"
#include "optim/optimizer.h"

/* A parameter to declare: layer, weight and shape. */
struct decl {
    const char *layer;
    const char *weight;
    int ndim;
    int64_t dim[4];
};

/* The model most tests use: an auto-named layer and a scalar weight too. */
static const struct decl model[] = {
    {"conv1", "kernel", 4, {3, 3, 1, 64}},
    {"conv1", "bias", 1, {64}},
    {"..dense.0", "kernel", 2, {576, 10}},
    {"..dense.0", "bias", 1, {10}},
    {"norm", "gamma", 0, {0}},
};
#define N_MODEL (sizeof model / sizeof model[0])

static struct kurc_backend *be;
static struct iot_dir dir;

static int setup(void **state) {
    (void)state;
    be = kurc_cpu_backend_create(1);
    iot_dir_make(&dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    iot_dir_remove(&dir);
    kurc_backend_release(be);
    return 0;
}

/* Declares decls, allocates and seeds the parameters. */
static void build(struct kurc_params *p, const struct decl *decls, size_t n, uint64_t seed) {
    kurc_params_init(p);
    for (size_t i = 0; i < n; i++) {
        struct kurc_shape s = kurc_shape_make(decls[i].ndim, decls[i].dim);
        kurc_params_add(p, decls[i].layer, decls[i].weight, &s, true, KURC_INIT_UNIFORM, 1.0f, 0,
                        0);
    }
    struct kurc_err err;
    assert_int_equal(kurc_params_allocate(p, be, &err), KURC_OK);
    assert_int_equal(kurc_params_initialize(p, seed, &err), KURC_OK);
}

/* The values of p as one host array. */
static float *values_of(const struct kurc_params *p) {
    float *v = malloc(p->total * sizeof *v);
    be->ops->download(be, v, p->values, p->total * sizeof *v);
    return v;
}

static void assert_same_arena(const float *a, const float *b, size_t n) {
    assert_memory_equal(a, b, n * sizeof *a);
}

static void expect_error(enum kurc_status got, enum kurc_status want, const struct kurc_err *err,
                         const char *text) {
    char buf[2048];
    kurc_err_format(err, buf, sizeof buf);
    if (got != want || strcmp(buf, text) != 0)
        fail_msg("status %d (want %d), error\n  %s\nwant\n  %s", got, want, buf, text);
}

static void test_round_trip(void **state) {
    (void)state;
    struct kurc_params a, b;
    struct kurc_err err;
    build(&a, model, N_MODEL, 1);
    build(&b, model, N_MODEL, 2);
    char *path = iot_path(&dir, "w.h5");
    assert_int_equal(kurc_weights_save(path, &a, &err), KURC_OK);
    assert_false(iot_exists(&dir, "w.h5.tmp"));
    assert_int_equal(kurc_weights_load(path, &b, &err), KURC_OK);
    float *va = values_of(&a), *vb = values_of(&b);
    assert_same_arena(va, vb, a.total);
    assert_false(kurc_checkpoint_is(path));
    free(va);
    free(vb);
    free(path);
    kurc_params_release(&a);
    kurc_params_release(&b);
}

/* Loads path into a model of decls and expects the error text (with PATH
 * standing for path); the model must keep its values. */
static void expect_load_error(const char *path, const struct decl *decls, size_t n,
                              const char *text) {
    struct kurc_params p;
    struct kurc_err err;
    build(&p, decls, n, 7);
    float *before = values_of(&p);
    char want[2048];
    snprintf(want, sizeof want, "%s: %s", path, text);
    expect_error(kurc_weights_load(path, &p, &err), KURC_E_CHECKPOINT, &err, want);
    float *after = values_of(&p);
    assert_same_arena(before, after, p.total);
    free(before);
    free(after);
    kurc_params_release(&p);
}

static void test_mismatches(void **state) {
    (void)state;
    struct kurc_params a;
    struct kurc_err err;
    build(&a, model, N_MODEL, 1);
    char *path = iot_path(&dir, "m.h5");
    assert_int_equal(kurc_weights_save(path, &a, &err), KURC_OK);
    kurc_params_release(&a);

    struct decl changed[N_MODEL];
    memcpy(changed, model, sizeof model);
    changed[0].dim[3] = 32;
    expect_load_error(path, changed, N_MODEL,
                      "layer 'conv1' weight 'kernel' has shape (3, 3, 1, 64) in the file but "
                      "(3, 3, 1, 32) in the model");
    memcpy(changed, model, sizeof model);
    changed[1].ndim = 2;
    changed[1].dim[1] = 1;
    expect_load_error(path, changed, N_MODEL,
                      "layer 'conv1' weight 'bias' has shape (64,) in the file but (64, 1) in "
                      "the model");
    memcpy(changed, model, sizeof model);
    changed[4].ndim = 1;
    changed[4].dim[0] = 1;
    expect_load_error(path, changed, N_MODEL,
                      "layer 'norm' weight 'gamma' has shape () in the file but (1,) in the "
                      "model");

    struct decl more[N_MODEL + 1];
    memcpy(more, model, sizeof model);
    more[N_MODEL] = (struct decl){"conv2", "kernel", 1, {5}};
    expect_load_error(path, more, N_MODEL + 1, "layer 'conv2' weight 'kernel' is not in the file");
    more[N_MODEL] = (struct decl){"conv1", "beta", 1, {5}};
    expect_load_error(path, more, N_MODEL + 1, "layer 'conv1' weight 'beta' is not in the file");

    /* without conv1, and without the dense bias */
    expect_load_error(path, model + 2, N_MODEL - 2,
                      "the file holds weights the model does not have: layer 'conv1' weight "
                      "'bias', layer 'conv1' weight 'kernel'");
    const struct decl fewer[] = {model[0], model[1], model[2], model[4]};
    expect_load_error(path, fewer, 4,
                      "the file holds weights the model does not have: layer '..dense.0' weight "
                      "'bias'");
    free(path);
}

static void test_bad_files(void **state) {
    (void)state;
    struct kurc_params p;
    struct kurc_err err;
    build(&p, model, N_MODEL, 1);
    char *missing = iot_path(&dir, "missing.h5");
    char want[2048];
    snprintf(want, sizeof want, "%s: cannot open as an HDF5 file (HDF5: No such file or directory)",
             missing);
    expect_error(kurc_weights_load(missing, &p, &err), KURC_E_CHECKPOINT, &err, want);
    assert_false(kurc_checkpoint_is(missing));

    char *text = iot_path(&dir, "text.h5");
    FILE *f = fopen(text, "w");
    fputs("not hdf5\n", f);
    fclose(f);
    assert_int_equal(kurc_weights_load(text, &p, &err), KURC_E_CHECKPOINT);
    assert_non_null(strstr(err.msg, "cannot open as an HDF5 file"));

    /* names HDF5 cannot hold; a reserved name only matters in checkpoints */
    struct kurc_params q;
    const struct decl slash[] = {{"a/b", "kernel", 1, {2}}};
    build(&q, slash, 1, 1);
    char *path = iot_path(&dir, "slash.h5");
    snprintf(want, sizeof want,
             "%s: layer 'a/b' weight 'kernel' cannot be stored: HDF5 names cannot be empty or "
             "'.', or hold '/'",
             path);
    expect_error(kurc_weights_save(path, &q, &err), KURC_E_CHECKPOINT, &err, want);
    assert_false(iot_exists(&dir, "slash.h5"));
    assert_false(iot_exists(&dir, "slash.h5.tmp"));
    kurc_params_release(&q);
    const struct decl reserved[] = {{"optimizer", "kernel", 1, {2}}};
    build(&q, reserved, 1, 1);
    assert_int_equal(kurc_weights_save(path, &q, &err), KURC_OK);
    assert_int_equal(kurc_weights_load(path, &q, &err), KURC_OK);
    kurc_params_release(&q);

    free(missing);
    free(text);
    free(path);
    kurc_params_release(&p);
}

/* A few Adam steps with deterministic gradients, so the state is not zero
 * (in the parameters' views: the arena's padding keeps zero gradients). */
static void train(struct kurc_params *p, struct kurc_optimizer *o, int steps, uint64_t seed) {
    float *g = calloc(p->total, sizeof *g);
    for (int s = 0; s < steps; s++) {
        for (size_t k = 0; k < p->n; k++)
            for (int64_t i = 0; i < p->items[k].numel; i++)
                g[p->items[k].offset + (size_t)i] =
                    (float)sin((double)(i + 1) * (double)(seed + (uint64_t)s + k));
        be->ops->upload(be, p->grads, g, p->total * sizeof *g);
        kurc_optimizer_step(o, p, 1.0f);
    }
    free(g);
}

static float *state_of(const struct kurc_params *p, const struct kurc_optimizer *o, int k) {
    float *v = malloc(p->total * sizeof *v);
    be->ops->download(be, v, o->state[k], p->total * sizeof *v);
    return v;
}

static const char *const kurfile_text =
    "model:\n  - input: images\n  - dense: 10\n# \xc3\xa9t\xc3\xa9\n";

/* Two models of the test's parameters (seeds 1 and 2), each with Adam. */
static void two_models(struct kurc_params *a, struct kurc_optimizer **oa, struct kurc_params *b,
                       struct kurc_optimizer **ob) {
    struct kurc_err err;
    build(a, model, N_MODEL, 1);
    build(b, model, N_MODEL, 2);
    assert_int_equal(kurc_optimizer_create(NULL, a, be, oa, &err), KURC_OK);
    assert_int_equal(kurc_optimizer_create(NULL, b, be, ob, &err), KURC_OK);
}

static void test_checkpoint(void **state) {
    (void)state;
    struct kurc_params a, b;
    struct kurc_optimizer *oa, *ob;
    struct kurc_err err;
    two_models(&a, &oa, &b, &ob);
    train(&a, oa, 3, 11);
    struct kurc_train_state ts = {
        .epoch = 4,
        .batch = 17,
        .batches = 417,
        .samples = 13344,
        .clocks = {12.5, 10.25, 2.0, 0.125},
        .best_train_loss = 0.3125,
        .best_valid_loss = INFINITY,
        .seed = 0xfedcba9876543210ull,
    };
    char *path = iot_path(&dir, "c.kurc");
    assert_int_equal(kurc_checkpoint_save(path, &a, oa, &ts, kurfile_text, &err), KURC_OK);
    assert_true(kurc_checkpoint_is(path));

    struct kurc_train_state got;
    memset(&got, 0, sizeof got);
    char *kurfile = NULL;
    assert_int_equal(kurc_checkpoint_load(path, &b, ob, &got, &kurfile, &err), KURC_OK);
    assert_string_equal(kurfile, kurfile_text);
    free(kurfile);
    assert_memory_equal(&got, &ts, sizeof ts);
    assert_int_equal(ob->iterations, 3);
    float *saved = values_of(&a), *vb = values_of(&b);
    assert_same_arena(saved, vb, a.total);
    free(vb);
    for (int k = 0; k < 2; k++) {
        float *sa = state_of(&a, oa, k), *sb = state_of(&b, ob, k);
        assert_same_arena(sa, sb, a.total);
        free(sa);
        free(sb);
    }
    /* training goes on exactly as if it had not stopped */
    train(&a, oa, 2, 5);
    train(&b, ob, 2, 5);
    float *va = values_of(&a);
    vb = values_of(&b);
    assert_same_arena(va, vb, a.total);
    free(va);
    free(vb);

    /* its weights load into a model alone */
    struct kurc_params c;
    build(&c, model, N_MODEL, 3);
    assert_int_equal(kurc_weights_load(path, &c, &err), KURC_OK);
    float *vc = values_of(&c);
    assert_same_arena(saved, vc, c.total);
    free(vc);
    free(saved);
    kurc_params_release(&c);

    /* the checkpoint without a Kurfile */
    assert_int_equal(kurc_checkpoint_save(path, &a, oa, &ts, NULL, &err), KURC_OK);
    kurfile = (char *)"unchanged";
    assert_int_equal(kurc_checkpoint_load(path, &b, ob, &got, &kurfile, &err), KURC_OK);
    assert_null(kurfile);

    free(path);
    kurc_optimizer_free(oa);
    kurc_optimizer_free(ob);
    kurc_params_release(&a);
    kurc_params_release(&b);
}

static void test_checkpoint_errors(void **state) {
    (void)state;
    struct kurc_params a;
    struct kurc_optimizer *adam, *sgd;
    struct kurc_err err;
    build(&a, model, N_MODEL, 1);
    assert_int_equal(kurc_optimizer_create(NULL, &a, be, &adam, &err), KURC_OK);
    struct kurc_value *spec = kurc_value_str("sgd", NULL);
    assert_int_equal(kurc_optimizer_create(spec, &a, be, &sgd, &err), KURC_OK);
    kurc_value_free(spec);
    struct kurc_train_state ts = {.best_train_loss = INFINITY, .best_valid_loss = INFINITY};
    struct kurc_train_state got;
    char want[2048];

    char *weights = iot_path(&dir, "only.w");
    assert_int_equal(kurc_weights_save(weights, &a, &err), KURC_OK);
    snprintf(want, sizeof want, "%s: holds only weights (format 'kurc-weights'), not a checkpoint",
             weights);
    expect_error(kurc_checkpoint_load(weights, &a, adam, &got, NULL, &err), KURC_E_CHECKPOINT, &err,
                 want);

    char *ckpt = iot_path(&dir, "adam.ckpt");
    assert_int_equal(kurc_checkpoint_save(ckpt, &a, adam, &ts, "k", &err), KURC_OK);
    snprintf(want, sizeof want,
             "%s: the checkpoint holds adam optimizer state, but the optimizer here is sgd", ckpt);
    expect_error(kurc_checkpoint_load(ckpt, &a, sgd, &got, NULL, &err), KURC_E_CHECKPOINT, &err,
                 want);

    struct kurc_params r;
    struct kurc_optimizer *ro;
    const struct decl reserved[] = {{"training", "kernel", 1, {2}}};
    build(&r, reserved, 1, 1);
    assert_int_equal(kurc_optimizer_create(NULL, &r, be, &ro, &err), KURC_OK);
    snprintf(want, sizeof want,
             "%s: layer 'training' cannot be stored in a checkpoint, which uses the name for "
             "itself (rename the container)",
             ckpt);
    expect_error(kurc_checkpoint_save(ckpt, &r, ro, &ts, NULL, &err), KURC_E_CHECKPOINT, &err,
                 want);
    /* ... and the old checkpoint is still there */
    assert_true(kurc_checkpoint_is(ckpt));
    kurc_optimizer_free(ro);
    kurc_params_release(&r);

    free(weights);
    free(ckpt);
    kurc_optimizer_free(adam);
    kurc_optimizer_free(sgd);
    kurc_params_release(&a);
}

/* The arena offset of element i of a parameter. */
static size_t at_of(const struct kurc_params *p, const char *layer, const char *weight, size_t i) {
    for (size_t k = 0; k < p->n; k++)
        if (strcmp(p->items[k].layer, layer) == 0 && strcmp(p->items[k].weight, weight) == 0)
            return p->items[k].offset + i;
    fail_msg("no parameter %s/%s", layer, weight);
    return 0;
}

/* A weight or optimizer state that is NaN or infinite is refused, naming
 * the tensor and the index, and so are impossible counters; nothing of a
 * refused file is loaded. */
static void test_damaged_values(void **state) {
    (void)state;
    struct kurc_params a, b;
    struct kurc_optimizer *oa, *ob;
    struct kurc_err err;
    two_models(&a, &oa, &b, &ob);
    train(&a, oa, 2, 3);
    float *before = values_of(&b);
    char *path = iot_path(&dir, "bad.w");
    char want[2048];
    /* conv1/kernel (3, 3, 1, 64): element 200 is [1, 0, 0, 8] */
    float *v = values_of(&a);
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    const char *const names[3] = {"NaN", "inf", "-inf"};
    size_t at = at_of(&a, "conv1", "kernel", 200);
    for (int i = 0; i < 3; i++) {
        float keep = v[at];
        v[at] = bad[i];
        be->ops->upload(be, a.values, v, a.total * sizeof *v);
        assert_int_equal(kurc_weights_save(path, &a, &err), KURC_OK);
        snprintf(want, sizeof want,
                 "%s: layer 'conv1' weight 'kernel' holds %s at index [1, 0, 0, 8] (element "
                 "200); refusing weights that are not finite",
                 path, names[i]);
        expect_error(kurc_weights_load(path, &b, &err), KURC_E_CHECKPOINT, &err, want);
        v[at] = keep;
    }
    be->ops->upload(be, a.values, v, a.total * sizeof *v);
    free(v);

    /* the optimizer's state in a checkpoint; the scalar weight's index */
    struct kurc_train_state ts = {.epoch = 1,
                                  .batch = 2,
                                  .batches = 5,
                                  .samples = 40,
                                  .best_train_loss = INFINITY,
                                  .best_valid_loss = 0.5};
    float *s1 = state_of(&a, oa, 1);
    at = at_of(&a, "norm", "gamma", 0); /* shape () */
    s1[at] = NAN;
    be->ops->upload(be, oa->state[1], s1, a.total * sizeof *s1);
    assert_int_equal(kurc_checkpoint_save(path, &a, oa, &ts, NULL, &err), KURC_OK);
    struct kurc_train_state got;
    snprintf(want, sizeof want,
             "%s: optimizer state1 of layer 'norm' weight 'gamma' holds NaN at index [] (element "
             "0); refusing weights that are not finite",
             path);
    expect_error(kurc_checkpoint_load(path, &b, ob, &got, NULL, &err), KURC_E_CHECKPOINT, &err,
                 want);
    s1[at] = 1.0f;
    be->ops->upload(be, oa->state[1], s1, a.total * sizeof *s1);
    free(s1);

    /* counters that cannot be */
    static const struct {
        int64_t iterations, epoch, batch, batches, samples;
        const char *why;
    } cases[] = {
        {-3, 1, 2, 5, 40, "/optimizer's 'iterations' is negative"},
        {2, -1, 2, 5, 40, "a counter of /training (epoch, batch, batches, samples) is negative"},
        {2, 1, (int64_t)1 << 62, 5, 40,
         "/training counts more epochs or batches of this epoch than batches in all"},
        {2, 1, 2, 50, 40, "/training counts more batches than samples"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        oa->iterations = cases[i].iterations;
        ts.epoch = cases[i].epoch;
        ts.batch = cases[i].batch;
        ts.batches = cases[i].batches;
        ts.samples = cases[i].samples;
        assert_int_equal(kurc_checkpoint_save(path, &a, oa, &ts, NULL, &err), KURC_OK);
        snprintf(want, sizeof want,
                 "%s: %s (iterations %lld, epoch %lld, batch %lld, batches %lld, samples %lld); "
                 "the checkpoint is damaged",
                 path, cases[i].why, (long long)cases[i].iterations, (long long)cases[i].epoch,
                 (long long)cases[i].batch, (long long)cases[i].batches,
                 (long long)cases[i].samples);
        expect_error(kurc_checkpoint_load(path, &b, ob, &got, NULL, &err), KURC_E_CHECKPOINT, &err,
                     want);
    }
    ts = (struct kurc_train_state){
        .epoch = 1, .batch = 2, .batches = 5, .samples = 40, .clocks = {1, -2, 0, 0}};
    oa->iterations = 2;
    assert_int_equal(kurc_checkpoint_save(path, &a, oa, &ts, NULL, &err), KURC_OK);
    assert_int_equal(kurc_checkpoint_load(path, &b, ob, &got, NULL, &err), KURC_E_CHECKPOINT);
    assert_non_null(strstr(err.msg, "'clocks' hold a negative or non-finite time"));
    /* nothing was loaded */
    float *after = values_of(&b);
    assert_same_arena(before, after, b.total);
    assert_int_equal(ob->iterations, 0);
    free(after);
    free(before);
    free(path);
    kurc_optimizer_free(oa);
    kurc_optimizer_free(ob);
    kurc_params_release(&a);
    kurc_params_release(&b);
}

/* Saves a small model to path, then fails to overwrite it with a large
 * one while writing can fail; the small model's file must survive. */
static void expect_survives(const char *path, const struct kurc_params *small,
                            const float *small_values, enum kurc_status status, const char *text) {
    struct kurc_params big;
    struct kurc_err err;
    const struct decl large[] = {{"big", "kernel", 2, {1024, 1024}}};
    build(&big, large, 1, 4);
    enum kurc_status st = kurc_weights_save(path, &big, &err);
    kurc_params_release(&big);
    assert_int_equal(st, status);
    assert_non_null(strstr(err.msg, text));
    struct kurc_params check;
    build(&check, model, N_MODEL, 9);
    assert_int_equal(check.total, small->total);
    assert_int_equal(kurc_weights_load(path, &check, &err), KURC_OK);
    float *v = values_of(&check);
    assert_same_arena(v, small_values, check.total);
    free(v);
    kurc_params_release(&check);
}

static void test_failed_writes(void **state) {
    (void)state;
    struct kurc_params a;
    struct kurc_err err;
    build(&a, model, N_MODEL, 1);
    float *va = values_of(&a);
    char *path = iot_path(&dir, "keep.h5");
    char *tmp = iot_path(&dir, "keep.h5.tmp");

    /* a stale temporary file from a crash does not matter */
    FILE *f = fopen(tmp, "w");
    fputs("half a file", f);
    fclose(f);
    assert_int_equal(kurc_weights_save(path, &a, &err), KURC_OK);
    assert_false(iot_exists(&dir, "keep.h5.tmp"));

    /* the disk fills up mid-write (a 1 MiB file size limit, 4 MiB to write) */
    struct rlimit old;
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit small = {1 << 20, old.rlim_max};
    void (*handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    expect_survives(path, &a, va, KURC_E_CHECKPOINT, "File too large");
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, handler);
    assert_false(iot_exists(&dir, "keep.h5.tmp"));

    /* the temporary file cannot be created */
    assert_int_equal(mkdir(tmp, 0700), 0);
    expect_survives(path, &a, va, KURC_E_CHECKPOINT, "cannot create");
    rmdir(tmp);

    /* a read-only directory (root writes anyway) */
    if (geteuid() != 0) {
        chmod(dir.path, 0500);
        expect_survives(path, &a, va, KURC_E_CHECKPOINT, "Permission denied");
        chmod(dir.path, 0700);
    }
    free(va);
    free(path);
    free(tmp);
    kurc_params_release(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),        cmocka_unit_test(test_mismatches),
        cmocka_unit_test(test_bad_files),         cmocka_unit_test(test_checkpoint),
        cmocka_unit_test(test_checkpoint_errors), cmocka_unit_test(test_failed_writes),
        cmocka_unit_test(test_damaged_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
