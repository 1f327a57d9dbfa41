/* output.c - Kur's `output` evaluation hook (and `evaluate.destination`,
 * which Kur ran as one last output hook): the results, and the truths when
 * there are any, written to a file.
 *
 * Parameters: `path` (required; ~ and $VAR expanded) and `format`.  Without
 * a format the file's extension picks one of the formats; any other
 * extension gets Kur's default, a pickle.  csv is written here, as Kur's
 * hook wrote it: a header of the output names then `<name> expected` for
 * each output with a truth, and one row per sample holding element [0] of
 * every output (then of every truth), numbers as numpy prints float32s,
 * rows ended by "\r\n" (Python's csv module).  Kur wrote the truth's whole
 * row where kurc writes its element [0].  Every other format is
 * kurc_destination_write's (src/io/destination.h).
 */
#include "hooks/hooks_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/paths.h"
#include "base/xalloc.h"
#include "io/destination.h"

static const char *const formats[] = {"pkl", "pickle", "csv", "h5", "hdf5", "npz", NULL};

/* The format to write: the one given, else the path's extension when it
 * names a format, else pkl. */
static const char *pick_format(const char *path, const struct kurc_value *format) {
    if (format)
        return format->u.str.s;
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    for (size_t i = 0; dot && (!slash || dot > slash) && formats[i]; i++)
        if (strcasecmp(dot + 1, formats[i]) == 0)
            return formats[i];
    return "pkl";
}

static enum kurc_status output_check(const struct kurc_value *params, const struct kurc_loc *loc,
                                     struct kurc_err *err) {
    const struct kurc_value *path = kurc_param(params, "path");
    const struct kurc_value *format = kurc_param(params, "format");
    if (!path)
        return kurc_err_set(err, KURC_E_CONFIG, loc, "the output hook needs a `path`");
    if (path->kind != KURC_STR)
        return kurc_err_set(err, KURC_E_CONFIG, &path->loc,
                            "the output hook: `path` is a string, not %s",
                            kurc_kind_phrase(path->kind));
    if (format && format->kind != KURC_STR)
        return kurc_err_set(err, KURC_E_CONFIG, &format->loc,
                            "the output hook: `format` is a string, not %s",
                            kurc_kind_phrase(format->kind));
    bool known = !format;
    for (size_t i = 0; !known && formats[i]; i++)
        known = strcmp(format->u.str.s, formats[i]) == 0;
    if (!known)
        return kurc_err_set(err, KURC_E_CONFIG, &format->loc,
                            "the output hook: unknown format '%s' (expected pkl, pickle, csv, h5, "
                            "hdf5 or npz)",
                            format->u.str.s);
    return KURC_OK;
}

/* One float32 as numpy's str() prints it: the shortest digits that read
 * back as the same float, positional for 1e-4 <= |x| < 1e16 (with at least
 * one digit after the point), scientific otherwise ("1e-05", "1.5e+20").
 * The longest is 19 characters ("-9999999000000000.0"). */
static void format_float(float x, char out[32]) {
    if (isnan(x) || isinf(x)) {
        snprintf(out, 32, "%s", isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
        return;
    }
    char sci[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, (double)x);
        if (strtof(sci, NULL) == x)
            break;
    }
    /* sci is [-]d[.ddd]e[+-]XX: its significant digits and exponent. */
    const char *s = sci + (sci[0] == '-');
    char digits[16];
    int n = 0;
    for (; *s != 'e'; s++)
        if (*s != '.')
            digits[n++] = *s;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    int exp10 = atoi(s + 1);
    double magnitude = fabs((double)x);
    int k = 0;
    if (sci[0] == '-')
        out[k++] = '-';
    if (magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e16)) {
        if (exp10 < 0) { /* 0.000ddd */
            out[k++] = '0';
            out[k++] = '.';
            for (int z = 0; z < -exp10 - 1; z++)
                out[k++] = '0';
            for (int i = 0; i < n; i++)
                out[k++] = digits[i];
        } else { /* ddd[000].ddd, or ddd.0 */
            for (int i = 0; i <= exp10; i++)
                out[k++] = i < n ? digits[i] : '0';
            out[k++] = '.';
            if (exp10 + 1 >= n)
                out[k++] = '0';
            for (int i = exp10 + 1; i < n; i++)
                out[k++] = digits[i];
        }
        out[k] = '\0';
    } else { /* d[.ddd]e-XX */
        out[k++] = digits[0];
        if (n > 1)
            out[k++] = '.';
        for (int i = 1; i < n; i++)
            out[k++] = digits[i];
        snprintf(out + k, (size_t)(32 - k), "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
}

/* A csv field as Python's csv.writer writes it (QUOTE_MINIMAL): quoted,
 * with quotes doubled, when it holds a comma, a quote or a line break. */
static void put_field(FILE *f, const char *text, bool first) {
    if (!first)
        fputc(',', f);
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (; *text; text++) {
        if (*text == '"')
            fputc('"', f);
        fputc(*text, f);
    }
    fputc('"', f);
}

/* The truth of output i, or NULL. */
static const float *truth_of(const struct kurc_eval_result *r, size_t i) {
    return r->truths ? r->truths[i] : NULL;
}

/* Writes element [0] of sample `sample` of data (per floats a sample) as
 * a field. */
static void put_number(FILE *f, const float *data, int64_t sample, int64_t per, bool first) {
    char text[32];
    format_float(per > 0 ? data[sample * per] : NAN, text);
    put_field(f, text, first);
}

/* Writes r as Kur's csv to path, through path.tmp renamed into place. */
static enum kurc_status write_csv(const struct kurc_eval_result *r, const char *path,
                                  const struct kurc_loc *loc, struct kurc_err *err) {
    char *tmp = kurc_xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        enum kurc_status st = kurc_err_set(
            err, KURC_E_IO, loc, "the output hook cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    for (size_t i = 0; i < r->n; i++)
        put_field(f, r->names[i], i == 0);
    for (size_t i = 0; i < r->n; i++) {
        if (!truth_of(r, i))
            continue;
        char *name = kurc_xasprintf("%s expected", r->names[i]);
        put_field(f, name, false);
        free(name);
    }
    fputs("\r\n", f);
    for (int64_t s = 0; s < r->count; s++) {
        for (size_t i = 0; i < r->n; i++)
            put_number(f, r->outputs[i], s, kurc_shape_numel(&r->shapes[i]), i == 0);
        for (size_t i = 0; i < r->n; i++)
            if (truth_of(r, i))
                put_number(f, truth_of(r, i), s, kurc_shape_numel(&r->shapes[i]), false);
        fputs("\r\n", f);
    }
    bool failed = ferror(f) != 0;
    failed = fclose(f) != 0 || failed;
    enum kurc_status st = KURC_OK;
    if (failed || rename(tmp, path) != 0) {
        st = kurc_err_set(err, KURC_E_IO, loc, "the output hook cannot write %s: %s", path,
                          strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return st;
}

static enum kurc_status output_evaluate(const struct kurc_eval_result *r,
                                        const struct kurc_value *params,
                                        const struct kurc_loc *loc, struct kurc_err *err) {
    enum kurc_status st = output_check(params, loc, err);
    if (st)
        return st;
    char *path = kurc_path_expand(kurc_param_str(params, "path"));
    const char *format = pick_format(path, kurc_param(params, "format"));
    if (strcmp(format, "csv") == 0) {
        st = write_csv(r, path, loc, err);
    } else {
        struct kurc_named_array *results = kurc_xcalloc(r->n + 1, sizeof *results);
        struct kurc_named_array *truths = kurc_xcalloc(r->n + 1, sizeof *truths);
        size_t n_truths = 0;
        for (size_t i = 0; i < r->n; i++) {
            results[i] =
                (struct kurc_named_array){r->names[i], r->shapes[i], r->count, r->outputs[i]};
            if (truth_of(r, i))
                truths[n_truths++] =
                    (struct kurc_named_array){r->names[i], r->shapes[i], r->count, r->truths[i]};
        }
        st = kurc_destination_write(path, format, results, r->n, n_truths ? truths : NULL, n_truths,
                                    err);
        free(results);
        free(truths);
    }
    free(path);
    return st;
}

const struct kurc_hook_type kurc_evaluation_hook_output = {
    .component = {"output",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS({"path", &kurc_schema_string, true},
                                                {"format", KURC_SCHEMA(.types = KT_STR | KT_NULL,
                                                                       .choices = formats)})),
                  KURC_NAMES("path", "format")},
    .check = output_check,
    .evaluate = output_evaluate,
};
