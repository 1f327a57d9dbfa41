/* test_schedule.c - the learning-rate schedule (optim/schedule.h): rates
 * at given steps against values worked out by hand, the Kurfile keys read
 * from YAML (epochs turned into steps, the scaling rule), and inconsistent
 * keys refused at their file:line:col. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/yaml_load.h"
#include "optim/schedule.h"

/* 10 steps per epoch, 5 epochs, a global batch of 64 */
static const struct kurc_schedule_context ctx = {10, 5, 64};

/* Reads the optimizer mapping of text; returns the status, the message in msg. */
static enum kurc_status read_text(const char *text, struct kurc_schedule *s, char *msg,
                                  size_t size) {
    struct kurc_value *v = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_load_buffer(text, strlen(text), KURC_FORMAT_YAML, "s.yml", &v, &err),
                     KURC_OK);
    enum kurc_status st = kurc_schedule_read(v, &ctx, s, &err);
    if (st)
        kurc_err_format(&err, msg, size);
    kurc_value_free(v);
    return st;
}

static struct kurc_schedule read_ok(const char *text) {
    struct kurc_schedule s;
    char msg[512] = "";
    enum kurc_status st = read_text(text, &s, msg, sizeof msg);
    if (st)
        fail_msg("%s", msg);
    return s;
}

static void expect_error(const char *text, const char *want) {
    struct kurc_schedule s;
    char msg[512] = "";
    assert_int_not_equal(read_text(text, &s, msg, sizeof msg), KURC_OK);
    if (!strstr(msg, want))
        fail_msg("got '%s', want '%s'", msg, want);
}

static void test_warmup_then_step(void **state) {
    (void)state;
    struct kurc_schedule s = read_ok("schedule: {warmup_steps: 4, decay: step, gamma: 0.5, "
                                     "every_steps: 3}\n");
    /* warm-up: 0.1 x 1/4, 2/4, 3/4, 4/4; then 0.1 for 3 steps, 0.05 for 3 */
    const double want[] = {0.025, 0.05, 0.075, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025};
    for (int t = 0; t < 11; t++)
        assert_float_equal(kurc_schedule_rate(&s, 0.1, t), want[t], 1e-15);
}

static void test_exponential(void **state) {
    (void)state;
    struct kurc_schedule s = read_ok("schedule: {decay: exponential, gamma: 0.9}\n");
    assert_float_equal(kurc_schedule_rate(&s, 1.0, 0), 1.0, 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 1.0, 1), 0.9, 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 1.0, 3), 0.729, 1e-15);
}

static void test_cosine_epochs(void **state) {
    (void)state;
    /* warm-up 1 epoch = 10 steps; total 5 epochs = 50 steps: T = 40 */
    struct kurc_schedule s = read_ok("schedule: {warmup_epochs: 1, decay: cosine, "
                                     "final_lr: 0.01}\n");
    assert_int_equal(s.warmup, 10);
    assert_int_equal(s.total, 50);
    assert_float_equal(kurc_schedule_rate(&s, 0.11, 0), 0.011, 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 0.11, 10), 0.11, 1e-15);
    /* half way (s = 20): 0.01 + 0.1 x (1 + cos(pi / 2)) / 2 = 0.06 */
    assert_float_equal(kurc_schedule_rate(&s, 0.11, 30), 0.06, 1e-15);
    /* a quarter (s = 10): 0.01 + 0.05 x (1 + sqrt(2) / 2) */
    assert_float_equal(kurc_schedule_rate(&s, 0.11, 20), 0.01 + 0.05 * (1 + sqrt(0.5)), 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 0.11, 50), 0.01, 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 0.11, 99), 0.01, 1e-15);
}

static void test_linear_total_steps(void **state) {
    (void)state;
    struct kurc_schedule s = read_ok("schedule: {decay: linear, total_steps: 8}\n");
    assert_float_equal(kurc_schedule_rate(&s, 0.8, 0), 0.8, 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 0.8, 2), 0.6, 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 0.8, 8), 0.0, 1e-15);
}

static void test_scale_with_batch(void **state) {
    (void)state;
    struct kurc_schedule s = read_ok("scale_with_batch: yes\nreference_batch: 256\n"
                                     "schedule: {warmup_steps: 2}\n");
    assert_float_equal(s.scale, 0.25, 0);
    assert_float_equal(kurc_schedule_rate(&s, 0.4, 0), 0.05, 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 0.4, 1), 0.1, 1e-15);
    assert_float_equal(kurc_schedule_rate(&s, 0.4, 7), 0.1, 1e-15);
}

/* no schedule: the base rate, bit for bit (kurc_optimizer_rate as before) */
static void test_constant(void **state) {
    (void)state;
    struct kurc_schedule s = read_ok("name: adam\n");
    assert_true(kurc_schedule_rate(&s, 0.001f, 12345) == (double)0.001f);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("scale_with_batch: yes\n",
                 "s.yml:1:19: train.optimizer.scale_with_batch needs reference_batch");
    expect_error("reference_batch: 32\n", "s.yml:1:18: train.optimizer.reference_batch is read");
    expect_error("schedule:\n  decay: step\n  every_steps: 2\n",
                 "s.yml:2:10: train.optimizer.schedule: step decay needs gamma");
    expect_error("schedule:\n  decay: step\n  gamma: 0.5\n",
                 "s.yml:2:10: train.optimizer.schedule: step decay needs every_steps or");
    expect_error("schedule:\n  decay: cosine\n  gamma: 0.5\n",
                 "s.yml:3:10: train.optimizer.schedule.gamma is for step and exponential decay");
    expect_error("schedule:\n  warmup_steps: 3\n  warmup_epochs: 1\n",
                 "s.yml:3:18: train.optimizer.schedule: give warmup_steps or warmup_epochs");
    expect_error("schedule:\n  warmup_steps: 60\n  decay: linear\n",
                 "s.yml:3:10: train.optimizer.schedule: the decay ends at step 50");
    expect_error("schedule:\n  decay: exponential\n  gamma: 0.5\n  final_lr: 0\n",
                 "s.yml:4:13: train.optimizer.schedule.final_lr is for cosine and linear");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warmup_then_step), cmocka_unit_test(test_exponential),
        cmocka_unit_test(test_cosine_epochs),    cmocka_unit_test(test_linear_total_steps),
        cmocka_unit_test(test_scale_with_batch), cmocka_unit_test(test_constant),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
