/* package_double.c - the test double of kurc_package_fetch (see
 * package_double.h). */
#include "package_double.h"

#include <stdlib.h>

#include "base/xalloc.h"
#include "data/package.h"

static char *resolve_to;
static struct kurc_value *last_spec;
static int calls;

void package_double_resolve_to(const char *local) {
    free(resolve_to);
    resolve_to = local ? kurc_xstrdup(local) : NULL;
}

const struct kurc_value *package_double_last_spec(void) {
    return last_spec;
}

int package_double_calls(void) {
    return calls;
}

void package_double_reset(void) {
    package_double_resolve_to(NULL);
    kurc_value_free(last_spec);
    last_spec = NULL;
    calls = 0;
}

enum kurc_status kurc_package_fetch(const struct kurc_value *spec, char **local,
                                    struct kurc_err *err) {
    calls++;
    kurc_value_free(last_spec);
    last_spec = kurc_value_copy(spec);
    *local = NULL;
    if (!resolve_to)
        return kurc_err_set(err, KURC_E_IO, NULL, "fetch failed (test double)");
    *local = kurc_xstrdup(resolve_to);
    return KURC_OK;
}
