/* test_hooks.c - Kur's hooks on hand-made results: the mnist table as Kur
 * printed it, the output hook's csv (numbers as numpy prints float32s) and
 * what it hands to kurc_destination_write, `when`, refused and unknown
 * hooks, and the plot hook's PNG and SVG files drawn from a fake log.
 *
 * kurc_destination_write and kurc_logger_column are test doubles defined
 * here: the first records its arguments, the second serves known series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <cairo.h>
#include <ctype.h>
#include <fcntl.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/yaml_load.h"
#include "data/provider.h"
#include "io/destination.h"
#include "io/logger.h"
#include "iotest.h"
#include "train/eval_result.h"

static struct iot_dir scratch; /* the test's files */

/* --- test doubles ------------------------------------------------------- */

static struct {
    int calls;
    char path[512];
    char format[16];
    struct kurc_named_array results[4];
    struct kurc_named_array truths[4];
    size_t n_results;
    size_t n_truths;
} dest;

enum kurc_status kurc_destination_write(const char *path, const char *format,
                                        const struct kurc_named_array *results, size_t n_results,
                                        const struct kurc_named_array *truths, size_t n_truths,
                                        struct kurc_err *err) {
    (void)err;
    dest.calls++;
    snprintf(dest.path, sizeof dest.path, "%s", path);
    snprintf(dest.format, sizeof dest.format, "%s", format ? format : "(null)");
    dest.n_results = n_results;
    dest.n_truths = n_truths;
    for (size_t i = 0; i < n_results && i < 4; i++)
        dest.results[i] = results[i];
    for (size_t i = 0; i < n_truths && i < 4; i++)
        dest.truths[i] = truths[i];
    return KURC_OK;
}

/* The fake log: these columns in the directory fake_log_dir. */
struct fake_column {
    const char *name;
    const double *values;
    size_t n;
};
static const struct fake_column *fake_columns;
static size_t n_fake_columns;
static const char *fake_log_dir;
static char requested[64][64];
static size_t n_requested;

enum kurc_status kurc_logger_column(const char *log_dir, const char *column, double **values,
                                    size_t *n, struct kurc_err *err) {
    (void)err;
    if (n_requested < 64)
        snprintf(requested[n_requested++], sizeof requested[0], "%s", column);
    *values = NULL;
    *n = 0;
    for (size_t i = 0; i < n_fake_columns && strcmp(log_dir, fake_log_dir) == 0; i++) {
        if (strcmp(fake_columns[i].name, column) != 0)
            continue;
        *n = fake_columns[i].n;
        *values = malloc((*n + 1) * sizeof **values);
        memcpy(*values, fake_columns[i].values, *n * sizeof **values);
    }
    return KURC_OK;
}

static bool was_requested(const char *column) {
    for (size_t i = 0; i < n_requested; i++)
        if (strcmp(requested[i], column) == 0)
            return true;
    return false;
}

/* --- helpers ------------------------------------------------------------ */

static int setup(void **state) {
    (void)state;
    iot_dir_make(&scratch);
    return 0;
}

/* Also frees cairo's and fontconfig's caches, which live as long as the
 * process and which LeakSanitizer would otherwise report. */
static int teardown(void **state) {
    (void)state;
    cairo_debug_reset_static_data();
    FcFini();
    iot_dir_remove(&scratch);
    return 0;
}

static char *path_in(const char *name) {
    return iot_in(&scratch, name);
}

static struct kurc_value *yaml(const char *text) {
    struct kurc_value *v = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_load_buffer(text, strlen(text), KURC_FORMAT_YAML, "test.yml", &v, &err),
                     KURC_OK);
    return v;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

static bool exists(const char *path) {
    return access(path, F_OK) == 0;
}

/* Sends stdout to a file until end_capture, which returns what was
 * written. */
static int saved_stdout = -1;
static void begin_capture(void) {
    fflush(stdout);
    saved_stdout = dup(1);
    int fd = open(path_in("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    dup2(fd, 1);
    close(fd);
}

static char *end_capture(void) {
    fflush(stdout);
    dup2(saved_stdout, 1);
    close(saved_stdout);
    return read_all(path_in("stdout.txt"));
}

/* A result of up to 4 outputs of `count` samples, built by hand. */
struct made {
    struct kurc_eval_result r;
    const char *names[4];
    struct kurc_shape shapes[4];
    float *outputs[4];
    float *truths[4];
};

static void made_init(struct made *m, int64_t count) {
    memset(m, 0, sizeof *m);
    m->r.count = count;
    m->r.names = m->names;
    m->r.shapes = m->shapes;
    m->r.outputs = m->outputs;
    m->r.truths = m->truths;
}

/* Adds an output of per-sample shape (per,), with a truth when truth. */
static size_t made_add(struct made *m, const char *name, int64_t per, bool truth) {
    size_t i = m->r.n++;
    m->names[i] = name;
    m->shapes[i] = kurc_shape_make(1, &per);
    m->outputs[i] = calloc((size_t)(m->r.count * per), sizeof(float));
    m->truths[i] = truth ? calloc((size_t)(m->r.count * per), sizeof(float)) : NULL;
    return i;
}

static void made_release(struct made *m) {
    for (size_t i = 0; i < m->r.n; i++) {
        free(m->outputs[i]);
        free(m->truths[i]);
    }
}

/* --- mnist -------------------------------------------------------------- */

/* 14 samples: per digit d, total[d] samples of truth d, correct[d] of them
 * predicted d and the others d+1; a second output "aux" beside "labels". */
static void mnist_result(struct made *m, bool truth) {
    static const int total[10] = {3, 3, 1, 0, 1, 1, 1, 1, 1, 2};
    static const int correct[10] = {3, 2, 0, 0, 1, 1, 1, 1, 1, 1};
    made_init(m, 14);
    size_t aux = made_add(m, "aux", 2, truth);
    size_t labels = made_add(m, "labels", 10, truth);
    int64_t s = 0;
    for (int d = 0; d < 10; d++) {
        for (int k = 0; k < total[d]; k++, s++) {
            int guess = k < correct[d] ? d : (d + 1) % 10;
            m->outputs[labels][s * 10 + guess] = 0.9f;
            m->outputs[labels][s * 10 + (guess + 3) % 10] = 0.1f;
            if (truth)
                m->truths[labels][s * 10 + d] = 1;
            m->outputs[aux][s * 2 + 1] = 5; /* would be digit 1 if judged */
        }
    }
}

static void test_mnist_table(void **state) {
    (void)state;
    struct made m;
    mnist_result(&m, true);
    struct kurc_value *hooks = yaml("[mnist]");
    struct kurc_err err;
    begin_capture();
    enum kurc_status st = kurc_hooks_evaluate(&m.r, hooks, NULL, &err);
    char *out = end_capture();
    assert_int_equal(st, KURC_OK);
    assert_string_equal(out, "LABEL     CORRECT   TOTAL     ACCURACY  \n"
                             "0         3         3         100.0%\n"
                             "1         2         3          66.7%\n"
                             "2         0         1           0.0%\n"
                             "3         0         0           0.0%\n"
                             "4         1         1         100.0%\n"
                             "5         1         1         100.0%\n"
                             "6         1         1         100.0%\n"
                             "7         1         1         100.0%\n"
                             "8         1         1         100.0%\n"
                             "9         1         2          50.0%\n"
                             "ALL       11        14         78.6%\n");
    free(out);
    kurc_value_free(hooks);
    made_release(&m);
}

static void test_mnist_errors(void **state) {
    (void)state;
    struct made m;
    struct kurc_err err;
    struct kurc_value *hooks = yaml("[mnist]");

    mnist_result(&m, false);
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_E_DATA);
    assert_non_null(strstr(err.msg, "mnist hook"));
    assert_non_null(strstr(err.msg, "truth"));
    m.r.truths = NULL; /* no truth array at all */
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_E_DATA);
    made_release(&m);

    /* Several outputs, none named labels. */
    made_init(&m, 1);
    made_add(&m, "a", 10, true);
    made_add(&m, "b", 10, true);
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_E_CONFIG);
    assert_non_null(strstr(err.msg, "'labels'"));
    made_release(&m);
    kurc_value_free(hooks);
}

/* --- joining the ranks' slices ------------------------------------------ */

/* A rank 0 of two whose partner holds `other`: allreduce_double adds it;
 * allreduce_float, which works in device memory under NCCL, must not be
 * used on host results. */
static const double *other_rank;
static int64_t other_at;

static enum kurc_status fake_allreduce_float(struct kurc_comm *c, float *buf, int64_t n,
                                             struct kurc_err *err) {
    (void)c;
    (void)buf;
    (void)n;
    (void)err;
    fail_msg("host results summed with allreduce_float");
    return KURC_OK;
}

static enum kurc_status fake_allreduce_double(struct kurc_comm *c, double *buf, int64_t n,
                                              struct kurc_err *err) {
    (void)c;
    (void)err;
    for (int64_t i = 0; i < n; i++)
        buf[i] += other_rank[other_at++];
    return KURC_OK;
}

static void test_join(void **state) {
    (void)state;
    static const struct kurc_comm_ops ops = {.name = "fake",
                                             .allreduce_float = fake_allreduce_float,
                                             .allreduce_double = fake_allreduce_double};
    struct kurc_comm comm = {.ops = &ops, .rank = 0, .size = 2};
    struct made m;
    made_init(&m, 4);
    made_add(&m, "labels", 2, true);
    /* Rank 0 stored samples 0-1, rank 1 samples 2-3. */
    const float mine[8] = {1, 2, 3, 4, 0, 0, 0, 0}, my_truth[8] = {0, 1, 1, 0, 0, 0, 0, 0};
    const double theirs[16] = {0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0, 1, 0, 0, 1};
    memcpy(m.outputs[0], mine, sizeof mine);
    memcpy(m.truths[0], my_truth, sizeof my_truth);
    other_rank = theirs;
    other_at = 0;
    struct kurc_err err;
    assert_int_equal(kurc_eval_result_join(&m.r, &comm, &err), KURC_OK);
    const float outputs[8] = {1, 2, 3, 4, 5, 6, 7, 8}, truths[8] = {0, 1, 1, 0, 1, 0, 0, 1};
    assert_memory_equal(m.outputs[0], outputs, sizeof outputs);
    assert_memory_equal(m.truths[0], truths, sizeof truths);
    made_release(&m);
}

/* --- output ------------------------------------------------------------- */

static void test_output_csv(void **state) {
    (void)state;
    struct made m;
    made_init(&m, 3);
    made_add(&m, "labels", 3, true);
    made_add(&m, "x,y", 1, true);
    const float labels[9] = {0.5f, 0.2f, 0.3f, 1e-5f, 7, 7, 123456789.0f, 7, 7};
    const float truth[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    const float xy[3] = {0.1f, -2.25f, NAN}, xy_truth[3] = {0.25f, 3.0f, 1e20f};
    memcpy(m.outputs[0], labels, sizeof labels);
    memcpy(m.truths[0], truth, sizeof truth);
    memcpy(m.outputs[1], xy, sizeof xy);
    memcpy(m.truths[1], xy_truth, sizeof xy_truth);

    char text[600];
    snprintf(text, sizeof text, "[{output: {path: %s, format: csv}}]", path_in("out.csv"));
    struct kurc_value *hooks = yaml(text);
    struct kurc_err err;
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_OK);
    char *csv = read_all(path_in("out.csv"));
    assert_non_null(csv);
    assert_string_equal(csv, "labels,\"x,y\",labels expected,\"x,y expected\"\r\n"
                             "0.5,0.1,1.0,0.25\r\n"
                             "1e-05,-2.25,0.0,3.0\r\n"
                             "123456790.0,nan,0.0,1e+20\r\n");
    free(csv);
    assert_false(exists(path_in("out.csv.tmp")));
    kurc_value_free(hooks);

    /* Without truths there are no `expected` columns; the .csv extension
     * picks csv by itself, and a path string is the path. */
    free(m.truths[0]);
    free(m.truths[1]);
    m.truths[0] = m.truths[1] = NULL;
    struct kurc_value *destination = yaml(path_in("plain.csv"));
    assert_int_equal(kurc_hooks_evaluate(&m.r, NULL, destination, &err), KURC_OK);
    csv = read_all(path_in("plain.csv"));
    assert_string_equal(csv, "labels,\"x,y\"\r\n0.5,0.1\r\n1e-05,-2.25\r\n123456790.0,nan\r\n");
    free(csv);
    kurc_value_free(destination);
    assert_int_equal(dest.calls, 0);
    made_release(&m);
}

/* Floats printed as numpy's str(numpy.float32(x)) prints them (values and
 * strings from numpy 1.24). */
static void test_output_csv_numbers(void **state) {
    (void)state;
    static const struct {
        uint32_t bits;
        const char *text;
    } cases[] = {
        {0x00000000u, "0.0"},
        {0x80000000u, "-0.0"},
        {0x3f800000u, "1.0"},
        {0xbf800000u, "-1.0"},
        {0x3dcccccdu, "0.1"},
        {0x38d1b717u, "1e-04"},
        {0x38d1bc76u, "0.00010001"},
        {0x5a0e1b6du, "9999900000000000.0"},
        {0x5a0e1bcau, "1e+16"},
        {0x00800000u, "1.1754944e-38"},
        {0x00000001u, "1e-45"},
        {0x7f7fffffu, "3.4028235e+38"},
        {0x4b800000u, "16777216.0"},
        {0x3eaaaaaau, "0.3333333"},
        {0x3f2aaaabu, "0.6666667"},
        {0x449a522bu, "1234.5677"},
        {0xb900f990u, "-0.000123"},
        {0xccc014ceu, "-100705900.0"},
        {0xdb368ef4u, "-5.1385624e+16"},
        {0xd4c1261eu, "-6636545500000.0"},
        {0xb786fee7u, "-1.6092743e-05"},
        {0xbb840f57u, "-0.004030149"},
        {0x59ff7b6au, "8988977000000000.0"},
        {0x2bcf7180u, "1.4739737e-12"},
        {0xd72d0679u, "-190243310000000.0"},
        {0x55e967ebu, "32079067000000.0"},
        {0x446b6d9fu, "941.7128"},
        {0x3ba31cd5u, "0.0049778023"},
        {0x3a54e45fu, "0.0008121188"},
        {0xb9161dacu, "-0.00014316168"},
        {0x432ec289u, "174.7599"},
        {0xc65a74c7u, "-13981.194"},
        {0xc8fb8704u, "-515128.12"},
        {0xe0790a45u, "-7.1780926e+19"},
        {0xd5a8aee0u, "-23183630000000.0"},
        {0x4c9af0d0u, "81233540.0"},
        {0xe019cf66u, "-4.4332757e+19"},
        {0xb7023239u, "-7.760297e-06"},
        {0xb40fc689u, "-1.339014e-07"},
        {0x4c184f45u, "39927060.0"},
        {0x7f800000u, "inf"},
        {0xff800000u, "-inf"},
    };
    size_t n = sizeof cases / sizeof *cases;
    struct made m;
    made_init(&m, (int64_t)n);
    made_add(&m, "v", 1, false);
    char expected[4096] = "v\r\n";
    for (size_t i = 0; i < n; i++) {
        memcpy(&m.outputs[0][i], &cases[i].bits, sizeof(float));
        strcat(expected, cases[i].text);
        strcat(expected, "\r\n");
    }
    char text[600];
    snprintf(text, sizeof text, "{path: %s, format: csv}", path_in("numbers.txt"));
    struct kurc_value *destination = yaml(text);
    struct kurc_err err;
    assert_int_equal(kurc_hooks_evaluate(&m.r, NULL, destination, &err), KURC_OK);
    char *csv = read_all(path_in("numbers.txt"));
    assert_string_equal(csv, expected);
    free(csv);
    kurc_value_free(destination);
    made_release(&m);
}

static void test_output_destination_write(void **state) {
    (void)state;
    struct made m;
    made_init(&m, 5);
    made_add(&m, "labels", 10, true);
    made_add(&m, "aux", 3, false);
    struct kurc_err err;
    struct {
        const char *entry;
        const char *path;
        const char *format;
    } cases[] = {
        {"[{output: {path: $KURC_TEST_HOOKS/a.pkl}}]", "a.pkl", "pkl"},
        {"[{output: {path: $KURC_TEST_HOOKS/a.H5}}]", "a.H5", "h5"},
        {"[{output: {path: $KURC_TEST_HOOKS/a.dat}}]", "a.dat", "pkl"}, /* Kur's default */
        {"[{output: {path: $KURC_TEST_HOOKS/a.pkl, format: npz}}]", "a.pkl", "npz"},
        {"[{output: $KURC_TEST_HOOKS/b.hdf5}]", "b.hdf5", "hdf5"},
        {"[{output: [$KURC_TEST_HOOKS/c, pickle]}]", "c", "pickle"},
    };
    setenv("KURC_TEST_HOOKS", scratch.path, 1);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        memset(&dest, 0, sizeof dest);
        struct kurc_value *hooks = yaml(cases[c].entry);
        assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_OK);
        assert_int_equal(dest.calls, 1);
        assert_string_equal(dest.path, path_in(cases[c].path));
        assert_string_equal(dest.format, cases[c].format);
        assert_int_equal(dest.n_results, 2);
        assert_string_equal(dest.results[0].name, "labels");
        assert_ptr_equal(dest.results[0].data, m.outputs[0]);
        assert_int_equal(dest.results[0].count, 5);
        assert_int_equal(dest.results[0].shape.ndim, 1);
        assert_int_equal(dest.results[0].shape.dim[0], 10);
        assert_string_equal(dest.results[1].name, "aux");
        assert_ptr_equal(dest.results[1].data, m.outputs[1]);
        assert_int_equal(dest.results[1].shape.dim[0], 3);
        assert_int_equal(dest.n_truths, 1);
        assert_string_equal(dest.truths[0].name, "labels");
        assert_ptr_equal(dest.truths[0].data, m.truths[0]);
        assert_int_equal(dest.truths[0].count, 5);
        kurc_value_free(hooks);
    }

    /* The hooks run first, then the destination. */
    memset(&dest, 0, sizeof dest);
    struct kurc_value *hooks = yaml("[{output: first.pkl}]");
    struct kurc_value *destination = yaml("{path: last.npz}");
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, destination, &err), KURC_OK);
    assert_int_equal(dest.calls, 2);
    assert_string_equal(dest.path, "last.npz");
    assert_string_equal(dest.format, "npz");
    kurc_value_free(hooks);
    kurc_value_free(destination);

    /* Bad parameters are refused before anything runs. */
    memset(&dest, 0, sizeof dest);
    hooks = yaml("[{output: a.pkl}, {output: {path: b.pkl, format: xml}}]");
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_E_CONFIG);
    assert_non_null(strstr(err.msg, "unknown format 'xml'"));
    assert_int_equal(err.line, 1);
    assert_int_equal(dest.calls, 0);
    kurc_value_free(hooks);
    hooks = yaml("[{output: {format: pkl}}]");
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_E_CONFIG);
    assert_string_equal(err.msg, "the output hook needs a `path`");
    kurc_value_free(hooks);
    made_release(&m);
}

/* --- the runner --------------------------------------------------------- */

static void test_when_false_skips(void **state) {
    (void)state;
    struct made m;
    mnist_result(&m, true);
    memset(&dest, 0, sizeof dest);
    struct kurc_value *hooks = yaml("[{mnist: null, when: false}, {output: out.pkl, when: 0},"
                                    " {output: {path: out.npz}, when: ''}]");
    struct kurc_err err;
    begin_capture();
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_OK);
    char *out = end_capture();
    assert_string_equal(out, "");
    assert_int_equal(dest.calls, 0);
    free(out);
    kurc_value_free(hooks);

    /* A true `when` runs the hook. */
    hooks = yaml("[{output: out.pkl, when: yes}, {mnist: null, when: 1}]");
    begin_capture();
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_OK);
    out = end_capture();
    assert_int_equal(dest.calls, 1);
    assert_non_null(strstr(out, "ALL       11        14         78.6%\n"));
    free(out);
    kurc_value_free(hooks);

    /* Training hooks too: a disabled plot draws nothing, even without a log. */
    hooks = yaml("[{plot: never.png, when: false}]");
    struct kurc_train_event e = {.kind = KURC_EVENT_EPOCH_END, .epoch = 1, .total_epochs = -1};
    assert_int_equal(kurc_hooks_training(hooks, &e, &err), KURC_OK);
    kurc_value_free(hooks);
    made_release(&m);
}

static void test_refused_and_unknown(void **state) {
    (void)state;
    struct kurc_err err;
    struct kurc_value *hooks = yaml("- plot: a.png\n- slack: {channel: '#kur'}\n");
    assert_int_equal(kurc_hooks_check(hooks, true, &err), KURC_E_UNSUPPORTED);
    assert_string_equal(err.msg, "the slack hook posts to the network, which kurc does not do");
    assert_int_equal(err.line, 2);
    kurc_value_free(hooks);

    hooks = yaml("[{kurhub: {uuid: x}}]");
    assert_int_equal(kurc_hooks_check(hooks, true, &err), KURC_E_UNSUPPORTED);
    assert_string_equal(err.msg, "the kurhub hook posts to the network, which kurc does not do");
    kurc_value_free(hooks);

    /* The slack hook as an evaluation hook, refused before mnist prints. */
    struct made m;
    mnist_result(&m, true);
    hooks = yaml("[mnist, {slack: {channel: x}}]");
    begin_capture();
    assert_int_equal(kurc_hooks_evaluate(&m.r, hooks, NULL, &err), KURC_E_UNSUPPORTED);
    char *out = end_capture();
    assert_string_equal(out, "");
    free(out);
    kurc_value_free(hooks);
    made_release(&m);

    /* A refused hook turned off by `when` is never built, as in Kur. */
    hooks = yaml("[{slack: {channel: x}, when: false}]");
    assert_int_equal(kurc_hooks_check(hooks, true, &err), KURC_OK);
    assert_int_equal(kurc_hooks_check(hooks, false, &err), KURC_OK);
    kurc_value_free(hooks);

    /* text and transcript run (test_transcript.c, e2e/language_model.sh),
     * as evaluation hooks only */
    hooks = yaml("[text, transcript]");
    assert_int_equal(kurc_hooks_check(hooks, false, &err), KURC_OK);
    assert_int_equal(kurc_hooks_check(hooks, true, &err), KURC_E_CONFIG);
    assert_string_equal(err.msg, "'text' is an evaluation hook; it cannot run as a training hook");
    kurc_value_free(hooks);

    hooks = yaml("[mnst]");
    assert_int_equal(kurc_hooks_check(hooks, false, &err), KURC_E_CONFIG);
    assert_string_equal(
        err.msg, "unknown evaluation hook 'mnst' (kurc has mnist, output, text, transcript)");
    kurc_value_free(hooks);

    hooks = yaml("[{plot: a.png, when: false}]");
    assert_int_equal(kurc_hooks_check(hooks, false, &err), KURC_E_CONFIG);
    assert_string_equal(err.msg, "'plot' is a training hook; it cannot run as an evaluation hook");
    kurc_value_free(hooks);

    hooks = yaml("[mnist]");
    assert_int_equal(kurc_hooks_check(hooks, true, &err), KURC_E_CONFIG);
    assert_string_equal(err.msg, "'mnist' is an evaluation hook; it cannot run as a training hook");
    kurc_value_free(hooks);

    hooks = yaml("[{mnist: null, output: a.pkl}]");
    assert_int_equal(kurc_hooks_check(hooks, false, &err), KURC_E_CONFIG);
    assert_non_null(strstr(err.msg, "found 'mnist' and 'output'"));
    kurc_value_free(hooks);

    hooks = yaml("{mnist: null}");
    assert_int_equal(kurc_hooks_check(hooks, false, &err), KURC_E_CONFIG);
    kurc_value_free(hooks);

    /* No hooks at all. */
    assert_int_equal(kurc_hooks_check(NULL, true, &err), KURC_OK);
    hooks = yaml("null");
    assert_int_equal(kurc_hooks_check(hooks, false, &err), KURC_OK);
    kurc_value_free(hooks);

    /* plot parameters. */
    hooks = yaml("[{plot: loss.jpg}]");
    assert_int_equal(kurc_hooks_check(hooks, true, &err), KURC_E_CONFIG);
    assert_non_null(strstr(err.msg, "must end in .png or .svg"));
    kurc_value_free(hooks);
    /* a plot that names no file draws nothing: Kur ran it so (a warning) */
    hooks = yaml("[{plot: {}}, {plot: null}]");
    assert_int_equal(kurc_hooks_check(hooks, true, &err), KURC_OK);
    kurc_value_free(hooks);
}

/* --- plot --------------------------------------------------------------- */

/* Checks that path is a 640 x 480 PNG with some of the training line's
 * cyan in it. */
static void check_png(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char head[8];
    assert_int_equal(fread(head, 1, 8, f), 8);
    fclose(f);
    assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(s), 640);
    assert_int_equal(cairo_image_surface_get_height(s), 480);
    cairo_surface_flush(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    int cyan = 0;
    for (int y = 0; y < 480; y++) {
        for (int x = 0; x < 640; x++) {
            uint32_t px;
            memcpy(&px, data + y * stride + x * 4, 4);
            int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
            cyan += r < 60 && g > 150 && b > 150;
        }
    }
    assert_true(cyan > 50);
    cairo_surface_destroy(s);
}

/* A small well-formedness check: one root element, every tag closed in
 * order, attribute values quoted; declarations, comments and CDATA
 * skipped. */
static bool well_formed_xml(const char *s) {
    const char *names[256];
    size_t lens[256];
    int depth = 0;
    bool root = false;
    while (*s) {
        if (*s != '<') {
            if (depth == 0 && !isspace((unsigned char)*s))
                return false;
            s++;
            continue;
        }
        const char *close = NULL;
        if (strncmp(s, "<?", 2) == 0)
            close = strstr(s, "?>");
        else if (strncmp(s, "<!--", 4) == 0)
            close = strstr(s, "-->");
        else if (strncmp(s, "<![CDATA[", 9) == 0)
            close = strstr(s, "]]>");
        else if (strncmp(s, "<!", 2) == 0)
            close = strchr(s, '>');
        if (strncmp(s, "<!", 2) == 0 || strncmp(s, "<?", 2) == 0) {
            if (!close)
                return false;
            s = strchr(close, '>') + 1;
            continue;
        }
        bool end = s[1] == '/';
        const char *name = s + 1 + end;
        size_t len = strcspn(name, " \t\r\n/>");
        if (len == 0)
            return false;
        const char *p = name + len;
        if (!end && depth == 0) {
            if (root) /* a second root element */
                return false;
            root = true;
        }
        if (end) {
            if (depth == 0 || lens[depth - 1] != len || strncmp(names[depth - 1], name, len) != 0)
                return false;
            depth--;
            p += strspn(p, " \t\r\n");
            if (*p != '>')
                return false;
            s = p + 1;
            continue;
        }
        for (;;) {
            p += strspn(p, " \t\r\n");
            if (p[0] == '/' && p[1] == '>') {
                p += 2;
                break;
            }
            if (*p == '>') {
                if (depth == 256)
                    return false;
                names[depth] = name;
                lens[depth++] = len;
                p++;
                break;
            }
            size_t attr = strcspn(p, " \t\r\n=/>");
            if (attr == 0)
                return false;
            p += attr;
            p += strspn(p, " \t\r\n");
            if (*p++ != '=')
                return false;
            p += strspn(p, " \t\r\n");
            char quote = *p++;
            if (quote != '"' && quote != '\'')
                return false;
            const char *value_end = strchr(p, quote);
            if (!value_end || memchr(p, '<', (size_t)(value_end - p)))
                return false;
            p = value_end + 1;
        }
        s = p;
    }
    return depth == 0 && root;
}

static const double batch_loss[] = {2.0, 1.5, 1.2, 1.0, 0.9, 0.8};
static const double batch_no[] = {1, 2, 3, 4, 5, 6};
static const double batch_time[] = {0.5, 1.0, 1.5, 1.5, 2.5, 3.0};
static const double valid_loss[] = {1.4, 0.95};
static const double valid_batch[] = {3, 6};
static const double valid_time[] = {1.6, 3.1};
static const double set_loss[] = {1.3, NAN, 0.7};

static const struct fake_column batch_log[] = {
    {"batch_loss_total", batch_loss, 6},
    {"batch_loss_batch", batch_no, 6},
    {"batch_loss_time", batch_time, 6},
    {"validation_loss_total", valid_loss, 2},
    {"validation_loss_batch", valid_batch, 2},
    {"validation_loss_time", valid_time, 2},
    {"validation_loss.default_total", valid_loss, 2},
    {"validation_loss.default_batch", valid_batch, 2},
    {"validation_loss.default_time", valid_time, 2},
    {"validation_loss.my__set_total", set_loss, 3},
    {"validation_loss.my__set_batch", batch_no, 3},
};

/* Makes the log directory with an empty file per column (the hook finds
 * the validation sets by listing it) and serves the columns. */
static const char *make_log(const char *name, const struct fake_column *columns, size_t n) {
    static char logs[8][512];
    static int next;
    char *log = logs[next++ % 8];
    snprintf(log, sizeof logs[0], "%s", path_in(name));
    mkdir(log, 0755);
    for (size_t i = 0; i < n; i++) {
        char file[700];
        snprintf(file, sizeof file, "%s/%s", log, columns[i].name);
        FILE *f = fopen(file, "w");
        assert_non_null(f);
        fclose(f);
    }
    fake_columns = columns;
    n_fake_columns = n;
    fake_log_dir = log;
    n_requested = 0;
    return log;
}

static void test_plot_batches(void **state) {
    (void)state;
    struct kurc_train_event e = {.kind = KURC_EVENT_EPOCH_END,
                                 .epoch = 2,
                                 .total_epochs = 10,
                                 .train_loss = 0.8,
                                 .valid_loss = 0.95};
    e.log_dir = make_log("log", batch_log, sizeof batch_log / sizeof *batch_log);
    char text[1200];
    snprintf(text, sizeof text,
             "[{plot: {loss_per_batch: %s, loss_per_time: %s, throughput_per_time: %s}}]",
             path_in("loss.png"), path_in("time.svg"), path_in("speed.PNG"));
    struct kurc_value *hooks = yaml(text);
    struct kurc_err err;
    assert_int_equal(kurc_hooks_training(hooks, &e, &err), KURC_OK);
    check_png(path_in("loss.png"));
    check_png(path_in("speed.PNG"));
    char *svg = read_all(path_in("time.svg"));
    assert_non_null(svg);
    assert_true(well_formed_xml(svg));
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "<path"));
    free(svg);
    assert_false(exists(path_in("loss.png.tmp")));
    assert_false(exists(path_in("time.svg.tmp")));
    /* Every validation set was read: overall, default and my_set. */
    assert_true(was_requested("validation_loss_total"));
    assert_true(was_requested("validation_loss.default_time"));
    assert_true(was_requested("validation_loss.my__set_total"));
    assert_true(was_requested("validation_loss.my__set_time"));
    kurc_value_free(hooks);

    /* `plot: FILE` is loss_per_batch, redrawn on every event. */
    hooks = yaml(path_in("again.svg"));
    struct kurc_value *list = kurc_value_list(NULL);
    struct kurc_value *entry = kurc_value_map(NULL);
    kurc_map_set(entry, "plot", NULL, hooks);
    kurc_list_append(list, entry);
    e.kind = KURC_EVENT_TRAINING_END;
    e.reason = "success";
    assert_int_equal(kurc_hooks_training(list, &e, &err), KURC_OK);
    svg = read_all(path_in("again.svg"));
    assert_true(well_formed_xml(svg));
    free(svg);
    kurc_value_free(list);
}

static const double epoch_loss[] = {1.0, 0.7, 0.5};
static const double epoch_valid[] = {0.9, 0.8, 0.6};
static const struct fake_column epoch_log[] = {
    {"training_loss_total", epoch_loss, 3},
    {"validation_loss_total", epoch_valid, 3},
};

static void test_plot_epochs(void **state) {
    (void)state;
    struct kurc_train_event e = {.kind = KURC_EVENT_VALIDATION_END, .epoch = 3, .total_epochs = -1};
    e.log_dir = make_log("epoch-log", epoch_log, sizeof epoch_log / sizeof *epoch_log);
    char text[1200];
    snprintf(text, sizeof text, "[{plot: {loss_per_batch: %s, throughput_per_time: %s}}]",
             path_in("epochs.png"), path_in("epochs-speed.png"));
    struct kurc_value *hooks = yaml(text);
    struct kurc_err err;
    assert_int_equal(kurc_hooks_training(hooks, &e, &err), KURC_OK);
    assert_true(was_requested("batch_loss_total"));
    check_png(path_in("epochs.png"));
    /* No times or batches in the log: no throughput plot (a warning). */
    assert_false(exists(path_in("epochs-speed.png")));
    kurc_value_free(hooks);

    /* One epoch: one point still makes a chart. */
    e.log_dir = make_log("one-epoch", epoch_log, 1);
    snprintf(text, sizeof text, "[{plot: %s}]", path_in("one.png"));
    hooks = yaml(text);
    assert_int_equal(kurc_hooks_training(hooks, &e, &err), KURC_OK);
    check_png(path_in("one.png"));
    kurc_value_free(hooks);
}

static void test_plot_without_data(void **state) {
    (void)state;
    struct kurc_err err;
    char text[600];
    snprintf(text, sizeof text, "[{plot: %s}]", path_in("none.png"));
    struct kurc_value *hooks = yaml(text);
    struct kurc_train_event e = {.kind = KURC_EVENT_EPOCH_END, .epoch = 1, .total_epochs = 1};

    /* No log: a warning at set-up (as Kur), then nothing drawn, no error. */
    assert_int_equal(kurc_hooks_check_training(hooks, false, &err), KURC_OK);
    assert_int_equal(kurc_hooks_training(hooks, &e, &err), KURC_OK);
    assert_false(exists(path_in("none.png")));

    /* A log without losses yet: nothing drawn, no error. */
    e.log_dir = make_log("empty-log", NULL, 0);
    assert_int_equal(kurc_hooks_training(hooks, &e, &err), KURC_OK);
    assert_false(exists(path_in("none.png")));
    kurc_value_free(hooks);

    /* An unwritable target: an I/O error naming it. */
    e.log_dir = make_log("log2", epoch_log, 2);
    snprintf(text, sizeof text, "[{plot: %s}]", path_in("missing/dir/x.png"));
    hooks = yaml(text);
    assert_int_equal(kurc_hooks_training(hooks, &e, &err), KURC_E_IO);
    assert_non_null(strstr(err.msg, "x.png"));
    kurc_value_free(hooks);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mnist_table),
        cmocka_unit_test(test_mnist_errors),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_output_csv),
        cmocka_unit_test(test_output_csv_numbers),
        cmocka_unit_test(test_output_destination_write),
        cmocka_unit_test(test_when_false_skips),
        cmocka_unit_test(test_refused_and_unknown),
        cmocka_unit_test(test_plot_batches),
        cmocka_unit_test(test_plot_epochs),
        cmocka_unit_test(test_plot_without_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
