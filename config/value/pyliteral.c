/* pyliteral.c - Python 3.11's ast.literal_eval (see pyliteral.h).
 *
 * Two parts: a lexer that follows CPython's tokenizer for the tokens a
 * literal can hold (numbers, strings, True/False/None, brackets, commas,
 * colons and signs) together with its line rules, and a recursive-descent
 * parser for the literal grammar.  Any other token (a name, an operator, a
 * dot) can only produce something literal_eval rejects, so the lexer fails
 * as soon as it meets one.
 */
#include "config/value/pyliteral.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/utf8.h"
#include "base/xalloc.h"
#include "config/value/json_dump.h"

#define MAX_DEPTH 100

enum tok_kind { TOK_END, TOK_NEWLINE, TOK_NUMBER, TOK_STRING, TOK_CONST, TOK_OP };

/* A number token before any sign applies: an int keeps its magnitude, so
 * that -9223372036854775808 fits although 9223372036854775808 does not. */
struct num {
    bool is_float;
    bool too_big; /* an int whose magnitude exceeds uint64 */
    uint64_t mag;
    double f;
};

struct token {
    enum tok_kind kind;
    char op;                /* TOK_OP: one of ()[]{},:+- */
    struct num num;         /* TOK_NUMBER */
    struct kurc_strbuf str; /* TOK_STRING: the decoded UTF-8 value */
    enum kurc_kind cnst;    /* TOK_CONST: KURC_NULL or KURC_BOOL */
    bool bval;              /* TOK_CONST of KURC_BOOL */
};

struct lexer {
    const char *s; /* the source with \r\n and \r turned into \n */
    size_t len;
    size_t pos;
    int level;  /* open brackets */
    bool atbol; /* at the beginning of a physical line */
    bool blank; /* the current line holds only whitespace and a comment */
};

static int peekc(const struct lexer *lx) {
    return lx->pos < lx->len ? (unsigned char)lx->s[lx->pos] : -1;
}

static int peekc_at(const struct lexer *lx, size_t ahead) {
    return lx->pos + ahead < lx->len ? (unsigned char)lx->s[lx->pos + ahead] : -1;
}

static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

/* Bytes that continue a Python name; non-ASCII bytes count, since Python
 * names may be any Unicode identifier. */
static bool is_name_char(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80 || is_digit(c);
}

/* The value of c as a digit of any base up to 16, or 16 when it is none. */
static int digit_value(int c) {
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 16;
}

/* An explicit line join: the backslash at pos must be followed by a newline,
 * and something must follow that newline. */
static bool continuation(struct lexer *lx) {
    if (peekc_at(lx, 1) != '\n')
        return false;
    lx->pos += 2;
    return lx->pos < lx->len;
}

/* CPython's indentation pass at the start of a physical line.  Eval input
 * is one logical line, so any indentation of a line with code outside
 * brackets is an error ("unexpected indent"); a form feed resets the column,
 * and a backslash join takes the column where the first one stood.  Lines
 * with only whitespace and a comment are blank: their newline is no token. */
static bool lex_bol(struct lexer *lx) {
    int col = 0;
    int cont_col = 0;
    lx->atbol = false;
    for (;;) {
        int c = peekc(lx);
        if (c == ' ' || c == '\t') {
            col++; /* only whether the column is 0 matters */
        } else if (c == '\f') {
            col = 0;
        } else if (c == '\\') {
            if (!cont_col)
                cont_col = col;
            if (!continuation(lx))
                return false;
            continue;
        } else {
            break;
        }
        lx->pos++;
    }
    int c = peekc(lx);
    lx->blank = c == '#' || c == '\n';
    return lx->blank || lx->level > 0 || (cont_col ? cont_col : col) == 0;
}

/* Appends a run of digits of the given base, allowing single underscores
 * between digits as Python does; at least one digit must come first. */
static bool read_digits(struct lexer *lx, int base, struct kurc_strbuf *sb) {
    for (;;) {
        if (digit_value(peekc(lx)) >= base)
            return false;
        while (digit_value(peekc(lx)) < base) {
            kurc_strbuf_putc(sb, (char)peekc(lx));
            lx->pos++;
        }
        if (peekc(lx) != '_')
            return true;
        lx->pos++;
    }
}

/* Reads a number token the way CPython's tokenizer does.  t->str serves as
 * scratch space for the digits (underscores removed).  Complex numbers and
 * numbers glued to a name fail. */
static bool lex_number(struct lexer *lx, struct token *t) {
    struct kurc_strbuf *sb = &t->str;
    int base = 10;
    bool is_float = false;
    int c1 = peekc_at(lx, 1);
    if (peekc(lx) == '0' &&
        (c1 == 'x' || c1 == 'X' || c1 == 'o' || c1 == 'O' || c1 == 'b' || c1 == 'B')) {
        base = (c1 == 'x' || c1 == 'X') ? 16 : (c1 == 'o' || c1 == 'O') ? 8 : 2;
        lx->pos += 2;
        if (peekc(lx) == '_')
            lx->pos++;
        if (!read_digits(lx, base, sb))
            return false;
    } else {
        if (peekc(lx) != '.' && !read_digits(lx, 10, sb))
            return false;
        if (peekc(lx) == '.') {
            is_float = true;
            kurc_strbuf_putc(sb, '.');
            lx->pos++;
            if (is_digit(peekc(lx)) && !read_digits(lx, 10, sb))
                return false;
        }
        int c = peekc(lx);
        if (c == 'e' || c == 'E') {
            int sign = peekc_at(lx, 1);
            bool has_sign = sign == '+' || sign == '-';
            if (!is_digit(peekc_at(lx, has_sign ? 2 : 1)))
                return false;
            is_float = true;
            kurc_strbuf_putc(sb, 'e');
            if (has_sign)
                kurc_strbuf_putc(sb, (char)sign);
            lx->pos += has_sign ? 2 : 1;
            if (!read_digits(lx, 10, sb))
                return false;
        }
        /* "00" is zero, but "01" is an error */
        if (!is_float && sb->data[0] == '0' && strspn(sb->data, "0") != sb->len)
            return false;
    }
    /* a 'j' makes a complex number; a digit (8 after an octal run) or a
     * letter glued to the number is a syntax error or a keyword */
    if (is_name_char(peekc(lx)))
        return false;
    t->kind = TOK_NUMBER;
    t->num = (struct num){.is_float = is_float};
    if (is_float) {
        t->num.f = strtod(sb->data, NULL);
        return true;
    }
    for (size_t i = 0; i < sb->len; i++) {
        uint64_t d = (uint64_t)digit_value((unsigned char)sb->data[i]);
        if (t->num.mag > (UINT64_MAX - d) / (uint64_t)base)
            t->num.too_big = true;
        t->num.mag = t->num.mag * (uint64_t)base + d;
    }
    return true;
}

/* Decodes the escapes of a non-raw string body (Python's unicode_escape
 * rules) into out.  The tokenizer pairs every backslash with the character
 * after it, so an escape never ends the body.  Unknown escapes keep their
 * backslash; \N{...} and surrogate code points fail (see pyliteral.h). */
static bool decode_escapes(const char *s, size_t n, struct kurc_strbuf *out) {
    static const char simple_from[] = "\\'\"abfnrtv";
    static const char simple_to[] = "\\'\"\a\b\f\n\r\t\v";
    size_t i = 0;
    while (i < n) {
        char c = s[i++];
        if (c != '\\') {
            kurc_strbuf_putc(out, c);
            continue;
        }
        char e = s[i++];
        const char *simple = strchr(simple_from, e);
        if (e == '\n')
            continue;
        if (e != '\0' && simple) {
            kurc_strbuf_putc(out, simple_to[simple - simple_from]);
        } else if (e >= '0' && e <= '7') {
            uint32_t cp = (uint32_t)(e - '0');
            for (int k = 0; k < 2 && i < n && s[i] >= '0' && s[i] <= '7'; k++)
                cp = cp * 8 + (uint32_t)(s[i++] - '0');
            kurc_utf8_put(out, cp);
        } else if (e == 'x' || e == 'u' || e == 'U') {
            size_t count = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (n - i < count)
                return false;
            uint32_t cp = 0;
            for (size_t k = 0; k < count; k++) {
                int d = digit_value((unsigned char)s[i++]);
                if (d == 16)
                    return false;
                cp = cp * 16 + (uint32_t)d;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return false;
            kurc_utf8_put(out, cp);
        } else if (e == 'N') {
            return false;
        } else {
            kurc_strbuf_putc(out, '\\');
            i--; /* e is an ordinary character: copy it on the next turn */
        }
    }
    return true;
}

/* Reads one string literal whose opening quote is at pos and appends its
 * value to t->str.  As in CPython's tokenizer, a backslash always takes the
 * next character with it, and a single-quoted string ends at a newline. */
static bool lex_string(struct lexer *lx, bool raw, struct token *t) {
    int q = peekc(lx);
    size_t qn = (peekc_at(lx, 1) == q && peekc_at(lx, 2) == q) ? 3 : 1;
    lx->pos += qn;
    size_t start = lx->pos;
    for (;;) {
        int c = peekc(lx);
        if (c == -1 || (c == '\n' && qn == 1))
            return false;
        if (c == '\\') {
            lx->pos += 2;
            continue;
        }
        if (c == q && (qn == 1 || (peekc_at(lx, 1) == q && peekc_at(lx, 2) == q)))
            break;
        lx->pos++;
    }
    size_t end = lx->pos;
    lx->pos += qn;
    t->kind = TOK_STRING;
    if (raw) {
        kurc_strbuf_append(&t->str, lx->s + start, end - start);
        return true;
    }
    return decode_escapes(lx->s + start, end - start, &t->str);
}

/* Reads a name: a str prefix before a quote, True, False or None.  Every
 * other name (and bytes or f-string prefixes) fails. */
static bool lex_name(struct lexer *lx, struct token *t) {
    const char *name = lx->s + lx->pos;
    size_t n = 0;
    while (is_name_char(peekc(lx))) {
        lx->pos++;
        n++;
    }
    int c = peekc(lx);
    if (c == '\'' || c == '"') {
        if (n != 1 || !strchr("rRuU", name[0]))
            return false;
        return lex_string(lx, name[0] == 'r' || name[0] == 'R', t);
    }
    t->kind = TOK_CONST;
    if (n == 4 && memcmp(name, "None", 4) == 0) {
        t->cnst = KURC_NULL;
    } else if (n == 4 && memcmp(name, "True", 4) == 0) {
        t->cnst = KURC_BOOL;
        t->bval = true;
    } else if (n == 5 && memcmp(name, "False", 5) == 0) {
        t->cnst = KURC_BOOL;
        t->bval = false;
    } else {
        return false;
    }
    return true;
}

/* Reads the next token into t, skipping whitespace, comments, explicit line
 * joins, blank lines and newlines inside brackets.  A newline outside
 * brackets ends the logical line: TOK_NEWLINE. */
static bool lex_next(struct lexer *lx, struct token *t) {
    kurc_strbuf_reset(&t->str);
    for (;;) {
        if (lx->atbol && !lex_bol(lx))
            return false;
        int c = peekc(lx);
        while (c == ' ' || c == '\t' || c == '\f') {
            lx->pos++;
            c = peekc(lx);
        }
        if (c == '#') {
            while (c != -1 && c != '\n') {
                lx->pos++;
                c = peekc(lx);
            }
        }
        if (c == -1) {
            t->kind = TOK_END;
            return lx->level == 0;
        }
        if (c == '\n') {
            lx->pos++;
            lx->atbol = true;
            if (lx->blank || lx->level > 0)
                continue;
            t->kind = TOK_NEWLINE;
            return true;
        }
        if (c != '\\')
            break;
        if (!continuation(lx))
            return false;
    }
    int c = peekc(lx);
    if (is_digit(c) || (c == '.' && is_digit(peekc_at(lx, 1))))
        return lex_number(lx, t);
    if (c == '\'' || c == '"')
        return lex_string(lx, false, t);
    if (is_name_char(c))
        return lex_name(lx, t);
    if (c == '\0' || !strchr("()[]{},:+-", c))
        return false;
    if (strchr("([{", c)) {
        lx->level++;
    } else if (strchr(")]}", c)) {
        if (lx->level == 0)
            return false;
        lx->level--;
    }
    lx->pos++;
    t->kind = TOK_OP;
    t->op = (char)c;
    return true;
}

struct parser {
    struct lexer lx;
    struct token tok; /* the current (not yet consumed) token */
    const struct kurc_loc *loc;
    int depth;
};

/* A parsed operand.  A bare number (possibly in parentheses) stays
 * unconverted while a sign may still apply to it: literal_eval accepts a
 * sign only directly on a number constant, so "-(5)" is a literal and
 * "-(-5)" and "--5" are not. */
struct atom {
    struct kurc_value *v; /* NULL while is_num */
    bool is_num;
    struct num num;
};

static bool advance(struct parser *p) {
    return lex_next(&p->lx, &p->tok);
}

static bool is_op(const struct parser *p, char op) {
    return p->tok.kind == TOK_OP && p->tok.op == op;
}

/* Converts a number with an optional minus sign; NULL when an int falls
 * outside int64. */
static struct kurc_value *num_value(const struct num *n, bool negate, const struct kurc_loc *loc) {
    if (n->is_float)
        return kurc_value_float(negate ? -n->f : n->f, loc);
    if (n->too_big || n->mag > (negate ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return NULL;
    if (!negate)
        return kurc_value_int((int64_t)n->mag, loc);
    return kurc_value_int(n->mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)n->mag, loc);
}

static struct kurc_value *atom_value(const struct parser *p, const struct atom *a) {
    return a->is_num ? num_value(&a->num, false, p->loc) : a->v;
}

static bool parse_atom(struct parser *p, struct atom *a);

/* An expression: an atom, or a sign applied to a number atom. */
static bool parse_expr(struct parser *p, struct atom *a) {
    if (!is_op(p, '+') && !is_op(p, '-'))
        return parse_atom(p, a);
    bool negate = p->tok.op == '-';
    if (!advance(p) || !parse_atom(p, a))
        return false;
    if (!a->is_num) {
        kurc_value_free(a->v);
        a->v = NULL;
        return false;
    }
    a->is_num = false;
    a->v = num_value(&a->num, negate, p->loc);
    return a->v != NULL;
}

static struct kurc_value *parse_value(struct parser *p) {
    struct atom a;
    if (!parse_expr(p, &a))
        return NULL;
    return atom_value(p, &a);
}

/* Whether the current token closes an expression list: close is ')' inside
 * parentheses and '\0' at the top level (end of the logical line). */
static bool at_close(const struct parser *p, char close) {
    if (close)
        return is_op(p, close);
    return p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_END;
}

/* An expression, or a tuple when a comma follows it ("1, 2" at the top
 * level, "(1,)" in parentheses); tuples become lists. */
static bool parse_exprlist(struct parser *p, char close, struct atom *a) {
    if (!parse_expr(p, a))
        return false;
    if (!is_op(p, ','))
        return true;
    struct kurc_value *first = atom_value(p, a);
    a->v = NULL;
    a->is_num = false;
    if (!first)
        return false;
    struct kurc_value *list = kurc_value_list(p->loc);
    kurc_list_append(list, first);
    while (is_op(p, ',')) {
        if (!advance(p))
            goto fail;
        if (at_close(p, close))
            break;
        struct kurc_value *item = parse_value(p);
        if (!item)
            goto fail;
        kurc_list_append(list, item);
    }
    a->v = list;
    return true;
fail:
    kurc_value_free(list);
    return false;
}

/* "[a, b, ...]" with an optional trailing comma; the current token is '['. */
static struct kurc_value *parse_list(struct parser *p) {
    struct kurc_value *list = kurc_value_list(p->loc);
    if (!advance(p))
        goto fail;
    while (!is_op(p, ']')) {
        struct kurc_value *item = parse_value(p);
        if (!item)
            goto fail;
        kurc_list_append(list, item);
        if (is_op(p, ',')) {
            if (!advance(p))
                goto fail;
        } else if (!is_op(p, ']')) {
            goto fail;
        }
    }
    if (!advance(p))
        goto fail;
    return list;
fail:
    kurc_value_free(list);
    return NULL;
}

/* Python's == between two hashable scalar keys: numbers compare by exact
 * value across bool, int and float; strings by content; None only to None. */
static bool py_keys_equal(const struct kurc_value *a, const struct kurc_value *b) {
    if (a->kind == KURC_STR || b->kind == KURC_STR)
        return a->kind == b->kind && a->u.str.len == b->u.str.len &&
               memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    if (a->kind == KURC_NULL || b->kind == KURC_NULL)
        return a->kind == b->kind;
    if (a->kind == KURC_FLOAT && b->kind == KURC_FLOAT)
        return a->u.f == b->u.f;
    if (b->kind == KURC_FLOAT) {
        const struct kurc_value *t = a;
        a = b;
        b = t;
    }
    int64_t i = b->kind == KURC_BOOL ? b->u.b : b->u.i;
    if (a->kind != KURC_FLOAT)
        return (a->kind == KURC_BOOL ? a->u.b : a->u.i) == i;
    double f = a->u.f;
    /* exact: a double equals an int only if it is integral and in range */
    return f == trunc(f) && f >= -0x1p63 && f < 0x1p63 && (int64_t)f == i;
}

/* The string json.dumps writes for a scalar dict key; NULL for strings with
 * a NUL, which a kurc key cannot hold. */
static char *key_spelling(const struct kurc_value *k) {
    char num[32];
    switch (k->kind) {
    case KURC_STR:
        return memchr(k->u.str.s, '\0', k->u.str.len) ? NULL : kurc_xstrdup(k->u.str.s);
    case KURC_INT:
        return kurc_xasprintf("%" PRId64, k->u.i);
    case KURC_FLOAT:
        kurc_json_float_repr(k->u.f, num);
        return kurc_xstrdup(num);
    case KURC_BOOL:
        return kurc_xstrdup(k->u.b ? "true" : "false");
    case KURC_NULL:
    default: /* containers were refused before */
        return kurc_xstrdup("null");
    }
}

/* "{k: v, ...}" with an optional trailing comma; the current token is '{'.
 * keys keeps each distinct Python key as written, so that keys Python
 * merges (1, 1.0, True) share the first one's spelling. */
static struct kurc_value *parse_dict(struct parser *p) {
    struct kurc_value *map = kurc_value_map(p->loc);
    struct kurc_value **keys = NULL;
    char **spellings = NULL;
    size_t nkeys = 0;
    struct kurc_value *key = NULL;
    bool ok = false;
    if (!advance(p))
        goto done;
    while (!is_op(p, '}')) {
        key = parse_value(p);
        /* lists and dicts are unhashable; tuples have no JSON spelling */
        if (!key || key->kind == KURC_LIST || key->kind == KURC_MAP || !is_op(p, ':') ||
            !advance(p))
            goto done;
        struct kurc_value *val = parse_value(p);
        if (!val)
            goto done;
        size_t k = 0;
        while (k < nkeys && !py_keys_equal(keys[k], key))
            k++;
        if (k == nkeys) {
            char *spelling = key_spelling(key);
            if (!spelling) {
                kurc_value_free(val);
                goto done;
            }
            keys = kurc_xrealloc(keys, (nkeys + 1) * sizeof *keys);
            spellings = kurc_xrealloc(spellings, (nkeys + 1) * sizeof *spellings);
            keys[nkeys] = key;
            spellings[nkeys++] = spelling;
        } else {
            kurc_value_free(key);
        }
        key = NULL;
        kurc_map_set(map, spellings[k], p->loc, val);
        if (is_op(p, ',')) {
            if (!advance(p))
                goto done;
        } else if (!is_op(p, '}')) {
            goto done;
        }
    }
    ok = advance(p);
done:
    kurc_value_free(key);
    for (size_t k = 0; k < nkeys; k++) {
        kurc_value_free(keys[k]);
        free(spellings[k]);
    }
    free(keys);
    free(spellings);
    if (!ok) {
        kurc_value_free(map);
        return NULL;
    }
    return map;
}

/* A parenthesized expression or tuple; the current token is '('.  A plain
 * grouping passes its operand through unchanged (a number stays a number
 * a sign may apply to). */
static bool parse_paren(struct parser *p, struct atom *a) {
    if (!advance(p))
        return false;
    if (is_op(p, ')')) {
        a->v = kurc_value_list(p->loc);
    } else if (!parse_exprlist(p, ')', a)) {
        return false;
    }
    if (is_op(p, ')') && advance(p))
        return true;
    if (!a->is_num)
        kurc_value_free(a->v);
    a->v = NULL;
    return false;
}

/* An atom: a number, adjacent strings, True/False/None, or a bracketed
 * construct (at most MAX_DEPTH deep).  On failure a holds nothing. */
static bool parse_atom(struct parser *p, struct atom *a) {
    a->v = NULL;
    a->is_num = false;
    switch (p->tok.kind) {
    case TOK_NUMBER:
        a->is_num = true;
        a->num = p->tok.num;
        return advance(p);
    case TOK_STRING: {
        /* adjacent string literals concatenate */
        struct kurc_strbuf acc = KURC_STRBUF_INIT;
        do {
            kurc_strbuf_append(&acc, p->tok.str.data, p->tok.str.len);
            if (!advance(p)) {
                kurc_strbuf_free(&acc);
                return false;
            }
        } while (p->tok.kind == TOK_STRING);
        a->v = kurc_value_str_buf(&acc, p->loc);
        return true;
    }
    case TOK_CONST:
        a->v = p->tok.cnst == KURC_NULL ? kurc_value_null(p->loc)
                                        : kurc_value_bool(p->tok.bval, p->loc);
        if (advance(p))
            return true;
        kurc_value_free(a->v);
        a->v = NULL;
        return false;
    case TOK_OP:
        break;
    default:
        return false;
    }
    char op = p->tok.op;
    if (op != '(' && op != '[' && op != '{')
        return false;
    if (++p->depth > MAX_DEPTH)
        return false;
    bool ok;
    if (op == '(') {
        ok = parse_paren(p, a);
    } else {
        a->v = op == '[' ? parse_list(p) : parse_dict(p);
        ok = a->v != NULL;
    }
    p->depth--;
    return ok;
}

bool kurc_py_literal_parse(const char *s, size_t len, const struct kurc_loc *loc,
                           struct kurc_value **out) {
    *out = NULL;
    /* Python refuses source with NUL bytes */
    if (len && memchr(s, '\0', len))
        return false;
    /* literal_eval strips leading spaces and tabs (not newlines) */
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    /* the tokenizer reads \r\n and \r as \n, inside strings too */
    char *src = kurc_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\r') {
            src[n++] = '\n';
            if (i + 1 < len && s[i + 1] == '\n')
                i++;
        } else {
            src[n++] = s[i];
        }
    }
    struct parser p = {
        .lx = {.s = src, .len = n, .atbol = true}, .tok = {.str = KURC_STRBUF_INIT}, .loc = loc};
    struct atom a = {0};
    struct kurc_value *v = NULL;
    bool ok = advance(&p) && parse_exprlist(&p, '\0', &a);
    if (ok) {
        v = atom_value(&p, &a);
        ok = v != NULL;
    }
    while (ok && p.tok.kind == TOK_NEWLINE)
        ok = advance(&p);
    if (ok && p.tok.kind == TOK_END) {
        *out = v;
    } else {
        kurc_value_free(v);
        ok = false;
    }
    kurc_strbuf_free(&p.tok.str);
    free(src);
    return ok;
}
