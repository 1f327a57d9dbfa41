/* test_lazy_lib.c - base/lazy_lib: a library opened on first use gives
 * its functions, callable with their declared types (libm's cos and pow,
 * against the linked ones); a missing library or function fails with a
 * message naming the user, the soname and the reason, and every later
 * call gives the same failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "base/lazy_lib.h"

#define LIBM_FUNCTIONS(X, P) X(P, cos) X(P, pow)
KURC_LAZY_DECLARE(LIBM, LIBM_FUNCTIONS, libm_fns)
kurc_lazy_fn libm_fns[LIBM_COUNT];
static const char *const libm_names[] = KURC_LAZY_NAMES(LIBM, LIBM_FUNCTIONS);

static void test_loads_and_calls(void **state) {
    (void)state;
    kurc_lazy_fn *fns = libm_fns;
    struct kurc_lazy_lib lib = {
        .file = "libm.so.6", .names = libm_names, .n = LIBM_COUNT, .fns = fns};
    struct kurc_err err = {0};
    assert_int_equal(kurc_lazy_lib_load(&lib, "the test", NULL, &err), KURC_OK);
    assert_non_null(fns[LIBM_cos]);
    assert_non_null(fns[LIBM_pow]);
    volatile double x = 0.5; /* not folded at compile time */
    assert_true(KURC_LAZY_CALL(fns, LIBM, cos)(x) == cos(x));
    assert_true(KURC_LAZY_CALL(fns, LIBM, pow)(x, 3.0) == 0.125);
    /* loaded once: a second call gives the same table */
    kurc_lazy_fn first = fns[LIBM_cos];
    assert_int_equal(kurc_lazy_lib_load(&lib, "the test", NULL, &err), KURC_OK);
    assert_ptr_equal(fns[LIBM_cos], first);
}

static void test_missing_library(void **state) {
    (void)state;
    kurc_lazy_fn fns[LIBM_COUNT] = {0};
    struct kurc_lazy_lib lib = {
        .file = "libkurc-absent.so.7", .names = libm_names, .n = LIBM_COUNT, .fns = fns};
    struct kurc_loc loc = {"spec.yml", 4, 9};
    for (int i = 0; i < 2; i++) { /* the same answer the second time */
        struct kurc_err err = {0};
        assert_int_equal(kurc_lazy_lib_load(&lib, "the plot hook", &loc, &err), KURC_E_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "the plot hook needs libkurc-absent.so.7, which cannot "
                                        "be loaded: "));
        assert_non_null(strstr(err.msg, "libkurc-absent.so.7: cannot open shared object file"));
        assert_string_equal(err.file, "spec.yml");
        assert_int_equal(err.line, 4);
        assert_int_equal(err.col, 9);
    }
    assert_null(fns[LIBM_cos]);
}

static void test_missing_function(void **state) {
    (void)state;
    static const char *const names[] = {"cos", "kurc_no_such_function"};
    kurc_lazy_fn fns[2] = {0};
    struct kurc_lazy_lib lib = {.file = "libm.so.6", .names = names, .n = 2, .fns = fns};
    struct kurc_err err = {0};
    assert_int_equal(kurc_lazy_lib_load(&lib, "speech data", NULL, &err), KURC_E_UNSUPPORTED);
    assert_string_equal(err.msg, "speech data needs libm.so.6, which cannot be loaded: it has no "
                                 "function kurc_no_such_function");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_and_calls),
        cmocka_unit_test(test_missing_library),
        cmocka_unit_test(test_missing_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
