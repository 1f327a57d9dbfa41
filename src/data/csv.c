/* csv.c - the `csv` supplier: one float32 source of shape (1,) per column
 * of a delimited text file (Kur's CsvSupplier).
 *
 * Parameters: the standard packaging keys {path, url, checksum}, `format:
 * {delimiter, quote}` and `header` (default true: the first record names
 * the columns; false: they are column_0, column_1, ...).
 *
 * Parsing follows Python's csv module with its default (excel) dialect: a
 * field that starts with the quote character runs to the closing quote,
 * may hold delimiters and line breaks, and writes a quote as two; records
 * end at \n, \r\n or \r.  Unlike Kur, blank lines are skipped (Python's
 * reader yields them as empty rows, which numpy then refuses).
 *
 * Without a `delimiter`, it is sniffed from the first 1024 bytes, as Kur
 * asks Python's csv.Sniffer to do, among ',', tab, ';' and '|': the first
 * (in that order) that occurs equally often, and at least once, on every
 * complete non-blank line (outside quotes), else the one that occurs most
 * often, else ','.  The quote character is '"' unless `format.quote` says
 * otherwise.  As the Sniffer does, blanks at the start of fields are
 * skipped when every delimiter on the first line is followed by a blank
 * ("a, b, c" names the columns a, b and c).
 *
 * Every cell must be a finite number (what Python's float() reads,
 * surrounding blanks allowed, within float32's range; not NaN or an
 * infinity); a cell that is not, or a NUL byte anywhere, is an error
 * naming the file, line and column (or byte offset).  describe (build)
 * reads every record and checks its number of fields, but parses no cell:
 * a cell that is not a number is found by load (train).
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "data/supplier.h"
#include "data/supplier_util.h"

#define SNIFF_BYTES 1024

/* The reader: a position in the file's text and the current record, its
 * fields stored one after another, each NUL-terminated. */
struct reader {
    const char *p, *end;
    char delim, quote;
    bool skip_blanks;         /* at the start of fields */
    int line;                 /* line of *p */
    struct kurc_strbuf text;  /* the record's fields */
    size_t *starts;           /* offset of each field in text */
    size_t n_fields, cap_fields;
    int record_line;          /* line where the record starts */
};

static void start_field(struct reader *r) {
    if (r->n_fields == r->cap_fields) {
        r->cap_fields = r->cap_fields ? 2 * r->cap_fields : 16;
        r->starts = kurc_xrealloc(r->starts, r->cap_fields * sizeof *r->starts);
    }
    r->starts[r->n_fields++] = r->text.len;
}

static const char *field(const struct reader *r, size_t i) {
    return r->text.data + r->starts[i];
}

/* Consumes a line break at r->p, if there is one. */
static bool take_newline(struct reader *r) {
    if (r->p < r->end && (*r->p == '\n' || *r->p == '\r')) {
        if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
            r->p++;
        r->p++;
        r->line++;
        return true;
    }
    return false;
}

/* Reads the next non-blank record.  Returns 1 with the fields in r, 0 at
 * the end of the text, -1 for a quoted field the text ends inside. */
static int next_record(struct reader *r) {
    while (r->p < r->end && take_newline(r))
        ; /* blank lines */
    if (r->p >= r->end)
        return 0;
    kurc_strbuf_reset(&r->text);
    r->n_fields = 0;
    r->record_line = r->line;
    for (;;) {
        start_field(r);
        while (r->skip_blanks && r->p < r->end && *r->p == ' ')
            r->p++;
        if (r->p < r->end && *r->p == r->quote) {
            /* Quoted: up to the closing quote; "" is a quote. */
            int open_line = r->line;
            r->p++;
            for (;;) {
                if (r->p >= r->end) {
                    r->record_line = open_line;
                    return -1;
                }
                if (*r->p == r->quote) {
                    if (r->p + 1 < r->end && r->p[1] == r->quote) {
                        kurc_strbuf_putc(&r->text, r->quote);
                        r->p += 2;
                        continue;
                    }
                    r->p++;
                    break;
                }
                if (*r->p == '\n' || (*r->p == '\r' && !(r->p + 1 < r->end && r->p[1] == '\n')))
                    r->line++;
                kurc_strbuf_putc(&r->text, *r->p++);
            }
        }
        /* Unquoted text (or what follows a closing quote, kept as Python
         * does) up to the delimiter or the end of the line. */
        while (r->p < r->end && *r->p != r->delim && *r->p != '\n' && *r->p != '\r')
            kurc_strbuf_putc(&r->text, *r->p++);
        kurc_strbuf_putc(&r->text, '\0');
        if (r->p < r->end && *r->p == r->delim) {
            r->p++;
            continue;
        }
        take_newline(r);
        return 1;
    }
}

/* Counts c outside quoted stretches of [p, end). */
static int count_outside_quotes(const char *p, const char *end, char c, char quote) {
    int n = 0;
    bool quoted = false;
    for (; p < end; p++) {
        if (*p == quote)
            quoted = !quoted;
        else if (*p == c && !quoted)
            n++;
    }
    return n;
}

/* The delimiter the first SNIFF_BYTES of the text suggest (see the top of
 * the file). */
static char sniff_delimiter(const char *text, size_t len, char quote) {
    static const char candidates[] = {',', '\t', ';', '|'};
    enum { N = sizeof candidates };
    size_t n = len < SNIFF_BYTES ? len : SNIFF_BYTES;
    const char *end = text + n;
    int first[N], total[N];
    bool consistent[N];
    for (int c = 0; c < N; c++) {
        first[c] = -1;
        total[c] = 0;
        consistent[c] = true;
    }
    const char *line = text;
    while (line < end) {
        const char *eol = line;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        if (eol == end && n < len && line != text)
            break; /* a line the sample cuts short */
        if (eol > line) {
            for (int c = 0; c < N; c++) {
                int k = count_outside_quotes(line, eol, candidates[c], quote);
                total[c] += k;
                if (first[c] < 0)
                    first[c] = k;
                consistent[c] = consistent[c] && k == first[c] && k > 0;
            }
        }
        line = eol + 1;
    }
    for (int c = 0; c < N; c++)
        if (first[c] > 0 && consistent[c])
            return candidates[c];
    int best = 0;
    for (int c = 1; c < N; c++)
        if (total[c] > total[best])
            best = c;
    return candidates[best];
}

/* True when the first line has delimiters and a blank follows each. */
static bool blank_after_delimiters(const char *text, size_t len, char delim) {
    bool any = false;
    for (size_t i = 0; i < len && text[i] != '\n' && text[i] != '\r'; i++) {
        if (text[i] != delim)
            continue;
        if (i + 1 >= len || text[i + 1] != ' ')
            return false;
        any = true;
    }
    return any;
}

/* What a cell holds. */
enum cell {
    CELL_OK,
    CELL_NOT_NUMBER,
    CELL_NOT_FINITE, /* NaN, an infinity or beyond float32's range */
};

/* Parses a cell as Python's float() does (blanks around it allowed). */
static enum cell parse_cell(const char *s, float *out) {
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '\0' || strpbrk(s, "xX"))
        return CELL_NOT_NUMBER; /* C's strtod reads hex; Python's float() does not */
    char *stop;
    double v = strtod(s, &stop);
    while (*stop == ' ' || *stop == '\t')
        stop++;
    if (*stop != '\0' || stop == s)
        return CELL_NOT_NUMBER;
    return kurc_supplier_to_float(v, out) ? CELL_OK : CELL_NOT_FINITE;
}

/* A NUL byte would end a cell early (cells are C strings); refusing it
 * names its line and byte offset. */
static enum kurc_status check_no_nul(const char *text, size_t len, const char *path,
                                     const struct kurc_loc *where, struct kurc_err *err) {
    const char *nul = memchr(text, '\0', len);
    if (!nul)
        return KURC_OK;
    int line = 1;
    for (const char *p = text; p < nul; p++)
        line += *p == '\n';
    return kurc_err_set(err, KURC_E_DATA, where,
                        "csv: %s:%d: a NUL byte (byte offset %zu); a CSV file holds text", path,
                        line, (size_t)(nul - text));
}

/* A one-character `format` option, or fallback when it is absent. */
static enum kurc_status format_char(const struct kurc_value *format, const char *key,
                                    char fallback, char *out, struct kurc_err *err) {
    const char *s = NULL;
    *out = fallback;
    if (format) {
        enum kurc_status st = kurc_supplier_param_str(format, "csv", key, &s, err);
        if (st)
            return st;
    }
    if (!s)
        return KURC_OK;
    if (strlen(s) != 1)
        return kurc_err_set(err, KURC_E_CONFIG, &kurc_map_get(format, key)->loc,
                            "csv: format.%s must be one character, not '%s'", key, s);
    *out = s[0];
    return KURC_OK;
}

/* The columns being read: names and a growing float array per column
 * (none when shapes_only: records are counted and their fields too). */
struct columns {
    size_t n;
    char **names;
    float **values;
    int64_t rows, cap;
    bool shapes_only;
};

static void columns_free(struct columns *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->names[i]);
        free(c->values[i]);
    }
    free(c->names);
    free(c->values);
}

/* Names the columns from the header record in r (or column_I), checking
 * that names are neither empty nor repeated. */
static enum kurc_status name_columns(struct columns *c, const struct reader *r, bool header,
                                     const char *path, const struct kurc_loc *where,
                                     struct kurc_err *err) {
    c->n = r->n_fields;
    c->names = kurc_xcalloc(c->n, sizeof *c->names);
    c->values = kurc_xcalloc(c->n, sizeof *c->values);
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal); /* name -> column + 1 */
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < c->n && st == KURC_OK; i++) {
        c->names[i] = header ? kurc_xstrdup(field(r, i)) : kurc_xasprintf("column_%zu", i);
        size_t j = GPOINTER_TO_SIZE(g_hash_table_lookup(seen, c->names[i]));
        if (c->names[i][0] == '\0')
            st = kurc_err_set(err, KURC_E_DATA, where,
                              "csv: %s:%d: the header gives column %zu no name", path,
                              r->record_line, i + 1);
        else if (j)
            st = kurc_err_set(err, KURC_E_DATA, where,
                              "csv: %s:%d: the header names two columns '%s' (%zu and %zu)", path,
                              r->record_line, c->names[i], j, i + 1);
        else
            g_hash_table_insert(seen, c->names[i], GSIZE_TO_POINTER(i + 1));
    }
    g_hash_table_destroy(seen);
    return st;
}

/* Appends the record in r as a row of numbers. */
static enum kurc_status add_row(struct columns *c, const struct reader *r, const char *path,
                                const struct kurc_loc *where, struct kurc_err *err) {
    if (r->n_fields != c->n)
        return kurc_err_set(err, KURC_E_DATA, where,
                            "csv: %s:%d: expected %zu fields, found %zu", path, r->record_line,
                            c->n, r->n_fields);
    if (c->shapes_only) {
        c->rows++;
        return KURC_OK;
    }
    if (c->rows == c->cap) {
        int64_t cap = c->cap ? 2 * c->cap : 1024;
        for (size_t i = 0; i < c->n; i++) {
            float *grown = realloc(c->values[i], (size_t)cap * sizeof(float));
            if (!grown)
                return kurc_err_set(err, KURC_E_DATA, where,
                                    "csv: out of memory reading %s (%lld rows)", path,
                                    (long long)c->rows);
            c->values[i] = grown;
        }
        c->cap = cap;
    }
    for (size_t i = 0; i < c->n; i++) {
        enum cell got = parse_cell(field(r, i), &c->values[i][c->rows]);
        if (got != CELL_OK)
            return kurc_err_set(err, KURC_E_DATA, where, "csv: %s:%d: column %zu ('%s'): '%s' %s",
                                path, r->record_line, i + 1, c->names[i], field(r, i),
                                got == CELL_NOT_NUMBER
                                    ? "is not a number"
                                    : "is NaN, infinite or beyond the float32 range");
    }
    c->rows++;
    return KURC_OK;
}

/* Reads the whole text into columns. */
static enum kurc_status read_columns(struct reader *r, bool header, struct columns *c,
                                     const char *path, const struct kurc_loc *where,
                                     struct kurc_err *err) {
    int got = next_record(r);
    if (got == 0)
        return kurc_err_set(err, KURC_E_DATA, where, "csv: %s has no records", path);
    enum kurc_status st = KURC_OK;
    if (got > 0) {
        st = name_columns(c, r, header, path, where, err);
        if (st == KURC_OK && !header)
            st = add_row(c, r, path, where, err);
    }
    while (st == KURC_OK && got > 0) {
        got = next_record(r);
        if (got > 0)
            st = add_row(c, r, path, where, err);
    }
    if (st == KURC_OK && got < 0)
        st = kurc_err_set(err, KURC_E_DATA, where,
                          "csv: %s:%d: a quoted field is not closed before the end of the file",
                          path, r->record_line);
    return st;
}

/* load (every value) or, when shapes_only, describe (the columns and the
 * number of records, each record's fields counted, no cell parsed). */
static enum kurc_status read_source(const struct kurc_value *params, const struct kurc_loc *where,
                                    bool shapes_only, struct kurc_dataset *out,
                                    struct kurc_err *err) {
    const struct kurc_value *format = kurc_map_get(params, "format");
    if (format && format->kind == KURC_NULL)
        format = NULL;
    if (format && format->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, &format->loc,
                            "csv: 'format' must be a mapping, not %s",
                            kurc_kind_phrase(format->kind));
    const struct kurc_value *header_v = kurc_map_get(params, "header");
    bool header = true;
    if (header_v && header_v->kind == KURC_BOOL)
        header = header_v->u.b;
    else if (header_v && header_v->kind != KURC_NULL)
        return kurc_err_set(err, KURC_E_CONFIG, &header_v->loc,
                            "csv: 'header' must be a boolean, not %s",
                            kurc_kind_phrase(header_v->kind));

    struct reader r = {.line = 1};
    enum kurc_status st = format_char(format, "quote", '"', &r.quote, err);
    if (st)
        return st;
    char delim;
    st = format_char(format, "delimiter", '\0', &delim, err);
    if (st)
        return st;

    char *path, *text;
    size_t len;
    st = kurc_supplier_locate(params, "csv", where, &path, err);
    if (st)
        return st;
    st = kurc_supplier_read_file(path, "csv", where, &text, &len, err);
    if (st) {
        free(path);
        return st;
    }
    st = check_no_nul(text, len, path, where, err);
    r.delim = delim ? delim : sniff_delimiter(text, len, r.quote);
    r.skip_blanks = blank_after_delimiters(text, len, r.delim);
    if (st == KURC_OK && r.delim == r.quote)
        st = kurc_err_set(err, KURC_E_CONFIG, where,
                          "csv: the delimiter and the quote are both '%c'", r.delim);
    r.p = text;
    r.end = text + len;
    struct columns c = {.shapes_only = shapes_only};
    if (st == KURC_OK)
        st = read_columns(&r, header, &c, path, where, err);
    for (size_t i = 0; i < c.n && st == KURC_OK; i++) {
        const struct kurc_shape one = {.ndim = 1, .dim = {1}};
        st = kurc_dataset_add(out, c.names[i], &one, c.rows, c.values[i], path, err);
        c.values[i] = NULL;
    }
    columns_free(&c);
    kurc_strbuf_free(&r.text);
    free(r.starts);
    free(text);
    free(path);
    return st;
}

static enum kurc_status csv_load(const struct kurc_value *params, const struct kurc_loc *where,
                                 struct kurc_dataset *out, struct kurc_err *err) {
    return read_source(params, where, false, out, err);
}

static enum kurc_status csv_describe(const struct kurc_value *params,
                                     const struct kurc_loc *where, struct kurc_dataset *out,
                                     struct kurc_err *err) {
    return read_source(params, where, true, out, err);
}

static const struct kurc_schema csv_format = {
    .types = KT_MAP | KT_NULL,
    .keys = KURC_KEYS({"delimiter", &kurc_schema_string_or_null},
                      {"quote", &kurc_schema_string_or_null}),
};

const struct kurc_supplier_type kurc_supplier_csv = {
    .component = {"csv",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS(KURC_PACKAGING_KEYS, {"format", &csv_format},
                                                {"header", &kurc_schema_flag})),
                  KURC_NAMES("path", "url", "checksum", "format", "header")},
    .load = csv_load,
    .describe = csv_describe,
};
