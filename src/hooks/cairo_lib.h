/* cairo_lib.h - cairo, opened when the plot hook is first set up
 * (base/lazy_lib.h): the functions plot.c draws with, called as
 * CAIRO(cairo_create)(surface). */
#ifndef KURC_CAIRO_LIB_H
#define KURC_CAIRO_LIB_H

#include <cairo-svg.h>
#include <cairo.h>

#include "base/lazy_lib.h"

#define KURC_CAIRO_FUNCTIONS(X)                                                                    \
    X(cairo_arc)                                                                                   \
    X(cairo_clip)                                                                                  \
    X(cairo_create)                                                                                \
    X(cairo_destroy)                                                                               \
    X(cairo_fill)                                                                                  \
    X(cairo_fill_preserve)                                                                         \
    X(cairo_image_surface_create)                                                                  \
    X(cairo_line_to)                                                                               \
    X(cairo_move_to)                                                                               \
    X(cairo_new_sub_path)                                                                          \
    X(cairo_paint)                                                                                 \
    X(cairo_rectangle)                                                                             \
    X(cairo_restore)                                                                               \
    X(cairo_rotate)                                                                                \
    X(cairo_save)                                                                                  \
    X(cairo_select_font_face)                                                                      \
    X(cairo_set_dash)                                                                              \
    X(cairo_set_font_size)                                                                         \
    X(cairo_set_line_join)                                                                         \
    X(cairo_set_line_width)                                                                        \
    X(cairo_set_source_rgb)                                                                        \
    X(cairo_set_source_rgba)                                                                       \
    X(cairo_show_text)                                                                             \
    X(cairo_status)                                                                                \
    X(cairo_status_to_string)                                                                      \
    X(cairo_stroke)                                                                                \
    X(cairo_surface_destroy)                                                                       \
    X(cairo_surface_finish)                                                                        \
    X(cairo_surface_status)                                                                        \
    X(cairo_surface_write_to_png)                                                                  \
    X(cairo_svg_surface_create)                                                                    \
    X(cairo_text_extents)                                                                          \
    X(cairo_translate)

#define X(f) KURC_CAIRO_##f,
enum { KURC_CAIRO_FUNCTIONS(X) KURC_CAIRO_COUNT };
#undef X

extern kurc_lazy_fn kurc_cairo_fns[KURC_CAIRO_COUNT];

/* cairo's function f, once kurc_cairo_load succeeded. */
#define CAIRO(f) KURC_LAZY_CALL(kurc_cairo_fns, KURC_CAIRO, f)

/* Opens cairo (once per process); its failure names cairo's soname. */
enum kurc_status kurc_cairo_load(const struct kurc_loc *loc, struct kurc_err *err);

#endif
