/* cairo_lib.h - cairo, opened when the plot hook is first set up
 * (base/lazy_lib.h): the functions plot.c draws with, called as
 * CAIRO(cairo_create)(surface). */
#ifndef KURC_CAIRO_LIB_H
#define KURC_CAIRO_LIB_H

#include <cairo-svg.h>
#include <cairo.h>

#include "base/lazy_lib.h"

#define KURC_CAIRO_FUNCTIONS(X, P)                                                                 \
    X(P, cairo_arc)                                                                                \
    X(P, cairo_clip)                                                                               \
    X(P, cairo_create)                                                                             \
    X(P, cairo_destroy)                                                                            \
    X(P, cairo_fill)                                                                               \
    X(P, cairo_fill_preserve)                                                                      \
    X(P, cairo_image_surface_create)                                                               \
    X(P, cairo_line_to)                                                                            \
    X(P, cairo_move_to)                                                                            \
    X(P, cairo_new_sub_path)                                                                       \
    X(P, cairo_paint)                                                                              \
    X(P, cairo_rectangle)                                                                          \
    X(P, cairo_restore)                                                                            \
    X(P, cairo_rotate)                                                                             \
    X(P, cairo_save)                                                                               \
    X(P, cairo_select_font_face)                                                                   \
    X(P, cairo_set_dash)                                                                           \
    X(P, cairo_set_font_size)                                                                      \
    X(P, cairo_set_line_join)                                                                      \
    X(P, cairo_set_line_width)                                                                     \
    X(P, cairo_set_source_rgb)                                                                     \
    X(P, cairo_set_source_rgba)                                                                    \
    X(P, cairo_show_text)                                                                          \
    X(P, cairo_status)                                                                             \
    X(P, cairo_status_to_string)                                                                   \
    X(P, cairo_stroke)                                                                             \
    X(P, cairo_surface_destroy)                                                                    \
    X(P, cairo_surface_finish)                                                                     \
    X(P, cairo_surface_status)                                                                     \
    X(P, cairo_surface_write_to_png)                                                               \
    X(P, cairo_svg_surface_create)                                                                 \
    X(P, cairo_text_extents)                                                                       \
    X(P, cairo_translate)

KURC_LAZY_DECLARE(KURC_CAIRO, KURC_CAIRO_FUNCTIONS, kurc_cairo_fns)

/* cairo's function f, once kurc_cairo_load succeeded. */
#define CAIRO(f) KURC_LAZY_CALL(kurc_cairo_fns, KURC_CAIRO, f)

/* Opens cairo (once per process); its failure names cairo's soname. */
enum kurc_status kurc_cairo_load(const struct kurc_loc *loc, struct kurc_err *err);

#endif
