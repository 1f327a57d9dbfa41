/* test_transcript.c - the transcript hook on hand-made results: greedy CTC
 * decoding (argmax, repeats collapsed, blanks dropped; the blank last, or
 * first with warp), only the rows the batch computed, characters joined
 * or words spaced, the truth from the data's transcript source (of the
 * result's data sample), `input` prefixes, `output`, its errors, and its
 * warnings given once per run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "config/sources.h"
#include "config/yaml_load.h"
#include "hooks/hooks.h"

/* --- stdout (1) or stderr (2) capture --------------------------------------- */

static int saved = -1;
static char path[64];

static void begin_capture(int out) {
    fflush(stdout);
    snprintf(path, sizeof path, "/tmp/kurc-transcript-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    saved = dup(out);
    dup2(fd, out);
    close(fd);
}

static char *end_capture(int out) {
    fflush(stdout);
    dup2(saved, out);
    close(saved);
    FILE *f = fopen(path, "r");
    char *text = kurc_xcalloc(4096, 1);
    size_t n = fread(text, 1, 4095, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    return text;
}

/* --- results and data ----------------------------------------------------- */

static const char *const vocab3[] = {"a", "b", "c"};

/* A dataset with a transcript source `name` over vocab3: sample 0 "ab",
 * sample 1 "cb". */
static void make_data(struct kurc_dataset *d, const char *name) {
    kurc_dataset_init(d);
    float *ids = malloc(4 * sizeof *ids);
    const float values[] = {0, 1, 2, 1};
    memcpy(ids, values, sizeof values);
    int64_t *lengths = malloc(2 * sizeof *lengths);
    lengths[0] = lengths[1] = 2;
    char **vocab = kurc_xcalloc(3, sizeof *vocab);
    for (int i = 0; i < 3; i++)
        vocab[i] = kurc_xstrdup(vocab3[i]);
    struct kurc_source_extra e = {.lengths = lengths, .vocab = vocab, .n_vocab = 3};
    const struct kurc_shape scalar = {.ndim = 0};
    struct kurc_err err;
    assert_int_equal(kurc_dataset_add_ex(d, name, &scalar, 2, ids, &e, "manifest", &err), KURC_OK);
    assert_int_equal(kurc_dataset_seal(d, &err), KURC_OK);
}

/* One result of output "asr" (steps x CLASSES classes) whose argmax per row
 * is classes[row]; steps rows were computed, the rest hold class 0. */
struct made {
    struct kurc_eval_result r;
    const char *names[1];
    struct kurc_shape shapes[1];
    int tensors[1];
    float *outputs[1];
    float *truths[1];
    const struct kurc_source *truth_sources[1];
    int64_t indices[1];
    int64_t step_counts[1];
    int64_t *steps[1];
};

static void make_result_of(struct made *m, const struct kurc_dataset *d, const int *classes,
                           int rows, int steps, int64_t sample, int n_classes) {
    memset(m, 0, sizeof *m);
    m->names[0] = "asr";
    m->shapes[0] = (struct kurc_shape){.ndim = 2, .dim = {rows, n_classes}};
    m->outputs[0] = kurc_xcalloc((size_t)rows * (size_t)n_classes, sizeof(float));
    for (int t = 0; t < rows; t++) {
        int c = t < steps ? classes[t] : 0;
        for (int k = 0; k < n_classes; k++)
            m->outputs[0][t * n_classes + k] = k == c ? 0.7f : 0.1f;
    }
    m->indices[0] = sample;
    m->step_counts[0] = steps;
    m->steps[0] = m->step_counts;
    m->r = (struct kurc_eval_result){.n = 1,
                                     .count = 1,
                                     .names = m->names,
                                     .shapes = m->shapes,
                                     .tensors = m->tensors,
                                     .outputs = m->outputs,
                                     .truths = m->truths,
                                     .truth_sources = m->truth_sources,
                                     .data = d,
                                     .indices = m->indices,
                                     .steps = m->steps};
}

/* The same with 4 classes: vocab3 and the blank. */
static void make_result(struct made *m, const struct kurc_dataset *d, const int *classes, int rows,
                        int steps, int64_t sample) {
    make_result_of(m, d, classes, rows, steps, sample, 4);
}

static struct kurc_sources *sources;

static struct kurc_value *yaml(const char *text) {
    struct kurc_value *v;
    struct kurc_err err;
    const char *file = kurc_sources_intern(sources, "hooks.yml");
    if (kurc_load_buffer(text, strlen(text), KURC_FORMAT_YAML, file, &v, &err))
        fail_msg("%s", err.msg);
    return v;
}

/* Runs the hooks list `hooks` on m; returns stdout. */
static char *run(struct made *m, const char *hooks, enum kurc_status want) {
    struct kurc_value *h = yaml(hooks);
    struct kurc_err err;
    begin_capture(1);
    enum kurc_status st = kurc_hooks_evaluate(&m->r, h, NULL, &err);
    char *out = end_capture(1);
    if (st != want)
        fail_msg("status %d, wanted %d: %s", (int)st, (int)want, err.msg);
    if (st)
        printf("error: %s\n", err.msg);
    kurc_value_free(h);
    return out;
}

/* --- tests ----------------------------------------------------------------- */

static void test_decode(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, "transcript");
    /* a a _ b b _ _ c a | two rows past the batch's steps */
    const int classes[] = {0, 0, 3, 1, 1, 3, 3, 2, 0};
    struct made m;
    make_result(&m, &d, classes, 11, 9, 1);
    char *out = run(&m, "[transcript]", KURC_OK);
    assert_string_equal(out, "Prediction: \"abca\"\nTruth: \"cb\"\n");
    free(out);
    out = run(&m, "[{transcript: {word: yes}}]", KURC_OK);
    assert_string_equal(out, "Prediction: \"a b c a\"\nTruth: \"c b\"\n");
    free(out);
    /* without steps (hand-made results) every row is read: the padding's
     * class 0 adds an "a" after the last one... collapsed with it */
    m.r.steps = NULL;
    out = run(&m, "[transcript]", KURC_OK);
    assert_string_equal(out, "Prediction: \"abca\"\nTruth: \"cb\"\n");
    free(out);
    free(m.outputs[0]);

    /* warp: the blank is class 0 and symbols start at 1 */
    const int warped[] = {1, 1, 0, 2, 3, 0, 3};
    make_result(&m, &d, warped, 7, 7, 0);
    out = run(&m, "[{transcript: {warp: yes}}]", KURC_OK);
    assert_string_equal(out, "Prediction: \"abcc\"\nTruth: \"ab\"\n");
    free(out);
    /* a NaN wins the argmax, as numpy's */
    m.outputs[0][3 * 4 + 1] = NAN;
    out = run(&m, "[{transcript: {warp: yes}}]", KURC_OK);
    assert_string_equal(out, "Prediction: \"aacc\"\nTruth: \"ab\"\n");
    free(out);
    free(m.outputs[0]);
    kurc_dataset_release(&d);
}

static void test_input_and_output(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, "phones_transcript");
    const int classes[] = {2, 3, 2};
    struct made m;
    make_result(&m, &d, classes, 3, 3, 0);
    char *out = run(&m, "[{transcript: {input: phones}}]", KURC_OK);
    assert_string_equal(out, "Prediction: \"cc\"\nTruth: \"ab\"\n");
    free(out);
    out = run(&m, "[transcript]", KURC_E_DATA);
    assert_string_equal(out, "");
    free(out);
    m.names[0] = "labels";
    out = run(&m, "[{transcript: {input: phones}}]", KURC_E_CONFIG);
    free(out);
    struct kurc_value *h = yaml("[{transcript: {input: phones}}]");
    struct kurc_err err;
    assert_int_equal(kurc_hooks_evaluate(&m.r, h, NULL, &err), KURC_E_CONFIG);
    assert_string_equal(err.msg, "the transcript hook: the model has no output 'asr' (its outputs: "
                                 "'labels')");
    kurc_value_free(h);
    m.names[0] = "dec";
    out = run(&m, "[{transcript: {input: phones, output: dec}}]", KURC_OK);
    assert_string_equal(out, "Prediction: \"cc\"\nTruth: \"ab\"\n");
    free(out);
    free(m.outputs[0]);
    kurc_dataset_release(&d);
}

/* Lines of text holding what. */
static int lines_with(const char *text, const char *what) {
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* Classes beyond the vocabulary are warned about once per run (the
 * trainer's validations share the run's warnings), at every call without. */
static void test_warns_once(void **state) {
    (void)state;
    struct kurc_dataset d;
    make_data(&d, "transcript");
    /* 5 classes: the blank is 3, class 4 is outside vocab3 */
    const int classes[] = {0, 4, 1};
    struct made m;
    make_result_of(&m, &d, classes, 3, 3, 0, 5);
    struct kurc_value *h = yaml("[transcript]");
    struct kurc_err err;
    struct kurc_hook_warnings warned = {0};
    m.r.warned = &warned;
    begin_capture(2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(kurc_hooks_evaluate(&m.r, h, NULL, &err), KURC_OK);
    char *log = end_capture(2);
    assert_int_equal(lines_with(log, "1 predicted classes are outside the vocabulary"), 1);
    free(log);
    m.r.warned = NULL;
    begin_capture(2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(kurc_hooks_evaluate(&m.r, h, NULL, &err), KURC_OK);
    log = end_capture(2);
    assert_int_equal(lines_with(log, "1 predicted classes are outside the vocabulary"), 2);
    free(log);
    kurc_hook_warnings_release(&warned);
    kurc_value_free(h);
    free(m.outputs[0]);
    kurc_dataset_release(&d);
}

static int setup(void **state) {
    (void)state;
    sources = kurc_sources_create();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    kurc_sources_free(sources);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_input_and_output),
        cmocka_unit_test(test_warns_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
