/* plot.c - Kur's `plot` training hook (kur/model/hooks/plot_hook.py):
 * loss curves drawn from the binary training log after every epoch, every
 * checkpoint validation and at the end of training.
 *
 * `plot: FILE` is `{loss_per_batch: FILE}`; the mapping may also name
 * loss_per_time and throughput_per_time.  Each file is a PNG or an SVG, by
 * its extension, drawn with cairo (opened at set-up, cairo_lib.h): axes
 * with tick labels, a title, a legend and one line with markers per
 * series, written to FILE.tmp and renamed.
 *
 * As in Kur, the training series is the per-batch loss of the log
 * (batch_loss_*) or, when it has none, the per-epoch loss (training_loss_*);
 * every validation data set of the log (validation_loss_* overall and
 * validation_loss.<dataset>_* each) is drawn over it, except that a single
 * data set (overall and `default`) is drawn once.  Loss per batch plots the
 * loss against the global batch counter (or the record number where the log
 * has none); loss per time against the seconds the log records;
 * throughput per time plots Δbatches/Δtime of the training series.  Kur
 * made its images transparent; kurc paints them white.  Without a log (no
 * `train.log`) the hook is ignored with a warning at set-up, as Kur did; a
 * log with no losses yet draws nothing.
 */
#include "hooks/hooks_impl.h"

#include "hooks/cairo_lib.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/xalloc.h"
#include "io/logger.h"

static const char *const plot_names[] = {"loss_per_batch", "loss_per_time", "throughput_per_time"};
#define N_PLOTS 3

/* The columns <prefix>_total, _batch and _time of the log, cut to the
 * shortest of those present; batch and time are NULL when absent. */
struct record {
    char *key; /* validation data set ("" overall); NULL for training */
    double *loss;
    double *batch;
    double *time;
    size_t n;
};

/* One line of a chart. */
struct series {
    const char *label;
    double *x;
    double *y;
    size_t n;
    double rgb[3];
    int dash; /* 0 solid, 1 dashed, 2 dotted, 3 dash-dot (Kur's '-', '--', ':', '-.') */
};

struct chart {
    const char *title;
    const char *xlabel;
    const char *ylabel;
    struct series *series;
    size_t n;
    bool whole_x; /* x counts batches or epochs */
};

#define WIDTH 640 /* matplotlib's default figure: 6.4 x 4.8 inches at 100 dpi */
#define HEIGHT 480
#define PI 3.14159265358979323846

/* --- parameters --------------------------------------------------------- */

/* 1 for .png, 2 for .svg, 0 for anything else. */
static int image_kind(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot && strcasecmp(dot, ".png") == 0)
        return 1;
    if (dot && strcasecmp(dot, ".svg") == 0)
        return 2;
    return 0;
}

/* Checks the plots' file names; *given counts them. */
static enum kurc_status plot_files(const struct kurc_value *params, size_t *given,
                                   struct kurc_err *err) {
    *given = 0;
    for (size_t i = 0; i < N_PLOTS; i++) {
        const struct kurc_value *v = kurc_param(params, plot_names[i]);
        if (!v)
            continue;
        if (v->kind != KURC_STR)
            return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                                "the plot hook: `%s` is a file name, not %s", plot_names[i],
                                kurc_kind_phrase(v->kind));
        if (!image_kind(v->u.str.s))
            return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                                "the plot hook draws PNG or SVG files: `%s: %s` must end in .png "
                                "or .svg",
                                plot_names[i], v->u.str.s);
        (*given)++;
    }
    return KURC_OK;
}

/* A plot hook that names no file draws nothing: Kur ran it so, kurc warns. */
static enum kurc_status plot_check(const struct kurc_value *params, const struct kurc_loc *loc,
                                   struct kurc_err *err) {
    size_t given;
    enum kurc_status st = plot_files(params, &given, err);
    if (st == KURC_OK && given)
        st = kurc_cairo_load(loc, err);
    if (st == KURC_OK && !given)
        kurc_log_at(KURC_LOG_WARNING, loc,
                    "the plot hook draws nothing: give loss_per_batch, loss_per_time or "
                    "throughput_per_time");
    return st;
}

/* --- reading the log ---------------------------------------------------- */

static void record_release(struct record *r) {
    free(r->key);
    free(r->loss);
    free(r->batch);
    free(r->time);
    memset(r, 0, sizeof *r);
}

/* Reads one column of the log into *values (NULL when it is absent or
 * empty) and cuts *n to its length. */
static enum kurc_status read_column(const char *dir, const char *prefix, const char *stat,
                                    double **values, size_t *n, struct kurc_err *err) {
    char *column = kurc_xasprintf("%s_%s", prefix, stat);
    size_t len = 0;
    *values = NULL;
    enum kurc_status st = kurc_logger_column(dir, column, values, &len, err);
    free(column);
    if (st != KURC_OK || len == 0) {
        free(*values);
        *values = NULL;
    }
    if (*values && len < *n)
        *n = len;
    return st;
}

static enum kurc_status read_record(const char *dir, const char *prefix, struct record *r,
                                    struct kurc_err *err) {
    r->n = SIZE_MAX;
    enum kurc_status st = read_column(dir, prefix, "total", &r->loss, &r->n, err);
    if (st == KURC_OK && r->loss)
        st = read_column(dir, prefix, "batch", &r->batch, &r->n, err);
    if (st == KURC_OK && r->loss)
        st = read_column(dir, prefix, "time", &r->time, &r->n, err);
    if (st || !r->loss)
        r->n = 0;
    return st;
}

/* The data set of a validation column file name: "" for
 * validation_loss_total, NAME for validation_loss.<NAME>_total (with '_'
 * and '.' doubled in NAME, undone here); NULL for any other file. */
static char *validation_key(const char *file) {
    static const char overall[] = "validation_loss_total";
    static const char head[] = "validation_loss.";
    static const char tail[] = "_total";
    if (strcmp(file, overall) == 0)
        return kurc_xstrdup("");
    size_t len = strlen(file);
    if (strncmp(file, head, sizeof head - 1) != 0 || len <= sizeof head - 1 + sizeof tail - 1 ||
        strcmp(file + len - (sizeof tail - 1), tail) != 0)
        return NULL;
    const char *escaped = file + sizeof head - 1;
    size_t n = len - (sizeof head - 1) - (sizeof tail - 1);
    char *key = kurc_xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (escaped[i] == '_' || escaped[i] == '.') {
            if (i + 1 >= n || escaped[i + 1] != escaped[i]) {
                free(key);
                return NULL;
            }
            i++;
        }
        key[k++] = escaped[i];
    }
    key[k] = '\0';
    return key;
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const struct record *)a)->key, ((const struct record *)b)->key);
}

/* Every validation data set of the log with a loss, sorted by name; a
 * lone `default` beside the overall series is dropped, as Kur did. */
static enum kurc_status read_validation(const char *dir, struct record **out, size_t *count,
                                        const struct kurc_loc *loc, struct kurc_err *err) {
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return kurc_err_set(err, KURC_E_IO, loc, "the plot hook cannot read the log %s: %s", dir,
                            strerror(errno));
    enum kurc_status st = KURC_OK;
    size_t cap = 0;
    for (struct dirent *entry; st == KURC_OK && (entry = readdir(d));) {
        char *key = validation_key(entry->d_name);
        if (!key)
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 4;
            *out = kurc_xrealloc(*out, cap * sizeof **out);
        }
        struct record *r = &(*out)[*count];
        memset(r, 0, sizeof *r);
        r->key = key;
        char *prefix = kurc_xstrndup(entry->d_name, strlen(entry->d_name) - strlen("_total"));
        st = read_record(dir, prefix, r, err);
        free(prefix);
        if (st == KURC_OK && r->n > 0)
            (*count)++;
        else
            record_release(r);
    }
    closedir(d);
    if (*count)
        qsort(*out, *count, sizeof **out, by_key);
    if (*count == 2 && (*out)[0].key[0] == '\0' && strcmp((*out)[1].key, "default") == 0) {
        record_release(&(*out)[1]);
        *count = 1;
    }
    return st;
}

/* --- drawing ------------------------------------------------------------ */

/* colorsys.hsv_to_rgb. */
static void hsv_to_rgb(double h, double s, double v, double rgb[3]) {
    int i = (int)(h * 6.0);
    double f = h * 6.0 - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    memcpy(rgb, table[i % 6], sizeof table[0]);
}

/* Kur's validation styles: 7 hues at two saturations (14 colours), each
 * colour with a solid line, then each dashed, dotted, dash-dotted. */
static void validation_style(size_t k, struct series *s) {
    size_t color = k % 14;
    hsv_to_rgb((double)(color / 2) / 7.0, color % 2 ? 1.0 : 0.7, color % 2 ? 1.0 : 0.7, s->rgb);
    s->dash = (int)(k / 14 % 4);
}

/* An axis for data in [lo, hi]: the range widened by 5% each side (as
 * matplotlib does), and a tick step of 1, 2 or 5 times a power of ten
 * giving about six ticks (at least 1 for a whole-number axis). */
static void nice_axis(double lo, double hi, bool whole, double *axis_lo, double *axis_hi,
                      double *step) {
    if (!(hi - lo > 1e-12 * fmax(fabs(lo), fabs(hi)))) {
        double pad = lo != 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= pad;
        hi += pad;
    }
    double raw = (hi - lo) / 6.0;
    double mag = pow(10.0, floor(log10(raw)));
    double norm = raw / mag;
    *step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    if (whole && *step < 1)
        *step = 1;
    *axis_lo = lo - 0.05 * (hi - lo);
    *axis_hi = hi + 0.05 * (hi - lo);
}

/* A tick's label with as many decimals as the step needs ("-0" as "0");
 * very large or very small values in %g form. */
static void tick_label(double value, double step, char *out, size_t size) {
    int decimals = (int)fmax(0.0, -floor(log10(step) + 1e-9));
    if (decimals > 6 || fabs(value) >= 1e9)
        snprintf(out, size, "%.6g", value + 0.0);
    else
        snprintf(out, size, "%.*f", decimals, fabs(value) < step * 1e-9 ? 0.0 : value);
}

/* Draws text with its anchor at (x, y): ax and ay 0 (left/top) to 1
 * (right/bottom) of its extents. */
static void text_at(cairo_t *cr, double x, double y, const char *text, double ax, double ay) {
    cairo_text_extents_t e;
    CAIRO(cairo_text_extents)(cr, text, &e);
    CAIRO(cairo_move_to)(cr, x - e.x_bearing - ax * e.width, y - e.y_bearing - ay * e.height);
    CAIRO(cairo_show_text)(cr, text);
}

static void set_dash(cairo_t *cr, int dash) {
    static const double patterns[4][4] = {{0}, {6, 3}, {1.5, 3}, {6, 3, 1.5, 3}};
    static const int lengths[4] = {0, 2, 2, 4};
    CAIRO(cairo_set_dash)(cr, patterns[dash], lengths[dash], 0);
}

static void draw_marker(cairo_t *cr, double x, double y) {
    CAIRO(cairo_new_sub_path)(cr);
    CAIRO(cairo_arc)(cr, x, y, 2.5, 0, 2 * PI);
    CAIRO(cairo_fill)(cr);
}

/* The range of the finite points of every series (0..1 when none). */
static void data_range(const struct chart *c, double lo[2], double hi[2]) {
    lo[0] = lo[1] = INFINITY;
    hi[0] = hi[1] = -INFINITY;
    for (size_t k = 0; k < c->n; k++) {
        const struct series *s = &c->series[k];
        for (size_t i = 0; i < s->n; i++) {
            if (!isfinite(s->x[i]) || !isfinite(s->y[i]))
                continue;
            lo[0] = fmin(lo[0], s->x[i]);
            hi[0] = fmax(hi[0], s->x[i]);
            lo[1] = fmin(lo[1], s->y[i]);
            hi[1] = fmax(hi[1], s->y[i]);
        }
    }
    for (int a = 0; a < 2; a++)
        if (lo[a] > hi[a]) {
            lo[a] = 0;
            hi[a] = 1;
        }
}

/* The chart on a WIDTH x HEIGHT canvas: white background, framed plot
 * area with ticks and grid, axis labels, title, series (a line broken at
 * non-finite points, markers unless there are many) and the legend. */
static void draw_chart(cairo_t *cr, const struct chart *c) {
    const double left = 78, right = WIDTH - 24, top = 44, bottom = HEIGHT - 58;
    double lo[2], hi[2], alo[2], ahi[2], step[2];
    data_range(c, lo, hi);
    for (int a = 0; a < 2; a++)
        nice_axis(lo[a], hi[a], a == 0 && c->whole_x, &alo[a], &ahi[a], &step[a]);
#define PX(v) (left + ((v)-alo[0]) / (ahi[0] - alo[0]) * (right - left))
#define PY(v) (bottom - ((v)-alo[1]) / (ahi[1] - alo[1]) * (bottom - top))

    CAIRO(cairo_set_source_rgb)(cr, 1, 1, 1);
    CAIRO(cairo_paint)(cr);
    CAIRO(cairo_select_font_face)(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                                  CAIRO_FONT_WEIGHT_NORMAL);

    /* Grid, ticks and tick labels. */
    CAIRO(cairo_set_font_size)(cr, 10);
    CAIRO(cairo_set_line_width)(cr, 1);
    for (int a = 0; a < 2; a++) {
        double first = ceil(alo[a] / step[a] - 1e-9);
        long ticks = lround(floor(ahi[a] / step[a] + 1e-9) - first);
        for (long t = 0; t <= ticks; t++) {
            double v = (first + (double)t) * step[a];
            char label[32];
            tick_label(v, step[a], label, sizeof label);
            double p = a == 0 ? PX(v) : PY(v);
            CAIRO(cairo_set_source_rgb)(cr, 0.9, 0.9, 0.9);
            if (a == 0) {
                CAIRO(cairo_move_to)(cr, p, top);
                CAIRO(cairo_line_to)(cr, p, bottom);
            } else {
                CAIRO(cairo_move_to)(cr, left, p);
                CAIRO(cairo_line_to)(cr, right, p);
            }
            CAIRO(cairo_stroke)(cr);
            CAIRO(cairo_set_source_rgb)(cr, 0, 0, 0);
            if (a == 0) {
                CAIRO(cairo_move_to)(cr, p, bottom);
                CAIRO(cairo_line_to)(cr, p, bottom + 5);
                CAIRO(cairo_stroke)(cr);
                text_at(cr, p, bottom + 8, label, 0.5, 0);
            } else {
                CAIRO(cairo_move_to)(cr, left - 5, p);
                CAIRO(cairo_line_to)(cr, left, p);
                CAIRO(cairo_stroke)(cr);
                text_at(cr, left - 8, p, label, 1, 0.5);
            }
        }
    }
    CAIRO(cairo_set_source_rgb)(cr, 0, 0, 0);
    CAIRO(cairo_rectangle)(cr, left, top, right - left, bottom - top);
    CAIRO(cairo_stroke)(cr);

    /* Axis labels and title. */
    CAIRO(cairo_set_font_size)(cr, 12);
    text_at(cr, (left + right) / 2, HEIGHT - 8, c->xlabel, 0.5, 1);
    CAIRO(cairo_save)(cr);
    CAIRO(cairo_translate)(cr, 14, (top + bottom) / 2);
    CAIRO(cairo_rotate)(cr, -PI / 2);
    text_at(cr, 0, 0, c->ylabel, 0.5, 0);
    CAIRO(cairo_restore)(cr);
    CAIRO(cairo_set_font_size)(cr, 14);
    text_at(cr, (left + right) / 2, 14, c->title, 0.5, 0);

    /* Series, clipped to the plot area. */
    CAIRO(cairo_save)(cr);
    CAIRO(cairo_rectangle)(cr, left, top, right - left, bottom - top);
    CAIRO(cairo_clip)(cr);
    CAIRO(cairo_set_line_width)(cr, 1.5);
    CAIRO(cairo_set_line_join)(cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t k = 0; k < c->n; k++) {
        const struct series *s = &c->series[k];
        CAIRO(cairo_set_source_rgb)(cr, s->rgb[0], s->rgb[1], s->rgb[2]);
        set_dash(cr, s->dash);
        bool pen_down = false;
        for (size_t i = 0; i < s->n; i++) {
            bool ok = isfinite(s->x[i]) && isfinite(s->y[i]);
            if (ok && pen_down)
                CAIRO(cairo_line_to)(cr, PX(s->x[i]), PY(s->y[i]));
            else if (ok)
                CAIRO(cairo_move_to)(cr, PX(s->x[i]), PY(s->y[i]));
            pen_down = ok;
        }
        CAIRO(cairo_stroke)(cr);
        set_dash(cr, 0);
        for (size_t i = 0; i < s->n && s->n <= 300; i++)
            if (isfinite(s->x[i]) && isfinite(s->y[i]))
                draw_marker(cr, PX(s->x[i]), PY(s->y[i]));
    }
    CAIRO(cairo_restore)(cr);

    /* Legend, in the corner of the plot area where it hides the fewest
     * points (matplotlib's "best", with its order of preference). */
    if (c->n == 0)
        return;
    CAIRO(cairo_set_font_size)(cr, 10);
    double text_width = 0, line_height = 16;
    for (size_t k = 0; k < c->n; k++) {
        cairo_text_extents_t e;
        CAIRO(cairo_text_extents)(cr, c->series[k].label, &e);
        text_width = fmax(text_width, e.x_advance);
    }
    double box_w = text_width + 46, box_h = line_height * (double)c->n + 8;
    const double corners[4][2] = {{right - box_w - 8, top + 8},
                                  {left + 8, top + 8},
                                  {left + 8, bottom - box_h - 8},
                                  {right - box_w - 8, bottom - box_h - 8}};
    size_t best = 0, best_hidden = SIZE_MAX;
    for (size_t corner = 0; corner < 4; corner++) {
        size_t hidden = 0;
        for (size_t k = 0; k < c->n; k++) {
            const struct series *s = &c->series[k];
            for (size_t i = 0; i < s->n; i++) {
                double px = PX(s->x[i]), py = PY(s->y[i]);
                hidden += px >= corners[corner][0] - 4 && px <= corners[corner][0] + box_w + 4 &&
                          py >= corners[corner][1] - 4 && py <= corners[corner][1] + box_h + 4;
            }
        }
        if (hidden < best_hidden) {
            best = corner;
            best_hidden = hidden;
        }
    }
    double bx = corners[best][0], by = corners[best][1];
    CAIRO(cairo_rectangle)(cr, bx, by, box_w, box_h);
    CAIRO(cairo_set_source_rgba)(cr, 1, 1, 1, 0.85);
    CAIRO(cairo_fill_preserve)(cr);
    CAIRO(cairo_set_source_rgb)(cr, 0.6, 0.6, 0.6);
    CAIRO(cairo_set_line_width)(cr, 1);
    CAIRO(cairo_stroke)(cr);
    for (size_t k = 0; k < c->n; k++) {
        const struct series *s = &c->series[k];
        double y = by + 4 + line_height * ((double)k + 0.5);
        CAIRO(cairo_set_source_rgb)(cr, s->rgb[0], s->rgb[1], s->rgb[2]);
        CAIRO(cairo_set_line_width)(cr, 1.5);
        set_dash(cr, s->dash);
        CAIRO(cairo_move_to)(cr, bx + 6, y);
        CAIRO(cairo_line_to)(cr, bx + 32, y);
        CAIRO(cairo_stroke)(cr);
        set_dash(cr, 0);
        draw_marker(cr, bx + 19, y);
        CAIRO(cairo_set_source_rgb)(cr, 0, 0, 0);
        text_at(cr, bx + 38, y, s->label, 0, 0.5);
    }
#undef PX
#undef PY
}

/* Draws c into path (PNG or SVG by extension) through path.tmp. */
static enum kurc_status save_chart(const struct chart *c, const char *path,
                                   const struct kurc_loc *loc, struct kurc_err *err) {
    char *tmp = kurc_xasprintf("%s.tmp", path);
    bool png = image_kind(path) == 1;
    cairo_surface_t *surface =
        png ? CAIRO(cairo_image_surface_create)(CAIRO_FORMAT_ARGB32, WIDTH, HEIGHT)
            : CAIRO(cairo_svg_surface_create)(tmp, WIDTH, HEIGHT);
    cairo_t *cr = CAIRO(cairo_create)(surface);
    draw_chart(cr, c);
    cairo_status_t cs = CAIRO(cairo_status)(cr);
    CAIRO(cairo_destroy)(cr);
    if (cs == CAIRO_STATUS_SUCCESS && png)
        cs = CAIRO(cairo_surface_write_to_png)(surface, tmp);
    CAIRO(cairo_surface_finish)(surface);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = CAIRO(cairo_surface_status)(surface);
    CAIRO(cairo_surface_destroy)(surface);
    enum kurc_status st = KURC_OK;
    if (cs != CAIRO_STATUS_SUCCESS)
        st = kurc_err_set(err, KURC_E_IO, loc, "the plot hook cannot write %s: %s", tmp,
                          CAIRO(cairo_status_to_string)(cs));
    else if (rename(tmp, path) != 0)
        st = kurc_err_set(err, KURC_E_IO, loc, "the plot hook cannot write %s: %s", path,
                          strerror(errno));
    if (st)
        remove(tmp);
    free(tmp);
    return st;
}

/* --- the three plots ---------------------------------------------------- */

/* 1, 2, ... n: the x of a series the log gives no batch counter for. */
static double *counting(size_t n) {
    double *x = kurc_xmalloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(i + 1);
    return x;
}

/* Kur's legend label of validation set `key` among n sets. */
static char *validation_label(const char *key, size_t n) {
    if (*key)
        return kurc_xasprintf("Validation Loss: %s", key);
    return kurc_xstrdup(n > 1 ? "Validation Loss: Overall" : "Validation Loss");
}

/* The series of one loss chart: training against its batch counter
 * (per_time false) or its time, then each validation set likewise.  A
 * series without times is left out of a time chart with a warning, as Kur
 * did.  x arrays of counting() are owned by the chart (owned[k]). */
static void loss_series(const struct record *train, const struct record *valid, size_t n_valid,
                        bool per_time, const struct kurc_loc *loc, struct chart *c, char **labels,
                        bool *owned) {
    c->series = kurc_xcalloc(n_valid + 1, sizeof *c->series);
    c->n = 0;
    for (size_t k = 0; k <= n_valid; k++) {
        const struct record *r = k == 0 ? train : &valid[k - 1];
        struct series *s = &c->series[c->n];
        double *x = per_time ? r->time : r->batch;
        if (per_time && !x) {
            if (k == 0)
                kurc_log_at(KURC_LOG_WARNING, loc,
                            "the plot hook: the log has no training times for loss_per_time");
            else
                kurc_log_at(KURC_LOG_WARNING, loc,
                            "the plot hook: the log has no times of validation set '%s' for "
                            "loss_per_time",
                            r->key);
            continue;
        }
        owned[c->n] = !x;
        s->x = x ? x : counting(r->n);
        s->y = r->loss;
        s->n = r->n;
        if (k == 0) {
            s->label = "Training Loss";
            s->rgb[0] = 0, s->rgb[1] = 0.75, s->rgb[2] = 0.75; /* matplotlib's 'c' */
        } else {
            labels[k - 1] = validation_label(r->key, n_valid);
            s->label = labels[k - 1];
            validation_style(k - 1, s);
        }
        c->n++;
    }
}

static void chart_release(struct chart *c, const bool *owned) {
    for (size_t k = 0; k < c->n; k++)
        if (owned[k])
            free(c->series[k].x);
    free(c->series);
}

/* Throughput of the training series: Δbatch/Δtime at each later time with
 * Δtime != 0.  False (with a warning) when the log lacks batches or times. */
static bool throughput_series(const struct record *train, const struct kurc_loc *loc,
                              struct series *s) {
    if (!train->batch || !train->time) {
        kurc_log_at(KURC_LOG_WARNING, loc,
                    "the plot hook: the log has no training times or batches for "
                    "throughput_per_time");
        return false;
    }
    s->x = kurc_xmalloc((train->n ? train->n : 1) * sizeof *s->x);
    s->y = kurc_xmalloc((train->n ? train->n : 1) * sizeof *s->y);
    s->n = 0;
    for (size_t i = 1; i < train->n; i++) {
        double dt = train->time[i] - train->time[i - 1];
        if (dt == 0)
            continue;
        s->x[s->n] = train->time[i];
        s->y[s->n++] = (train->batch[i] - train->batch[i - 1]) / dt;
    }
    s->label = "Training Throughput";
    s->rgb[0] = 0, s->rgb[1] = 0.75, s->rgb[2] = 0.75;
    return true;
}

/* Draws plot p (an index of plot_names) into path. */
static enum kurc_status draw_plot(size_t p, const char *path, const struct record *train,
                                  bool per_epoch, const struct record *valid, size_t n_valid,
                                  const struct kurc_loc *loc, struct kurc_err *err) {
    struct chart c = {0};
    enum kurc_status st = KURC_OK;
    if (p == 2) {
        struct series s = {0};
        if (!throughput_series(train, loc, &s))
            return KURC_OK;
        c = (struct chart){
            "Throughput per time", "Time (seconds)", "Throughput (Batches/Second)", &s, 1, false};
        st = save_chart(&c, path, loc, err);
        free(s.x);
        free(s.y);
        return st;
    }
    char **labels = kurc_xcalloc(n_valid + 1, sizeof *labels);
    bool *owned = kurc_xcalloc(n_valid + 1, sizeof *owned);
    loss_series(train, valid, n_valid, p == 1, loc, &c, labels, owned);
    if (p == 1) {
        c.title = "Loss per time";
        c.xlabel = "Time (seconds)";
    } else {
        c.title = per_epoch ? "Loss per epoch" : "Loss per batch";
        c.xlabel = train->batch || !per_epoch ? "Batch" : "Epoch";
        c.whole_x = true;
    }
    c.ylabel = "Loss";
    st = save_chart(&c, path, loc, err);
    chart_release(&c, owned);
    for (size_t k = 0; k < n_valid; k++)
        free(labels[k]);
    free(labels);
    free(owned);
    return st;
}

static enum kurc_status plot_train(const struct kurc_value *params,
                                   const struct kurc_train_event *e, const struct kurc_loc *loc,
                                   struct kurc_err *err) {
    size_t given;
    enum kurc_status st = plot_files(params, &given, err);
    if (st || !given)
        return st;
    st = kurc_cairo_load(loc, err);
    if (st || !e->log_dir) /* no log: warned at set-up (needs_log) */
        return st;
    struct record train = {0};
    bool per_epoch = false;
    st = read_record(e->log_dir, "batch_loss", &train, err);
    if (st == KURC_OK && train.n == 0) {
        per_epoch = true;
        record_release(&train);
        st = read_record(e->log_dir, "training_loss", &train, err);
    }
    if (st == KURC_OK && train.n == 0) {
        kurc_log(KURC_LOG_DEBUG, "the plot hook: no training losses in the log yet");
        record_release(&train);
        return KURC_OK;
    }
    struct record *valid = NULL;
    size_t n_valid = 0;
    if (st == KURC_OK)
        st = read_validation(e->log_dir, &valid, &n_valid, loc, err);
    for (size_t p = 0; p < N_PLOTS && st == KURC_OK; p++) {
        const char *file = kurc_param_str(params, plot_names[p]);
        if (!file)
            continue;
        char *path = kurc_path_expand(file);
        st = draw_plot(p, path, &train, per_epoch, valid, n_valid, loc, err);
        free(path);
    }
    for (size_t k = 0; k < n_valid; k++)
        record_release(&valid[k]);
    free(valid);
    record_release(&train);
    return st;
}

const struct kurc_hook_type kurc_training_hook_plot = {
    .component = {"plot",
                  KURC_SCHEMA(.types = KT_STR | KT_MAP,
                              .keys = KURC_KEYS({"loss_per_batch", &kurc_schema_string_or_null},
                                                {"loss_per_time", &kurc_schema_string_or_null},
                                                {"throughput_per_time",
                                                 &kurc_schema_string_or_null})),
                  KURC_NAMES("loss_per_batch")},
    .needs_log = true,
    .check = plot_check,
    .train = plot_train,
};
