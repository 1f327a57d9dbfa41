/* pickle_read.c - the restricted pickle reader (pickle_read.h).
 *
 * A small pickle machine: a value stack, a stack of MARK positions and a
 * memo, run over the opcodes one by one.  Only opcodes that build plain data
 * are implemented; the few allowed globals are recognised by name and
 * "called" by kurc's own code (REDUCE and BUILD on anything else are
 * errors), so a pickle can never run code, import modules or touch files.
 * Every argument is bounds-checked against the buffer, and the memo grows
 * only as far as the file could legitimately index it.
 */
#include "formats/pickle_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "base/xalloc.h"

struct kurc_pickle_doc {
    struct kurc_pickle *root;
    struct kurc_pickle **objs; /* every object made, for freeing */
    size_t n, cap;
};

/* The allowed callables (KURC_PICKLE_GLOBAL's u.global). */
enum {
    G_RECONSTRUCT, /* numpy.core.multiarray._reconstruct(ndarray, shape, typecode) */
    G_NDARRAY,     /* numpy.ndarray, only as _reconstruct's first argument */
    G_DTYPE,       /* numpy.dtype(descr, align, copy) */
    G_ENCODE,      /* codecs.encode(text, 'latin1'): Python 3's bytes at protocol 2 */
    G_BYTES,       /* bytes(): Python 3's empty bytes at protocol 2 */
};

static const struct {
    const char *module, *name;
    int global;
} allowed_globals[] = {
    {"numpy.core.multiarray", "_reconstruct", G_RECONSTRUCT},
    {"numpy._core.multiarray", "_reconstruct", G_RECONSTRUCT},
    {"numpy", "ndarray", G_NDARRAY},
    {"numpy", "dtype", G_DTYPE},
    {"_codecs", "encode", G_ENCODE},
    {"codecs", "encode", G_ENCODE},
    {"__builtin__", "bytes", G_BYTES},
    {"builtins", "bytes", G_BYTES},
};

static const char *const opcode_names[256] = {
    ['('] = "MARK",         [')'] = "EMPTY_TUPLE",
    ['.'] = "STOP",         ['0'] = "POP",
    ['1'] = "POP_MARK",     ['2'] = "DUP",
    ['B'] = "BINBYTES",     ['C'] = "SHORT_BINBYTES",
    ['F'] = "FLOAT",        ['G'] = "BINFLOAT",
    ['I'] = "INT",          ['J'] = "BININT",
    ['K'] = "BININT1",      ['L'] = "LONG",
    ['M'] = "BININT2",      ['N'] = "NONE",
    ['P'] = "PERSID",       ['Q'] = "BINPERSID",
    ['R'] = "REDUCE",       ['S'] = "STRING",
    ['T'] = "BINSTRING",    ['U'] = "SHORT_BINSTRING",
    ['V'] = "UNICODE",      ['X'] = "BINUNICODE",
    [']'] = "EMPTY_LIST",   ['a'] = "APPEND",
    ['b'] = "BUILD",        ['c'] = "GLOBAL",
    ['d'] = "DICT",         ['e'] = "APPENDS",
    ['g'] = "GET",          ['h'] = "BINGET",
    ['i'] = "INST",         ['j'] = "LONG_BINGET",
    ['l'] = "LIST",         ['o'] = "OBJ",
    ['p'] = "PUT",          ['q'] = "BINPUT",
    ['r'] = "LONG_BINPUT",  ['s'] = "SETITEM",
    ['t'] = "TUPLE",        ['u'] = "SETITEMS",
    ['}'] = "EMPTY_DICT",   [0x80] = "PROTO",
    [0x81] = "NEWOBJ",      [0x82] = "EXT1",
    [0x83] = "EXT2",        [0x84] = "EXT4",
    [0x85] = "TUPLE1",      [0x86] = "TUPLE2",
    [0x87] = "TUPLE3",      [0x88] = "NEWTRUE",
    [0x89] = "NEWFALSE",    [0x8a] = "LONG1",
    [0x8b] = "LONG4",       [0x8c] = "SHORT_BINUNICODE",
    [0x8d] = "BINUNICODE8", [0x8e] = "BINBYTES8",
    [0x8f] = "EMPTY_SET",   [0x90] = "ADDITEMS",
    [0x91] = "FROZENSET",   [0x92] = "NEWOBJ_EX",
    [0x93] = "STACK_GLOBAL", [0x94] = "MEMOIZE",
    [0x95] = "FRAME",       [0x96] = "BYTEARRAY8",
    [0x97] = "NEXT_BUFFER", [0x98] = "READONLY_BUFFER",
};

/* The machine's state while reading one pickle. */
struct vm {
    const unsigned char *buf;
    size_t len, pos;
    const char *name;
    struct kurc_err *err;
    struct kurc_pickle_doc *doc;
    struct kurc_pickle **stack;
    size_t sp, stack_cap;
    size_t *marks; /* stack heights at each MARK */
    size_t nmarks, marks_cap;
    struct kurc_pickle **memo; /* NULL where unset */
    size_t memo_cap, memo_count;
    size_t op_at; /* offset of the opcode being run */
    unsigned char op;
    bool scan; /* kurc_pickle_scan: long strings are skipped */
};

const char *kurc_pickle_kind_name(enum kurc_pickle_kind kind) {
    switch (kind) {
    case KURC_PICKLE_NONE:
        return "None";
    case KURC_PICKLE_BOOL:
        return "bool";
    case KURC_PICKLE_INT:
        return "int";
    case KURC_PICKLE_FLOAT:
        return "float";
    case KURC_PICKLE_BYTES:
        return "bytes";
    case KURC_PICKLE_STR:
        return "str";
    case KURC_PICKLE_LIST:
        return "list";
    case KURC_PICKLE_TUPLE:
        return "tuple";
    case KURC_PICKLE_DICT:
        return "dict";
    case KURC_PICKLE_ARRAY:
        return "numpy array";
    case KURC_PICKLE_DTYPE:
        return "numpy dtype";
    case KURC_PICKLE_GLOBAL:
        return "global";
    }
    return "unknown";
}

/* Records "NAME: malformed pickle: OPCODE at offset N: message". */
static enum kurc_status fail(struct vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum kurc_status fail(struct vm *vm, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return kurc_err_set(vm->err, KURC_E_DATA, NULL, "%s: malformed pickle: %s at offset %zu: %s",
                        vm->name, opcode_names[vm->op], vm->op_at, msg);
}

static struct kurc_pickle *new_obj(struct vm *vm, enum kurc_pickle_kind kind) {
    struct kurc_pickle_doc *d = vm->doc;
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->objs = kurc_xrealloc(d->objs, d->cap * sizeof *d->objs);
    }
    struct kurc_pickle *o = kurc_xcalloc(1, sizeof *o);
    o->kind = kind;
    d->objs[d->n++] = o;
    return o;
}

static void push(struct vm *vm, struct kurc_pickle *o) {
    if (vm->sp == vm->stack_cap) {
        vm->stack_cap = vm->stack_cap ? 2 * vm->stack_cap : 64;
        vm->stack = kurc_xrealloc(vm->stack, vm->stack_cap * sizeof *vm->stack);
    }
    vm->stack[vm->sp++] = o;
}

/* The lowest stack height the current opcode may pop to: the last MARK. */
static size_t floor_of(const struct vm *vm) {
    return vm->nmarks ? vm->marks[vm->nmarks - 1] : 0;
}

static enum kurc_status pop(struct vm *vm, struct kurc_pickle **o) {
    if (vm->sp <= floor_of(vm))
        return fail(vm, "the stack is empty");
    *o = vm->stack[--vm->sp];
    return KURC_OK;
}

/* The top of the stack, which must be of the given kind. */
static enum kurc_status top_of_kind(struct vm *vm, enum kurc_pickle_kind kind,
                                    struct kurc_pickle **o) {
    if (vm->sp <= floor_of(vm))
        return fail(vm, "the stack is empty");
    *o = vm->stack[vm->sp - 1];
    if ((*o)->kind != kind)
        return fail(vm, "expected a %s on the stack, found a %s", kurc_pickle_kind_name(kind),
                    kurc_pickle_kind_name((*o)->kind));
    return KURC_OK;
}

/* Ends the innermost MARK: *start is the stack height where it was set (the
 * objects above it are stack[*start .. sp)). */
static enum kurc_status pop_mark(struct vm *vm, size_t *start) {
    if (!vm->nmarks)
        return fail(vm, "there is no MARK");
    *start = vm->marks[--vm->nmarks];
    return KURC_OK;
}

/* The next n argument bytes of the current opcode. */
static enum kurc_status take(struct vm *vm, size_t n, const unsigned char **p) {
    if (vm->len - vm->pos < n)
        return kurc_err_set(vm->err, KURC_E_DATA, NULL,
                            "%s: truncated pickle: %s at offset %zu needs %zu bytes, only %zu left",
                            vm->name, opcode_names[vm->op], vm->op_at, n, vm->len - vm->pos);
    *p = vm->buf + vm->pos;
    vm->pos += n;
    return KURC_OK;
}

static uint64_t le_uint(const unsigned char *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* Reads an n-byte little-endian length and then that many bytes as a new
 * BYTES or STR object. */
static enum kurc_status push_string(struct vm *vm, size_t len_bytes, enum kurc_pickle_kind kind) {
    const unsigned char *p = NULL;
    enum kurc_status st = take(vm, len_bytes, &p);
    if (st)
        return st;
    uint64_t n = le_uint(p, len_bytes);
    if (vm->op == 'T' && n > INT32_MAX)
        return fail(vm, "negative length %d", (int)(int32_t)(uint32_t)n);
    if ((st = take(vm, (size_t)n, &p)))
        return st;
    struct kurc_pickle *o = new_obj(vm, kind);
    if (vm->scan && n > KURC_PICKLE_SCAN_SKIP) {
        size_t chars = 0; /* a str's characters: the bytes that start one */
        for (size_t i = 0; kind == KURC_PICKLE_STR && i < n; i++)
            chars += (p[i] & 0xC0) != 0x80;
        o->u.bytes.s = kurc_xstrdup("");
        o->u.bytes.len = kind == KURC_PICKLE_STR ? chars : (size_t)n;
        o->u.bytes.skipped = true;
    } else {
        o->u.bytes.s = kurc_xstrndup((const char *)p, (size_t)n);
        o->u.bytes.len = (size_t)n;
    }
    push(vm, o);
    return KURC_OK;
}

static void push_int(struct vm *vm, int64_t v) {
    struct kurc_pickle *o = new_obj(vm, KURC_PICKLE_INT);
    o->u.i = v;
    push(vm, o);
}

static void seq_append(struct kurc_pickle *seq, struct kurc_pickle *item) {
    if (seq->u.seq.len == seq->u.seq.cap) {
        seq->u.seq.cap = seq->u.seq.cap ? 2 * seq->u.seq.cap : 8;
        seq->u.seq.items = kurc_xrealloc(seq->u.seq.items, seq->u.seq.cap * sizeof(void *));
    }
    seq->u.seq.items[seq->u.seq.len++] = item;
}

/* Appends a pair.  A repeated key is appended again (no search, so large
 * dicts stay linear); kurc_pickle_dict_get finds the last one, which is the
 * value Python would keep. */
static void dict_set(struct kurc_pickle *dict, struct kurc_pickle *key, struct kurc_pickle *val) {
    if (dict->u.dict.len == dict->u.dict.cap) {
        dict->u.dict.cap = dict->u.dict.cap ? 2 * dict->u.dict.cap : 8;
        dict->u.dict.keys = kurc_xrealloc(dict->u.dict.keys, dict->u.dict.cap * sizeof(void *));
        dict->u.dict.vals = kurc_xrealloc(dict->u.dict.vals, dict->u.dict.cap * sizeof(void *));
    }
    dict->u.dict.keys[dict->u.dict.len] = key;
    dict->u.dict.vals[dict->u.dict.len++] = val;
}

/* Pops n objects into a new tuple. */
static enum kurc_status make_tuple(struct vm *vm, size_t n) {
    if (vm->sp - floor_of(vm) < n)
        return fail(vm, "needs %zu objects on the stack, found %zu", n, vm->sp - floor_of(vm));
    struct kurc_pickle *t = new_obj(vm, KURC_PICKLE_TUPLE);
    for (size_t i = vm->sp - n; i < vm->sp; i++)
        seq_append(t, vm->stack[i]);
    vm->sp -= n;
    push(vm, t);
    return KURC_OK;
}

/* Resolves a GLOBAL against the allowed list. */
static enum kurc_status push_global(struct vm *vm, const char *module, size_t mlen,
                                    const char *name, size_t nlen) {
    for (size_t i = 0; i < sizeof allowed_globals / sizeof allowed_globals[0]; i++)
        if (strlen(allowed_globals[i].module) == mlen &&
            memcmp(allowed_globals[i].module, module, mlen) == 0 &&
            strlen(allowed_globals[i].name) == nlen &&
            memcmp(allowed_globals[i].name, name, nlen) == 0) {
            struct kurc_pickle *o = new_obj(vm, KURC_PICKLE_GLOBAL);
            o->u.global = allowed_globals[i].global;
            push(vm, o);
            return KURC_OK;
        }
    return kurc_err_set(vm->err, KURC_E_DATA, NULL,
                        "%s: pickle opcode %s at offset %zu imports %.*s.%.*s, which is not "
                        "allowed (kurc reads only numpy arrays, numbers, strings, lists and "
                        "dicts from pickles)",
                        vm->name, opcode_names[vm->op], vm->op_at, (int)mlen, module, (int)nlen,
                        name);
}

/* GLOBAL: "module\nname\n" in the stream. */
static enum kurc_status op_global(struct vm *vm) {
    const char *parts[2];
    size_t lens[2];
    for (int k = 0; k < 2; k++) {
        const unsigned char *start = vm->buf + vm->pos;
        const unsigned char *nl = memchr(start, '\n', vm->len - vm->pos);
        if (!nl)
            return kurc_err_set(vm->err, KURC_E_DATA, NULL,
                                "%s: truncated pickle: GLOBAL at offset %zu has no end of line",
                                vm->name, vm->op_at);
        parts[k] = (const char *)start;
        lens[k] = (size_t)(nl - start);
        vm->pos += lens[k] + 1;
    }
    return push_global(vm, parts[0], lens[0], parts[1], lens[1]);
}

/* STACK_GLOBAL: module and name are the two str objects on the stack. */
static enum kurc_status op_stack_global(struct vm *vm) {
    struct kurc_pickle *module = NULL, *name = NULL;
    enum kurc_status st;
    if ((st = pop(vm, &name)) || (st = pop(vm, &module)))
        return st;
    if (module->kind != KURC_PICKLE_STR || name->kind != KURC_PICKLE_STR)
        return fail(vm, "module and name must be str, not %s and %s",
                    kurc_pickle_kind_name(module->kind), kurc_pickle_kind_name(name->kind));
    return push_global(vm, module->u.bytes.s, module->u.bytes.len, name->u.bytes.s,
                       name->u.bytes.len);
}

/* Parses a numpy dtype descr ("u1", "<f4", "|b1") into dt. */
static bool parse_descr(const char *s, struct kurc_pickle_dtype *dt) {
    dt->big_endian = false;
    if (*s && strchr("<>|=", *s))
        dt->big_endian = *s++ == '>';
    if (!*s || !strchr("uifb", *s))
        return false;
    dt->kind = *s++;
    char *end;
    long size = strtol(s, &end, 10);
    if (*end || end == s)
        return false;
    dt->itemsize = (int)size;
    if (dt->kind == 'b')
        return size == 1;
    if (dt->kind == 'f')
        return size == 4 || size == 8;
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Latin-1 bytes from UTF-8 text whose code points are all below 256. */
static enum kurc_status latin1_encode(struct vm *vm, const struct kurc_pickle *text,
                                      struct kurc_pickle *out) {
    if (text->u.bytes.skipped) { /* its characters are the bytes */
        out->u.bytes = text->u.bytes;
        out->u.bytes.s = kurc_xstrdup("");
        return KURC_OK;
    }
    const char *s = text->u.bytes.s;
    size_t n = text->u.bytes.len, j = 0;
    char *b = kurc_xmalloc(n + 1);
    for (size_t i = 0; i < n; j++) {
        uint32_t cp;
        size_t k = kurc_utf8_decode_strict(s + i, n - i, &cp);
        if (cp > 0xFF) { /* KURC_UTF8_BAD too */
            free(b);
            return fail(vm, "codecs.encode: text at byte %zu is not latin1 in UTF-8", i);
        }
        b[j] = (char)cp;
        i += k;
    }
    b[j] = '\0';
    out->u.bytes.s = b;
    out->u.bytes.len = j;
    return KURC_OK;
}

static bool is_text(const struct kurc_pickle *o) {
    return o->kind == KURC_PICKLE_STR || o->kind == KURC_PICKLE_BYTES;
}

static bool text_is(const struct kurc_pickle *o, const char *s) {
    return is_text(o) && o->u.bytes.len == strlen(s) && memcmp(o->u.bytes.s, s, o->u.bytes.len) == 0;
}

/* REDUCE: calls one of the allowed globals on an argument tuple. */
static enum kurc_status op_reduce(struct vm *vm) {
    struct kurc_pickle *args = NULL, *fn = NULL;
    enum kurc_status st;
    if ((st = pop(vm, &args)) || (st = pop(vm, &fn)))
        return st;
    if (fn->kind != KURC_PICKLE_GLOBAL)
        return fail(vm, "cannot call a %s", kurc_pickle_kind_name(fn->kind));
    if (args->kind != KURC_PICKLE_TUPLE)
        return fail(vm, "arguments must be a tuple, not a %s", kurc_pickle_kind_name(args->kind));
    size_t argc = args->u.seq.len;
    struct kurc_pickle **argv = args->u.seq.items;
    struct kurc_pickle *out;
    switch (fn->u.global) {
    case G_RECONSTRUCT:
        if (argc != 3 || argv[0]->kind != KURC_PICKLE_GLOBAL || argv[0]->u.global != G_NDARRAY)
            return fail(vm, "_reconstruct takes (numpy.ndarray, shape, typecode)");
        out = new_obj(vm, KURC_PICKLE_ARRAY);
        break;
    case G_DTYPE:
        out = new_obj(vm, KURC_PICKLE_DTYPE);
        if (argc < 1 || argc > 3 || !is_text(argv[0]) ||
            !parse_descr(argv[0]->u.bytes.s, &out->u.dtype))
            return fail(vm, "numpy.dtype(%s) is not a supported numeric dtype",
                        argc >= 1 && is_text(argv[0]) ? argv[0]->u.bytes.s : "...");
        break;
    case G_ENCODE:
        if (argc != 2 || argv[0]->kind != KURC_PICKLE_STR ||
            !(text_is(argv[1], "latin1") || text_is(argv[1], "latin-1")))
            return fail(vm, "codecs.encode takes (str, 'latin1')");
        out = new_obj(vm, KURC_PICKLE_BYTES);
        if ((st = latin1_encode(vm, argv[0], out)))
            return st;
        break;
    case G_BYTES:
        if (argc != 0)
            return fail(vm, "bytes() takes no arguments here");
        out = new_obj(vm, KURC_PICKLE_BYTES);
        out->u.bytes.s = kurc_xstrdup("");
        break;
    default: /* G_NDARRAY */
        return fail(vm, "numpy.ndarray cannot be called directly");
    }
    push(vm, out);
    return KURC_OK;
}

/* Stores the column-major (Fortran-ordered) bytes `from` of an array in C
 * order: numpy pickles a transposed array (x.T, as Kur's tutorial data)
 * that way. */
static void fortran_to_c(struct kurc_pickle *arr, const unsigned char *from) {
    int ndim = arr->u.array.ndim;
    size_t item = (size_t)arr->u.array.dtype.itemsize, n = arr->u.array.nbytes / item;
    int64_t index[KURC_PICKLE_MAX_DIMS] = {0};
    for (size_t c = 0; c < n; c++) {
        /* index is the C-order position c; its Fortran offset: */
        size_t f = 0, stride = 1;
        for (int k = 0; k < ndim; k++) {
            f += (size_t)index[k] * stride;
            stride *= (size_t)arr->u.array.dim[k];
        }
        memcpy(arr->u.array.data + c * item, from + f * item, item);
        for (int k = ndim - 1; k >= 0 && ++index[k] == arr->u.array.dim[k]; k--)
            index[k] = 0;
    }
}

/* BUILD on a numpy array: state is ([version,] shape, dtype, is_fortran,
 * data), data the raw bytes. */
static enum kurc_status build_array(struct vm *vm, struct kurc_pickle *arr,
                                    const struct kurc_pickle *state) {
    if (arr->u.array.built)
        return fail(vm, "the numpy array is already built");
    size_t n = state->kind == KURC_PICKLE_TUPLE ? state->u.seq.len : 0;
    if (n != 4 && n != 5)
        return fail(vm, "numpy array state must be a tuple of 4 or 5 items");
    struct kurc_pickle *const *s = state->u.seq.items + (n - 4);
    const struct kurc_pickle *shape = s[0], *dtype = s[1], *fortran = s[2], *data = s[3];
    if (shape->kind != KURC_PICKLE_TUPLE || shape->u.seq.len > KURC_PICKLE_MAX_DIMS)
        return fail(vm, "numpy array shape must be a tuple of at most %d ints",
                    KURC_PICKLE_MAX_DIMS);
    if (dtype->kind != KURC_PICKLE_DTYPE)
        return fail(vm, "numpy array dtype is a %s", kurc_pickle_kind_name(dtype->kind));
    if (data->kind == KURC_PICKLE_LIST)
        return fail(vm, "numpy arrays of Python objects are not supported");
    if (data->kind != KURC_PICKLE_BYTES)
        return fail(vm, "numpy array data is a %s, not bytes", kurc_pickle_kind_name(data->kind));
    uint64_t need = (uint64_t)dtype->u.dtype.itemsize;
    bool overflow = false;
    int ndim = (int)shape->u.seq.len;
    for (int i = 0; i < ndim; i++) {
        const struct kurc_pickle *d = shape->u.seq.items[i];
        if (d->kind != KURC_PICKLE_INT || d->u.i < 0)
            return fail(vm, "numpy array dimension %d is not a non-negative int", i);
        arr->u.array.dim[i] = d->u.i;
        overflow = overflow || __builtin_mul_overflow(need, (uint64_t)d->u.i, &need);
    }
    if (overflow || need != data->u.bytes.len) {
        char dims[160] = "(";
        for (int i = 0; i < ndim; i++)
            snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s%lld", i ? ", " : "",
                     (long long)arr->u.array.dim[i]);
        snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%s)", ndim == 1 ? "," : "");
        return fail(vm, "numpy array data has %zu bytes, but shape %s of %c%d needs %s%llu",
                    data->u.bytes.len, dims, dtype->u.dtype.kind, dtype->u.dtype.itemsize,
                    overflow ? "more than " : "", (unsigned long long)need);
    }
    bool is_fortran = (fortran->kind == KURC_PICKLE_BOOL && fortran->u.b) ||
                      (fortran->kind == KURC_PICKLE_INT && fortran->u.i);
    arr->u.array.dtype = dtype->u.dtype;
    arr->u.array.ndim = ndim;
    arr->u.array.nbytes = data->u.bytes.len;
    arr->u.array.built = true;
    if (data->u.bytes.skipped)
        return KURC_OK;
    arr->u.array.data = kurc_xmalloc(data->u.bytes.len ? data->u.bytes.len : 1);
    if (is_fortran && ndim > 1)
        fortran_to_c(arr, (const unsigned char *)data->u.bytes.s);
    else
        memcpy(arr->u.array.data, data->u.bytes.s, data->u.bytes.len);
    return KURC_OK;
}

/* BUILD: sets the state of the array or dtype below the state on the
 * stack.  A dtype's state is (version, byteorder, ...). */
static enum kurc_status op_build(struct vm *vm) {
    struct kurc_pickle *state = NULL, *obj = NULL;
    enum kurc_status st;
    if ((st = pop(vm, &state)) || (st = pop(vm, &obj)))
        return st;
    if (obj->kind == KURC_PICKLE_ARRAY) {
        if ((st = build_array(vm, obj, state)))
            return st;
    } else if (obj->kind == KURC_PICKLE_DTYPE) {
        if (state->kind != KURC_PICKLE_TUPLE || state->u.seq.len < 2 ||
            !is_text(state->u.seq.items[1]) || state->u.seq.items[1]->u.bytes.len != 1 ||
            !strchr("<>|=", state->u.seq.items[1]->u.bytes.s[0]))
            return fail(vm, "numpy dtype state must be (version, byteorder, ...)");
        obj->u.dtype.big_endian = state->u.seq.items[1]->u.bytes.s[0] == '>';
    } else {
        return fail(vm, "cannot set the state of a %s", kurc_pickle_kind_name(obj->kind));
    }
    push(vm, obj);
    return KURC_OK;
}

/* PUT-like opcodes: memo[index] = top of the stack. */
static enum kurc_status memo_put(struct vm *vm, uint64_t index) {
    if (vm->sp == 0)
        return fail(vm, "the stack is empty");
    if (index >= vm->memo_cap) {
        /* A pickler numbers its memo entries from 0 (or 1) upwards, so a
         * legitimate index is below the number of bytes in the file. */
        if (index >= vm->len)
            return fail(vm, "memo index %llu is out of range", (unsigned long long)index);
        size_t cap = vm->memo_cap ? vm->memo_cap : 64;
        while (cap <= index)
            cap *= 2;
        vm->memo = kurc_xrealloc(vm->memo, cap * sizeof *vm->memo);
        memset(vm->memo + vm->memo_cap, 0, (cap - vm->memo_cap) * sizeof *vm->memo);
        vm->memo_cap = cap;
    }
    if (!vm->memo[index])
        vm->memo_count++;
    vm->memo[index] = vm->stack[vm->sp - 1];
    return KURC_OK;
}

static enum kurc_status memo_get(struct vm *vm, uint64_t index) {
    if (index >= vm->memo_cap || !vm->memo[index])
        return fail(vm, "memo entry %llu was never set", (unsigned long long)index);
    push(vm, vm->memo[index]);
    return KURC_OK;
}

/* APPENDS and SETITEMS: moves the objects above the MARK at start into the
 * list or dict just below it (dict items come as key, value pairs). */
static enum kurc_status add_items(struct vm *vm, size_t start, enum kurc_pickle_kind kind) {
    if (start == 0 || start - 1 < floor_of(vm))
        return fail(vm, "there is no %s below the MARK", kurc_pickle_kind_name(kind));
    struct kurc_pickle *target = vm->stack[start - 1];
    if (target->kind != kind)
        return fail(vm, "expected a %s below the MARK, found a %s", kurc_pickle_kind_name(kind),
                    kurc_pickle_kind_name(target->kind));
    if (kind == KURC_PICKLE_LIST) {
        for (size_t i = start; i < vm->sp; i++)
            seq_append(target, vm->stack[i]);
    } else {
        if ((vm->sp - start) % 2)
            return fail(vm, "an odd number (%zu) of keys and values", vm->sp - start);
        for (size_t i = start; i < vm->sp; i += 2)
            dict_set(target, vm->stack[i], vm->stack[i + 1]);
    }
    vm->sp = start;
    return KURC_OK;
}

/* Runs one opcode (vm->op, already consumed); *stop is set by STOP. */
static enum kurc_status step(struct vm *vm, bool *stop) {
    const unsigned char *p = NULL;
    struct kurc_pickle *a = NULL, *b = NULL, *c = NULL;
    size_t start = 0;
    enum kurc_status st = KURC_OK;
    switch (vm->op) {
    case 0x80: /* PROTO */
        if ((st = take(vm, 1, &p)))
            return st;
        if (p[0] > 4)
            return fail(vm, "pickle protocol %d is not supported (2 to 4 are)", p[0]);
        return KURC_OK;
    case 0x95: /* FRAME: an 8-byte frame length, only a read-ahead hint */
        return take(vm, 8, &p);
    case '.':
        if ((st = pop(vm, &a)))
            return st;
        vm->doc->root = a;
        *stop = true;
        return KURC_OK;
    case '(':
        if (vm->nmarks == vm->marks_cap) {
            vm->marks_cap = vm->marks_cap ? 2 * vm->marks_cap : 16;
            vm->marks = kurc_xrealloc(vm->marks, vm->marks_cap * sizeof *vm->marks);
        }
        vm->marks[vm->nmarks++] = vm->sp;
        return KURC_OK;
    case '}':
        push(vm, new_obj(vm, KURC_PICKLE_DICT));
        return KURC_OK;
    case ']':
        push(vm, new_obj(vm, KURC_PICKLE_LIST));
        return KURC_OK;
    case ')':
        return make_tuple(vm, 0);
    case 0x85:
    case 0x86:
    case 0x87:
        return make_tuple(vm, (size_t)(vm->op - 0x84));
    case 't':
        if ((st = pop_mark(vm, &start)))
            return st;
        return make_tuple(vm, vm->sp - start);
    case 'N':
        push(vm, new_obj(vm, KURC_PICKLE_NONE));
        return KURC_OK;
    case 0x88:
    case 0x89:
        a = new_obj(vm, KURC_PICKLE_BOOL);
        a->u.b = vm->op == 0x88;
        push(vm, a);
        return KURC_OK;
    case 'J':
        if ((st = take(vm, 4, &p)))
            return st;
        push_int(vm, (int32_t)(uint32_t)le_uint(p, 4));
        return KURC_OK;
    case 'K':
        if ((st = take(vm, 1, &p)))
            return st;
        push_int(vm, p[0]);
        return KURC_OK;
    case 'M':
        if ((st = take(vm, 2, &p)))
            return st;
        push_int(vm, (int64_t)le_uint(p, 2));
        return KURC_OK;
    case 'G': { /* BINFLOAT: an IEEE 754 double, big-endian */
        if ((st = take(vm, 8, &p)))
            return st;
        uint64_t bits = 0;
        for (int i = 0; i < 8; i++)
            bits = bits << 8 | p[i];
        a = new_obj(vm, KURC_PICKLE_FLOAT);
        memcpy(&a->u.f, &bits, sizeof a->u.f);
        push(vm, a);
        return KURC_OK;
    }
    case 0x8a: { /* LONG1: n bytes of little-endian two's complement */
        if ((st = take(vm, 1, &p)))
            return st;
        size_t n = p[0];
        if (n > 8)
            return fail(vm, "integer of %zu bytes does not fit in 64 bits", n);
        if ((st = take(vm, n, &p)))
            return st;
        uint64_t v = le_uint(p, n);
        if (n > 0 && n < 8 && (p[n - 1] & 0x80))
            v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
        push_int(vm, (int64_t)v);
        return KURC_OK;
    }
    case 'U':
        return push_string(vm, 1, KURC_PICKLE_BYTES);
    case 'T':
    case 'B':
        return push_string(vm, 4, KURC_PICKLE_BYTES);
    case 'C':
        return push_string(vm, 1, KURC_PICKLE_BYTES);
    case 'X':
        return push_string(vm, 4, KURC_PICKLE_STR);
    case 0x8c:
        return push_string(vm, 1, KURC_PICKLE_STR);
    case 'a':
        if ((st = pop(vm, &a)) || (st = top_of_kind(vm, KURC_PICKLE_LIST, &b)))
            return st;
        seq_append(b, a);
        return KURC_OK;
    case 'e':
        if ((st = pop_mark(vm, &start)))
            return st;
        return add_items(vm, start, KURC_PICKLE_LIST);
    case 'u':
        if ((st = pop_mark(vm, &start)))
            return st;
        return add_items(vm, start, KURC_PICKLE_DICT);
    case 's':
        if ((st = pop(vm, &a)) || (st = pop(vm, &c)) ||
            (st = top_of_kind(vm, KURC_PICKLE_DICT, &b)))
            return st;
        dict_set(b, c, a);
        return KURC_OK;
    case 'c':
        return op_global(vm);
    case 0x93:
        return op_stack_global(vm);
    case 'R':
        return op_reduce(vm);
    case 'b':
        return op_build(vm);
    case 'q':
        if ((st = take(vm, 1, &p)))
            return st;
        return memo_put(vm, p[0]);
    case 'r':
        if ((st = take(vm, 4, &p)))
            return st;
        return memo_put(vm, le_uint(p, 4));
    case 0x94:
        return memo_put(vm, vm->memo_count);
    case 'h':
        if ((st = take(vm, 1, &p)))
            return st;
        return memo_get(vm, p[0]);
    case 'j':
        if ((st = take(vm, 4, &p)))
            return st;
        return memo_get(vm, le_uint(p, 4));
    default:
        break;
    }
    if (opcode_names[vm->op])
        return kurc_err_set(vm->err, KURC_E_DATA, NULL,
                            "%s: pickle opcode %s (0x%02X) at offset %zu is not allowed (kurc "
                            "reads only numpy arrays, numbers, strings, lists and dicts from "
                            "pickles)",
                            vm->name, opcode_names[vm->op], vm->op, vm->op_at);
    return kurc_err_set(vm->err, KURC_E_DATA, NULL,
                        "%s: not a pickle: unknown opcode 0x%02X at offset %zu", vm->name, vm->op,
                        vm->op_at);
}

/* kurc_pickle_load and kurc_pickle_scan. */
static enum kurc_status run(const unsigned char *buf, size_t len, const char *name, bool scan,
                            struct kurc_pickle_doc **doc, struct kurc_err *err) {
    struct vm vm = {.buf = buf, .len = len, .name = name, .err = err, .scan = scan};
    vm.doc = kurc_xcalloc(1, sizeof *vm.doc);
    bool stop = false;
    enum kurc_status st = KURC_OK;
    while (st == KURC_OK && !stop) {
        if (vm.pos >= len) {
            st = kurc_err_set(err, KURC_E_DATA, NULL,
                              "%s: truncated pickle: no STOP opcode in its %zu bytes", name, len);
            break;
        }
        vm.op_at = vm.pos;
        vm.op = buf[vm.pos++];
        st = step(&vm, &stop);
    }
    free(vm.stack);
    free(vm.marks);
    free(vm.memo);
    if (st != KURC_OK) {
        kurc_pickle_doc_free(vm.doc);
        *doc = NULL;
        return st;
    }
    *doc = vm.doc;
    return KURC_OK;
}

enum kurc_status kurc_pickle_load(const unsigned char *buf, size_t len, const char *name,
                                  struct kurc_pickle_doc **doc, struct kurc_err *err) {
    return run(buf, len, name, false, doc, err);
}

enum kurc_status kurc_pickle_scan(const unsigned char *buf, size_t len, const char *name,
                                  struct kurc_pickle_doc **doc, struct kurc_err *err) {
    return run(buf, len, name, true, doc, err);
}

const struct kurc_pickle *kurc_pickle_root(const struct kurc_pickle_doc *doc) {
    return doc->root;
}

void kurc_pickle_doc_free(struct kurc_pickle_doc *doc) {
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n; i++) {
        struct kurc_pickle *o = doc->objs[i];
        switch (o->kind) {
        case KURC_PICKLE_BYTES:
        case KURC_PICKLE_STR:
            free(o->u.bytes.s);
            break;
        case KURC_PICKLE_LIST:
        case KURC_PICKLE_TUPLE:
            free(o->u.seq.items);
            break;
        case KURC_PICKLE_DICT:
            free(o->u.dict.keys);
            free(o->u.dict.vals);
            break;
        case KURC_PICKLE_ARRAY:
            free(o->u.array.data);
            break;
        default:
            break;
        }
        free(o);
    }
    free(doc->objs);
    free(doc);
}

const struct kurc_pickle *kurc_pickle_dict_get(const struct kurc_pickle *dict, const char *key) {
    if (!dict || dict->kind != KURC_PICKLE_DICT)
        return NULL;
    for (size_t i = dict->u.dict.len; i-- > 0;)
        if (text_is(dict->u.dict.keys[i], key))
            return dict->u.dict.vals[i];
    return NULL;
}
