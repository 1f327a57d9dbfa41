/* speech.c - the `speech_recognition` supplier (Kur's
 * kur/supplier/speechrec.py): utterances and their transcripts.
 *
 * Data.  `path`, `url`, `checksum` (package.h) name a directory, a JSONL
 * manifest, or an archive (tar, tar.gz, tar.bz2, tar.xz, zip).  With
 * `unpack: yes` (the default, as Kur) an archive is extracted safely into a
 * directory beside it (unpack.h) once; `unpack: no` reads it in place
 * (Kur did not implement that).  The manifest is the first *.jsonl file
 * found (unpack.h); each line is a JSON object with `uuid`, `duration_s`
 * (seconds) and the transcript under the text key (`key`, default `text`;
 * a list of keys gives several transcripts).  A transcript is a string (a
 * symbol per character) or a list of strings (a symbol each: words).  The
 * audio of line `uuid` is audio/<uuid>.wav, .mp3, .flac or .ogg beside the
 * manifest (tried in that order), decoded by libsndfile and resampled to
 * 16 kHz (audio.h).
 *
 * Bad lines.  As Kur: a line that is not a JSON object, lacks a required
 * key or holds a value of the wrong type - and in kurc also a line whose
 * uuid is not a plain file name or whose audio file does not exist - is
 * skipped with a warning naming the manifest and the line; when, from the
 * tenth non-blank line on, fewer than half of the lines before were good,
 * or at the end more than half of ten or more lines are bad, loading
 * fails.  Blank lines are ignored.  Audio that cannot be decoded (or is
 * shorter than one frame) is left out with a warning naming the file and
 * the manifest line (Kur replaced it with another utterance of the batch);
 * when more than half of ten or more utterances fail, or all do, loading
 * fails.  `min_duration` and `max_duration` drop lines by duration_s.
 *
 * `samples` keeps a subset, in manifest order: N (the first N of a
 * shuffled order), or Kur's strings "A-B", "A-", "N%", "A-B%", "A-%"
 * (ranges of the shuffled order, A inclusive, B exclusive).  Kur shuffled
 * with settings.seed; suppliers in kurc do not see the seed, so the
 * shuffle is a fixed one (Philox from seed 0): the same subset every run.
 *
 * Vocabulary.  `vocab` null infers it: every symbol of the (kept)
 * transcripts, lower-cased, sorted (byte order = code point order).  A
 * string names a JSON file holding a list of symbols; a list is the
 * symbols; with several keys, a mapping key -> vocab or a list of lists
 * gives one per key.  Symbols are lower-cased (ASCII letters only; Kur
 * used Python's str.lower) and must be unique.  `unknown` names a symbol
 * of the vocabulary that stands for any symbol outside it; without it, a
 * symbol outside the vocabulary is an error naming the manifest, the line
 * and the symbol (Kur dropped such symbols silently).
 *
 * Features.  `type: spec` (default) or `mfcc` (speech_features.h), with
 * `max_frequency`.  Normalisation (normalize.h): `normalization` null, a
 * path, or {path, center, scale, rotate (yes/zca, pca, no), depth (100)}.
 * As Kur: statistics are loaded from `path` when it exists, or learned
 * from `depth` utterances (chosen by a fixed shuffle) and saved there;
 * without a path they are learned every run and not saved.  Features are
 * computed in `data_cpus` threads (default: the processors less one, as
 * Kur's process pool), all when the supplier loads: memory is 4 x F bytes
 * per frame (64 kB per second of audio for 161 spec features).
 *
 * Shapes (describe, for `kurc build`): everything up to the features is
 * read and checked as by load (parameters, manifest, subset, vocabularies,
 * transcripts; an archive is still unpacked once), but no audio is
 * decoded: an utterance's length in frames is that of duration_s seconds
 * at 16 kHz.  Audio that fails to decode is still counted, and a manifest
 * whose durations are wrong gives other lengths; train finds both.
 *
 * Sources (with several keys, the transcript sources are <key>_transcript
 * and <key>_transcript_length):
 *   utterance          (T, F) variable length; `fill` (zero, loop) and
 *                      `bucket` (seconds; padded lengths round up to a
 *                      multiple of bucket x 100 frames) say how batches pad
 *                      it; its text table holds each audio file's path
 *   utterance_length   (1,) frames
 *   duration           (1,) duration_s
 *   transcript         (L,) variable length: vocabulary indices, padded
 *                      with zeros per batch; its text table holds the
 *                      transcript as written and its vocabulary the symbols
 *   transcript_length  (1,) symbols
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/rng.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "config/yaml_load.h"
#include "data/speech/audio.h"
#include "data/speech/normalize.h"
#include "data/speech/speech_features.h"
#include "data/speech/unpack.h"
#include "data/supplier.h"
#include "data/supplier_util.h"
#include "formats/compressed.h"

#define NAME "speech_recognition"

static const char *const audio_exts[] = {"wav", "mp3", "flac", "ogg", NULL};

/* One kept line of the manifest. */
struct entry {
    int line;
    char *uuid;
    double duration;
    char *audio;     /* a path, or an archive member */
    char **raw;      /* per key: the transcript as written */
    char ***symbols; /* per key: lower-cased symbols */
    size_t *n_symbols;
    float *features; /* frames x dim */
    int64_t frames;
    unsigned char *bytes; /* archive mode: the member's bytes until decoded */
    size_t n_bytes;
    char *error; /* why the audio failed */
};

struct vocab {
    char **symbols;
    size_t n;
    int unknown; /* index of the unknown symbol, or -1 */
    struct named {
        const char *symbol; /* borrowed from symbols */
        size_t index;
    } * by_name; /* the symbols in byte order, for lookups */
};

struct speech {
    const struct kurc_value *params;
    const struct kurc_loc *where;
    enum kurc_feature_type type;
    double max_frequency, min_duration, max_duration, bucket;
    enum kurc_fill fill;
    int threads;
    bool unpack;
    char **keys;
    size_t n_keys;
    char *located;   /* what the packaging gave */
    char *archive;   /* archive mode: the archive read in place */
    char *manifest;  /* the manifest's path (or archive:member, for messages) */
    char *audio_dir; /* directory (or member prefix) that holds audio/ */
    char **members;  /* archive mode: sorted member names */
    size_t n_members;
    char *manifest_text;
    size_t manifest_len;
    struct entry *entries;
    size_t n, capacity;
    struct vocab *vocabs; /* per key */
    struct kurc_features *features;
    int dim;
};

/* --- parameters ------------------------------------------------------------ */

static enum kurc_status param_number(const struct kurc_value *params, const char *key, double *out,
                                     struct kurc_err *err) {
    const struct kurc_value *v = kurc_map_get(params, key);
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind != KURC_INT && v->kind != KURC_FLOAT)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, NAME ": '%s' must be a number, not %s",
                            key, kurc_kind_phrase(v->kind));
    *out = v->kind == KURC_INT ? (double)v->u.i : v->u.f;
    if (*out < 0)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, NAME ": '%s' must not be negative", key);
    return KURC_OK;
}

static enum kurc_status param_bool(const struct kurc_value *v, const char *key, bool *out,
                                   struct kurc_err *err) {
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind != KURC_BOOL)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc, NAME ": '%s' must be yes or no, not %s",
                            key, kurc_kind_phrase(v->kind));
    *out = v->u.b;
    return KURC_OK;
}

static enum kurc_status read_params(struct speech *s, struct kurc_err *err) {
    const struct kurc_value *p = s->params;
    const char *type = NULL, *fill = NULL;
    enum kurc_status st;
    if ((st = kurc_supplier_param_str(p, NAME, "type", &type, err)) ||
        (st = kurc_supplier_param_str(p, NAME, "fill", &fill, err)) ||
        (st = param_number(p, "max_frequency", &s->max_frequency, err)) ||
        (st = param_number(p, "min_duration", &s->min_duration, err)) ||
        (st = param_number(p, "max_duration", &s->max_duration, err)) ||
        (st = param_number(p, "bucket", &s->bucket, err)) ||
        (st = param_bool(kurc_map_get(p, "unpack"), "unpack", &s->unpack, err)))
        return st;
    if (type && strcmp(type, "spec") != 0 && strcmp(type, "mfcc") != 0)
        return kurc_err_set(err, KURC_E_CONFIG, &kurc_map_get(p, "type")->loc,
                            NAME ": 'type' must be spec or mfcc, not '%s'", type);
    s->type = type && strcmp(type, "mfcc") == 0 ? KURC_FEATURES_MFCC : KURC_FEATURES_SPEC;
    if (fill && strcmp(fill, "zero") != 0 && strcmp(fill, "loop") != 0)
        return kurc_err_set(err, KURC_E_CONFIG, &kurc_map_get(p, "fill")->loc,
                            NAME ": 'fill' must be zero or loop, not '%s'", fill);
    s->fill = fill && strcmp(fill, "loop") == 0 ? KURC_FILL_LOOP : KURC_FILL_ZERO;
    const struct kurc_value *cpus = kurc_map_get(p, "data_cpus");
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    s->threads = online > 1 ? (int)online - 1 : 1;
    if (cpus && cpus->kind != KURC_NULL) {
        if (cpus->kind != KURC_INT || cpus->u.i < 1)
            return kurc_err_set(err, KURC_E_CONFIG, &cpus->loc,
                                NAME ": 'data_cpus' must be a positive integer");
        s->threads = cpus->u.i > 256 ? 256 : (int)cpus->u.i;
    }
    const struct kurc_value *key = kurc_map_get(p, "key");
    if (!key || key->kind == KURC_NULL || (key->kind == KURC_STR && !key->u.str.len)) {
        s->keys = kurc_xcalloc(1, sizeof *s->keys);
        s->keys[s->n_keys++] = kurc_xstrdup("text");
    } else if (key->kind == KURC_STR) {
        s->keys = kurc_xcalloc(1, sizeof *s->keys);
        s->keys[s->n_keys++] = kurc_xstrdup(key->u.str.s);
    } else if (key->kind == KURC_LIST && key->u.list.len) {
        s->keys = kurc_xcalloc(key->u.list.len, sizeof *s->keys);
        for (size_t i = 0; i < key->u.list.len; i++) {
            const struct kurc_value *k = key->u.list.items[i];
            if (k->kind != KURC_STR)
                return kurc_err_set(err, KURC_E_CONFIG, &k->loc,
                                    NAME ": 'key' must be a string or a list of strings");
            for (size_t j = 0; j < s->n_keys; j++)
                if (strcmp(s->keys[j], k->u.str.s) == 0)
                    return kurc_err_set(err, KURC_E_CONFIG, &k->loc,
                                        NAME ": the key '%s' is listed twice", k->u.str.s);
            s->keys[s->n_keys++] = kurc_xstrdup(k->u.str.s);
        }
    } else {
        return kurc_err_set(err, KURC_E_CONFIG, &key->loc,
                            NAME ": 'key' must be a string or a list of strings");
    }
    return KURC_OK;
}

/* --- locating the data ------------------------------------------------------ */

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_member(const struct speech *s, const char *name) {
    return s->n_members &&
           bsearch(&name, s->members, s->n_members, sizeof *s->members, compare_strings);
}

/* Archive pass 1: every member's name, and the first manifest's bytes. */
static bool list_member(void *ctx, const char *name) {
    struct speech *s = ctx;
    if ((s->n_members & (s->n_members - 1)) == 0) /* 0, 1, 2, 4, ...: double */
        s->members = kurc_xrealloc(s->members, 2 * (s->n_members + 1) * sizeof *s->members);
    s->members[s->n_members++] = kurc_xstrdup(name);
    return !s->manifest_text && kurc_is_manifest_name(name);
}

static enum kurc_status keep_manifest(void *ctx, const char *name, const void *data, size_t len,
                                      struct kurc_err *err) {
    (void)err;
    struct speech *s = ctx;
    s->manifest_text = kurc_xmalloc(len + 1);
    memcpy(s->manifest_text, data, len);
    s->manifest_text[len] = '\0';
    s->manifest_len = len;
    s->manifest = kurc_xasprintf("%s:%s", s->archive, name);
    const char *slash = strrchr(name, '/');
    s->audio_dir = slash ? kurc_xstrndup(name, (size_t)(slash - name) + 1) : kurc_xstrdup("");
    return KURC_OK;
}

/* Finds the manifest (and reads it) from what the packaging gave. */
static enum kurc_status locate(struct speech *s, struct kurc_err *err) {
    enum kurc_status st = kurc_supplier_locate(s->params, NAME, s->where, &s->located, err);
    if (st)
        return st;
    struct stat sb;
    if (stat(s->located, &sb) != 0)
        return kurc_err_set(err, KURC_E_IO, s->where, NAME ": %s does not exist", s->located);
    char *dir = NULL;
    if (S_ISDIR(sb.st_mode)) {
        dir = kurc_xstrdup(s->located);
    } else if (kurc_is_manifest_name(s->located)) {
        s->manifest = kurc_xstrdup(s->located);
    } else if (s->unpack) {
        if ((st = kurc_unpack_cached(s->located, &dir, err)))
            return st;
    } else {
        s->archive = kurc_xstrdup(s->located);
        if ((st = kurc_compressed_check(s->archive, err)) ||
            (st = kurc_archive_each(s->archive, list_member, keep_manifest, s, err)))
            return st;
        qsort(s->members, s->n_members, sizeof *s->members, compare_strings);
        if (!s->manifest_text)
            return kurc_err_set(err, KURC_E_DATA, s->where,
                                NAME ": %s has no JSONL manifest (a *.jsonl member)", s->archive);
        return KURC_OK;
    }
    if (dir) {
        s->manifest = kurc_find_manifest(dir);
        if (!s->manifest) {
            st = kurc_err_set(err, KURC_E_DATA, s->where,
                              NAME ": %s has no JSONL manifest (a *.jsonl file)", dir);
            free(dir);
            return st;
        }
        free(dir);
    }
    char *parent = kurc_path_dirname(s->manifest);
    s->audio_dir = kurc_xasprintf("%s%s", parent, *parent ? "/" : "");
    free(parent);
    return kurc_supplier_read_file(s->manifest, NAME, s->where, &s->manifest_text, &s->manifest_len,
                                   err);
}

/* The audio file of a uuid: a path or member that exists, or NULL. */
static char *find_audio(const struct speech *s, const char *uuid) {
    for (int i = 0; audio_exts[i]; i++) {
        char *candidate = kurc_xasprintf("%saudio/%s.%s", s->audio_dir, uuid, audio_exts[i]);
        struct stat sb;
        if (s->archive ? is_member(s, candidate) : stat(candidate, &sb) == 0 && S_ISREG(sb.st_mode))
            return candidate;
        free(candidate);
    }
    return NULL;
}

/* --- the manifest ------------------------------------------------------------- */

/* Lower-cases the ASCII letters of s in place; returns s. */
static char *lower_in_place(char *s) {
    for (char *c = s; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    return s;
}

static char *lower(const char *s, size_t n) {
    return lower_in_place(kurc_xstrndup(s, n));
}

/* Reads a transcript value into e's symbols for key k; false (and why) when
 * it is neither a string nor a list of strings. */
static bool read_transcript(struct entry *e, size_t k, const struct kurc_value *v) {
    if (v->kind == KURC_STR) {
        e->raw[k] = kurc_xstrdup(v->u.str.s);
        e->symbols[k] = kurc_supplier_chars(v->u.str.s, &e->n_symbols[k]);
        for (size_t i = 0; i < e->n_symbols[k]; i++)
            lower_in_place(e->symbols[k][i]);
        return true;
    }
    if (v->kind != KURC_LIST)
        return false;
    for (size_t i = 0; i < v->u.list.len; i++)
        if (v->u.list.items[i]->kind != KURC_STR)
            return false;
    struct kurc_strbuf raw = KURC_STRBUF_INIT;
    e->symbols[k] = kurc_xcalloc(v->u.list.len + 1, sizeof **e->symbols);
    for (size_t i = 0; i < v->u.list.len; i++) {
        const struct kurc_value *w = v->u.list.items[i];
        kurc_strbuf_printf(&raw, "%s%s", i ? " " : "", w->u.str.s);
        e->symbols[k][e->n_symbols[k]++] = lower(w->u.str.s, w->u.str.len);
    }
    e->raw[k] = raw.data ? kurc_strbuf_take(&raw) : kurc_xstrdup("");
    return true;
}

static void entry_release(struct entry *e, size_t keys) {
    free(e->uuid);
    free(e->audio);
    for (size_t k = 0; k < keys; k++) {
        if (e->raw)
            free(e->raw[k]);
        for (size_t i = 0; e->symbols && i < e->n_symbols[k]; i++)
            free(e->symbols[k][i]);
        if (e->symbols)
            free(e->symbols[k]);
    }
    free(e->raw);
    free(e->symbols);
    free(e->n_symbols);
    free(e->features);
    free(e->bytes);
    free(e->error);
    memset(e, 0, sizeof *e);
}

/* Checks one parsed line: *why is NULL for a usable entry (added to s),
 * "filtered" for one its duration drops, or the reason it is bad. */
static char *read_entry(struct speech *s, const struct kurc_value *obj, int line) {
    if (obj->kind != KURC_MAP)
        return kurc_xasprintf("expected a JSON object, found %s", kurc_kind_phrase(obj->kind));
    const char *required[64];
    size_t n_required = 0;
    for (size_t k = 0; k < s->n_keys && n_required < 62; k++)
        required[n_required++] = s->keys[k];
    required[n_required++] = "duration_s";
    required[n_required++] = "uuid";
    for (size_t i = 0; i < n_required; i++)
        if (!kurc_map_get(obj, required[i])) {
            struct kurc_strbuf have = KURC_STRBUF_INIT;
            for (size_t j = 0; j < obj->u.map.len; j++)
                kurc_strbuf_printf(&have, "%s%s", j ? ", " : "", obj->u.map.pairs[j].key);
            char *why = kurc_xasprintf("it is missing the required key '%s' (its keys: %s)",
                                       required[i], have.len ? have.data : "none");
            kurc_strbuf_free(&have);
            return why;
        }
    const struct kurc_value *uuid = kurc_map_get(obj, "uuid");
    const struct kurc_value *duration = kurc_map_get(obj, "duration_s");
    if (uuid->kind != KURC_STR || !uuid->u.str.len || strchr(uuid->u.str.s, '/') ||
        strcmp(uuid->u.str.s, ".") == 0 || strcmp(uuid->u.str.s, "..") == 0)
        return kurc_xstrdup("'uuid' is not a file name (a non-empty string without '/')");
    if (duration->kind != KURC_INT && duration->kind != KURC_FLOAT)
        return kurc_xasprintf("'duration_s' is %s, not a number", kurc_kind_phrase(duration->kind));
    struct entry e = {.line = line};
    e.duration = duration->kind == KURC_INT ? (double)duration->u.i : duration->u.f;
    e.raw = kurc_xcalloc(s->n_keys, sizeof *e.raw);
    e.symbols = kurc_xcalloc(s->n_keys, sizeof *e.symbols);
    e.n_symbols = kurc_xcalloc(s->n_keys, sizeof *e.n_symbols);
    for (size_t k = 0; k < s->n_keys; k++)
        if (!read_transcript(&e, k, kurc_map_get(obj, s->keys[k]))) {
            entry_release(&e, s->n_keys);
            return kurc_xasprintf("the transcript '%s' is not a string or a list of strings",
                                  s->keys[k]);
        }
    if ((s->min_duration > 0 && e.duration < s->min_duration) ||
        (s->max_duration > 0 && e.duration > s->max_duration)) {
        entry_release(&e, s->n_keys);
        return kurc_xstrdup("filtered");
    }
    e.audio = find_audio(s, uuid->u.str.s);
    if (!e.audio) {
        char *why =
            kurc_xasprintf("there is no audio file %saudio/%s.{wav,mp3,flac,ogg}%s%s", s->audio_dir,
                           uuid->u.str.s, s->archive ? " in " : "", s->archive ? s->archive : "");
        entry_release(&e, s->n_keys);
        return why;
    }
    e.uuid = kurc_xstrdup(uuid->u.str.s);
    if (s->n == s->capacity) {
        s->capacity = s->capacity ? 2 * s->capacity : 64;
        s->entries = kurc_xrealloc(s->entries, s->capacity * sizeof *s->entries);
    }
    s->entries[s->n++] = e;
    return NULL;
}

static enum kurc_status too_many_bad(const struct speech *s, int64_t bad, int64_t lines,
                                     struct kurc_err *err) {
    return kurc_err_set(err, KURC_E_DATA, s->where,
                        NAME ": %s has too many bad entries (%lld of %lld lines)", s->manifest,
                        (long long)bad, (long long)lines);
}

static enum kurc_status read_manifest(struct speech *s, struct kurc_err *err) {
    const char *p = s->manifest_text, *end = p + s->manifest_len, *a, *b;
    int line = 0;
    int64_t lines = 0, good = 0;
    while (kurc_supplier_next_line(&p, end, &a, &b, &line)) {
        lines++;
        if (lines >= 10 && good < lines / 2.0) /* Kur's check, before each line */
            return too_many_bad(s, lines - 1 - good, lines - 1, err);
        struct kurc_value *obj = NULL;
        struct kurc_err parse_err;
        char *why = NULL;
        if (kurc_load_buffer(a, (size_t)(b - a), KURC_FORMAT_JSON, s->manifest, &obj, &parse_err) !=
            KURC_OK)
            why = kurc_xasprintf("not valid JSON: %s", parse_err.msg);
        else if (!obj)
            why = kurc_xstrdup("an empty document");
        else
            why = read_entry(s, obj, line);
        kurc_value_free(obj);
        if (why && strcmp(why, "filtered") != 0)
            kurc_log(KURC_LOG_WARNING, NAME ": %s:%d: skipping the line: %s", s->manifest, line,
                     why);
        else
            good++;
        free(why);
    }
    if (lines >= 10 && lines - good > lines / 2)
        return too_many_bad(s, lines - good, lines, err);
    if (s->n == 0)
        return kurc_err_set(err, KURC_E_DATA, s->where,
                            NAME ": %s has no usable entries (%lld lines, %lld usable before the "
                                 "duration limits)",
                            s->manifest, (long long)lines, (long long)good);
    return KURC_OK;
}

/* --- samples ------------------------------------------------------------------ */

/* Parses "A", "A-", "A-B", with an optional "%"; false when malformed. */
static bool parse_samples(const char *text, double *start, double *end, bool *range, bool *has_end,
                          bool *percent) {
    char *after;
    errno = 0;
    *range = *has_end = *percent = false;
    if (!(*text >= '0' && *text <= '9'))
        return false;
    *start = strtod(text, &after);
    if (*after == '-') {
        *range = true;
        text = after + 1;
        if (*text >= '0' && *text <= '9') {
            *end = strtod(text, &after);
            *has_end = true;
        } else {
            after = (char *)text;
        }
    }
    if (*after == '%') {
        *percent = true;
        after++;
    }
    return *after == '\0' && errno == 0;
}

/* Keeps the entries [start, end) of a fixed shuffle, in manifest order. */
static void keep_range(struct speech *s, int64_t start, int64_t end) {
    int64_t n = (int64_t)s->n;
    int64_t *order = kurc_xmalloc((size_t)n * sizeof *order);
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    uint64_t key = kurc_rng_derive(0, 0x73616d706c6573ull); /* "samples" */
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(kurc_rng_u64(key, (uint64_t)i) % (uint64_t)(i + 1));
        int64_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    bool *keep = kurc_xcalloc((size_t)n, sizeof *keep);
    for (int64_t i = start; i < end; i++)
        keep[order[i]] = true;
    size_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        if (keep[i])
            s->entries[kept++] = s->entries[i];
        else
            entry_release(&s->entries[i], s->n_keys);
    }
    s->n = kept;
    free(keep);
    free(order);
}

static enum kurc_status downselect(struct speech *s, struct kurc_err *err) {
    const struct kurc_value *v = kurc_map_get(s->params, "samples");
    int64_t n = (int64_t)s->n, start = 0, end = n;
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind == KURC_INT) {
        if (v->u.i < 1)
            return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                                NAME ": 'samples' cannot be less than 1");
        end = v->u.i < n ? v->u.i : n;
    } else if (v->kind == KURC_STR) {
        double a, b = 0;
        bool range, has_end, percent;
        if (!parse_samples(v->u.str.s, &a, &b, &range, &has_end, &percent))
            return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                                NAME ": cannot read the 'samples' specification '%s' (expected "
                                     "N, A-B, A- or N%%, A-B%%, A-%%)",
                                v->u.str.s);
        if (!range) {
            b = a;
            a = 0;
        } else if (!has_end) {
            b = percent ? 100 : (double)n;
        }
        double lo = percent ? (double)n * (a / 100) : a, hi = percent ? (double)n * (b / 100) : b;
        start = (int64_t)lo;
        end = (int64_t)hi;
        start = start < 0 ? 0 : start > n ? n : start;
        end = end < 0 ? 0 : end > n ? n : end;
        if (start >= end)
            return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                                NAME ": no samples pass the 'samples' cut [%lld, %lld) of %lld",
                                (long long)start, (long long)end, (long long)n);
    } else {
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                            NAME ": 'samples' must be an integer or a string, not %s",
                            kurc_kind_phrase(v->kind));
    }
    if (start == 0 && end == n)
        return KURC_OK;
    kurc_log(KURC_LOG_INFO, NAME ": using %lld of %lld utterances of %s", (long long)(end - start),
             (long long)n, s->manifest);
    keep_range(s, start, end);
    return KURC_OK;
}

/* --- vocabularies ------------------------------------------------------------ */

static void vocab_release(struct vocab *v) {
    for (size_t i = 0; i < v->n; i++)
        free(v->symbols[i]);
    free(v->symbols);
    free(v->by_name);
    memset(v, 0, sizeof *v);
}

static int compare_symbols(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The symbols of a list value (lower-cased); false when not strings. */
static bool vocab_from_list(const struct kurc_value *list, struct vocab *v) {
    v->symbols = kurc_xcalloc(list->u.list.len + 1, sizeof *v->symbols);
    for (size_t i = 0; i < list->u.list.len; i++) {
        const struct kurc_value *x = list->u.list.items[i];
        if (x->kind != KURC_STR)
            return false;
        v->symbols[v->n++] = lower(x->u.str.s, x->u.str.len);
    }
    return true;
}

static enum kurc_status vocab_from_file(const struct speech *s, const struct kurc_value *spec,
                                        struct vocab *v, struct kurc_err *err) {
    char *path = kurc_path_expand(spec->u.str.s), *text;
    size_t len;
    enum kurc_status st = kurc_supplier_read_file(path, NAME, &spec->loc, &text, &len, err);
    struct kurc_value *doc = NULL;
    if (st == KURC_OK) {
        struct kurc_err parse_err;
        if (kurc_load_buffer(text, len, KURC_FORMAT_JSON, path, &doc, &parse_err) || !doc ||
            doc->kind != KURC_LIST || !vocab_from_list(doc, v))
            st = kurc_err_set(err, KURC_E_DATA, &spec->loc,
                              NAME ": the vocabulary file %s must hold a JSON list of strings",
                              path);
        free(text);
    }
    kurc_value_free(doc);
    free(path);
    (void)s;
    return st;
}

/* Every symbol of key k's transcripts, sorted and unique. */
static void vocab_infer(const struct speech *s, size_t k, struct vocab *v) {
    size_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        total += s->entries[i].n_symbols[k];
    char **all = kurc_xcalloc(total + 1, sizeof *all);
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->entries[i].n_symbols[k]; j++)
            all[n++] = s->entries[i].symbols[k][j];
    qsort(all, n, sizeof *all, compare_symbols);
    v->symbols = kurc_xcalloc(n + 1, sizeof *v->symbols);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(all[i], all[i - 1]) != 0)
            v->symbols[v->n++] = kurc_xstrdup(all[i]);
    free(all);
}

/* The per-key part of a `vocab` or `unknown` value: a mapping by key, a
 * list of per-key values (for vocab: a list of lists), or one for all. */
static const struct kurc_value *per_key(const struct speech *s, const struct kurc_value *v,
                                        size_t k, bool vocab, const char *what,
                                        struct kurc_err *err, enum kurc_status *st) {
    *st = KURC_OK;
    if (!v || v->kind == KURC_NULL)
        return NULL;
    if (v->kind == KURC_MAP) {
        const struct kurc_value *x = kurc_map_get(v, s->keys[k]);
        if (!x)
            *st = kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                               NAME ": '%s' is a mapping, so it needs an entry for the key '%s'",
                               what, s->keys[k]);
        return x;
    }
    if (v->kind == KURC_LIST) {
        bool nested = v->u.list.len > 0;
        for (size_t i = 0; i < v->u.list.len; i++)
            nested = nested && v->u.list.items[i]->kind == KURC_LIST;
        if (vocab && !nested)
            return v;
        if (k >= v->u.list.len) {
            *st = kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                               NAME ": '%s' has %zu entries, one per key, but there are %zu keys",
                               what, v->u.list.len, s->n_keys);
            return NULL;
        }
        return v->u.list.items[k];
    }
    return v;
}

static int compare_named(const void *a, const void *b) {
    return strcmp(((const struct named *)a)->symbol, ((const struct named *)b)->symbol);
}

/* Sorts the symbols for vocab_index. */
static void index_vocab(struct vocab *v) {
    v->by_name = kurc_xcalloc(v->n + 1, sizeof *v->by_name);
    for (size_t i = 0; i < v->n; i++)
        v->by_name[i] = (struct named){v->symbols[i], i};
    qsort(v->by_name, v->n, sizeof *v->by_name, compare_named);
}

/* The index of a symbol, else the unknown symbol's, else -1. */
static int vocab_index(const struct vocab *v, const char *symbol) {
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v->by_name[mid].symbol, symbol);
        if (c == 0)
            return (int)v->by_name[mid].index;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return v->unknown;
}

static enum kurc_status build_vocab(struct speech *s, size_t k, struct kurc_err *err) {
    struct vocab *v = &s->vocabs[k];
    v->unknown = -1;
    enum kurc_status st;
    const struct kurc_value *spec =
        per_key(s, kurc_map_get(s->params, "vocab"), k, true, "vocab", err, &st);
    if (st)
        return st;
    if (!spec || spec->kind == KURC_NULL) {
        vocab_infer(s, k, v);
        kurc_log(KURC_LOG_INFO, NAME ": inferred a vocabulary of %zu symbols for '%s' from %s",
                 v->n, s->keys[k], s->manifest);
    } else if (spec->kind == KURC_STR) {
        if ((st = vocab_from_file(s, spec, v, err)))
            return st;
    } else if (spec->kind != KURC_LIST || !vocab_from_list(spec, v)) {
        return kurc_err_set(err, KURC_E_CONFIG, &spec->loc,
                            NAME ": a vocabulary is null, a JSON file name or a list of strings");
    }
    index_vocab(v);
    for (size_t i = 1; i < v->n; i++)
        if (strcmp(v->by_name[i].symbol, v->by_name[i - 1].symbol) == 0) {
            size_t a = v->by_name[i - 1].index, b = v->by_name[i].index;
            return kurc_err_set(err, KURC_E_CONFIG, spec ? &spec->loc : s->where,
                                NAME ": the vocabulary of '%s' has '%s' twice, as entries %zu and "
                                     "%zu (symbols are compared lower-cased)",
                                s->keys[k], v->by_name[i].symbol, (a < b ? a : b) + 1,
                                (a < b ? b : a) + 1);
        }
    const struct kurc_value *unknown =
        per_key(s, kurc_map_get(s->params, "unknown"), k, false, "unknown", err, &st);
    if (st)
        return st;
    if (unknown && unknown->kind != KURC_NULL) {
        if (unknown->kind != KURC_STR)
            return kurc_err_set(err, KURC_E_CONFIG, &unknown->loc,
                                NAME ": 'unknown' must be a symbol of the vocabulary");
        char *u = lower(unknown->u.str.s, unknown->u.str.len);
        v->unknown = vocab_index(v, u);
        free(u);
        if (v->unknown < 0)
            return kurc_err_set(err, KURC_E_CONFIG, &unknown->loc,
                                NAME ": the 'unknown' symbol '%s' must be part of the vocabulary",
                                unknown->u.str.s);
    }
    return KURC_OK;
}

/* Maps every kept entry's symbols to indices (before any audio is read, so
 * a transcript outside the vocabulary fails fast). */
static enum kurc_status check_transcripts(const struct speech *s, struct kurc_err *err) {
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->n_keys; k++)
            for (size_t j = 0; j < s->entries[i].n_symbols[k]; j++)
                if (vocab_index(&s->vocabs[k], s->entries[i].symbols[k][j]) < 0)
                    return kurc_err_set(
                        err, KURC_E_DATA, s->where,
                        NAME ": %s:%d: the transcript '%s' has the symbol '%s', "
                             "which is not in the vocabulary (give `unknown: SYMBOL` "
                             "to map such symbols to one of the vocabulary)",
                        s->manifest, s->entries[i].line, s->keys[k], s->entries[i].symbols[k][j]);
    return KURC_OK;
}

/* --- audio and features (in threads) -------------------------------------------- */

struct job {
    struct speech *s;
    const size_t *items; /* entry indices */
    size_t n;
    atomic_size_t next;
    void (*fn)(struct speech *s, struct entry *e, void *arg);
    void *arg;
};

static void *worker(void *p) {
    struct job *j = p;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            return NULL;
        j->fn(j->s, &j->s->entries[j->items[i]], j->arg);
    }
}

/* Runs fn on the entries items[0..n) in up to s->threads threads. */
static void run_parallel(struct speech *s, const size_t *items, size_t n,
                         void (*fn)(struct speech *, struct entry *, void *), void *arg) {
    struct job j = {.s = s, .items = items, .n = n, .fn = fn, .arg = arg};
    atomic_init(&j.next, 0);
    size_t extra = (size_t)s->threads > n ? n : (size_t)s->threads;
    extra = extra > 0 ? extra - 1 : 0;
    pthread_t *ids = kurc_xcalloc(extra + 1, sizeof *ids);
    size_t started = 0;
    while (started < extra && pthread_create(&ids[started], NULL, worker, &j) == 0)
        started++;
    worker(&j);
    for (size_t i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    free(ids);
}

/* Decodes one entry's audio and computes its features (or its error). */
static void decode_one(struct speech *s, struct entry *e, void *arg) {
    (void)arg;
    struct kurc_err err;
    unsigned char *bytes = e->bytes;
    size_t len = e->n_bytes;
    char *text = NULL;
    enum kurc_status st = KURC_OK;
    if (!bytes) {
        st = kurc_supplier_read_file(e->audio, NAME, NULL, &text, &len, &err);
        bytes = (unsigned char *)text;
    }
    char *name =
        s->archive ? kurc_xasprintf("%s:%s", s->archive, e->audio) : kurc_xstrdup(e->audio);
    struct kurc_audio a = {0};
    if (st == KURC_OK)
        st = kurc_audio_decode(bytes, len, name, &a, &err);
    if (st == KURC_OK)
        st = kurc_features_compute(s->features, a.samples, a.n, a.bits, name, &e->features,
                                   &e->frames, &err);
    if (st)
        e->error = kurc_xstrdup(err.msg);
    kurc_audio_release(&a);
    free(name);
    free(text);
    free(e->bytes);
    e->bytes = NULL;
    e->n_bytes = 0;
}

/* Archive mode: the members still to decode, by name. */
struct pending {
    struct speech *s;
    struct named *wanted; /* audio member -> entry, sorted */
    size_t n_wanted;
    size_t *ready; /* entries whose bytes are in memory */
    size_t n_ready;
    size_t buffered;
};

static bool want_member(void *ctx, const char *name) {
    struct pending *p = ctx;
    struct named key = {name, 0};
    return bsearch(&key, p->wanted, p->n_wanted, sizeof *p->wanted, compare_named) != NULL;
}

static void flush_ready(struct pending *p) {
    run_parallel(p->s, p->ready, p->n_ready, decode_one, NULL);
    p->n_ready = 0;
    p->buffered = 0;
}

static enum kurc_status got_member(void *ctx, const char *name, const void *data, size_t len,
                                   struct kurc_err *err) {
    (void)err;
    struct pending *p = ctx;
    struct named key = {name, 0};
    struct named *hit = bsearch(&key, p->wanted, p->n_wanted, sizeof *p->wanted, compare_named);
    struct entry *e = &p->s->entries[hit->index];
    if (e->bytes || e->features || e->error)
        return KURC_OK; /* a second member of the same name: the first counts */
    e->bytes = kurc_xmalloc(len ? len : 1);
    memcpy(e->bytes, data, len);
    e->n_bytes = len;
    p->ready[p->n_ready++] = hit->index;
    p->buffered += len;
    if (p->buffered >= (64u << 20))
        flush_ready(p);
    return KURC_OK;
}

/* Computes every entry's features, then drops (with a warning) those whose
 * audio failed. */
static enum kurc_status decode_all(struct speech *s, struct kurc_err *err) {
    enum kurc_status st = KURC_OK;
    size_t *all = kurc_xcalloc(s->n + 1, sizeof *all);
    for (size_t i = 0; i < s->n; i++)
        all[i] = i;
    if (!s->archive) {
        run_parallel(s, all, s->n, decode_one, NULL);
    } else {
        struct pending p = {.s = s, .n_wanted = s->n};
        p.wanted = kurc_xcalloc(s->n + 1, sizeof *p.wanted);
        p.ready = kurc_xcalloc(s->n + 1, sizeof *p.ready);
        for (size_t i = 0; i < s->n; i++)
            p.wanted[i] = (struct named){s->entries[i].audio, i};
        qsort(p.wanted, s->n, sizeof *p.wanted, compare_named);
        st = kurc_archive_each(s->archive, want_member, got_member, &p, err);
        if (st == KURC_OK)
            flush_ready(&p);
        free(p.wanted);
        free(p.ready);
    }
    free(all);
    if (st)
        return st;
    size_t kept = 0, failed = 0, total = s->n;
    for (size_t i = 0; i < s->n; i++) {
        struct entry *e = &s->entries[i];
        if (!e->error && !e->features)
            e->error = kurc_xstrdup("the audio was never read");
        if (e->error) {
            kurc_log(KURC_LOG_WARNING, NAME ": %s:%d: leaving the utterance out: %s", s->manifest,
                     e->line, e->error);
            entry_release(e, s->n_keys);
            failed++;
        } else {
            s->entries[kept++] = *e;
        }
    }
    s->n = kept;
    if (kept == 0 || (total >= 10 && failed > total / 2))
        return kurc_err_set(err, KURC_E_DATA, s->where,
                            NAME ": the audio of %zu of the %zu utterances of %s could not be "
                                 "used (see the warnings)",
                            failed, total, s->manifest);
    return KURC_OK;
}

/* --- normalisation ------------------------------------------------------------------ */

struct norm_spec {
    const char *path;
    bool center, scale;
    enum kurc_rotate rotate;
    int64_t depth;
};

static enum kurc_status read_norm_spec(const struct kurc_value *v, struct norm_spec *n,
                                       struct kurc_err *err) {
    *n = (struct norm_spec){NULL, true, true, KURC_ROTATE_ZCA, 100};
    if (!v || v->kind == KURC_NULL)
        return KURC_OK;
    if (v->kind == KURC_STR) {
        n->path = v->u.str.s;
        return KURC_OK;
    }
    if (v->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, &v->loc,
                            NAME ": 'normalization' is null, a path or a mapping");
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < v->u.map.len && st == KURC_OK; i++) {
        const struct kurc_pair *p = &v->u.map.pairs[i];
        const struct kurc_value *x = p->val;
        if (strcmp(p->key, "path") == 0) {
            if (x->kind != KURC_STR && x->kind != KURC_NULL)
                st = kurc_err_set(err, KURC_E_CONFIG, &x->loc,
                                  NAME ": normalization 'path' must be a string");
            n->path = x->kind == KURC_STR ? x->u.str.s : NULL;
        } else if (strcmp(p->key, "center") == 0) {
            st = param_bool(x, "normalization.center", &n->center, err);
        } else if (strcmp(p->key, "scale") == 0) {
            st = param_bool(x, "normalization.scale", &n->scale, err);
        } else if (strcmp(p->key, "rotate") == 0) {
            if (x->kind == KURC_BOOL)
                n->rotate = x->u.b ? KURC_ROTATE_ZCA : KURC_ROTATE_NONE;
            else if (x->kind == KURC_STR && strcmp(x->u.str.s, "zca") == 0)
                n->rotate = KURC_ROTATE_ZCA;
            else if (x->kind == KURC_STR && strcmp(x->u.str.s, "pca") == 0)
                n->rotate = KURC_ROTATE_PCA;
            else if (x->kind != KURC_NULL)
                st = kurc_err_set(err, KURC_E_CONFIG, &x->loc,
                                  NAME ": normalization 'rotate' is yes (zca), zca, pca or no");
        } else if (strcmp(p->key, "depth") == 0) {
            if (x->kind != KURC_INT || x->u.i < 1)
                st = kurc_err_set(err, KURC_E_CONFIG, &x->loc,
                                  NAME ": normalization 'depth' must be a positive integer");
            else
                n->depth = x->u.i;
        } else {
            st = kurc_err_set(err, KURC_E_CONFIG, &p->key_loc,
                              NAME ": unknown normalization key '%s' (expected path, center, "
                                   "scale, rotate, depth)",
                              p->key);
        }
    }
    return st;
}

static void normalize_one(struct speech *s, struct entry *e, void *arg) {
    (void)s;
    kurc_norm_apply(arg, e->features, e->frames);
}

static enum kurc_status normalize(struct speech *s, struct kurc_err *err) {
    struct norm_spec spec;
    enum kurc_status st = read_norm_spec(kurc_map_get(s->params, "normalization"), &spec, err);
    if (st)
        return st;
    struct kurc_norm norm;
    kurc_norm_init(&norm, spec.center, spec.scale, spec.rotate);
    char *path = spec.path ? kurc_path_expand(spec.path) : NULL;
    struct stat sb;
    if (path && stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode))
            st = kurc_err_set(err, KURC_E_CONFIG, s->where,
                              NAME ": the normalization data %s must be a regular file", path);
        else if ((st = kurc_norm_load(&norm, path, err)) == KURC_OK && norm.dim != s->dim)
            st = kurc_err_set(err, KURC_E_DATA, s->where,
                              NAME ": the normalization data %s is for %d features, but these "
                                   "features have %d (remove the file to learn it again)",
                              path, norm.dim, s->dim);
        if (st == KURC_OK)
            kurc_log(KURC_LOG_DEBUG, NAME ": restored the normalization statistics %s", path);
    } else {
        /* Kur: random.sample of `depth` utterances; kurc: a fixed shuffle */
        size_t n = s->n, depth = (size_t)spec.depth < n ? (size_t)spec.depth : n;
        size_t *order = kurc_xmalloc(n * sizeof *order);
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        uint64_t key = kurc_rng_derive(0, 0x6e6f726dull); /* "norm" */
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)(kurc_rng_u64(key, i) % (i + 1));
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        const float **utts = kurc_xcalloc(depth, sizeof *utts);
        int64_t *frames = kurc_xcalloc(depth, sizeof *frames);
        for (size_t i = 0; i < depth; i++) {
            utts[i] = s->entries[order[i]].features;
            frames[i] = s->entries[order[i]].frames;
        }
        st = kurc_norm_learn(&norm, utts, frames, (int64_t)depth, s->dim, err);
        free(utts);
        free(frames);
        free(order);
        if (st == KURC_OK && path) {
            kurc_log(KURC_LOG_INFO, NAME ": saving new normalization statistics to %s", path);
            st = kurc_norm_save(&norm, path, err);
        } else if (st == KURC_OK) {
            kurc_log(KURC_LOG_WARNING,
                     NAME ": no normalization data was given, so it is learned now and not "
                          "kept; give 'normalization' a file name to keep it");
        }
    }
    if (st == KURC_OK) {
        size_t *all = kurc_xcalloc(s->n + 1, sizeof *all);
        for (size_t i = 0; i < s->n; i++)
            all[i] = i;
        run_parallel(s, all, s->n, normalize_one, &norm);
        free(all);
    }
    kurc_norm_release(&norm);
    free(path);
    return st;
}

/* --- sources ---------------------------------------------------------------------- */

static enum kurc_status add_scalar(struct kurc_dataset *out, const char *name, const float *x,
                                   size_t n, const char *origin, struct kurc_err *err) {
    float *data = kurc_xmalloc((n ? n : 1) * sizeof *data);
    memcpy(data, x, n * sizeof *data);
    const struct kurc_shape one = {.ndim = 1, .dim = {1}};
    return kurc_dataset_add(out, name, &one, (int64_t)n, data, origin, err);
}

static enum kurc_status build_sources(struct speech *s, struct kurc_dataset *out,
                                      struct kurc_err *err) {
    size_t n = s->n;
    const char *origin = s->manifest;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += s->entries[i].frames;
    bool shapes_only = out->shapes_only; /* no features: the lengths only */
    float *frames = shapes_only ? NULL : malloc((size_t)(total * s->dim + 1) * sizeof *frames);
    if (!frames && !shapes_only)
        return kurc_err_set(err, KURC_E_DATA, s->where,
                            NAME ": out of memory for %lld frames of %d features", (long long)total,
                            s->dim);
    int64_t *lengths = kurc_xcalloc(n + 1, sizeof *lengths);
    char **paths = kurc_xcalloc(n + 1, sizeof *paths);
    float *scalar = kurc_xcalloc(n + 1, sizeof *scalar);
    int64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        struct entry *e = &s->entries[i];
        if (frames)
            memcpy(frames + at, e->features, (size_t)(e->frames * s->dim) * sizeof *frames);
        at += e->frames * s->dim;
        free(e->features);
        e->features = NULL;
        lengths[i] = e->frames;
        paths[i] =
            s->archive ? kurc_xasprintf("%s:%s", s->archive, e->audio) : kurc_xstrdup(e->audio);
        scalar[i] = (float)e->frames;
    }
    const struct kurc_shape features = {.ndim = 1, .dim = {s->dim}};
    struct kurc_source_extra extra = {.lengths = lengths,
                                      .fill = s->fill,
                                      .bucket = (int64_t)nearbyint(s->bucket * 100),
                                      .text = paths};
    enum kurc_status st =
        kurc_dataset_add_ex(out, "utterance", &features, (int64_t)n, frames, &extra, origin, err);
    if (st == KURC_OK)
        st = add_scalar(out, "utterance_length", scalar, n, origin, err);
    for (size_t i = 0; i < n; i++)
        scalar[i] = (float)s->entries[i].duration;
    if (st == KURC_OK)
        st = add_scalar(out, "duration", scalar, n, origin, err);
    for (size_t k = 0; k < s->n_keys && st == KURC_OK; k++) {
        char prefix[256] = "";
        if (s->n_keys > 1)
            snprintf(prefix, sizeof prefix, "%s_", s->keys[k]);
        size_t symbols = 0;
        for (size_t i = 0; i < n; i++)
            symbols += s->entries[i].n_symbols[k];
        float *ids = kurc_xmalloc((symbols + 1) * sizeof *ids);
        int64_t *lens = kurc_xcalloc(n + 1, sizeof *lens);
        char **raw = kurc_xcalloc(n + 1, sizeof *raw);
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            struct entry *e = &s->entries[i];
            for (size_t j = 0; j < e->n_symbols[k]; j++)
                ids[m++] = (float)vocab_index(&s->vocabs[k], e->symbols[k][j]);
            lens[i] = (int64_t)e->n_symbols[k];
            scalar[i] = (float)e->n_symbols[k];
            raw[i] = kurc_xstrdup(e->raw[k]);
        }
        struct vocab *v = &s->vocabs[k];
        char **vocab = kurc_xcalloc(v->n + 1, sizeof *vocab);
        for (size_t i = 0; i < v->n; i++)
            vocab[i] = kurc_xstrdup(v->symbols[i]);
        const struct kurc_shape scalar_shape = {.ndim = 0};
        struct kurc_source_extra t = {
            .lengths = lens, .text = raw, .vocab = vocab, .n_vocab = v->n};
        char name[300];
        snprintf(name, sizeof name, "%stranscript", prefix);
        st = kurc_dataset_add_ex(out, name, &scalar_shape, (int64_t)n, ids, &t, origin, err);
        snprintf(name, sizeof name, "%stranscript_length", prefix);
        if (st == KURC_OK)
            st = add_scalar(out, name, scalar, n, origin, err);
    }
    free(scalar);
    return st;
}

/* --- the supplier ---------------------------------------------------------------------- */

static void speech_release(struct speech *s) {
    for (size_t i = 0; i < s->n; i++)
        entry_release(&s->entries[i], s->n_keys);
    free(s->entries);
    for (size_t k = 0; s->vocabs && k < s->n_keys; k++)
        vocab_release(&s->vocabs[k]);
    free(s->vocabs);
    for (size_t k = 0; k < s->n_keys; k++)
        free(s->keys[k]);
    free(s->keys);
    for (size_t i = 0; i < s->n_members; i++)
        free(s->members[i]);
    free(s->members);
    free(s->located);
    free(s->archive);
    free(s->manifest);
    free(s->audio_dir);
    free(s->manifest_text);
    kurc_features_free(s->features);
}

/* Gives an error without a place the supplier's place. */
static enum kurc_status placed(enum kurc_status st, const struct kurc_loc *where,
                               struct kurc_err *err) {
    if (st)
        kurc_err_place(err, where);
    return st;
}

/* describe: each kept utterance's length in frames from the manifest's
 * duration_s, as if its audio held that many samples at KURC_AUDIO_RATE;
 * no audio file is opened. */
static void frames_from_durations(struct speech *s) {
    for (size_t i = 0; i < s->n; i++) {
        struct entry *e = &s->entries[i];
        e->frames = kurc_features_frames(s->features, llround(e->duration * KURC_AUDIO_RATE));
    }
}

/* load (shapes_only false) or describe: the manifest, the subset, the
 * vocabularies and the transcripts are read and checked alike; load then
 * decodes the audio, computes and normalises the features; describe takes
 * the lengths from the durations and checks the normalization parameters
 * (no audio is read, and no statistics file is read, learned or saved). */
static enum kurc_status read_speech(const struct kurc_value *params, const struct kurc_loc *where,
                                    struct kurc_dataset *out, struct kurc_err *err) {
    struct speech s = {.params = params, .where = where, .unpack = true};
    if (params->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, where, NAME ": expected a mapping of parameters");
    enum kurc_status st = read_params(&s, err);
    if (st == KURC_OK)
        st = kurc_features_create(s.type, KURC_AUDIO_RATE, s.max_frequency, &s.features, err);
    if (st == KURC_OK) {
        s.dim = kurc_features_dim(s.features);
        st = locate(&s, err);
    }
    if (st == KURC_OK)
        st = read_manifest(&s, err);
    if (st == KURC_OK)
        st = downselect(&s, err);
    if (st == KURC_OK) {
        s.vocabs = kurc_xcalloc(s.n_keys, sizeof *s.vocabs);
        for (size_t k = 0; k < s.n_keys && st == KURC_OK; k++)
            st = build_vocab(&s, k, err);
    }
    if (st == KURC_OK)
        st = check_transcripts(&s, err);
    if (st == KURC_OK && out->shapes_only) {
        struct norm_spec spec; /* its parameters checked; a statistics file is train's */
        st = read_norm_spec(kurc_map_get(params, "normalization"), &spec, err);
        frames_from_durations(&s);
    } else if (st == KURC_OK) {
        kurc_log(KURC_LOG_INFO, NAME ": computing %s features of %zu utterances of %s",
                 s.type == KURC_FEATURES_SPEC ? "spec" : "mfcc", s.n, s.manifest);
        st = decode_all(&s, err);
        if (st == KURC_OK)
            st = normalize(&s, err);
    }
    if (st == KURC_OK)
        st = build_sources(&s, out, err);
    speech_release(&s);
    return placed(st, where, err);
}

static const struct kurc_schema speech_params = {
    .types = KT_MAP,
    .keys = KURC_KEYS(
        KURC_PACKAGING_KEYS, {"unpack", &kurc_schema_flag},
        {"type", KURC_SCHEMA(.types = KT_STR | KT_NULL, .choices = KURC_NAMES("spec", "mfcc"))},
        {"normalization", KURC_SCHEMA(.types = KT_STR | KT_MAP | KT_NULL)},
        {"min_duration", &kurc_schema_non_negative_or_null},
        {"max_duration", &kurc_schema_non_negative_or_null},
        {"max_frequency", &kurc_schema_non_negative_or_null},
        {"vocab", KURC_SCHEMA(.types = KT_STR | KT_LIST | KT_MAP | KT_NULL)},
        {"samples", KURC_SCHEMA(.types = KT_INT | KT_STR | KT_NULL)},
        {"fill", KURC_SCHEMA(.types = KT_STR | KT_NULL, .choices = KURC_NAMES("zero", "loop"))},
        {"key", KURC_SCHEMA(.types = KT_STR | KT_LIST | KT_NULL)},
        {"bucket", &kurc_schema_non_negative_or_null},
        {"data_cpus", KURC_SCHEMA(.types = KT_INT | KT_NULL)},
        {"unknown", &kurc_schema_string_or_null}),
};

const struct kurc_supplier_type kurc_supplier_speech_recognition = {
    .component = {"speech_recognition", &speech_params, KURC_NAMES("url", "checksum", "path")},
    .load = read_speech,
    .describe = read_speech,
};
