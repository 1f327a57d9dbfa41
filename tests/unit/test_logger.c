/* test_logger.c - Kur's binary log: column names and their escaping, the
 * IDX bytes of a column checked by hand, summary.yml as PyYAML's dump
 * spells it, resuming a log (counters, sessions, the clock), best losses,
 * and recovery from bytes a crash left behind.  Python reads a log back in
 * tests/io/check_logger.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/logger.h"
#include "iotest.h"

static struct iot_dir dir;
static const char *const names[2] = {"labels", "out_char"};

static int setup(void **state) {
    (void)state;
    iot_dir_make(&dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    iot_dir_remove(&dir);
    return 0;
}

/* The bytes of file name in the log directory log. */
static unsigned char *slurp(const char *log, const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", log, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    unsigned char *buf = malloc(4096);
    *len = fread(buf, 1, 4096, f);
    fclose(f);
    return buf;
}

static void append(struct kurc_logger *l, const char *type, const char *tag, double a, double b,
                   int64_t batch, double time) {
    struct kurc_err err;
    const double v[2] = {a, b};
    if (kurc_logger_append(l, type, tag, names, v, 2, batch, time, &err) != KURC_OK)
        fail_msg("append: %s", err.msg);
}

static void expect_column(const char *log, const char *column, const double *want, size_t n) {
    double *got;
    size_t count;
    struct kurc_err err;
    assert_int_equal(kurc_logger_column(log, column, &got, &count, &err), KURC_OK);
    if (count != n)
        fail_msg("%s: %zu values, want %zu", column, count, n);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s[%zu] = %g, want %g", column, i, got[i], want[i]);
    free(got);
}

static void test_log(void **state) {
    (void)state;
    char *log = iot_path(&dir, "runs/one/log");
    struct kurc_logger *l;
    struct kurc_log_summary s;
    struct kurc_err err;
    assert_int_equal(kurc_logger_open(log, &l, &s, &err), KURC_OK);
    assert_int_equal(s.epochs, 0);
    assert_int_equal(s.sessions, 1);
    assert_true(kurc_logger_latest_time(l) == 0);

    append(l, "batch", NULL, 0.5, 0.25, 1, 0.125);
    append(l, "batch", NULL, 1.0, -2.0, 2, 0.25);
    append(l, "training", NULL, 0.75, 0.5, 2, 0.3);
    append(l, "validation", NULL, 0.625, 0.5, 2, 0.4);
    append(l, "validation", "my_set.v2", 0.625, 0.5, 2, 0.4);

    /* 00 00 0D 01, count 2 big-endian, 0.5 and 1.0 as big-endian floats */
    size_t len;
    unsigned char *bytes = slurp(log, "batch_loss_labels", &len);
    const unsigned char labels[] = {0, 0, 0x0D, 1, 0, 0, 0, 2, 0x3F, 0, 0, 0, 0x3F, 0x80, 0, 0};
    assert_int_equal(len, sizeof labels);
    assert_memory_equal(bytes, labels, sizeof labels);
    free(bytes);
    /* the batch counter is an int32 column (0x0C) */
    bytes = slurp(log, "batch_loss_batch", &len);
    const unsigned char batch[] = {0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
    assert_int_equal(len, sizeof batch);
    assert_memory_equal(bytes, batch, sizeof batch);
    free(bytes);

    expect_column(log, "batch_loss_out__char", (const double[]){0.25, -2.0}, 2);
    expect_column(log, "batch_loss_total", (const double[]){0.75, -1.0}, 2);
    expect_column(log, "batch_loss_time", (const double[]){0.125, 0.25}, 2);
    expect_column(log, "training_loss_total", (const double[]){1.25}, 1);
    expect_column(log, "training_loss_time", (const double[]){(float)0.3}, 1);
    expect_column(log, "validation_loss_labels", (const double[]){0.625}, 1);
    expect_column(log, "validation_loss.my__set..v2_total", (const double[]){1.125}, 1);
    expect_column(log, "validation_loss_nothing", NULL, 0);

    s = (struct kurc_log_summary){1, 2, 64, 1, {1.5, 2.0, 0.25, 1e-5}};
    assert_int_equal(kurc_logger_flush(l, &s, &err), KURC_OK);
    bytes = slurp(log, "summary.yml", &len);
    const char *yml = "batches: 2\n"
                      "clocks:\n"
                      "  all: 1.5\n"
                      "  batch: 1.0e-05\n"
                      "  train: 2.0\n"
                      "  validate: 0.25\n"
                      "epochs: 1\n"
                      "samples: 64\n"
                      "sessions: 1\n"
                      "version: 3\n";
    assert_int_equal(len, strlen(yml));
    assert_memory_equal(bytes, yml, len);
    free(bytes);
    kurc_logger_close(l);

    /* a second session resumes the counters and the clock */
    assert_int_equal(kurc_logger_open(log, &l, &s, &err), KURC_OK);
    assert_int_equal(s.epochs, 1);
    assert_int_equal(s.batches, 2);
    assert_int_equal(s.samples, 64);
    assert_int_equal(s.sessions, 2);
    assert_true(s.clocks[0] == 1.5 && s.clocks[1] == 2.0 && s.clocks[2] == 0.25 &&
                s.clocks[3] == 1e-5);
    assert_true(kurc_logger_latest_time(l) == (float)0.4);
    append(l, "batch", NULL, 0.125, 0.0, 3, 0.5);
    append(l, "training", NULL, 0.5, 0.25, 3, 0.5);
    expect_column(log, "batch_loss_batch", (const double[]){1, 2, 3}, 3);
    expect_column(log, "training_loss_total", (const double[]){1.25, 0.75}, 2);
    assert_true(kurc_logger_best(log, "training_loss_total") == 0.75);
    assert_true(kurc_logger_best(log, "batch_loss_total") == -1.0);
    assert_true(isinf(kurc_logger_best(log, "validation_loss.other_total")));
    kurc_logger_close(l);
    free(log);
}

static void test_errors(void **state) {
    (void)state;
    char *log = iot_path(&dir, "errors");
    struct kurc_logger *l;
    struct kurc_log_summary s;
    struct kurc_err err;
    assert_int_equal(kurc_logger_open(log, &l, &s, &err), KURC_OK);
    const double v[2] = {1, 2};
    assert_int_equal(kurc_logger_append(l, "test", NULL, names, v, 2, 1, 0, &err), KURC_E_INVALID);
    assert_string_equal(err.msg, "log record type 'test' is not batch, training or validation");
    const char *const clash[2] = {"labels", "time"};
    assert_int_equal(kurc_logger_append(l, "batch", NULL, clash, v, 2, 1, 0, &err), KURC_E_INVALID);
    assert_string_equal(err.msg, "an output named 'time' cannot be logged: the log uses the name "
                                 "for its own column");

    /* a column of floats where the batch counter (ints) goes */
    char *path = iot_path(&dir, "errors/training_loss_batch");
    FILE *f = fopen(path, "wb");
    fwrite("\0\0\x0d\x01\0\0\0\0", 1, 8, f);
    fclose(f);
    assert_int_equal(kurc_logger_append(l, "training", NULL, names, v, 2, 1, 0, &err), KURC_E_IO);
    assert_string_equal(err.msg, "the log column holds float data, not integer");
    free(path);
    kurc_logger_close(l);

    /* a log path that is a file */
    path = iot_path(&dir, "errors/training_loss_batch");
    assert_int_equal(kurc_logger_open(path, &l, &s, &err), KURC_E_IO);
    assert_string_equal(err.msg, "the binary logger keeps its log in a directory, but this is a "
                                 "file");
    free(path);
    free(log);
}

/* A record that fails part-way (here: its total column cannot be opened,
 * as a full disk fails a write) is taken back from the columns it had
 * reached, so the columns stay in step afterwards. */
static void test_half_record(void **state) {
    (void)state;
    char *log = iot_path(&dir, "half");
    struct kurc_logger *l;
    struct kurc_log_summary s;
    struct kurc_err err;
    assert_int_equal(kurc_logger_open(log, &l, &s, &err), KURC_OK);
    append(l, "batch", NULL, 1, 10, 1, 0.5);
    char *total = iot_path(&dir, "half/batch_loss_total");
    char *aside = iot_path(&dir, "half-total");
    assert_int_equal(rename(total, aside), 0);
    assert_int_equal(mkdir(total, 0755), 0);
    const double v[2] = {2, 20};
    assert_int_equal(kurc_logger_append(l, "batch", NULL, names, v, 2, 2, 1.0, &err), KURC_E_IO);
    expect_column(log, "batch_loss_labels", (const double[]){1}, 1);
    expect_column(log, "batch_loss_out__char", (const double[]){10}, 1);
    assert_int_equal(rmdir(total), 0);
    assert_int_equal(rename(aside, total), 0);
    append(l, "batch", NULL, 3, 30, 3, 1.5);
    expect_column(log, "batch_loss_labels", (const double[]){1, 3}, 2);
    expect_column(log, "batch_loss_out__char", (const double[]){10, 30}, 2);
    expect_column(log, "batch_loss_total", (const double[]){11, 33}, 2);
    expect_column(log, "batch_loss_batch", (const double[]){1, 3}, 2);
    expect_column(log, "batch_loss_time", (const double[]){0.5, 1.5}, 2);
    kurc_logger_close(l);
    free(total);
    free(aside);
    free(log);
}

/* A crash after writing a value but before raising the count leaves
 * bytes past the end; the next append replaces them. */
static void test_crash_leftovers(void **state) {
    (void)state;
    char *log = iot_path(&dir, "crash");
    struct kurc_logger *l;
    struct kurc_log_summary s;
    struct kurc_err err;
    assert_int_equal(kurc_logger_open(log, &l, &s, &err), KURC_OK);
    append(l, "batch", NULL, 1.0, 2.0, 1, 1.0);
    char *path = iot_path(&dir, "crash/batch_loss_labels");
    FILE *f = fopen(path, "ab");
    fwrite("\x41\x20\0\0junk", 1, 8, f);
    fclose(f);
    expect_column(log, "batch_loss_labels", (const double[]){1.0}, 1);
    append(l, "batch", NULL, 3.0, 4.0, 2, 2.0);
    expect_column(log, "batch_loss_labels", (const double[]){1.0, 3.0}, 2);
    size_t len;
    unsigned char *bytes = slurp(log, "batch_loss_labels", &len);
    assert_int_equal(len, 16);
    free(bytes);
    free(path);
    kurc_logger_close(l);
    free(log);
}

/* A log from before summary.yml: its epochs are its training records. */
static void test_without_summary(void **state) {
    (void)state;
    char *log = iot_path(&dir, "old");
    struct kurc_logger *l;
    struct kurc_log_summary s;
    struct kurc_err err;
    assert_int_equal(kurc_logger_open(log, &l, &s, &err), KURC_OK);
    append(l, "training", NULL, 1.0, 2.0, 10, 5.0);
    append(l, "training", NULL, 0.5, 1.0, 20, 9.0);
    kurc_logger_close(l);
    assert_int_equal(kurc_logger_open(log, &l, &s, &err), KURC_OK);
    assert_int_equal(s.epochs, 2);
    assert_int_equal(s.sessions, 1);
    assert_true(kurc_logger_latest_time(l) == 9.0);
    kurc_logger_close(l);
    free(log);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_half_record),
        cmocka_unit_test(test_crash_leftovers),
        cmocka_unit_test(test_without_summary),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
