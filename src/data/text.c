/* text.c - the `text` supplier (Kur's kur/supplier/text_supplier.py and
 * kur/sources/text.py): sequences of symbols from a JSONL file, one-hot.
 *
 * Parameters:
 *   path      the JSONL file (~ and $VAR expanded); the keys of its first
 *             line are the sources, every line must have them (more keys
 *             are ignored); blank lines are skipped
 *   seq_len   the length every sequence is padded to: an integer for all
 *             keys, or a mapping key -> integer
 *   vocabs    (required) key -> list of symbols (numbers are written as
 *             Python's str() writes them)
 *   padding   key -> left or right (default right): where the padding goes
 *   pad_with  key -> a symbol of the vocabulary that fills the padding, or
 *             null (default): padding steps are all zeros
 * A value is a string (a symbol per character, as Python's list(str)) or
 * a list of strings (a symbol each).  A symbol outside the key's
 * vocabulary, and a sequence longer than seq_len, are errors naming the
 * file, the line, the key and the symbol (Kur raised a KeyError or an
 * IndexError).
 *
 * Sources, per key k:
 *   k          (seq_len, |vocab|) one-hot float32 (Kur: int32); its text
 *              table holds each line's sequence as written (Kur's raw_k
 *              source) and its vocabulary the symbols
 *   k_length   (1,) the sequence's length before padding
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/paths.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "config/yaml_load.h"
#include "data/supplier.h"
#include "data/supplier_util.h"

#define NAME "text"

struct key {
    const char *name; /* borrowed from the first line's tree */
    int64_t seq_len;
    bool left;
    int pad; /* index of pad_with, or -1 */
    char **vocab;
    size_t n_vocab;
    float *hot;     /* lines x seq_len x n_vocab */
    float *lengths; /* lines */
    char **raw;     /* lines */
};

struct text {
    const struct kurc_value *params;
    const struct kurc_loc *where;
    char *path;
    struct kurc_value *first;
    struct key *keys;
    size_t n_keys;
    int64_t lines, rows;
};

/* Python's str() of a vocabulary entry. */
static char *symbol_text(const struct kurc_value *v) {
    switch (v->kind) {
    case KURC_STR:
        return kurc_xstrdup(v->u.str.s);
    case KURC_INT:
        return kurc_xasprintf("%lld", (long long)v->u.i);
    case KURC_BOOL:
        return kurc_xstrdup(v->u.b ? "True" : "False");
    case KURC_NULL:
        return kurc_xstrdup("None");
    case KURC_FLOAT:
        return kurc_xasprintf("%.17g", v->u.f);
    default:
        return NULL;
    }
}

static int find_symbol(const struct key *k, const char *s) {
    for (size_t i = 0; i < k->n_vocab; i++)
        if (strcmp(k->vocab[i], s) == 0)
            return (int)i;
    return -1;
}

/* A vocabulary entry, for finding repeated symbols. */
struct entry {
    const char *symbol;
    size_t index;
};

static int by_symbol(const void *a, const void *b) {
    const struct entry *x = a, *y = b;
    int c = strcmp(x->symbol, y->symbol);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* A symbol listed twice is an error naming both places (the second index
 * would never be produced). */
static enum kurc_status check_unique(const struct key *k, const struct kurc_value *vocab,
                                     struct kurc_err *err) {
    size_t n = k->n_vocab;
    struct entry *e = kurc_xcalloc(n + 1, sizeof *e);
    for (size_t i = 0; i < n; i++)
        e[i] = (struct entry){k->vocab[i], i};
    qsort(e, n, sizeof *e, by_symbol);
    enum kurc_status st = KURC_OK;
    for (size_t i = 1; i < n && st == KURC_OK; i++)
        if (strcmp(e[i].symbol, e[i - 1].symbol) == 0) {
            const struct kurc_loc *first = &vocab->u.list.items[e[i - 1].index]->loc;
            st = kurc_err_set(err, KURC_E_CONFIG, &vocab->u.list.items[e[i].index]->loc,
                              NAME ": the vocabulary of '%s' has '%s' twice: entry %zu (line %d, "
                                   "column %d) and entry %zu",
                              k->name, e[i].symbol, e[i - 1].index + 1, first->line, first->col,
                              e[i].index + 1);
        }
    free(e);
    return st;
}

/* params[name][key] when params[name] is a mapping; the value itself for
 * an integer seq_len; NULL when absent. */
static const struct kurc_value *per_key(const struct kurc_value *params, const char *name,
                                        const char *key) {
    const struct kurc_value *v = kurc_map_get(params, name);
    if (!v || v->kind == KURC_NULL)
        return NULL;
    if (v->kind == KURC_MAP)
        return kurc_map_get(v, key);
    return v;
}

static enum kurc_status set_up_key(struct text *t, struct key *k, struct kurc_err *err) {
    const struct kurc_value *len = per_key(t->params, "seq_len", k->name);
    const struct kurc_value *whole = kurc_map_get(t->params, "seq_len");
    if (!len)
        return kurc_err_set(err, KURC_E_CONFIG, whole ? &whole->loc : t->where,
                            NAME ": 'seq_len' has no length for the key '%s' of %s", k->name,
                            t->path);
    if (len->kind != KURC_INT || len->u.i < 1)
        return kurc_err_set(err, KURC_E_CONFIG, &len->loc,
                            NAME ": 'seq_len' of '%s' must be a positive integer", k->name);
    k->seq_len = len->u.i;
    const struct kurc_value *vocabs = kurc_map_get(t->params, "vocabs");
    if (!vocabs || vocabs->kind != KURC_MAP)
        return kurc_err_set(err, KURC_E_CONFIG, vocabs ? &vocabs->loc : t->where,
                            NAME ": 'vocabs' must map every key to its list of symbols");
    const struct kurc_value *vocab = kurc_map_get(vocabs, k->name);
    if (!vocab || vocab->kind != KURC_LIST || vocab->u.list.len == 0)
        return kurc_err_set(err, KURC_E_CONFIG, vocab ? &vocab->loc : &vocabs->loc,
                            NAME ": 'vocabs' needs a non-empty list of symbols for the key '%s' "
                                 "of %s",
                            k->name, t->path);
    k->vocab = kurc_xcalloc(vocab->u.list.len, sizeof *k->vocab);
    for (size_t i = 0; i < vocab->u.list.len; i++) {
        char *s = symbol_text(vocab->u.list.items[i]);
        if (!s)
            return kurc_err_set(err, KURC_E_CONFIG, &vocab->u.list.items[i]->loc,
                                NAME ": the vocabulary of '%s' holds a list or a mapping", k->name);
        k->vocab[k->n_vocab++] = s;
    }
    enum kurc_status unique = check_unique(k, vocab, err);
    if (unique)
        return unique;
    const struct kurc_value *padding = per_key(t->params, "padding", k->name);
    if (padding && padding->kind != KURC_NULL) {
        if (padding->kind != KURC_STR ||
            (strcmp(padding->u.str.s, "left") != 0 && strcmp(padding->u.str.s, "right") != 0))
            return kurc_err_set(err, KURC_E_CONFIG, &padding->loc,
                                NAME ": the padding of '%s' must be left or right", k->name);
        k->left = strcmp(padding->u.str.s, "left") == 0;
    }
    k->pad = -1;
    const struct kurc_value *pad = per_key(t->params, "pad_with", k->name);
    if (pad && pad->kind != KURC_NULL) {
        char *s = symbol_text(pad);
        k->pad = s ? find_symbol(k, s) : -1;
        if (k->pad < 0) {
            enum kurc_status st = kurc_err_set(
                err, KURC_E_CONFIG, &pad->loc,
                NAME ": pad_with '%s' of '%s' is not in its vocabulary", s ? s : "?", k->name);
            free(s);
            return st;
        }
        free(s);
    }
    k->hot = calloc((size_t)(t->lines * k->seq_len) * k->n_vocab + 1, sizeof *k->hot);
    k->lengths = calloc((size_t)t->lines + 1, sizeof *k->lengths);
    k->raw = calloc((size_t)t->lines + 1, sizeof *k->raw);
    if (!k->hot || !k->lengths || !k->raw)
        return kurc_err_set(err, KURC_E_DATA, t->where,
                            NAME ": out of memory for %lld sequences of '%s'", (long long)t->lines,
                            k->name);
    return KURC_OK;
}

/* The symbols of a value: UTF-8 characters of a string, or the strings of
 * a list; NULL when it is neither. */
static char **symbols_of(const struct kurc_value *v, size_t *n) {
    *n = 0;
    if (v->kind == KURC_STR)
        return kurc_supplier_chars(v->u.str.s, n);
    if (v->kind != KURC_LIST)
        return NULL;
    char **out = kurc_xcalloc(v->u.list.len + 1, sizeof *out);
    for (size_t i = 0; i < v->u.list.len; i++) {
        if (v->u.list.items[i]->kind != KURC_STR) {
            for (size_t j = 0; j < *n; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
        out[(*n)++] = kurc_xstrdup(v->u.list.items[i]->u.str.s);
    }
    return out;
}

/* Encodes one line's value of key k as row r. */
static enum kurc_status encode(struct text *t, struct key *k, const struct kurc_value *v, int line,
                               struct kurc_err *err) {
    size_t n;
    char **symbols = symbols_of(v, &n);
    if (!symbols)
        return kurc_err_set(err, KURC_E_DATA, t->where,
                            NAME ": %s:%d: key '%s' is %s, not a string or a list of strings",
                            t->path, line, k->name, kurc_kind_phrase(v->kind));
    enum kurc_status st = KURC_OK;
    if ((int64_t)n > k->seq_len)
        st = kurc_err_set(err, KURC_E_DATA, t->where,
                          NAME ": %s:%d: key '%s' has %zu symbols, more than its seq_len %lld",
                          t->path, line, k->name, n, (long long)k->seq_len);
    float *row = k->hot + (size_t)(t->rows * k->seq_len) * k->n_vocab;
    int64_t start = k->left ? k->seq_len - (int64_t)n : 0;
    for (size_t i = 0; i < n && st == KURC_OK; i++) {
        int id = find_symbol(k, symbols[i]);
        if (id < 0)
            st = kurc_err_set(err, KURC_E_DATA, t->where,
                              NAME ": %s:%d: key '%s' has the symbol '%s', which is not in its "
                                   "vocabulary",
                              t->path, line, k->name, symbols[i]);
        else
            row[(size_t)(start + (int64_t)i) * k->n_vocab + (size_t)id] = 1;
    }
    if (st == KURC_OK && k->pad >= 0) {
        int64_t first = k->left ? 0 : (int64_t)n, last = k->left ? start : k->seq_len;
        for (int64_t s = first; s < last; s++)
            row[(size_t)s * k->n_vocab + (size_t)k->pad] = 1;
    }
    struct kurc_strbuf raw = KURC_STRBUF_INIT;
    for (size_t i = 0; i < n; i++)
        kurc_strbuf_printf(&raw, "%s%s", v->kind == KURC_LIST && i ? " " : "", symbols[i]);
    k->raw[t->rows] = raw.data ? kurc_strbuf_take(&raw) : kurc_xstrdup("");
    k->lengths[t->rows] = (float)n;
    for (size_t i = 0; i < n; i++)
        free(symbols[i]);
    free(symbols);
    return st;
}

static enum kurc_status read_lines(struct text *t, const char *text, size_t len,
                                   struct kurc_err *err) {
    const char *end = text + len, *p = text, *a, *b;
    int line = 0;
    while (kurc_supplier_next_line(&p, end, &a, &b, &line))
        t->lines++;
    if (t->lines == 0)
        return kurc_err_set(err, KURC_E_DATA, t->where, NAME ": %s has no lines", t->path);
    p = text;
    line = 0;
    enum kurc_status st = KURC_OK;
    while (st == KURC_OK && kurc_supplier_next_line(&p, end, &a, &b, &line)) {
        struct kurc_value *obj = NULL;
        if (kurc_load_buffer(a, (size_t)(b - a), KURC_FORMAT_JSON, t->path, &obj, err)) {
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            return kurc_err_set(err, KURC_E_DATA, t->where, NAME ": %s:%d: %s", t->path, line, msg);
        }
        if (!obj || obj->kind != KURC_MAP) {
            st = kurc_err_set(err, KURC_E_DATA, t->where,
                              NAME ": %s:%d: expected a JSON object, found %s", t->path, line,
                              obj ? kurc_kind_phrase(obj->kind) : "nothing");
            kurc_value_free(obj);
            break;
        }
        if (!t->first) {
            t->first = obj;
            t->n_keys = obj->u.map.len;
            t->keys = kurc_xcalloc(t->n_keys + 1, sizeof *t->keys);
            for (size_t i = 0; i < t->n_keys && st == KURC_OK; i++) {
                t->keys[i].name = obj->u.map.pairs[i].key;
                st = set_up_key(t, &t->keys[i], err);
            }
        }
        for (size_t i = 0; i < t->n_keys && st == KURC_OK; i++) {
            const struct kurc_value *v = kurc_map_get(obj, t->keys[i].name);
            st = v ? encode(t, &t->keys[i], v, line, err)
                   : kurc_err_set(err, KURC_E_DATA, t->where, NAME ": %s:%d: missing key '%s'",
                                  t->path, line, t->keys[i].name);
        }
        t->rows++;
        if (obj != t->first)
            kurc_value_free(obj);
    }
    return st;
}

static enum kurc_status load(const struct kurc_value *params, const struct kurc_loc *where,
                             struct kurc_dataset *out, struct kurc_err *err) {
    const char *path;
    enum kurc_status st = kurc_supplier_param_str(params, NAME, "path", &path, err);
    if (st)
        return st;
    if (!path)
        return kurc_err_set(err, KURC_E_CONFIG, where, NAME ": needs a 'path' (a JSONL file)");
    struct text t = {.params = params, .where = where, .path = kurc_path_expand(path)};
    char *text;
    size_t len;
    st = kurc_supplier_read_file(t.path, NAME, where, &text, &len, err);
    if (st == KURC_OK) {
        st = read_lines(&t, text, len, err);
        free(text);
    }
    for (size_t i = 0; i < t.n_keys; i++) {
        struct key *k = &t.keys[i];
        if (st == KURC_OK) {
            struct kurc_shape shape = {.ndim = 2, .dim = {k->seq_len, (int64_t)k->n_vocab}};
            struct kurc_source_extra extra = {
                .text = k->raw, .vocab = k->vocab, .n_vocab = k->n_vocab};
            k->raw = NULL;
            k->vocab = NULL;
            st = kurc_dataset_add_ex(out, k->name, &shape, t.rows, k->hot, &extra, t.path, err);
            k->hot = NULL;
            char *name = kurc_xasprintf("%s_length", k->name);
            const struct kurc_shape one = {.ndim = 1, .dim = {1}};
            if (st == KURC_OK)
                st = kurc_dataset_add(out, name, &one, t.rows, k->lengths, t.path, err);
            else
                free(k->lengths);
            k->lengths = NULL;
            free(name);
        }
        free(k->hot);
        free(k->lengths);
        for (int64_t r = 0; k->raw && r < t.lines; r++)
            free(k->raw[r]);
        free(k->raw);
        for (size_t v = 0; k->vocab && v < k->n_vocab; v++)
            free(k->vocab[v]);
        free(k->vocab);
    }
    free(t.keys);
    kurc_value_free(t.first);
    free(t.path);
    return st;
}

const struct kurc_supplier_type kurc_supplier_text = {
    .component = {"text",
                  KURC_SCHEMA(.types = KT_MAP,
                              .keys = KURC_KEYS(
                                  {"path", &kurc_schema_string, true},
                                  {"seq_len", KURC_SCHEMA(.types = KT_INT | KT_MAP), true},
                                  {"vocabs", KURC_SCHEMA(.types = KT_MAP), true},
                                  {"padding", KURC_SCHEMA(.types = KT_MAP | KT_NULL)},
                                  {"pad_with", KURC_SCHEMA(.types = KT_MAP | KT_NULL)})),
                  KURC_NAMES("path", "seq_len", "vocabs", "padding", "pad_with")},
    .load = load,
};
