/* test_device_spec.c - settings.backend.device in Kur's syntax (cpu, gpu,
 * gpuN, gpuA-B, gpu!N, commas, lists, integers) parsed into the GPUs a
 * node's ranks may use (src/train/backend_select.c).  Needs no GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "config/value/value.h"
#include "train/backend_select.h"

static uint64_t bits(const int *list) {
    uint64_t b = 0;
    for (; *list >= 0; list++)
        b |= (uint64_t)1 << *list;
    return b;
}

/* Parses v for `count` GPUs; want_status KURC_OK: expects `want` (a -1
 * terminated list) and cpu. */
static void expect(const char *what, struct kurc_value *v, int count, enum kurc_status want_status,
                   const int *want, bool want_cpu) {
    uint64_t allowed = 0;
    bool cpu = false;
    struct kurc_err err;
    enum kurc_status st = kurc_device_spec_parse(v, count, &allowed, &cpu, &err);
    kurc_value_free(v);
    print_message("%-40s -> %s%s%s\n", what, st ? "error: " : "", st ? err.msg : "",
                  st ? "" : (cpu ? "cpu" : "GPUs"));
    if (st != want_status || (st == KURC_OK && (allowed != bits(want) || cpu != want_cpu)))
        fail_msg("%s: status %d (want %d), allowed %#llx (want %#llx), cpu %d", what, st,
                 want_status, (unsigned long long)allowed,
                 (unsigned long long)(want ? bits(want) : 0), cpu);
}

static struct kurc_value *str(const char *s) {
    return kurc_value_str(s, NULL);
}

static void test_valid(void **state) {
    (void)state;
    const int none[] = {-1}, all4[] = {0, 1, 2, 3, -1}, all8[] = {0, 1, 2, 3, 4, 5, 6, 7, -1};
    expect("absent", NULL, 4, KURC_OK, all4, false);
    expect("null", kurc_value_null(NULL), 4, KURC_OK, all4, false);
    expect("cpu", str("cpu"), 4, KURC_OK, all4, true);
    expect("gpu", str("gpu"), 4, KURC_OK, all4, false);
    expect("gpu2", str("gpu2"), 4, KURC_OK, (const int[]){2, -1}, false);
    expect("gpu2,gpu4", str("gpu2,gpu4"), 8, KURC_OK, (const int[]){2, 4, -1}, false);
    expect("gpu2-6,gpu!3", str("gpu2-6,gpu!3"), 8, KURC_OK, (const int[]){2, 4, 5, 6, -1}, false);
    expect("gpu!0 (all but 0)", str("gpu!0"), 4, KURC_OK, (const int[]){1, 2, 3, -1}, false);
    expect("gpu!1-2", str("gpu!1-2"), 4, KURC_OK, (const int[]){0, 3, -1}, false);
    expect("spaces: gpu1 , gpu3", str(" gpu1 , gpu3 "), 4, KURC_OK, (const int[]){1, 3, -1}, false);
    expect("gpu2-6 on a 4-GPU node", str("gpu2-6"), 4, KURC_OK, (const int[]){2, 3, -1}, false);
    expect("gpu5 on a 4-GPU node", str("gpu5"), 4, KURC_OK, none, false);
    expect("gpu with no GPU", str("gpu"), 0, KURC_OK, none, false);
    expect("gpu on 8", str("gpu"), 8, KURC_OK, all8, false);
    expect("integer 2", kurc_value_int(2, NULL), 4, KURC_OK, (const int[]){2, -1}, false);
    struct kurc_value *list = kurc_value_list(NULL);
    kurc_list_append(list, str("gpu1"));
    kurc_list_append(list, kurc_value_int(3, NULL));
    kurc_list_append(list, str("gpu!3"));
    expect("[gpu1, 3, gpu!3]", list, 4, KURC_OK, (const int[]){1, -1}, false);
}

static void test_invalid(void **state) {
    (void)state;
    const char *bad[] = {"gpux", "gpu3-1", "gpu-1", "tpu",  "gpu64",
                         "",     "gpu1,",  "GPU1",  "gpu!", "gpu1-"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char what[64];
        snprintf(what, sizeof what, "bad: '%s'", bad[i]);
        expect(what, str(bad[i]), 4, KURC_E_CONFIG, NULL, false);
    }
    expect("bad: cpu,gpu1", str("cpu,gpu1"), 4, KURC_E_CONFIG, NULL, false);
    expect("bad: integer -1", kurc_value_int(-1, NULL), 4, KURC_E_CONFIG, NULL, false);
    expect("bad: a float", kurc_value_float(1.5, NULL), 4, KURC_E_CONFIG, NULL, false);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
