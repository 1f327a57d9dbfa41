/* test_device_spec.c - settings.backend.device in Kur's syntax (cpu, gpu,
 * gpuN, gpuA-B, gpu!N, commas, lists, integers) parsed into the GPUs a
 * node's ranks may use, and the device each rank then takes
 * (src/train/backend_select.c).  Needs no GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* One row of the device choice: settings.backend.device (NULL: absent) and
 * parallel (0: absent), the rank's local rank, the GPUs it sees, and the
 * outcome: a device, -1 for none (with a reason containing `why`), or the
 * CPU asked for. */
struct choice_case {
    const char *device;
    int parallel;
    int local_rank;
    int visible;
    int want;
    const char *why;
    bool want_cpu;
};

static const struct choice_case choice_cases[] = {
    /* one process, or the first rank */
    {NULL, 0, -1, 1, 0, NULL, false},
    {NULL, 0, 0, 4, 0, NULL, false},
    /* one rank per GPU: local rank r takes GPU r */
    {NULL, 0, 1, 4, 1, NULL, false},
    {NULL, 0, 3, 4, 3, NULL, false},
    /* launch/kurc-rank and SLURM's --gpus-per-task=1 leave each of the
     * node's 8 ranks one visible GPU: every rank takes device 0 */
    {NULL, 0, 5, 1, 0, NULL, false},
    {NULL, 0, 7, 1, 0, NULL, false},
    /* more ranks than GPUs: local rank mod GPUs (sharing, found by UUID) */
    {NULL, 0, 2, 2, 0, NULL, false},
    {NULL, 0, 3, 2, 1, NULL, false},
    /* the Kurfile's list: the allowed GPUs in order, then mod */
    {"gpu2-6,gpu!3", 0, 0, 8, 2, NULL, false},
    {"gpu2-6,gpu!3", 0, 1, 8, 4, NULL, false},
    {"gpu2-6,gpu!3", 0, 3, 8, 6, NULL, false},
    {"gpu2-6,gpu!3", 0, 4, 8, 2, NULL, false},
    {"gpu!0", 0, 0, 4, 1, NULL, false},
    {"gpu1,gpu3", 0, 1, 4, 3, NULL, false},
    /* ordinals past the visible GPUs are dropped */
    {"gpu2-6", 0, 1, 4, 3, NULL, false},
    {"gpu2-6", 0, 2, 4, 2, NULL, false},
    /* parallel: the first N allowed */
    {NULL, 2, 0, 4, 0, NULL, false},
    {NULL, 2, 3, 4, 1, NULL, false},
    {"gpu1-3", 2, 2, 4, 1, NULL, false},
    {NULL, 9, 5, 4, 1, NULL, false},
    /* nothing allowed */
    {"gpu5", 0, 0, 4, -1, "allows none of the 4 visible GPUs", false},
    {"gpu0", 0, 0, 0, -1, "allows none of the 0 visible GPUs", false},
    {NULL, 0, 1, 0, -1, "allows none of the 0 visible GPUs", false},
    /* the CPU asked for */
    {"cpu", 0, 0, 4, -1, NULL, true},
};

static void test_choice(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof choice_cases / sizeof *choice_cases; i++) {
        const struct choice_case *c = &choice_cases[i];
        struct kurc_value *backend = kurc_value_map(NULL);
        kurc_map_set(backend, "name", NULL, str("auto"));
        if (c->device)
            kurc_map_set(backend, "device", NULL, str(c->device));
        if (c->parallel)
            kurc_map_set(backend, "parallel", NULL, kurc_value_int(c->parallel, NULL));
        struct kurc_device_choice got;
        struct kurc_err err;
        enum kurc_status st = kurc_device_choose(backend, c->local_rank, c->visible, &got, &err);
        kurc_value_free(backend);
        print_message("device %-14s parallel %d, local rank %2d, %d visible -> %d%s%s\n",
                      c->device ? c->device : "(absent)", c->parallel, c->local_rank, c->visible,
                      got.device, got.cpu ? " cpu" : "", got.why);
        if (st != KURC_OK || got.device != c->want || got.cpu != c->want_cpu ||
            (c->why && !strstr(got.why, c->why)))
            fail_msg("case %zu: status %d, device %d (want %d), cpu %d, why '%s'", i, st,
                     got.device, c->want, got.cpu, got.why);
    }
    /* a malformed device is the Kurfile's error */
    struct kurc_value *backend = kurc_value_map(NULL);
    kurc_map_set(backend, "device", NULL, str("gpu3-1"));
    struct kurc_device_choice got;
    struct kurc_err err;
    assert_int_equal(kurc_device_choose(backend, 0, 4, &got, &err), KURC_E_CONFIG);
    kurc_value_free(backend);
    /* a name alone (settings.backend: cuda) allows every GPU */
    struct kurc_value *name = str("cuda");
    assert_int_equal(kurc_device_choose(name, 5, 2, &got, &err), KURC_OK);
    assert_int_equal(got.device, 1);
    kurc_value_free(name);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
