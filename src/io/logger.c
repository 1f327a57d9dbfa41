/* logger.c - Kur's binary training log (see logger.h): one IDX column file
 * per statistic and a summary.yml, as kur/loggers/binary_logger.py and
 * kur/utils/idx.py write them.
 *
 * Appending one value writes it where the header's count says the data
 * ends, cuts the file there, and only then raises the count, so a crash
 * leaves at worst trailing bytes that every reader ignores.  A record (one
 * value per column) that fails part-way, as on a full disk, is taken back
 * from the columns it reached, so the columns stay in step.  summary.yml
 * is written to summary.yml.tmp and renamed.
 */
#include "io/logger.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file_read.h"
#include "base/paths.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "config/value/pyrepr.h"
#include "config/value/value.h"
#include "config/yaml_load.h"
#include "formats/idx.h"
#include "io/io_util.h"

#define SUMMARY "summary.yml"
#define SUMMARY_VERSION 3

static const char *const clock_names[4] = {"all", "train", "validate", "batch"};

struct kurc_logger {
    char *dir;
    double latest_time;
};

static uint32_t get_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Appends one 4-byte big-endian element of IDX type `type` to the 1-D IDX
 * file at path, creating it when missing; *before is its count before. */
static enum kurc_status idx_append(const char *path, unsigned char type, const unsigned char *value,
                                   uint32_t *before, struct kurc_err *err) {
    int fd = open(path, O_RDWR | O_CREAT, 0666);
    if (fd < 0)
        return kurc_io_fail(err, KURC_E_IO, path, "cannot open the log column: %s",
                            strerror(errno));
    unsigned char head[8];
    ssize_t got = pread(fd, head, sizeof head, 0);
    enum kurc_status st = KURC_OK;
    uint32_t count = 0;
    if (got == 0) {
        const unsigned char fresh[8] = {0, 0, type, 1, 0, 0, 0, 0};
        memcpy(head, fresh, sizeof head);
        if (pwrite(fd, head, sizeof head, 0) != (ssize_t)sizeof head)
            st = kurc_io_fail(err, KURC_E_IO, path, "cannot write the log column: %s",
                              strerror(errno));
    } else if (got != (ssize_t)sizeof head || head[0] || head[1] || head[3] != 1) {
        st = kurc_io_fail(err, KURC_E_IO, path, "not a one-dimensional IDX file");
    } else if (head[2] != type) {
        st = kurc_io_fail(err, KURC_E_IO, path, "the log column holds %s data, not %s",
                          head[2] == KURC_IDX_F32   ? "float"
                          : head[2] == KURC_IDX_I32 ? "integer"
                                                    : "other",
                          type == KURC_IDX_F32 ? "float" : "integer");
    } else {
        count = get_be32(head + 4);
    }
    *before = count;
    off_t end = 8 + 4 * ((off_t)count + 1);
    if (!st) {
        put_be32(head + 4, count + 1);
        if (pwrite(fd, value, 4, end - 4) != 4 || ftruncate(fd, end) != 0 ||
            pwrite(fd, head, sizeof head, 0) != (ssize_t)sizeof head)
            st = kurc_io_fail(err, KURC_E_IO, path, "cannot append to the log column: %s",
                              strerror(errno));
    }
    close(fd);
    return st;
}

/* Takes a column appended to back to `count` values: its header's count
 * is rewritten in place and the file cut, neither of which needs free
 * space, so a record that failed half-way (a full disk) leaves every
 * column as it was. */
static void idx_cut(const char *path, uint32_t count) {
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return;
    unsigned char head[8];
    if (pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head) {
        put_be32(head + 4, count);
        if (pwrite(fd, head, sizeof head, 0) == (ssize_t)sizeof head)
            (void)!ftruncate(fd, 8 + 4 * (off_t)count);
    }
    close(fd);
}

static void float_bytes(float f, unsigned char *out) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_be32(out, u);
}

/* Appends s to b with each '_' doubled (and each '.' when dots): Kur's
 * escaping of one part of a column name. */
static void escape(struct kurc_strbuf *b, const char *s, bool dots) {
    for (; *s; s++) {
        kurc_strbuf_putc(b, *s);
        if (*s == '_' || (dots && *s == '.'))
            kurc_strbuf_putc(b, *s);
    }
}

/* The path of column <type>_<tags>_<stat> of the log in dir. */
static char *column_path(const char *dir, const char *type, const char *tag, const char *stat) {
    struct kurc_strbuf b = KURC_STRBUF_INIT;
    kurc_strbuf_printf(&b, "%s/%s_loss", dir, type);
    if (tag) {
        kurc_strbuf_putc(&b, '.');
        escape(&b, tag, true);
    }
    kurc_strbuf_putc(&b, '_');
    escape(&b, stat, false);
    return kurc_strbuf_take(&b);
}

enum kurc_status kurc_logger_append(struct kurc_logger *l, const char *type, const char *tag,
                                    const char *const *names, const double *values, size_t n,
                                    int64_t batch, double time, struct kurc_err *err) {
    if (strcmp(type, "batch") != 0 && strcmp(type, "training") != 0 &&
        strcmp(type, "validation") != 0)
        return kurc_err_set(err, KURC_E_INVALID, NULL,
                            "log record type '%s' is not batch, training or validation", type);
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], "total") == 0 || strcmp(names[i], "batch") == 0 ||
            strcmp(names[i], "time") == 0)
            return kurc_err_set(err, KURC_E_INVALID, NULL,
                                "an output named '%s' cannot be logged: the log uses the name "
                                "for its own column",
                                names[i]);
        total += values[i];
    }
    enum kurc_status st = KURC_OK;
    unsigned char bytes[4];
    char **paths = kurc_xcalloc(n + 3, sizeof *paths);
    uint32_t *before = kurc_xcalloc(n + 3, sizeof *before);
    size_t done = 0; /* columns appended to */
    for (size_t i = 0; i <= n + 2 && !st; i++) {
        const char *stat = i < n ? names[i] : i == n ? "total" : i == n + 1 ? "batch" : "time";
        unsigned char idx_type = KURC_IDX_F32;
        if (i < n)
            float_bytes((float)values[i], bytes);
        else if (i == n)
            float_bytes((float)total, bytes);
        else if (i == n + 1) {
            idx_type = KURC_IDX_I32;
            put_be32(bytes, (uint32_t)(int32_t)batch);
        } else
            float_bytes((float)time, bytes);
        paths[i] = column_path(l->dir, type, tag, stat);
        st = idx_append(paths[i], idx_type, bytes, &before[i], err);
        done += st == KURC_OK;
    }
    for (size_t i = 0; i < n + 3; i++) {
        if (st && i < done) /* a record is written whole or not at all */
            idx_cut(paths[i], before[i]);
        free(paths[i]);
    }
    free(paths);
    free(before);
    if (!st && time > l->latest_time)
        l->latest_time = time;
    return st;
}

enum kurc_status kurc_logger_append_value(struct kurc_logger *l, const char *type,
                                          const char *tag, const char *stat, double value,
                                          int64_t batch, struct kurc_err *err) {
    struct kurc_strbuf b = KURC_STRBUF_INIT;
    kurc_strbuf_printf(&b, "%s/%s_", l->dir, type);
    escape(&b, tag, true);
    kurc_strbuf_putc(&b, '_');
    char *base = kurc_strbuf_take(&b);
    char *value_path = kurc_xasprintf("%s%s", base, stat);
    char *batch_path = kurc_xasprintf("%sbatch", base);
    unsigned char bytes[4];
    uint32_t before;
    float_bytes((float)value, bytes);
    enum kurc_status st = idx_append(value_path, KURC_IDX_F32, bytes, &before, err);
    if (st == KURC_OK) {
        uint32_t unused;
        put_be32(bytes, (uint32_t)(int32_t)batch);
        st = idx_append(batch_path, KURC_IDX_I32, bytes, &unused, err);
        if (st) /* a record is written whole or not at all */
            idx_cut(value_path, before);
    }
    free(base);
    free(value_path);
    free(batch_path);
    return st;
}

/* Appends a float as PyYAML's yaml.dump spells it: repr, with ".0" added
 * before an exponent that has no point, and .inf / -.inf / .nan. */
static void yaml_float(struct kurc_strbuf *b, double f) {
    if (isnan(f)) {
        kurc_strbuf_puts(b, ".nan");
        return;
    }
    if (isinf(f)) {
        kurc_strbuf_puts(b, f > 0 ? ".inf" : "-.inf");
        return;
    }
    char repr[32];
    kurc_py_float_repr(f, repr);
    char *e = strchr(repr, 'e');
    if (e && !strchr(repr, '.'))
        kurc_strbuf_printf(b, "%.*s.0%s", (int)(e - repr), repr, e);
    else
        kurc_strbuf_puts(b, repr);
}

enum kurc_status kurc_logger_flush(struct kurc_logger *l, const struct kurc_log_summary *s,
                                   struct kurc_err *err) {
    /* yaml.dump's layout: keys sorted, the clocks mapping in block style */
    struct kurc_strbuf b = KURC_STRBUF_INIT;
    kurc_strbuf_printf(&b, "batches: %lld\nclocks:\n", (long long)s->batches);
    static const int sorted[4] = {0, 3, 1, 2}; /* all, batch, train, validate */
    for (int i = 0; i < 4; i++) {
        kurc_strbuf_printf(&b, "  %s: ", clock_names[sorted[i]]);
        yaml_float(&b, s->clocks[sorted[i]]);
        kurc_strbuf_putc(&b, '\n');
    }
    kurc_strbuf_printf(&b, "epochs: %lld\nsamples: %lld\nsessions: %lld\nversion: %d\n",
                       (long long)s->epochs, (long long)s->samples, (long long)s->sessions,
                       SUMMARY_VERSION);
    char *path = kurc_xasprintf("%s/" SUMMARY, l->dir);
    char *tmp = kurc_xasprintf("%s.tmp", path);
    enum kurc_status st = KURC_OK;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        st =
            kurc_io_fail(err, KURC_E_IO, path, "cannot write the log summary: %s", strerror(errno));
    } else {
        bool ok = fwrite(b.data, 1, b.len, f) == b.len;
        if (fclose(f) != 0)
            ok = false;
        if (!ok || rename(tmp, path) != 0) {
            st = kurc_io_fail(err, KURC_E_IO, path, "cannot write the log summary: %s",
                              strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    free(path);
    kurc_strbuf_free(&b);
    return st;
}

/* A number from a summary mapping (int or float); false when absent or of
 * another kind. */
static bool summary_number(const struct kurc_value *map, const char *key, double *out) {
    const struct kurc_value *v = map && map->kind == KURC_MAP ? kurc_map_get(map, key) : NULL;
    if (!v || (v->kind != KURC_INT && v->kind != KURC_FLOAT))
        return false;
    *out = v->kind == KURC_INT ? (double)v->u.i : v->u.f;
    return true;
}

/* Reads summary.yml (s->sessions becomes the stored count + 1). */
static enum kurc_status load_summary(const char *path, struct kurc_log_summary *s,
                                     struct kurc_err *err) {
    size_t len = 0;
    char *text;
    int e = kurc_file_read(path, &text, &len);
    if (e)
        return kurc_io_fail(err, KURC_E_IO, path, "cannot read the log summary: %s", strerror(e));
    struct kurc_value *v = NULL;
    enum kurc_status st = kurc_load_buffer(text, len, KURC_FORMAT_YAML, path, &v, err);
    free(text);
    if (st)
        return st;
    if (!v || v->kind != KURC_MAP) {
        kurc_value_free(v);
        return kurc_io_fail(err, KURC_E_IO, path, "the log summary is not a mapping");
    }
    /* absent counters are 0, as Kur read them with summary.get(key, 0) */
    double counts[4] = {0, 0, 0, 0};
    const char *const keys[4] = {"epochs", "batches", "samples", "sessions"};
    for (int i = 0; i < 4; i++)
        summary_number(v, keys[i], &counts[i]);
    s->epochs = (int64_t)counts[0];
    s->batches = (int64_t)counts[1];
    s->samples = (int64_t)counts[2];
    s->sessions = (int64_t)counts[3] + 1;
    const struct kurc_value *clocks = kurc_map_get(v, "clocks");
    for (int i = 0; i < 4; i++)
        if (!summary_number(clocks, clock_names[i], &s->clocks[i]))
            s->clocks[i] = 0;
    kurc_value_free(v);
    return KURC_OK;
}

/* The last value of a column, or 0 when it is empty or missing (or
 * unreadable: the time only continues a clock). */
static double last_value(const char *dir, const char *column) {
    double *values = NULL;
    size_t n = 0;
    struct kurc_err err;
    double last = 0;
    if (kurc_logger_column(dir, column, &values, &n, &err) == KURC_OK && n > 0)
        last = values[n - 1];
    free(values);
    return last;
}

enum kurc_status kurc_logger_open(const char *dir, struct kurc_logger **out,
                                  struct kurc_log_summary *summary, struct kurc_err *err) {
    memset(summary, 0, sizeof *summary);
    summary->sessions = 1;
    struct stat sb;
    bool exists = stat(dir, &sb) == 0;
    if (exists && !S_ISDIR(sb.st_mode))
        return kurc_io_fail(err, KURC_E_IO, dir,
                            "the binary logger keeps its log in a directory, but this is a file");
    int e = exists ? 0 : kurc_path_make_dirs(dir, NULL);
    if (e)
        return kurc_io_fail(err, KURC_E_IO, dir, "cannot create the log directory: %s",
                            strerror(e));
    struct kurc_logger *l = kurc_xcalloc(1, sizeof *l);
    l->dir = kurc_xstrdup(dir);
    if (exists) {
        char *path = kurc_xasprintf("%s/" SUMMARY, dir);
        enum kurc_status st = KURC_OK;
        if (access(path, F_OK) == 0) {
            st = load_summary(path, summary, err);
        } else {
            /* a log from before summaries: its epochs are its training records */
            double *values = NULL;
            size_t n = 0;
            st = kurc_logger_column(dir, "training_loss_total", &values, &n, err);
            summary->epochs = (int64_t)n;
            free(values);
        }
        free(path);
        if (st) {
            kurc_logger_close(l);
            return st;
        }
        static const char *const time_columns[3] = {"batch_loss_time", "validation_loss_time",
                                                    "training_loss_time"};
        for (int i = 0; i < 3; i++)
            l->latest_time = fmax(l->latest_time, last_value(dir, time_columns[i]));
    }
    *out = l;
    return KURC_OK;
}

void kurc_logger_close(struct kurc_logger *l) {
    if (!l)
        return;
    free(l->dir);
    free(l);
}

double kurc_logger_latest_time(const struct kurc_logger *l) {
    return l->latest_time;
}

enum kurc_status kurc_logger_column(const char *dir, const char *column, double **values, size_t *n,
                                    struct kurc_err *err) {
    *values = NULL;
    *n = 0;
    char *path = kurc_xasprintf("%s/%s", dir, column);
    enum kurc_status st = KURC_OK;
    size_t len = 0;
    char *bytes;
    int e = kurc_file_read(path, &bytes, &len);
    unsigned char *data = (unsigned char *)bytes;
    if (e) {
        if (e != ENOENT)
            st = kurc_io_fail(err, KURC_E_IO, path, "cannot read the log column: %s", strerror(e));
        free(path);
        return st;
    }
    /* bytes after the values are what a crash during an append left */
    struct kurc_idx_header h;
    st = kurc_idx_parse_header(data, len, path, &h, err);
    if (st == KURC_OK) {
        *values = kurc_xmalloc((h.numel ? h.numel : 1) * sizeof **values);
        for (uint64_t i = 0; i < h.numel; i++)
            (*values)[i] = kurc_idx_element(&h, i);
        *n = h.numel;
    }
    free(data);
    free(path);
    return st;
}

double kurc_logger_best(const char *dir, const char *column) {
    double *values = NULL;
    size_t n = 0;
    struct kurc_err err;
    double best = INFINITY;
    if (kurc_logger_column(dir, column, &values, &n, &err) == KURC_OK)
        for (size_t i = 0; i < n; i++)
            if (values[i] < best)
                best = values[i];
    free(values);
    return best;
}
