/* template_int.h - internals shared by the template_*.c files.
 *
 * The renderer is split by stage: template_lex.c turns the source into
 * tokens, template_parse.c builds the syntax tree, template_eval.c runs it.
 * template_ops.c holds Python's operators, template_format.c the printf-style
 * '%' operator, template_filters.c, template_tests.c and template_calls.c the
 * filters, tests, globals and methods, and template_text.c Python's string
 * and number spellings.  Functions that can fail return 0 or -1; on -1 the
 * reason is in the struct tmpl_diag they were given.
 */
#ifndef KURC_TEMPLATE_INT_H
#define KURC_TEMPLATE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "base/utf8.h"
#include "config/template/template.h"
#include "config/value/value.h"

#define TMPL_MAX_DEPTH 200       /* nesting of tags and expressions */
#define TMPL_MAX_SIZE 1000000    /* elements of one list, bytes of one string */
#define TMPL_MAX_STEPS 10000000u /* loop iterations in one render */

/* ---- diagnostics ------------------------------------------------------ */

struct tmpl_diag {
    int line; /* line of the template, 0 if unknown */
    char msg[1024];
};

/* Records a message and returns -1. */
int tmpl_fail(struct tmpl_diag *d, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- arena: everything the parser builds, freed at once ----------------- */

struct tmpl_arena {
    struct tmpl_block *head;
};

void *tmpl_alloc(struct tmpl_arena *a, size_t size); /* zeroed */
char *tmpl_strndup(struct tmpl_arena *a, const char *s, size_t n);
void tmpl_arena_free(struct tmpl_arena *a);

/* ---- tokens (template_lex.c) ------------------------------------------- */

enum tok_type {
    T_EOF,
    T_DATA,
    T_VAR_BEGIN,
    T_VAR_END,
    T_BLOCK_BEGIN,
    T_BLOCK_END,
    T_NAME,
    T_STRING,
    T_INT,
    T_FLOAT,
    /* operators */
    T_ADD,
    T_SUB,
    T_DIV,
    T_FLOORDIV,
    T_MUL,
    T_MOD,
    T_POW,
    T_TILDE,
    T_LBRACKET,
    T_RBRACKET,
    T_LPAREN,
    T_RPAREN,
    T_LBRACE,
    T_RBRACE,
    T_EQ,
    T_NE,
    T_GT,
    T_GTEQ,
    T_LT,
    T_LTEQ,
    T_ASSIGN,
    T_DOT,
    T_COLON,
    T_PIPE,
    T_COMMA,
    T_SEMICOLON,
};

struct tok {
    enum tok_type type;
    int line;
    size_t start, end; /* span in the source */
    const char *str;   /* T_NAME, T_DATA, T_STRING (decoded); in the arena */
    size_t len;
    int64_t i; /* T_INT */
    double f;  /* T_FLOAT */
};

struct lexer {
    const char *src;
    size_t len;
    size_t pos;
    int line;
    int state; /* inside {{ }} or {% %}, or in plain text */
    char balance[TMPL_MAX_DEPTH + 1];
    int nbalance;
    struct tok queue[2]; /* tokens found ahead (text before a tag) */
    int nqueue;
    struct tmpl_arena *arena;
    struct tmpl_diag *diag;
};

void tmpl_lex_init(struct lexer *lx, const char *src, size_t len, struct tmpl_arena *arena,
                   struct tmpl_diag *diag);
int tmpl_lex_next(struct lexer *lx, struct tok *out);
/* Jinja's description of a token: a name's own text, an operator's
 * spelling, or words such as "end of print statement". */
const char *tmpl_tok_describe(const struct tok *t);
const char *tmpl_tok_type_describe(enum tok_type type);

/* ---- syntax tree (template_parse.c) ------------------------------------ */

enum nkind {
    /* expressions */
    N_CONST,
    N_NAME,
    N_ATTR,
    N_ITEM,
    N_SLICE, /* a, b, c: start, stop, step (each may be NULL) */
    N_LIST,
    N_TUPLE,
    N_DICT, /* items: key, value, key, value, ... */
    N_NEG,
    N_POS,
    N_NOT,
    N_BINOP, /* op: T_ADD, T_SUB, T_MUL, T_DIV, T_FLOORDIV, T_MOD, T_POW */
    N_AND,
    N_OR,
    N_CONCAT,
    N_COMPARE, /* a, then items[i] compared by ops[i] */
    N_COND,    /* a if b else c */
    N_FILTER,  /* a|name(args); a is NULL in filter blocks */
    N_TEST,    /* a is name(args) */
    N_CALL,    /* a(args) */
    /* statements */
    N_DATA,
    N_OUTPUT,
    N_IF,  /* if a: body, else orelse */
    N_FOR, /* for a in b [if c]: body, else orelse */
    N_SET, /* a = b */
    N_SETBLOCK,
    N_WITH, /* items = kwvals, body */
    N_FILTERBLOCK,
};

enum cmp_op { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_IN, CMP_NOTIN };

struct nlist {
    struct node **v;
    size_t n;
};

struct node {
    enum nkind kind;
    int op;
    int line;
    int height;        /* of the expression tree below, for the depth limit */
    size_t start, end; /* source span of an expression */
    const char *name;  /* names; N_DATA text */
    size_t namelen;
    struct kurc_value *val; /* N_CONST; owned by the template */
    struct node *a, *b, *c;
    struct nlist items;  /* operands, positional arguments, targets */
    struct nlist kwvals; /* keyword argument values; N_WITH values */
    const char **kwnames;
    struct node *dyn_args, *dyn_kwargs; /* *args, **kwargs */
    int *ops;                           /* N_COMPARE */
    struct nlist body, orelse;
};

struct tmpl {
    struct tmpl_arena arena;
    struct nlist body;
    struct kurc_value **consts;
    size_t nconsts, capconsts;
    const char *src; /* newline-normalised source */
    size_t len;
};

/* Parses src (already newline-normalised) into t. */
int tmpl_parse(struct tmpl *t, const char *src, size_t len, struct tmpl_diag *diag);
void tmpl_free(struct tmpl *t);

/* ---- runtime values ----------------------------------------------------- */

/* Python types that kurc tells apart.  Tuples, dict views and loop objects
 * are kurc_value lists or maps whose loc.file is one of the markers below;
 * such values live only inside a render. */
enum pytype {
    PT_NONE,
    PT_BOOL,
    PT_INT,
    PT_FLOAT,
    PT_STR,
    PT_LIST,
    PT_TUPLE,
    PT_DICT,
    PT_KEYS,
    PT_VALUES,
    PT_ITEMS,
    PT_LOOP,
};

extern const char tmpl_mark_loop[];

enum pytype tmpl_pytype(const struct kurc_value *v);
const char *tmpl_pytype_name(enum pytype t);
const char *tmpl_type_name(const struct kurc_value *v);
/* A new empty list of the given kind (PT_LIST, PT_TUPLE or a view). */
struct kurc_value *tmpl_new_seq(enum pytype t);
bool tmpl_is_number(const struct kurc_value *v); /* bool, int or float */
/* list, tuple or a dict view: the kinds whose items are u.list */
bool tmpl_is_seq(enum pytype t);
double tmpl_num(const struct kurc_value *v);

/* Builtin functions a name can stand for. */
enum tmpl_fn {
    FN_NONE,
    FN_RANGE,
    FN_DICT,
    FN_GPU_COUNT,
    FN_LOAD_JSON,
    FN_LOAD_YAML,
    FN_UNSUPPORTED, /* a stock Jinja global kurc lacks */
};

/* The result of an expression: a value (borrowed or owned), an undefined
 * value with the message to report if it is used, or a builtin function. */
struct tv {
    const struct kurc_value *v;
    struct kurc_value *own; /* when set, v == own and the tv frees it */
    char *undef;            /* when v is NULL and fn is FN_NONE */
    enum tmpl_fn fn;
    const char *fname; /* name of the function */
};

void tv_borrow(struct tv *t, const struct kurc_value *v);
void tv_own(struct tv *t, struct kurc_value *v);
void tv_undef(struct tv *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tv_free(struct tv *t);
void tv_move(struct tv *dst, struct tv *src);
/* An owned copy of the value (taken from t when t owns it); t is left
 * empty. */
struct kurc_value *tv_take(struct tv *t);
bool tv_is_undef(const struct tv *t);

/* ---- render state (template_eval.c) ------------------------------------- */

struct frame_var {
    const char *name; /* borrowed from the syntax tree */
    struct tv val;
};

struct frame {
    struct frame_var *vars; /* small, or allocated when it fills up */
    size_t n, cap;
    struct frame_var small[4];
    struct frame *up;
};

struct loaded_file {
    char *path;
    int is_yaml;
    struct kurc_value *val;
};

/* A running for loop: its loop object and what previtem and nextitem
 * read. */
struct loop_state {
    const struct kurc_value *obj;
    struct kurc_value **items;
    const size_t *order; /* indexes of the items iterated */
    size_t i, n;
    struct loop_state *up;
};

struct rt {
    const struct kurc_tmpl_env *env;
    struct tmpl_diag *diag;
    const struct tmpl *t;
    struct frame *top;
    struct loop_state *loops;
    struct loaded_file *files;
    size_t nfiles, capfiles;
    unsigned long steps;
};

/* Evaluated call arguments. */
struct targs {
    struct tv *pos;
    size_t npos;
    char **kwnames; /* owned copies */
    struct tv *kw;
    size_t nkw;
};

/* Runs a parsed template, appending its output to out. */
int tmpl_run(const struct tmpl *t, const struct kurc_tmpl_env *env, struct tmpl_diag *diag,
             struct kurc_strbuf *out);

/* Fails with the message of an undefined value, or with a note that a
 * function cannot be used as a value.  Returns 0 for a real value. */
int tmpl_need(struct rt *rt, int line, const struct tv *t);

/* Jinja's getattr (a.b) and getitem (a[b]): missing keys and bad indexes
 * give undefined values whose message names expr (source text of a). */
int tmpl_getattr(struct rt *rt, int line, struct tv *obj, const char *name, const char *expr,
                 struct tv *out);
/* Looks up a dotted path such as "a.b.0" (attribute= of sort, map, ...). */
int tmpl_getpath(struct rt *rt, int line, const struct kurc_value *item, const char *path,
                 struct tv *out);

/* The items of an iterable: a list's items, a string's characters, a
 * mapping's keys.  *owner receives a list to free afterwards (or NULL). */
int tmpl_iterate(struct rt *rt, int line, const struct kurc_value *v, struct kurc_value ***items,
                 size_t *n, struct kurc_value **owner);
/* Same, always as a new list (caller owns). */
int tmpl_to_list(struct rt *rt, int line, const struct kurc_value *v, struct kurc_value **out);

/* ---- operators (template_ops.c) ----------------------------------------- */

int tmpl_binop(struct rt *rt, int line, int op, const struct kurc_value *a,
               const struct kurc_value *b, struct tv *out);
int tmpl_neg(struct rt *rt, int line, const struct kurc_value *a, bool negate, struct tv *out);
/* Python ==, never fails. */
bool tmpl_equal(const struct kurc_value *a, const struct kurc_value *b);
/* Python <, <=, >, >= (op is a CMP_*); fails on incomparable kinds. */
int tmpl_order(struct rt *rt, int line, int op, const struct kurc_value *a,
               const struct kurc_value *b, bool *res);
/* Python `needle in hay`. */
int tmpl_contains(struct rt *rt, int line, const struct kurc_value *needle,
                  const struct kurc_value *hay, bool *res);
/* A stable sort by Python's <; keys[i] orders items[i]. */
int tmpl_sort(struct rt *rt, int line, struct kurc_value **items, struct kurc_value **keys,
              size_t n, bool reverse);
/* Checks a new string or list size against TMPL_MAX_SIZE. */
int tmpl_check_size(struct rt *rt, int line, size_t n);
/* int(), with Python's overflow check. */
int tmpl_int_of(struct rt *rt, int line, const struct kurc_value *v, const char *what,
                int64_t *out);

/* ---- printf-style formatting (template_format.c) ----------------------- */

/* Python's `fmt % args`. */
int tmpl_percent(struct rt *rt, int line, const struct kurc_value *fmt,
                 const struct kurc_value *args, struct tv *out);

/* ---- filters, tests, calls ---------------------------------------------- */

bool tmpl_filter_exists(const char *name);
/* Fails for a filter kurc lacks ("no filter named 'x'", or a note that a
 * stock Jinja filter is not supported). */
int tmpl_no_filter(struct tmpl_diag *diag, int line, const char *name);
bool tmpl_test_exists(const char *name);
int tmpl_filter(struct rt *rt, int line, const char *name, struct tv *val, struct targs *args,
                struct tv *out);
int tmpl_test(struct rt *rt, int line, const char *name, struct tv *val, struct targs *args,
              bool *res);
/* Matches args against a parameter list: slots[i] is the argument for
 * params[i], or NULL when absent.  Fails for unknown, repeated, missing
 * (the first nreq are required) or surplus arguments.  what names the
 * callee in messages. */
int tmpl_bind(struct rt *rt, int line, const char *what, const char *const *params, size_t nparams,
              size_t nreq, struct targs *args, struct tv **slots);
/* A bound argument that must be a real value (not undefined). */
int tmpl_arg(struct rt *rt, int line, struct tv *slot, const struct kurc_value **out);

enum tmpl_fn tmpl_global(const char *name);
int tmpl_call_fn(struct rt *rt, int line, const struct tv *fn, struct targs *args, struct tv *out);
/* obj.name(args), for the methods kurc supports.  Returns 1 when obj has
 * no method of that name (the caller then tries an attribute). */
int tmpl_call_method(struct rt *rt, int line, const struct kurc_value *obj, const char *name,
                     struct targs *args, struct tv *out);

/* ---- Python text and numbers (template_text.c) ------------------------ */

/* Strings are counted and indexed by code point as kurc_utf8_next
 * (base/utf8.h) reads them: a byte that is not valid UTF-8 is one. */
/* Byte offsets of each code point, plus len at the end (n + 1 entries). */
size_t *tmpl_u8_offsets(const char *s, size_t len, size_t *n);
bool tmpl_py_space(uint32_t cp);
/* Bytes left after dropping trailing / leading Python whitespace. */
size_t tmpl_rstrip(const char *s, size_t len);
size_t tmpl_lstrip(const char *s, size_t len);

/* Where needle first occurs in hay (memmem), or NULL. */
const char *tmpl_find(const char *hay, size_t hn, const char *needle, size_t nn);

/* Python's str.strip(chars): the bounds [*b, *e) left after stripping
 * the code points in chars (whitespace when chars is NULL) from the chosen
 * ends. */
void tmpl_strip(const char *s, size_t len, const char *chars, size_t nchars, bool left, bool right,
                size_t *b, size_t *e);
/* Python's str.replace(old, new, count) (count < 0: all). */
void tmpl_replace(const char *s, size_t len, const char *old, size_t oldlen, const char *new_,
                  size_t newlen, int64_t count, struct kurc_strbuf *sb);

enum tmpl_case { CASE_UPPER, CASE_LOWER, CASE_CAPITALIZE, CASE_TITLE };
void tmpl_case(const char *s, size_t len, enum tmpl_case mode, struct kurc_strbuf *sb);

/* Python float(str) and int(str, base): 0, -1 when invalid, -2 when the
 * integer does not fit 64 bits. */
int tmpl_parse_float(const char *s, size_t len, double *out);
int tmpl_parse_int(const char *s, size_t len, int base, int64_t *out);

/* str() and repr(), aware of tuples, dict views and loop objects. */
void tmpl_str(const struct kurc_value *v, struct kurc_strbuf *sb);
void tmpl_repr(const struct kurc_value *v, struct kurc_strbuf *sb);
/* The str() of a value as a new string value. */
struct kurc_value *tmpl_str_value(const struct kurc_value *v);

/* json.dumps(v, sort_keys=True[, indent]) with Jinja's HTML escapes;
 * indent NULL for none.  Fails (with the message in err) on loop objects
 * and dict views. */
int tmpl_json(const struct kurc_value *v, const char *indent, struct kurc_strbuf *sb,
              const char **err_type);

#endif
