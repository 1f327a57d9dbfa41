/* test_backends.c - the registry (kernels/backends.h): every backend this
 * build has and this machine can run, created as the trainer creates it,
 * fills every required slot of core/backend_slots.def, names itself and
 * its memory as its registry entry does, describes itself and is
 * destroyed.  A backend that cannot run here (CUDA without a GPU) is
 * reported and passed over; the CPU backend runs everywhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/backend.h"
#include "kernels/backends.h"

/* Fails naming every required slot t's instance leaves NULL. */
static void expect_slots(const struct kurc_backend_type *t, const struct kurc_backend_ops *ops) {
    int missing = 0;
#define KURC_SLOT(ret, slot, params)                                                               \
    if (!ops->slot) {                                                                              \
        printf("%s: the required slot %s is NULL\n", t->name, #slot);                              \
        missing++;                                                                                 \
    }
#define KURC_SLOT_OPTIONAL(ret, slot, params)
#include "core/backend_slots.def"
    if (missing)
        fail_msg("%s: %d required slot%s NULL", t->name, missing, missing == 1 ? " is" : "s are");
}

static void test_every_backend(void **state) {
    (void)state;
    int created = 0;
    for (const struct kurc_backend_type *const *t = kurc_backend_types; *t; t++) {
        assert_ptr_equal(kurc_backend_type_find((*t)->name), *t);
        char why[256];
        if ((*t)->available(why, sizeof why) == 0) {
            printf("%s: passed over (%s)\n", (*t)->name, why);
            continue;
        }
        struct kurc_backend_options opt = {.threads = 1, .device = 0, .rank = -1};
        struct kurc_backend *be = NULL;
        struct kurc_err err;
        if ((*t)->create(&opt, &be, &err))
            fail_msg("%s: %s", (*t)->name, err.msg);
        assert_string_equal(be->ops->name, (*t)->name);
        assert_int_equal(be->ops->memory, (*t)->memory);
        expect_slots(*t, be->ops);
        char what[256] = "";
        be->ops->describe(be, what, sizeof what);
        printf("%s: every required slot is filled (%s)\n", (*t)->name, what);
        assert_memory_equal(what, (*t)->name, strlen((*t)->name));
        if ((*t)->memory == KURC_MEMORY_HOST)
            assert_int_equal(be->ops->device(be), -1);
        else
            assert_int_equal(be->ops->device(be), opt.device);
        kurc_backend_release(be);
        created++;
    }
    assert_null(kurc_backend_type_find("no such backend"));
    assert_true(created >= 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_backend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
