/* trace.c - the span recorder and its Trace Event Format JSON (see trace.h). */
#include "base/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"

enum { LANE_COMPUTE = 1, LANE_DATA = 2, LANE_COMM = 3 };

/* Per kind: the event's category, its lane (LANE_COMM: the first free
 * communication lane), and the argument names of the detail and number. */
static const struct {
    const char *cat;
    int lane;
    const char *detail_key;
    const char *number_key;
} kinds[KURC_TRACE_KINDS] = {
    [KURC_TRACE_SETUP] = {"setup", LANE_COMPUTE, NULL, NULL},
    [KURC_TRACE_STEP] = {"step", LANE_COMPUTE, NULL, "step"},
    [KURC_TRACE_PASS] = {"pass", LANE_COMPUTE, NULL, NULL},
    [KURC_TRACE_FORWARD] = {"forward", LANE_COMPUTE, "layer", NULL},
    [KURC_TRACE_BACKWARD] = {"backward", LANE_COMPUTE, "layer", NULL},
    [KURC_TRACE_HOOK] = {"sync", LANE_COMPUTE, NULL, NULL},
    [KURC_TRACE_LOSS] = {"loss", LANE_COMPUTE, NULL, NULL},
    [KURC_TRACE_WAIT] = {"wait", LANE_COMPUTE, NULL, NULL},
    [KURC_TRACE_OPTIMIZER] = {"optimizer", LANE_COMPUTE, NULL, "step"},
    [KURC_TRACE_VALIDATION] = {"validation", LANE_COMPUTE, "data", NULL},
    [KURC_TRACE_SAVE] = {"save", LANE_COMPUTE, "file", NULL},
    [KURC_TRACE_DATA] = {"data", LANE_DATA, NULL, "samples"},
    [KURC_TRACE_ALLREDUCE] = {"allreduce", LANE_COMM, "bucket", "bytes"},
};

struct span {
    int64_t start, end; /* nanoseconds of the monotonic clock */
    int64_t number;     /* < 0: none */
    int32_t name, detail; /* interned strings; detail -1: none */
    int32_t lane;
    int32_t kind;
};

struct kurc_trace {
    int64_t origin;
    int64_t max_steps, steps;
    struct span *spans;
    size_t n, cap;
    /* interned strings: an open-addressing table of indexes into strings */
    char **strings;
    size_t n_strings, cap_strings;
    int32_t *table;
    size_t table_size; /* a power of two, at least twice n_strings */
    int64_t *comm_end; /* per communication lane: the end of its last span */
    int comm_lanes;
};

int64_t kurc_trace_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct kurc_trace *kurc_trace_create(int64_t max_steps) {
    struct kurc_trace *t = kurc_xcalloc(1, sizeof *t);
    t->origin = kurc_trace_now();
    t->max_steps = max_steps > 0 ? max_steps : 0;
    t->table_size = 64;
    t->table = kurc_xmalloc(t->table_size * sizeof *t->table);
    memset(t->table, 0xff, t->table_size * sizeof *t->table);
    return t;
}

void kurc_trace_free(struct kurc_trace *t) {
    if (!t)
        return;
    for (size_t i = 0; i < t->n_strings; i++)
        free(t->strings[i]);
    free(t->strings);
    free(t->table);
    free(t->spans);
    free(t->comm_end);
    free(t);
}

static uint64_t hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* The slot of s in the table: its index's, or the empty one it would take. */
static size_t slot(const struct kurc_trace *t, const char *s) {
    size_t mask = t->table_size - 1, i = (size_t)hash(s) & mask;
    while (t->table[i] >= 0 && strcmp(t->strings[t->table[i]], s) != 0)
        i = (i + 1) & mask;
    return i;
}

static int32_t intern(struct kurc_trace *t, const char *s) {
    size_t i = slot(t, s);
    if (t->table[i] >= 0)
        return t->table[i];
    if (t->n_strings == t->cap_strings) {
        t->cap_strings = t->cap_strings ? 2 * t->cap_strings : 32;
        t->strings = kurc_xrealloc(t->strings, t->cap_strings * sizeof *t->strings);
    }
    int32_t id = (int32_t)t->n_strings;
    t->strings[t->n_strings++] = kurc_xstrdup(s);
    t->table[i] = id;
    if (2 * t->n_strings > t->table_size) { /* grow and rehash */
        free(t->table);
        t->table_size *= 2;
        t->table = kurc_xmalloc(t->table_size * sizeof *t->table);
        memset(t->table, 0xff, t->table_size * sizeof *t->table);
        for (size_t k = 0; k < t->n_strings; k++)
            t->table[slot(t, t->strings[k])] = (int32_t)k;
    }
    return id;
}

/* The first communication lane free at start (a new one when none is). */
static int32_t comm_lane(struct kurc_trace *t, int64_t start, int64_t end) {
    int i = 0;
    while (i < t->comm_lanes && t->comm_end[i] > start)
        i++;
    if (i == t->comm_lanes) {
        t->comm_end = kurc_xrealloc(t->comm_end, (size_t)(i + 1) * sizeof *t->comm_end);
        t->comm_lanes++;
    }
    t->comm_end[i] = end;
    return LANE_COMM + i;
}

void kurc_trace_add(struct kurc_trace *t, enum kurc_trace_kind kind, const char *name,
                    const char *detail, int64_t start, int64_t end, int64_t number) {
    if (!t || (t->max_steps && t->steps >= t->max_steps))
        return;
    if (start < t->origin)
        start = t->origin;
    if (end < start)
        end = start;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->spans = kurc_xrealloc(t->spans, t->cap * sizeof *t->spans);
    }
    struct span *s = &t->spans[t->n++];
    s->start = start;
    s->end = end;
    s->number = number;
    s->name = intern(t, name);
    s->detail = detail ? intern(t, detail) : -1;
    s->kind = kind;
    s->lane = kinds[kind].lane == LANE_COMM ? comm_lane(t, start, end) : kinds[kind].lane;
    if (kind == KURC_TRACE_STEP)
        t->steps++;
}

int64_t kurc_trace_count(const struct kurc_trace *t) {
    return t ? (int64_t)t->n : 0;
}

/* s as a JSON string. */
static void json_string(struct kurc_strbuf *out, const char *s) {
    kurc_strbuf_putc(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            kurc_strbuf_putc(out, '\\');
            kurc_strbuf_putc(out, (char)c);
        } else if (c < 0x20) {
            kurc_strbuf_printf(out, "\\u%04x", c);
        } else {
            kurc_strbuf_putc(out, (char)c);
        }
    }
    kurc_strbuf_putc(out, '"');
}

/* Nanoseconds as microseconds with three decimals (exact). */
static void micros(struct kurc_strbuf *out, int64_t ns) {
    kurc_strbuf_printf(out, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

static void metadata(struct kurc_strbuf *out, int pid, int tid, const char *what,
                     const char *key, const char *name, int index) {
    kurc_strbuf_printf(out, "{\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"name\":\"%s\",\"args\":{\"%s\":",
                       pid, tid, what, key);
    if (name)
        json_string(out, name);
    else
        kurc_strbuf_printf(out, "%d", index);
    kurc_strbuf_puts(out, "}},\n");
}

static void lane_name(struct kurc_strbuf *out, int pid, int tid, const char *name) {
    metadata(out, pid, tid, "thread_name", "name", name, 0);
    metadata(out, pid, tid, "thread_sort_index", "sort_index", NULL, tid);
}

void kurc_trace_json(const struct kurc_trace *t, int pid, struct kurc_strbuf *out) {
    char name[48];
    snprintf(name, sizeof name, "rank %d", pid);
    metadata(out, pid, 0, "process_name", "name", name, 0);
    metadata(out, pid, 0, "process_sort_index", "sort_index", NULL, pid);
    lane_name(out, pid, LANE_COMPUTE, "compute");
    lane_name(out, pid, LANE_DATA, "data");
    for (int i = 0; i < t->comm_lanes; i++) {
        snprintf(name, sizeof name, i ? "communication %d" : "communication", i + 1);
        lane_name(out, pid, LANE_COMM + i, name);
    }
    /* the last metadata event ends without a separator */
    kurc_strbuf_printf(out, "{\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"name\":\"process_labels\","
                            "\"args\":{\"labels\":\"%lld spans\"}}",
                       pid, (long long)t->n);
    for (size_t i = 0; i < t->n; i++) {
        const struct span *s = &t->spans[i];
        const char *nm = t->strings[s->name];
        const char *detail = s->detail >= 0 ? t->strings[s->detail] : NULL;
        bool op = s->kind == KURC_TRACE_FORWARD || s->kind == KURC_TRACE_BACKWARD;
        kurc_strbuf_puts(out, ",\n{\"ph\":\"X\",\"name\":");
        if (!detail) {
            json_string(out, nm);
        } else {
            /* "hidden (dense)" for ops, "all-reduce bucket 3" for the rest */
            char *full = op ? kurc_xasprintf("%s (%s)", detail, nm)
                            : kurc_xasprintf("%s %s", nm, detail);
            json_string(out, full);
            free(full);
        }
        kurc_strbuf_printf(out, ",\"cat\":\"%s\",\"pid\":%d,\"tid\":%d,\"ts\":", kinds[s->kind].cat,
                           pid, s->lane);
        micros(out, s->start - t->origin);
        kurc_strbuf_puts(out, ",\"dur\":");
        micros(out, s->end - s->start);
        kurc_strbuf_puts(out, ",\"args\":{");
        const char *sep = "";
        if (op) {
            kurc_strbuf_puts(out, "\"op\":");
            json_string(out, nm);
            sep = ",";
        }
        if (detail && kinds[s->kind].detail_key) {
            kurc_strbuf_printf(out, "%s\"%s\":", sep, kinds[s->kind].detail_key);
            json_string(out, detail);
            sep = ",";
        }
        if (s->number >= 0 && kinds[s->kind].number_key)
            kurc_strbuf_printf(out, "%s\"%s\":%lld", sep, kinds[s->kind].number_key,
                               (long long)s->number);
        kurc_strbuf_puts(out, "}}");
    }
}
