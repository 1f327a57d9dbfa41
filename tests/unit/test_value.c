/* test_value.c - the value tree and Python spellings of its values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "config/value/pyrepr.h"
#include "config/value/value.h"

static void check_float(double f, const char *expected) {
    char out[32];
    kurc_py_float_repr(f, out);
    assert_string_equal(out, expected);
}

/* Expected strings are Python 3's repr() of the same doubles. */
static void test_float_repr(void **state) {
    (void)state;
    check_float(0.0, "0.0");
    check_float(-0.0, "-0.0");
    check_float(1.0, "1.0");
    check_float(0.1, "0.1");
    check_float(0.001, "0.001");
    check_float(0.0001, "0.0001");
    check_float(0.00001, "1e-05");
    check_float(2e-4, "0.0002");
    check_float(1.5e-7, "1.5e-07");
    check_float(123456789.0, "123456789.0");
    check_float(1e15, "1000000000000000.0");
    check_float(1e16, "1e+16");
    check_float(1.25e22, "1.25e+22");
    check_float(0.1 + 0.2, "0.30000000000000004");
    check_float(1.0 / 3.0, "0.3333333333333333");
    check_float(-2.5, "-2.5");
    check_float(INFINITY, "inf");
    check_float(-INFINITY, "-inf");
    check_float(NAN, "nan");
    check_float(5e-324, "5e-324");
    check_float(1.7976931348623157e308, "1.7976931348623157e+308");
}

static void test_repr_containers(void **state) {
    (void)state;
    struct kurc_value *m = kurc_value_map(NULL);
    struct kurc_value *l = kurc_value_list(NULL);
    kurc_list_append(l, kurc_value_int(3, NULL));
    kurc_list_append(l, kurc_value_str("it's", NULL));
    kurc_list_append(l, kurc_value_null(NULL));
    kurc_list_append(l, kurc_value_bool(true, NULL));
    kurc_map_set(m, "size", NULL, l);
    kurc_map_set(m, "lr", NULL, kurc_value_float(0.001, NULL));
    kurc_map_set(m, "name", NULL, kurc_value_str("a\\b\n'\"", NULL));
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_py_str(m, &sb);
    assert_string_equal(sb.data,
                        "{'size': [3, \"it's\", None, True], 'lr': 0.001, 'name': 'a\\\\b\\n\\'\"'}");
    kurc_strbuf_free(&sb);
    kurc_value_free(m);
}

static void test_equality(void **state) {
    (void)state;
    struct kurc_value *a = kurc_value_int(1, NULL);
    struct kurc_value *b = kurc_value_float(1.0, NULL);
    struct kurc_value *c = kurc_value_bool(true, NULL);
    assert_true(kurc_value_equal(a, b));
    assert_true(kurc_value_equal(a, c));
    assert_false(kurc_value_identical(a, b));
    assert_false(kurc_value_identical(a, c));
    kurc_value_free(a);
    kurc_value_free(b);
    kurc_value_free(c);
}

static void test_map_ops(void **state) {
    (void)state;
    struct kurc_value *m = kurc_value_map(NULL);
    kurc_map_set(m, "a", NULL, kurc_value_int(1, NULL));
    kurc_map_set(m, "b", NULL, kurc_value_int(2, NULL));
    kurc_map_set(m, "a", NULL, kurc_value_int(3, NULL));
    assert_int_equal(m->u.map.len, 2);
    assert_string_equal(m->u.map.pairs[0].key, "a");
    assert_int_equal(kurc_map_get(m, "a")->u.i, 3);
    struct kurc_value *copy = kurc_value_copy(m);
    struct kurc_value *b = kurc_map_take(m, "b");
    assert_int_equal(b->u.i, 2);
    assert_null(kurc_map_get(m, "b"));
    assert_int_equal(kurc_map_get(copy, "b")->u.i, 2);
    kurc_value_free(b);
    kurc_value_free(m);
    kurc_value_free(copy);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_repr),
        cmocka_unit_test(test_repr_containers),
        cmocka_unit_test(test_equality),
        cmocka_unit_test(test_map_ops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
