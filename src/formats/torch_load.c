/* torch_load.c - reading torch.save's zip format (see torch_zip.h): the
 * archive's entries into memory, then a small pickle machine that knows
 * the objects of a state_dict (tuples, lists, dicts, strings, numbers,
 * OrderedDict, persistent storage ids and _rebuild_tensor_v2) and calls
 * nothing. */
#include "formats/torch_zip.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* The archive's entries, read whole. */
struct entry {
    char *name;
    unsigned char *data;
    size_t len;
};

struct zip_entries {
    struct entry *e;
    size_t n;
};

static void entries_free(struct zip_entries *z) {
    for (size_t i = 0; i < z->n; i++) {
        free(z->e[i].name);
        free(z->e[i].data);
    }
    free(z->e);
}

static enum kurc_status read_zip(const char *path, struct zip_entries *z, struct kurc_err *err) {
    z->e = NULL;
    z->n = 0;
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: cannot open: %s", path,
                            strerror(errno));
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, 4, probe);
    int64_t file_size = fseek(probe, 0, SEEK_END) == 0 ? (int64_t)ftell(probe) : -1;
    fclose(probe);
    if (got != 4 || memcmp(magic, "PK\3\4", 4) != 0)
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                            "%s: not a PyTorch zip file (torch.save's format since PyTorch 1.6)",
                            path);
    struct archive *a = archive_read_new();
    archive_read_support_format_zip(a);
    enum kurc_status st = KURC_OK;
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: not a readable zip archive: %s",
                          path, archive_error_string(a));
        archive_read_free(a);
        return st;
    }
    struct archive_entry *ae;
    int r;
    while (st == KURC_OK && (r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
        int64_t size = archive_entry_size(ae);
        /* torch.save stores its entries: none can hold more than the file */
        if (size < 0 || size > file_size) {
            st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                              "%s: entry %s is compressed or damaged (torch.save stores entries)",
                              path, archive_entry_pathname(ae));
            break;
        }
        z->e = kurc_xrealloc(z->e, (z->n + 1) * sizeof *z->e);
        struct entry *e = &z->e[z->n++];
        e->name = kurc_xstrdup(archive_entry_pathname(ae) ? archive_entry_pathname(ae) : "");
        e->len = (size_t)size;
        e->data = kurc_xmalloc(e->len ? e->len : 1);
        la_ssize_t rd = e->len ? archive_read_data(a, e->data, e->len) : 0;
        if (rd != (la_ssize_t)e->len)
            st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: entry %s is damaged: %s", path,
                              e->name, archive_error_string(a) ? archive_error_string(a) : "short");
    }
    if (st == KURC_OK && r != ARCHIVE_EOF)
        st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: damaged zip archive: %s", path,
                          archive_error_string(a));
    archive_read_free(a);
    if (st)
        entries_free(z);
    return st;
}

static const struct entry *find_entry(const struct zip_entries *z, const char *name) {
    for (size_t i = 0; i < z->n; i++)
        if (strcmp(z->e[i].name, name) == 0)
            return &z->e[i];
    return NULL;
}

/* Pickle objects.  All belong to one machine and are freed together. */
enum kind { O_NONE, O_BOOL, O_INT, O_FLOAT, O_STR, O_TUPLE, O_LIST, O_DICT, O_GLOBAL,
            O_STORAGE, O_TENSOR, O_MARK };

struct obj {
    enum kind kind;
    int64_t i;      /* INT, BOOL */
    char *s;        /* STR; GLOBAL "module.name"; STORAGE its key */
    char *dtype;    /* STORAGE: the storage class name ("FloatStorage") */
    struct obj **items; /* TUPLE, LIST; DICT keys and values alternate */
    size_t n;
    struct obj *storage; /* TENSOR */
    int64_t offset;
    struct kurc_shape shape;
    int64_t stride[KURC_MAX_DIMS];
};

struct vm {
    const char *path;
    const unsigned char *p, *end, *start;
    struct obj **all; /* every object made, for freeing */
    size_t n_all;
    struct obj **stack;
    size_t sp, cap;
    struct obj **memo;
    size_t n_memo;
    struct kurc_err *err;
};

static struct obj *mk(struct vm *m, enum kind k) {
    struct obj *o = kurc_xcalloc(1, sizeof *o);
    o->kind = k;
    m->all = kurc_xrealloc(m->all, (m->n_all + 1) * sizeof *m->all);
    m->all[m->n_all++] = o;
    return o;
}

static void vm_free(struct vm *m) {
    for (size_t i = 0; i < m->n_all; i++) {
        free(m->all[i]->s);
        free(m->all[i]->dtype);
        free(m->all[i]->items);
        free(m->all[i]);
    }
    free(m->all);
    free(m->stack);
    free(m->memo);
}

static enum kurc_status bad(struct vm *m, const char *what) {
    return kurc_err_set(m->err, KURC_E_CHECKPOINT, NULL,
                        "%s: data.pkl is not a state_dict of tensors: %s at byte %zu", m->path,
                        what, (size_t)(m->p - m->start));
}

static void push(struct vm *m, struct obj *o) {
    if (m->sp == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->stack = kurc_xrealloc(m->stack, m->cap * sizeof *m->stack);
    }
    m->stack[m->sp++] = o;
}

static struct obj *pop(struct vm *m) {
    return m->sp && m->stack[m->sp - 1]->kind != O_MARK ? m->stack[--m->sp] : NULL;
}

/* Index of the topmost mark, or -1. */
static long top_mark(const struct vm *m) {
    for (size_t i = m->sp; i > 0; i--)
        if (m->stack[i - 1]->kind == O_MARK)
            return (long)(i - 1);
    return -1;
}

static void append_items(struct obj *to, struct obj **items, size_t n) {
    to->items = kurc_xrealloc(to->items, (to->n + n + 1) * sizeof *to->items);
    memcpy(to->items + to->n, items, n * sizeof *items);
    to->n += n;
}

static bool take(struct vm *m, size_t n, const unsigned char **at) {
    if ((size_t)(m->end - m->p) < n)
        return false;
    *at = m->p;
    m->p += n;
    return true;
}

static uint64_t le(const unsigned char *b, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* A tensor from _rebuild_tensor_v2's arguments (storage, offset, size,
 * stride, requires_grad, hooks[, metadata]). */
static struct obj *rebuild_tensor(struct vm *m, const struct obj *args) {
    if (args->kind != O_TUPLE || args->n < 4 || args->items[0]->kind != O_STORAGE ||
        args->items[1]->kind != O_INT || args->items[2]->kind != O_TUPLE ||
        args->items[3]->kind != O_TUPLE || args->items[2]->n != args->items[3]->n ||
        args->items[2]->n > KURC_MAX_DIMS)
        return NULL;
    struct obj *t = mk(m, O_TENSOR);
    t->storage = args->items[0];
    t->offset = args->items[1]->i;
    t->shape.ndim = (int)args->items[2]->n;
    for (int d = 0; d < t->shape.ndim; d++) {
        const struct obj *sz = args->items[2]->items[d], *st = args->items[3]->items[d];
        if (sz->kind != O_INT || st->kind != O_INT || sz->i < 0 || st->i < 0)
            return NULL;
        t->shape.dim[d] = sz->i;
        t->stride[d] = st->i;
    }
    return t;
}

/* REDUCE: calls one of the known globals. */
static enum kurc_status reduce(struct vm *m) {
    struct obj *args = pop(m), *fn = pop(m);
    if (!args || !fn || fn->kind != O_GLOBAL)
        return bad(m, "REDUCE of something not callable");
    struct obj *r = NULL;
    if (strcmp(fn->s, "collections.OrderedDict") == 0)
        r = mk(m, O_DICT);
    else if (strcmp(fn->s, "torch._utils._rebuild_tensor_v2") == 0)
        r = rebuild_tensor(m, args);
    else {
        char what[300];
        snprintf(what, sizeof what, "a call of %s", fn->s);
        return bad(m, what);
    }
    if (!r)
        return bad(m, "_rebuild_tensor_v2 with unexpected arguments");
    push(m, r);
    return KURC_OK;
}

/* BINPERSID: ('storage', storage class, key, location, numel). */
static enum kurc_status persistent(struct vm *m) {
    struct obj *id = pop(m);
    if (!id || id->kind != O_TUPLE || id->n < 5 || id->items[0]->kind != O_STR ||
        strcmp(id->items[0]->s, "storage") != 0 || id->items[1]->kind != O_GLOBAL ||
        id->items[2]->kind != O_STR || id->items[4]->kind != O_INT)
        return bad(m, "a persistent id that is not a storage");
    struct obj *s = mk(m, O_STORAGE);
    s->s = kurc_xstrdup(id->items[2]->s);
    const char *cls = strrchr(id->items[1]->s, '.');
    s->dtype = kurc_xstrdup(cls ? cls + 1 : id->items[1]->s);
    s->i = id->items[4]->i;
    push(m, s);
    return KURC_OK;
}

static enum kurc_status run(struct vm *m, struct obj **result) {
    const unsigned char *a;
    for (;;) {
        if (m->p >= m->end)
            return bad(m, "the pickle ends before STOP");
        unsigned char op = *m->p++;
        struct obj *o, *k, *v;
        long mark;
        switch (op) {
        case 0x80: /* PROTO */
            if (!take(m, 1, &a) || a[0] < 2 || a[0] > 5)
                return bad(m, "an unknown pickle protocol");
            break;
        case 0x95: /* FRAME */
            if (!take(m, 8, &a))
                return bad(m, "a cut FRAME");
            break;
        case '.':
            if (!(*result = pop(m)))
                return bad(m, "STOP with nothing on the stack");
            return KURC_OK;
        case 'c': { /* GLOBAL module\nname\n */
            const unsigned char *nl1 = memchr(m->p, '\n', (size_t)(m->end - m->p));
            const unsigned char *nl2 =
                nl1 ? memchr(nl1 + 1, '\n', (size_t)(m->end - nl1 - 1)) : NULL;
            if (!nl2)
                return bad(m, "a cut GLOBAL");
            o = mk(m, O_GLOBAL);
            o->s = kurc_xasprintf("%.*s.%.*s", (int)(nl1 - m->p), (const char *)m->p,
                                  (int)(nl2 - nl1 - 1), (const char *)nl1 + 1);
            m->p = nl2 + 1;
            push(m, o);
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            v = pop(m);
            k = pop(m);
            if (!k || !v || k->kind != O_STR || v->kind != O_STR)
                return bad(m, "STACK_GLOBAL without two strings");
            o = mk(m, O_GLOBAL);
            o->s = kurc_xasprintf("%s.%s", k->s, v->s);
            push(m, o);
            break;
        case 'X':   /* BINUNICODE */
        case 0x8c:  /* SHORT_BINUNICODE */
        case 0x8d: { /* BINUNICODE8 */
            int w = op == 'X' ? 4 : op == 0x8c ? 1 : 8;
            if (!take(m, (size_t)w, &a))
                return bad(m, "a cut string");
            uint64_t len = le(a, w);
            if (len > (uint64_t)(m->end - m->p) || !take(m, (size_t)len, &a))
                return bad(m, "a cut string");
            o = mk(m, O_STR);
            o->s = kurc_xstrndup((const char *)a, (size_t)len);
            push(m, o);
            break;
        }
        case 'J':
        case 'K':
        case 'M': {
            int w = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            if (!take(m, (size_t)w, &a))
                return bad(m, "a cut integer");
            o = mk(m, O_INT);
            o->i = op == 'J' ? (int64_t)(int32_t)(uint32_t)le(a, 4) : (int64_t)le(a, w);
            push(m, o);
            break;
        }
        case 0x8a: { /* LONG1 */
            if (!take(m, 1, &a))
                return bad(m, "a cut integer");
            int n = a[0];
            if (n > 8 || !take(m, (size_t)n, &a))
                return bad(m, "an integer too large");
            uint64_t u = le(a, n);
            if (n && n < 8 && (a[n - 1] & 0x80))
                u |= ~(uint64_t)0 << (8 * n);
            o = mk(m, O_INT);
            o->i = (int64_t)u;
            push(m, o);
            break;
        }
        case 'G': /* BINFLOAT: a value nothing here needs */
            if (!take(m, 8, &a))
                return bad(m, "a cut float");
            push(m, mk(m, O_FLOAT));
            break;
        case 'N':
            push(m, mk(m, O_NONE));
            break;
        case 0x88:
        case 0x89:
            o = mk(m, O_BOOL);
            o->i = op == 0x88;
            push(m, o);
            break;
        case ')':
            push(m, mk(m, O_TUPLE));
            break;
        case ']':
            push(m, mk(m, O_LIST));
            break;
        case '}':
            push(m, mk(m, O_DICT));
            break;
        case '(':
            push(m, mk(m, O_MARK));
            break;
        case 't':
        case 'l':
        case 'd':
            if ((mark = top_mark(m)) < 0)
                return bad(m, "a collection without MARK");
            o = mk(m, op == 't' ? O_TUPLE : op == 'l' ? O_LIST : O_DICT);
            append_items(o, m->stack + mark + 1, m->sp - (size_t)mark - 1);
            if (op == 'd' && o->n % 2)
                return bad(m, "DICT of an odd count");
            m->sp = (size_t)mark;
            push(m, o);
            break;
        case 0x85:
        case 0x86:
        case 0x87: {
            size_t n = (size_t)(op - 0x84);
            if (m->sp < n || top_mark(m) >= (long)(m->sp - n))
                return bad(m, "TUPLE of too few items");
            o = mk(m, O_TUPLE);
            append_items(o, m->stack + m->sp - n, n);
            m->sp -= n;
            push(m, o);
            break;
        }
        case 'a': /* APPEND */
            v = pop(m);
            if (!v || !m->sp || m->stack[m->sp - 1]->kind != O_LIST)
                return bad(m, "APPEND not to a list");
            append_items(m->stack[m->sp - 1], &v, 1);
            break;
        case 'e':
        case 'u': /* APPENDS, SETITEMS */
            if ((mark = top_mark(m)) < 1 ||
                m->stack[mark - 1]->kind != (op == 'e' ? O_LIST : O_DICT) ||
                (op == 'u' && (m->sp - (size_t)mark - 1) % 2))
                return bad(m, op == 'e' ? "APPENDS not to a list" : "SETITEMS not to a dict");
            append_items(m->stack[mark - 1], m->stack + mark + 1, m->sp - (size_t)mark - 1);
            m->sp = (size_t)mark;
            break;
        case 's': /* SETITEM */
            v = pop(m);
            k = pop(m);
            if (!k || !v || !m->sp || m->stack[m->sp - 1]->kind != O_DICT)
                return bad(m, "SETITEM not to a dict");
            append_items(m->stack[m->sp - 1], (struct obj *[]){k, v}, 2);
            break;
        case 'b': /* BUILD: a state for the object below (the _metadata); dropped */
            if (!pop(m) || !m->sp)
                return bad(m, "BUILD without an object");
            break;
        case 'R':
            if (reduce(m))
                return m->err->status;
            break;
        case 'Q':
            if (persistent(m))
                return m->err->status;
            break;
        case 'q':
        case 'r':
        case 0x94: { /* BINPUT, LONG_BINPUT, MEMOIZE */
            uint64_t idx = m->n_memo;
            if (op != 0x94) {
                if (!take(m, op == 'q' ? 1 : 4, &a))
                    return bad(m, "a cut PUT");
                idx = le(a, op == 'q' ? 1 : 4);
            }
            /* every memo entry takes a byte of the pickle at least */
            if (!m->sp || idx > (uint64_t)(m->end - m->start))
                return bad(m, "PUT of nothing, or of an index past the pickle's size");
            if (idx >= m->n_memo) {
                m->memo = kurc_xrealloc(m->memo, (idx + 1) * sizeof *m->memo);
                memset(m->memo + m->n_memo, 0, (idx + 1 - m->n_memo) * sizeof *m->memo);
                m->n_memo = idx + 1;
            }
            m->memo[idx] = m->stack[m->sp - 1];
            break;
        }
        case 'h':
        case 'j': {
            if (!take(m, op == 'h' ? 1 : 4, &a))
                return bad(m, "a cut GET");
            uint64_t idx = le(a, op == 'h' ? 1 : 4);
            if (idx >= m->n_memo || !m->memo[idx])
                return bad(m, "GET of an unknown memo entry");
            push(m, m->memo[idx]);
            break;
        }
        case '0': /* POP */
            if (!pop(m))
                return bad(m, "POP of nothing");
            break;
        default: {
            char what[64];
            snprintf(what, sizeof what, "opcode 0x%02x", op);
            return bad(m, what);
        }
        }
    }
}

/* Copies tensor t (a view of its storage) into out[i]. */
static enum kurc_status gather_tensor(const char *path, const struct zip_entries *z,
                                      const char *prefix, const char *key, const struct obj *t,
                                      struct kurc_torch_tensor *out, struct kurc_err *err) {
    char shape[96];
    kurc_shape_format(&t->shape, shape, sizeof shape);
    if (strcmp(t->storage->dtype, "FloatStorage") != 0)
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                            "%s: tensor %s %s is a %s, not float32 (save it with .float())", path,
                            key, shape, t->storage->dtype);
    char *name = kurc_xasprintf("%s/data/%s", prefix, t->storage->s);
    const struct entry *e = find_entry(z, name);
    free(name);
    if (!e)
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: the storage of tensor %s is missing",
                            path, key);
    /* sizes, strides and the offset are bounded by the storage first, so
     * that nothing below overflows */
    int64_t numel = 1, last = t->offset, values = (int64_t)(e->len / 4);
    bool fits = t->offset >= 0 && t->offset <= values;
    for (int d = 0; d < t->shape.ndim && fits; d++) {
        fits = t->shape.dim[d] <= values && t->stride[d] <= values;
        numel = fits ? numel * t->shape.dim[d] : 0;
        fits = fits && numel <= values;
        last += fits && t->shape.dim[d] ? (t->shape.dim[d] - 1) * t->stride[d] : 0;
    }
    if (!fits || (numel > 0 && last >= values))
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                            "%s: tensor %s %s reaches past its storage of %zu values", path, key,
                            shape, e->len / 4);
    out->name = kurc_xstrdup(key);
    out->shape = t->shape;
    out->numel = numel;
    out->data = kurc_xmalloc((size_t)(numel ? numel : 1) * sizeof(float));
    for (int64_t i = 0; i < numel; i++) {
        int64_t at = t->offset, rest = i;
        for (int d = t->shape.ndim - 1; d >= 0; d--) {
            at += rest % t->shape.dim[d] * t->stride[d];
            rest /= t->shape.dim[d];
        }
        uint32_t bits = (uint32_t)le(e->data + 4 * at, 4);
        memcpy(&out->data[i], &bits, 4);
    }
    return KURC_OK;
}

enum kurc_status kurc_torch_load(const char *path, struct kurc_torch_tensor **t, size_t *n,
                                 struct kurc_err *err) {
    *t = NULL;
    *n = 0;
    struct zip_entries z;
    enum kurc_status st = read_zip(path, &z, err);
    if (st)
        return st;
    const char *slash = z.n ? strchr(z.e[0].name, '/') : NULL;
    char *prefix = slash ? kurc_xstrndup(z.e[0].name, (size_t)(slash - z.e[0].name)) : NULL;
    char *pkl_name = prefix ? kurc_xasprintf("%s/data.pkl", prefix) : NULL;
    const struct entry *pkl = pkl_name ? find_entry(&z, pkl_name) : NULL;
    free(pkl_name);
    if (!pkl) {
        free(prefix);
        entries_free(&z);
        return kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                            "%s: not a PyTorch zip file: no FOLDER/data.pkl in it", path);
    }
    struct vm m = {.path = path, .p = pkl->data, .start = pkl->data, .end = pkl->data + pkl->len,
                   .err = err};
    struct obj *root = NULL;
    st = run(&m, &root);
    if (st == KURC_OK && root->kind != O_DICT)
        st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                          "%s: holds no state_dict (a dict of tensors)", path);
    struct kurc_torch_tensor *out =
        st ? NULL : kurc_xcalloc(root->n / 2 + 1, sizeof *out);
    size_t got = 0;
    for (size_t i = 0; st == KURC_OK && i + 1 < root->n; i += 2) {
        const struct obj *k = root->items[i], *v = root->items[i + 1];
        if (k->kind != O_STR)
            st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: a state_dict key is not a string",
                              path);
        else if (v->kind != O_TENSOR)
            st = kurc_err_set(err, KURC_E_CHECKPOINT, NULL, "%s: %s is not a tensor", path, k->s);
        else if ((st = gather_tensor(path, &z, prefix, k->s, v, &out[got], err)) == KURC_OK)
            got++;
    }
    vm_free(&m);
    free(prefix);
    entries_free(&z);
    if (st) {
        kurc_torch_tensors_free(out, got);
        return st;
    }
    *t = out;
    *n = got;
    return KURC_OK;
}

void kurc_torch_tensors_free(struct kurc_torch_tensor *t, size_t n) {
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].name);
        free(t[i].data);
    }
    free(t);
}
