/* cairo_lib.c - cairo's functions for the plot hook (cairo_lib.h), from
 * the soname CMake read off the library it found (KURC_CAIRO_SONAME). */
#include "hooks/cairo_lib.h"

kurc_lazy_fn kurc_cairo_fns[KURC_CAIRO_COUNT];

static const char *const names[] = KURC_LAZY_NAMES(KURC_CAIRO, KURC_CAIRO_FUNCTIONS);

static struct kurc_lazy_lib cairo = {
    .file = KURC_CAIRO_SONAME, .names = names, .n = KURC_CAIRO_COUNT, .fns = kurc_cairo_fns};

enum kurc_status kurc_cairo_load(const struct kurc_loc *loc, struct kurc_err *err) {
    return kurc_lazy_lib_load(&cairo, "the plot hook", loc, err);
}
