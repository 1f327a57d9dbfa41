/* test_stall.c - comm/stall: the watchdog's limit (fixed, off, automatic
 * from the slowest step with its minimum and its floor) and the verdict
 * that names the ranks that stopped, as rank 0 and as another rank sees
 * it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "comm/stall.h"

static const char *const hosts[] = {"kc1", "kc2", "kc3", "kc4"};

static void test_limit(void **state) {
    (void)state;
    assert_true(kurc_stall_limit(15, 2, false) == 15);
    /* start-up is never held to a shorter user limit; a rank alone is */
    assert_true(kurc_stall_limit(15, 0, false) == KURC_STALL_FLOOR);
    assert_true(kurc_stall_limit(15, 2, true) == 15);
    assert_true(kurc_stall_limit(900, 0, false) == 900);
    assert_true(kurc_stall_limit(0, 2, false) == 0);
    assert_true(kurc_stall_limit(-1, 0, false) == KURC_STALL_FLOOR);
    assert_true(kurc_stall_limit(-1, 0.01, true) == KURC_STALL_FLOOR);
    assert_true(kurc_stall_limit(-1, 0.01, false) == KURC_STALL_MIN);
    assert_true(kurc_stall_limit(-1, 20, false) == KURC_STALL_STEPS * 20);
}

/* Four ranks at t = 100, all heard at 99 and waiting since 90, at step 41. */
static void all_waiting(struct kurc_stall_peer *p, int self) {
    for (int r = 0; r < 4; r++)
        p[r] = (struct kurc_stall_peer){
            .known = r != self && (self == 0 || r == 0), .heard = 99, .moved = 90, .step = 41,
            .waiting = true};
}

static void test_rank0_names_the_silent(void **state) {
    (void)state;
    struct kurc_stall_peer p[4];
    char out[512];
    all_waiting(p, 0);
    p[2].heard = p[2].moved = 85; /* stopped 15 s ago, not in the call */
    p[2].waiting = false;
    assert_int_equal(kurc_stall_verdict(p, 4, 0, hosts, 100, 3, out, sizeof out), 1);
    assert_non_null(strstr(out, "rank 2 (host kc3) has made no progress for 15 s (last step 41)"));
    assert_null(strstr(out, "rank 1"));
}

static void test_rank0_names_the_absent(void **state) {
    (void)state;
    struct kurc_stall_peer p[4];
    char out[512];
    all_waiting(p, 0);
    p[3].waiting = false; /* alive, but not in the call for 10 s */
    p[3].step = 40;
    assert_int_equal(kurc_stall_verdict(p, 4, 0, hosts, 100, 3, out, sizeof out), 1);
    assert_non_null(strstr(out, "rank 3 (host kc4) has made no progress for 10 s (last step 40), "
                                "not waiting in a collective"));
}

static void test_rank0_alone(void **state) {
    (void)state;
    struct kurc_stall_peer p[4];
    char out[512];
    all_waiting(p, 0);
    for (int r = 1; r < 4; r++)
        p[r].heard = 91;
    assert_int_equal(kurc_stall_verdict(p, 4, 0, hosts, 100, 3, out, sizeof out), 3);
    assert_non_null(strstr(out, "rank 0 (host kc1) has heard from no other rank for 9 s"));
}

static void test_nobody_to_blame(void **state) {
    (void)state;
    struct kurc_stall_peer p[4];
    char out[512];
    all_waiting(p, 0);
    assert_int_equal(kurc_stall_verdict(p, 4, 0, hosts, 100, 3, out, sizeof out), 0);
    assert_non_null(strstr(out, "every rank is waiting in a collective"));
    all_waiting(p, 2);
    assert_int_equal(kurc_stall_verdict(p, 4, 2, hosts, 100, 3, out, sizeof out), 0);
    assert_non_null(strstr(out, "rank 0 is alive and waiting"));
}

static void test_worker_names_rank0(void **state) {
    (void)state;
    struct kurc_stall_peer p[4];
    char out[512];
    all_waiting(p, 1);
    p[0].heard = p[0].moved = 88;
    assert_int_equal(kurc_stall_verdict(p, 4, 1, hosts, 100, 3, out, sizeof out), 1);
    assert_non_null(strstr(out, "rank 0 (host kc1) has made no progress for 12 s (last step 41), "
                                "no heartbeat: its link to this host is down"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_rank0_names_the_silent),
        cmocka_unit_test(test_rank0_names_the_absent),
        cmocka_unit_test(test_rank0_alone),
        cmocka_unit_test(test_nobody_to_blame),
        cmocka_unit_test(test_worker_names_rank0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
