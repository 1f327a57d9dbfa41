/* template_lex.c - Jinja's lexer: source text to tokens, on demand.
 *
 * Follows jinja2/lexer.py rule for rule: text runs to the first "{{", "{%"
 * or "{#"; a '-' right after the opening braces strips the whitespace
 * before the tag, a '-' before the closing braces the whitespace after it;
 * "{% raw %}" bodies and comments are consumed here; inside a tag the rules
 * are tried in Jinja's order (end of tag, whitespace, float, integer, name,
 * string, operator), and the end of a tag only counts when every bracket
 * opened inside it is closed.  Tokens are produced one at a time, as the
 * parser asks, so a syntax error early in a template is reported before a
 * lexical one later in it, as in Jinja.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"
#include "config/value/pyrepr.h"

enum { LS_ROOT, LS_VAR, LS_BLOCK };

void tmpl_lex_init(struct lexer *lx, const char *src, size_t len, struct tmpl_arena *arena,
                   struct tmpl_diag *diag) {
    memset(lx, 0, sizeof *lx);
    lx->src = src;
    lx->len = len;
    lx->line = 1;
    lx->state = LS_ROOT;
    lx->arena = arena;
    lx->diag = diag;
}

static bool at(const struct lexer *lx, size_t p, const char *lit) {
    size_t n = strlen(lit);
    return p + n <= lx->len && memcmp(lx->src + p, lit, n) == 0;
}

/* Moves to p, counting the newlines passed. */
static void advance(struct lexer *lx, size_t p) {
    for (size_t i = lx->pos; i < p; i++)
        if (lx->src[i] == '\n')
            lx->line++;
    lx->pos = p;
}

/* The end of the run of Python whitespace (regex \s*) starting at p. */
static size_t skip_space(const struct lexer *lx, size_t p) {
    while (p < lx->len) {
        uint32_t cp;
        size_t next = kurc_utf8_next(lx->src, lx->len, p, &cp);
        if (!tmpl_py_space(cp))
            break;
        p = next;
    }
    return p;
}

static void push(struct lexer *lx, enum tok_type type, size_t start, size_t end, int line) {
    struct tok *t = &lx->queue[lx->nqueue++];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->start = start;
    t->end = end;
    t->line = line;
}

/* Queues text [start, end) as a data token unless it is empty. */
static void push_data(struct lexer *lx, size_t start, size_t end, int line) {
    if (end == start)
        return;
    push(lx, T_DATA, start, end, line);
    lx->queue[lx->nqueue - 1].str = lx->src + start;
    lx->queue[lx->nqueue - 1].len = end - start;
}

static size_t data_end(const struct lexer *lx, size_t start, size_t end, char sign) {
    return sign == '-' ? start + tmpl_rstrip(lx->src + start, end - start) : end;
}

/* If "{%" at i opens "{% raw %}" (regex {%(-|+|)\s*raw\s*(-%}\s*|%})),
 * returns the position after it, else 0. */
static size_t raw_begin(const struct lexer *lx, size_t i) {
    size_t p = i + 2;
    if (p < lx->len && (lx->src[p] == '-' || lx->src[p] == '+'))
        p++;
    p = skip_space(lx, p);
    if (!at(lx, p, "raw"))
        return 0;
    p = skip_space(lx, p + 3);
    if (at(lx, p, "-%}"))
        return skip_space(lx, p + 3);
    if (at(lx, p, "%}"))
        return p + 2;
    return 0;
}

/* Finds the "{% endraw %}" that closes a raw block whose body starts at p:
 * stores where the body ends, the strip sign and the position after the
 * tag.  Returns false when there is none. */
static bool raw_end(const struct lexer *lx, size_t p, size_t *body_end, char *sign, size_t *after) {
    for (size_t k = p; k + 1 < lx->len; k++) {
        if (lx->src[k] != '{' || lx->src[k + 1] != '%')
            continue;
        size_t q = k + 2;
        *sign = 0;
        if (q < lx->len && (lx->src[q] == '-' || lx->src[q] == '+'))
            *sign = lx->src[q++];
        q = skip_space(lx, q);
        if (!at(lx, q, "endraw"))
            continue;
        q = skip_space(lx, q + 6);
        if (at(lx, q, "+%}"))
            *after = q + 3;
        else if (at(lx, q, "-%}"))
            *after = skip_space(lx, q + 3);
        else if (at(lx, q, "%}"))
            *after = q + 2;
        else
            continue;
        *body_end = k;
        return true;
    }
    return false;
}

/* Finds the end of a comment whose body starts at p; returns the position
 * after it, or 0. */
static size_t comment_end(const struct lexer *lx, size_t p) {
    for (size_t k = p; k < lx->len; k++) {
        if (at(lx, k, "+#}"))
            return k + 3;
        if (at(lx, k, "-#}"))
            return skip_space(lx, k + 3);
        if (at(lx, k, "#}"))
            return k + 2;
    }
    return 0;
}

/* Plain text: queues the text up to the next tag and the tag's opening
 * token (or the text of a raw block), skipping comments. */
static int lex_root(struct lexer *lx) {
    while (lx->nqueue == 0) {
        size_t start = lx->pos;
        int line = lx->line;
        size_t i = start;
        for (; i + 1 < lx->len; i++)
            if (lx->src[i] == '{' &&
                (lx->src[i + 1] == '{' || lx->src[i + 1] == '%' || lx->src[i + 1] == '#'))
                break;
        if (i + 1 >= lx->len) {
            push_data(lx, start, lx->len, line);
            advance(lx, lx->len);
            if (lx->nqueue == 0)
                push(lx, T_EOF, lx->len, lx->len, lx->line);
            return 0;
        }
        char kind = lx->src[i + 1];
        char sign = 0;
        size_t p = i + 2;
        if (p < lx->len && (lx->src[p] == '-' || lx->src[p] == '+'))
            sign = lx->src[p++];
        size_t raw = kind == '%' ? raw_begin(lx, i) : 0;
        push_data(lx, start, data_end(lx, start, i, sign), line);
        if (raw) {
            size_t body_end, after;
            char end_sign;
            advance(lx, raw);
            /* like Jinja, an unclosed block is an error only if text follows */
            if (raw >= lx->len)
                continue;
            if (!raw_end(lx, raw, &body_end, &end_sign, &after))
                return tmpl_fail(lx->diag, lx->line, "Missing end of raw directive");
            push_data(lx, raw, data_end(lx, raw, body_end, end_sign), lx->line);
            advance(lx, after);
        } else if (kind == '#') {
            advance(lx, p);
            if (p >= lx->len)
                continue;
            size_t after = comment_end(lx, p);
            if (!after)
                return tmpl_fail(lx->diag, lx->line, "Missing end of comment tag");
            advance(lx, after);
        } else {
            advance(lx, i);
            push(lx, kind == '{' ? T_VAR_BEGIN : T_BLOCK_BEGIN, i, p, lx->line);
            advance(lx, p);
            lx->state = kind == '{' ? LS_VAR : LS_BLOCK;
        }
    }
    return 0;
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

static bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Regex (\d+_)*\d+ at p: the end of the match, or p when there is none. */
static size_t scan_digits(const struct lexer *lx, size_t p) {
    const char *s = lx->src;
    if (p >= lx->len || !is_digit(s[p]))
        return p;
    while (p < lx->len && is_digit(s[p]))
        p++;
    while (p + 1 < lx->len && s[p] == '_' && is_digit(s[p + 1])) {
        p++;
        while (p < lx->len && is_digit(s[p]))
            p++;
    }
    return p;
}

/* Regex e[+-]?(\d+_)*\d+ at p: the end, or 0. */
static size_t scan_exponent(const struct lexer *lx, size_t p) {
    if (p >= lx->len || (lx->src[p] != 'e' && lx->src[p] != 'E'))
        return 0;
    size_t q = p + 1;
    if (q < lx->len && (lx->src[q] == '+' || lx->src[q] == '-'))
        q++;
    size_t d = scan_digits(lx, q);
    return d > q ? d : 0;
}

/* Jinja's float_re at p: the end of the literal, or 0. */
static size_t scan_float(const struct lexer *lx, size_t p) {
    if (p > 0 && lx->src[p - 1] == '.')
        return 0;
    size_t q = scan_digits(lx, p);
    if (q == p)
        return 0;
    size_t frac = 0;
    if (q < lx->len && lx->src[q] == '.') {
        size_t r = scan_digits(lx, q + 1);
        if (r > q + 1)
            frac = r;
    }
    size_t e = scan_exponent(lx, frac ? frac : q);
    return e ? e : frac;
}

static int digit_value(char c) {
    if (is_digit(c))
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'z' ? c - 'a' + 10 : 99;
}

/* Jinja's integer_re at p: the end of the literal (0 if none) and its
 * base. */
static size_t scan_int(const struct lexer *lx, size_t p, int *base) {
    const char *s = lx->src;
    if (s[p] == '0' && p + 1 < lx->len) {
        char x = (char)(s[p + 1] | 0x20);
        int b = x == 'b' ? 2 : x == 'o' ? 8 : x == 'x' ? 16 : 0;
        if (b) {
            size_t r = p + 2;
            for (;;) {
                size_t k = r < lx->len && s[r] == '_' ? r + 1 : r;
                if (k < lx->len && digit_value(s[k]) < b)
                    r = k + 1;
                else
                    break;
            }
            if (r > p + 2) {
                *base = b;
                return r;
            }
        }
    }
    *base = 10;
    if (!is_digit(s[p]))
        return 0;
    char only = s[p] == '0' ? '0' : 0; /* after a leading 0 only zeros follow */
    size_t r = p + 1;
    for (;;) {
        size_t k = r < lx->len && s[r] == '_' ? r + 1 : r;
        if (k < lx->len && is_digit(s[k]) && (!only || s[k] == '0'))
            r = k + 1;
        else
            break;
    }
    return r;
}

static int int_value(struct lexer *lx, struct tok *t, int base) {
    const char *s = lx->src + t->start;
    size_t n = t->end - t->start;
    size_t i = base == 10 ? 0 : 2;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] == '_')
            continue;
        uint64_t d = (uint64_t)digit_value(s[i]);
        if (v > (UINT64_C(9223372036854775807) - d) / (uint64_t)base)
            return tmpl_fail(lx->diag, t->line, "integer literal %.*s does not fit in 64 bits",
                             (int)n, s);
        v = v * (uint64_t)base + d;
    }
    t->i = (int64_t)v;
    return 0;
}

static void float_value(struct lexer *lx, struct tok *t) {
    size_t n = t->end - t->start;
    char *buf = kurc_xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = t->start; i < t->end; i++)
        if (lx->src[i] != '_')
            buf[k++] = lx->src[i];
    buf[k] = '\0';
    t->f = strtod(buf, NULL);
    free(buf);
}

static int hex_escape(struct lexer *lx, int line, const char *s, size_t n, size_t *i, int digits,
                      uint32_t *cp) {
    static const char *const names[] = {[2] = "\\xXX", [4] = "\\uXXXX", [8] = "\\UXXXXXXXX"};
    uint32_t v = 0;
    for (int k = 0; k < digits; k++) {
        if (*i + 1 + (size_t)k >= n || digit_value(s[*i + 1 + k]) >= 16)
            return tmpl_fail(lx->diag, line, "truncated %s escape", names[digits]);
        v = v * 16 + (uint32_t)digit_value(s[*i + 1 + k]);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return tmpl_fail(lx->diag, line, "illegal Unicode character");
    *i += (size_t)digits;
    *cp = v;
    return 0;
}

/* Decodes the body of a string literal the way Jinja does (Python's
 * unicode-escape codec). */
static int string_value(struct lexer *lx, struct tok *t) {
    const char *s = lx->src + t->start + 1;
    size_t n = t->end - t->start - 2;
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            kurc_strbuf_putc(&sb, s[i]);
            continue;
        }
        char d = s[++i];
        uint32_t cp;
        switch (d) {
        case '\n':
            break;
        case '\\':
        case '\'':
        case '"':
            kurc_strbuf_putc(&sb, d);
            break;
        case 'a':
            kurc_strbuf_putc(&sb, '\a');
            break;
        case 'b':
            kurc_strbuf_putc(&sb, '\b');
            break;
        case 'f':
            kurc_strbuf_putc(&sb, '\f');
            break;
        case 'n':
            kurc_strbuf_putc(&sb, '\n');
            break;
        case 'r':
            kurc_strbuf_putc(&sb, '\r');
            break;
        case 't':
            kurc_strbuf_putc(&sb, '\t');
            break;
        case 'v':
            kurc_strbuf_putc(&sb, '\v');
            break;
        case 'x':
        case 'u':
        case 'U':
            if (hex_escape(lx, t->line, s, n, &i, d == 'x' ? 2 : d == 'u' ? 4 : 8, &cp) < 0) {
                kurc_strbuf_free(&sb);
                return -1;
            }
            kurc_utf8_put(&sb, cp);
            break;
        case 'N':
            kurc_strbuf_free(&sb);
            return tmpl_fail(lx->diag, t->line, "\\N{...} escapes are not supported by kurc");
        default:
            if (d >= '0' && d <= '7') {
                cp = (uint32_t)(d - '0');
                for (int k = 0; k < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
                    cp = cp * 8 + (uint32_t)(s[++i] - '0');
                kurc_utf8_put(&sb, cp);
            } else if ((unsigned char)d >= 0x80) {
                /* Jinja escapes non-ASCII text before decoding, so a
                 * backslash before such a character keeps its \x, \u or
                 * \U spelling. */
                size_t next = kurc_utf8_next(s, n, i, &cp);
                kurc_strbuf_printf(&sb,
                                   cp < 0x100     ? "\\x%02" PRIx32
                                   : cp < 0x10000 ? "\\u%04" PRIx32
                                                  : "\\U%08" PRIx32,
                                   cp);
                i = next - 1;
            } else {
                kurc_strbuf_putc(&sb, '\\');
                kurc_strbuf_putc(&sb, d);
            }
            break;
        }
    }
    t->len = sb.len;
    t->str = tmpl_strndup(lx->arena, sb.data ? sb.data : "", sb.len);
    kurc_strbuf_free(&sb);
    return 0;
}

/* Regex '([^'\\]*(?:\\.[^'\\]*)*)' (or with "): the end, or 0. */
static size_t scan_string(const struct lexer *lx, size_t p) {
    char q = lx->src[p];
    for (size_t r = p + 1; r < lx->len; r++) {
        if (lx->src[r] == '\\')
            r++;
        else if (lx->src[r] == q)
            return r + 1;
    }
    return 0;
}

static const struct {
    const char *text;
    enum tok_type type;
} operators[] = {
    {"//", T_FLOORDIV}, {"**", T_POW},   {"==", T_EQ},      {"!=", T_NE},      {">=", T_GTEQ},
    {"<=", T_LTEQ},     {"+", T_ADD},    {"-", T_SUB},      {"/", T_DIV},      {"*", T_MUL},
    {"%", T_MOD},       {"~", T_TILDE},  {"[", T_LBRACKET}, {"]", T_RBRACKET}, {"(", T_LPAREN},
    {")", T_RPAREN},    {"{", T_LBRACE}, {"}", T_RBRACE},   {">", T_GT},       {"<", T_LT},
    {"=", T_ASSIGN},    {".", T_DOT},    {":", T_COLON},    {"|", T_PIPE},     {",", T_COMMA},
    {";", T_SEMICOLON},
};

/* Tracks brackets: the end of a tag only counts when all are closed. */
static int balance(struct lexer *lx, const struct tok *t) {
    char c = lx->src[t->start];
    if (c == '(' || c == '[' || c == '{') {
        if (lx->nbalance >= TMPL_MAX_DEPTH)
            return tmpl_fail(lx->diag, t->line, "template nests too deeply");
        lx->balance[lx->nbalance++] = c == '(' ? ')' : c == '[' ? ']' : '}';
    } else if (c == ')' || c == ']' || c == '}') {
        if (lx->nbalance == 0)
            return tmpl_fail(lx->diag, t->line, "unexpected '%c'", c);
        char want = lx->balance[--lx->nbalance];
        if (want != c)
            return tmpl_fail(lx->diag, t->line, "unexpected '%c', expected '%c'", c, want);
    }
    return 0;
}

/* The end of the tag at p ("}}", "-}}", "%}", "-%}", "+%}"): the position
 * after it, or 0. */
static size_t tag_end(const struct lexer *lx, size_t p) {
    if (lx->state == LS_VAR) {
        if (at(lx, p, "-}}"))
            return skip_space(lx, p + 3);
        return at(lx, p, "}}") ? p + 2 : 0;
    }
    if (at(lx, p, "+%}"))
        return p + 3;
    if (at(lx, p, "-%}"))
        return skip_space(lx, p + 3);
    return at(lx, p, "%}") ? p + 2 : 0;
}

static int unexpected_char(struct lexer *lx, size_t p) {
    uint32_t cp;
    size_t next = kurc_utf8_next(lx->src, lx->len, p, &cp);
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_py_repr_string(lx->src + p, next - p, &sb);
    tmpl_fail(lx->diag, lx->line, "unexpected char %s at %zu", sb.data,
              kurc_utf8_count(lx->src, p));
    kurc_strbuf_free(&sb);
    return -1;
}

/* Inside {{ }} or {% %}: the next token. */
static int lex_tag(struct lexer *lx, struct tok *t) {
    for (;;) {
        size_t p = lx->pos;
        memset(t, 0, sizeof *t);
        t->start = p;
        t->line = lx->line;
        size_t end = lx->nbalance == 0 ? tag_end(lx, p) : 0;
        if (end) {
            t->type = lx->state == LS_VAR ? T_VAR_END : T_BLOCK_END;
            t->end = end;
            lx->state = LS_ROOT;
            advance(lx, end);
            return 0;
        }
        if (p >= lx->len) {
            t->type = T_EOF;
            t->end = p;
            return 0;
        }
        size_t ws = skip_space(lx, p);
        if (ws > p) {
            advance(lx, ws);
            continue;
        }
        char c = lx->src[p];
        int base;
        if ((end = scan_float(lx, p)) != 0) {
            t->type = T_FLOAT;
            t->end = end;
            float_value(lx, t);
        } else if ((end = scan_int(lx, p, &base)) != 0) {
            t->type = T_INT;
            t->end = end;
            if (int_value(lx, t, base) < 0)
                return -1;
        } else if (is_name_start(c)) {
            end = p + 1;
            while (end < lx->len && (is_name_start(lx->src[end]) || is_digit(lx->src[end])))
                end++;
            t->type = T_NAME;
            t->end = end;
            t->str = tmpl_strndup(lx->arena, lx->src + p, end - p);
            t->len = end - p;
        } else if ((c == '\'' || c == '"') && (end = scan_string(lx, p)) != 0) {
            t->type = T_STRING;
            t->end = end;
            if (string_value(lx, t) < 0)
                return -1;
        } else {
            size_t i = 0, nops = sizeof operators / sizeof operators[0];
            while (i < nops && !at(lx, p, operators[i].text))
                i++;
            if (i == nops)
                return unexpected_char(lx, p);
            t->type = operators[i].type;
            t->end = p + strlen(operators[i].text);
            if (balance(lx, t) < 0)
                return -1;
        }
        advance(lx, t->end);
        return 0;
    }
}

int tmpl_lex_next(struct lexer *lx, struct tok *out) {
    if (lx->nqueue == 0 && lx->state == LS_ROOT && lex_root(lx) < 0)
        return -1;
    if (lx->nqueue > 0) {
        *out = lx->queue[0];
        lx->queue[0] = lx->queue[1];
        lx->nqueue--;
        return 0;
    }
    return lex_tag(lx, out);
}

static const char *const type_names[] = {
    [T_EOF] = "end of template",
    [T_DATA] = "template data / text",
    [T_VAR_BEGIN] = "begin of print statement",
    [T_VAR_END] = "end of print statement",
    [T_BLOCK_BEGIN] = "begin of statement block",
    [T_BLOCK_END] = "end of statement block",
    [T_NAME] = "name",
    [T_STRING] = "string",
    [T_INT] = "integer",
    [T_FLOAT] = "float",
    [T_ADD] = "+",
    [T_SUB] = "-",
    [T_DIV] = "/",
    [T_FLOORDIV] = "//",
    [T_MUL] = "*",
    [T_MOD] = "%",
    [T_POW] = "**",
    [T_TILDE] = "~",
    [T_LBRACKET] = "[",
    [T_RBRACKET] = "]",
    [T_LPAREN] = "(",
    [T_RPAREN] = ")",
    [T_LBRACE] = "{",
    [T_RBRACE] = "}",
    [T_EQ] = "==",
    [T_NE] = "!=",
    [T_GT] = ">",
    [T_GTEQ] = ">=",
    [T_LT] = "<",
    [T_LTEQ] = "<=",
    [T_ASSIGN] = "=",
    [T_DOT] = ".",
    [T_COLON] = ":",
    [T_PIPE] = "|",
    [T_COMMA] = ",",
    [T_SEMICOLON] = ";",
};

const char *tmpl_tok_type_describe(enum tok_type type) {
    return type_names[type];
}

const char *tmpl_tok_describe(const struct tok *t) {
    return t->type == T_NAME ? t->str : type_names[t->type];
}
