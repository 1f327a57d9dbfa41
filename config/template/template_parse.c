/* template_parse.c - Jinja's parser: tokens to a syntax tree.
 *
 * A recursive-descent parser with the structure, precedence and error
 * messages of jinja2/parser.py: `a if c else b`, or, and, not, comparisons
 * (chained, with in / not in), + -, ~, * / // %, ** (left-associative and
 * below unary minus, so -2**2 is 4), unary - +, then postfix .attr, [index]
 * and calls, and filters and tests (which bind tighter than any binary
 * operator).  Statements: if/elif/else, for (with unpacking, an `if` filter
 * and else), set (plain and block), with, filter blocks and print.
 *
 * After parsing, a check walks the tree for unknown filters and tests the
 * way Jinja's compiler does: outside `if` statements and conditional
 * expressions they are errors even if never run; inside them they fail
 * only when evaluated.
 */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/template/template_int.h"

struct parser {
    struct lexer lx;
    struct tok cur, next;
    bool has_next;
    size_t prev_end; /* end of the last token consumed */
    struct tmpl *t;
    struct tmpl_diag *diag;
    int depth;
    const char *const *end_stack[TMPL_MAX_DEPTH + 2]; /* tags that close open blocks */
    int nend;
    const char *tag_stack[TMPL_MAX_DEPTH + 2]; /* names of the open blocks */
    int ntag;
};

static const char *const END_FOR[] = {"endfor", "else", NULL};
static const char *const END_FOR_ELSE[] = {"endfor", NULL};
static const char *const END_IF[] = {"elif", "else", "endif", NULL};
static const char *const END_IF_ELSE[] = {"endif", NULL};
static const char *const END_SET[] = {"endset", NULL};
static const char *const END_WITH[] = {"endwith", NULL};
static const char *const END_FILTER[] = {"endfilter", NULL};

/* ---- token stream ---------------------------------------------------- */

static int next_tok(struct parser *p) {
    p->prev_end = p->cur.end;
    if (p->has_next) {
        p->cur = p->next;
        p->has_next = false;
        return 0;
    }
    return tmpl_lex_next(&p->lx, &p->cur);
}

static int look(struct parser *p, const struct tok **out) {
    if (!p->has_next) {
        if (tmpl_lex_next(&p->lx, &p->next) < 0)
            return -1;
        p->has_next = true;
    }
    *out = &p->next;
    return 0;
}

static bool is_name(const struct tok *t, const char *name) {
    return t->type == T_NAME && strcmp(t->str, name) == 0;
}

static int fail(struct parser *p, const char *fmt, const char *arg) {
    return tmpl_fail(p->diag, p->cur.line, fmt, arg);
}

static int expect(struct parser *p, enum tok_type type) {
    if (p->cur.type != type) {
        if (p->cur.type == T_EOF)
            return fail(p, "unexpected end of template, expected '%s'.",
                        tmpl_tok_type_describe(type));
        return tmpl_fail(p->diag, p->cur.line, "expected token '%s', got '%s'",
                         tmpl_tok_type_describe(type), tmpl_tok_describe(&p->cur));
    }
    return next_tok(p);
}

static int expect_name(struct parser *p, const char *name) {
    if (!is_name(&p->cur, name)) {
        if (p->cur.type == T_EOF)
            return fail(p, "unexpected end of template, expected '%s'.", name);
        return tmpl_fail(p->diag, p->cur.line, "expected token '%s', got '%s'", name,
                         tmpl_tok_describe(&p->cur));
    }
    return next_tok(p);
}

static int enter(struct parser *p) {
    if (++p->depth > TMPL_MAX_DEPTH)
        return tmpl_fail(p->diag, p->cur.line, "template nests too deeply");
    return 0;
}

/* ---- building nodes --------------------------------------------------- */

struct nbuf {
    struct node **v;
    size_t n, cap;
};

static void nb_push(struct parser *p, struct nbuf *b, struct node *n) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4;
        struct node **v = tmpl_alloc(&p->t->arena, cap * sizeof *v);
        if (b->n)
            memcpy(v, b->v, b->n * sizeof *v);
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = n;
}

static struct nlist nb_list(const struct nbuf *b) {
    return (struct nlist){b->v, b->n};
}

static struct node *new_node(struct parser *p, enum nkind kind, int line, size_t start) {
    struct node *n = tmpl_alloc(&p->t->arena, sizeof *n);
    n->kind = kind;
    n->line = line;
    n->start = start;
    n->end = p->prev_end > start ? p->prev_end : start;
    return n;
}

static int height_of(const struct node *n) {
    return n ? n->height : 0;
}

static int max_height(const struct nlist *l, int h) {
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i]->height > h)
            h = l->v[i]->height;
    return h;
}

/* Finishes an expression node: records where it ends and its height, which
 * bounds the recursion needed to evaluate it. */
static int seal(struct parser *p, struct node *n) {
    n->end = p->prev_end > n->start ? p->prev_end : n->start;
    int h = height_of(n->a);
    if (height_of(n->b) > h)
        h = height_of(n->b);
    if (height_of(n->c) > h)
        h = height_of(n->c);
    if (height_of(n->dyn_args) > h)
        h = height_of(n->dyn_args);
    if (height_of(n->dyn_kwargs) > h)
        h = height_of(n->dyn_kwargs);
    h = max_height(&n->items, h);
    h = max_height(&n->kwvals, h);
    n->height = h + 1;
    if (n->height > TMPL_MAX_DEPTH)
        return tmpl_fail(p->diag, n->line, "template nests too deeply");
    return 0;
}

static struct node *const_node(struct parser *p, struct kurc_value *v, int line, size_t start) {
    struct tmpl *t = p->t;
    if (t->nconsts == t->capconsts) {
        t->capconsts = t->capconsts ? t->capconsts * 2 : 16;
        t->consts = kurc_xrealloc(t->consts, t->capconsts * sizeof *t->consts);
    }
    t->consts[t->nconsts++] = v;
    struct node *n = new_node(p, N_CONST, line, start);
    n->val = v;
    n->height = 1;
    return n;
}

/* ---- expressions ------------------------------------------------------ */

static struct node *parse_expression(struct parser *p, bool with_condexpr);
static struct node *parse_unary(struct parser *p, bool with_filter);
static struct node *parse_primary(struct parser *p);
static struct node *parse_postfix(struct parser *p, struct node *node);
static struct node *parse_filter(struct parser *p, struct node *node, bool start_inline);

static bool tuple_end(const struct parser *p, const char *extra_end) {
    enum tok_type ty = p->cur.type;
    if (ty == T_VAR_END || ty == T_BLOCK_END || ty == T_RPAREN)
        return true;
    return extra_end && is_name(&p->cur, extra_end);
}

/* Jinja's parse_tuple: one expression, or a tuple when commas follow.
 * simplified parses primaries only (assignment targets). */
static struct node *parse_tuple(struct parser *p, bool simplified, bool with_condexpr,
                                const char *extra_end, bool explicit_parens) {
    size_t start = p->cur.start;
    int line = p->cur.line;
    struct nbuf args = {0};
    bool is_tuple = false;
    for (;;) {
        if (args.n && expect(p, T_COMMA) < 0)
            return NULL;
        if (tuple_end(p, extra_end))
            break;
        struct node *e = simplified ? parse_primary(p) : parse_expression(p, with_condexpr);
        if (!e)
            return NULL;
        nb_push(p, &args, e);
        if (p->cur.type != T_COMMA)
            break;
        is_tuple = true;
    }
    if (!is_tuple) {
        if (args.n)
            return args.v[0];
        if (!explicit_parens) {
            fail(p, "Expected an expression, got '%s'", tmpl_tok_describe(&p->cur));
            return NULL;
        }
    }
    struct node *n = new_node(p, N_TUPLE, line, start);
    n->items = nb_list(&args);
    return seal(p, n) < 0 ? NULL : n;
}

static struct node *parse_list(struct parser *p) {
    struct node *n = new_node(p, N_LIST, p->cur.line, p->cur.start);
    struct nbuf items = {0};
    if (expect(p, T_LBRACKET) < 0)
        return NULL;
    while (p->cur.type != T_RBRACKET) {
        if (items.n && expect(p, T_COMMA) < 0)
            return NULL;
        if (p->cur.type == T_RBRACKET)
            break;
        struct node *e = parse_expression(p, true);
        if (!e)
            return NULL;
        nb_push(p, &items, e);
    }
    if (expect(p, T_RBRACKET) < 0)
        return NULL;
    n->items = nb_list(&items);
    return seal(p, n) < 0 ? NULL : n;
}

static struct node *parse_dict(struct parser *p) {
    struct node *n = new_node(p, N_DICT, p->cur.line, p->cur.start);
    struct nbuf items = {0};
    if (expect(p, T_LBRACE) < 0)
        return NULL;
    while (p->cur.type != T_RBRACE) {
        if (items.n && expect(p, T_COMMA) < 0)
            return NULL;
        if (p->cur.type == T_RBRACE)
            break;
        struct node *key = parse_expression(p, true);
        if (!key || expect(p, T_COLON) < 0)
            return NULL;
        struct node *val = parse_expression(p, true);
        if (!val)
            return NULL;
        nb_push(p, &items, key);
        nb_push(p, &items, val);
    }
    if (expect(p, T_RBRACE) < 0)
        return NULL;
    n->items = nb_list(&items);
    return seal(p, n) < 0 ? NULL : n;
}

static struct node *parse_primary(struct parser *p) {
    const struct tok *t = &p->cur;
    size_t start = t->start;
    int line = t->line;
    struct node *n;
    switch (t->type) {
    case T_NAME:
        if (is_name(t, "true") || is_name(t, "True") || is_name(t, "false") ||
            is_name(t, "False")) {
            n = const_node(p, kurc_value_bool(t->str[0] == 't' || t->str[0] == 'T', NULL), line,
                           start);
        } else if (is_name(t, "none") || is_name(t, "None")) {
            n = const_node(p, kurc_value_null(NULL), line, start);
        } else {
            n = new_node(p, N_NAME, line, start);
            n->name = t->str;
        }
        if (next_tok(p) < 0)
            return NULL;
        break;
    case T_STRING: {
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        while (p->cur.type == T_STRING) {
            kurc_strbuf_append(&sb, p->cur.str, p->cur.len);
            if (next_tok(p) < 0) {
                kurc_strbuf_free(&sb);
                return NULL;
            }
        }
        n = const_node(p, kurc_value_str_buf(&sb, NULL), line, start);
        break;
    }
    case T_INT:
    case T_FLOAT:
        n = const_node(p,
                       t->type == T_INT ? kurc_value_int(t->i, NULL) : kurc_value_float(t->f, NULL),
                       line, start);
        if (next_tok(p) < 0)
            return NULL;
        break;
    case T_LPAREN:
        if (next_tok(p) < 0)
            return NULL;
        n = parse_tuple(p, false, true, NULL, true);
        if (!n || expect(p, T_RPAREN) < 0)
            return NULL;
        n->start = start; /* messages quote the expression with its parentheses */
        n->end = p->prev_end;
        return n;
    case T_LBRACKET:
        return parse_list(p);
    case T_LBRACE:
        return parse_dict(p);
    default:
        fail(p, "unexpected '%s'", tmpl_tok_describe(t));
        return NULL;
    }
    return seal(p, n) < 0 ? NULL : n;
}

/* One subscript: an expression or a slice [start]:[stop][:[step]]. */
static struct node *parse_subscribed(struct parser *p) {
    size_t start = p->cur.start;
    int line = p->cur.line;
    struct node *parts[3] = {NULL, NULL, NULL};
    if (p->cur.type == T_COLON) {
        if (next_tok(p) < 0)
            return NULL;
    } else {
        struct node *e = parse_expression(p, true);
        if (!e)
            return NULL;
        if (p->cur.type != T_COLON)
            return e;
        if (next_tok(p) < 0)
            return NULL;
        parts[0] = e;
    }
    if (p->cur.type != T_COLON && p->cur.type != T_RBRACKET && p->cur.type != T_COMMA) {
        if (!(parts[1] = parse_expression(p, true)))
            return NULL;
    }
    if (p->cur.type == T_COLON) {
        if (next_tok(p) < 0)
            return NULL;
        if (p->cur.type != T_RBRACKET && p->cur.type != T_COMMA &&
            !(parts[2] = parse_expression(p, true)))
            return NULL;
    }
    struct node *n = new_node(p, N_SLICE, line, start);
    n->a = parts[0];
    n->b = parts[1];
    n->c = parts[2];
    return seal(p, n) < 0 ? NULL : n;
}

static struct node *parse_subscript(struct parser *p, struct node *node) {
    bool dot = p->cur.type == T_DOT;
    int line = p->cur.line;
    if (next_tok(p) < 0)
        return NULL;
    struct node *n;
    if (dot) {
        struct tok attr = p->cur;
        if (attr.type != T_NAME && attr.type != T_INT) {
            fail(p, "expected name or number", NULL);
            return NULL;
        }
        if (next_tok(p) < 0)
            return NULL;
        if (attr.type == T_NAME) {
            n = new_node(p, N_ATTR, line, node->start);
            n->name = attr.str;
        } else {
            n = new_node(p, N_ITEM, line, node->start);
            n->b = const_node(p, kurc_value_int(attr.i, NULL), attr.line, attr.start);
        }
        n->a = node;
        return seal(p, n) < 0 ? NULL : n;
    }
    struct nbuf args = {0};
    size_t args_start = p->cur.start;
    while (p->cur.type != T_RBRACKET) {
        if (args.n && expect(p, T_COMMA) < 0)
            return NULL;
        struct node *e = parse_subscribed(p);
        if (!e)
            return NULL;
        nb_push(p, &args, e);
    }
    struct node *key;
    if (args.n == 1) {
        key = args.v[0];
    } else {
        key = new_node(p, N_TUPLE, line, args_start);
        key->items = nb_list(&args);
        if (seal(p, key) < 0)
            return NULL;
    }
    if (expect(p, T_RBRACKET) < 0)
        return NULL;
    n = new_node(p, N_ITEM, line, node->start);
    n->a = node;
    n->b = key;
    return seal(p, n) < 0 ? NULL : n;
}

/* (args, name=value, *args, **kwargs) into n. */
static int parse_call_args(struct parser *p, struct node *n) {
    int line = p->cur.line;
    if (expect(p, T_LPAREN) < 0)
        return -1;
    struct nbuf args = {0}, kwvals = {0};
    size_t kwcap = 0;
    bool need_comma = false;
    while (p->cur.type != T_RPAREN) {
        if (need_comma) {
            if (expect(p, T_COMMA) < 0)
                return -1;
            if (p->cur.type == T_RPAREN)
                break;
        }
        bool ok = true;
        const struct tok *ahead;
        if (p->cur.type == T_MUL || p->cur.type == T_POW) {
            bool star = p->cur.type == T_MUL;
            ok = star ? !n->dyn_args && !n->dyn_kwargs : !n->dyn_kwargs;
            if (ok) {
                if (next_tok(p) < 0)
                    return -1;
                struct node *e = parse_expression(p, true);
                if (!e)
                    return -1;
                *(star ? &n->dyn_args : &n->dyn_kwargs) = e;
            }
        } else {
            if (p->cur.type == T_NAME && look(p, &ahead) < 0)
                return -1;
            if (p->cur.type == T_NAME && ahead->type == T_ASSIGN) {
                ok = !n->dyn_kwargs;
                if (ok) {
                    const char *key = p->cur.str;
                    if (next_tok(p) < 0 || next_tok(p) < 0)
                        return -1;
                    struct node *e = parse_expression(p, true);
                    if (!e)
                        return -1;
                    if (kwvals.n == kwcap) {
                        kwcap = kwcap ? kwcap * 2 : 4;
                        const char **names = tmpl_alloc(&p->t->arena, kwcap * sizeof *names);
                        if (kwvals.n)
                            memcpy(names, n->kwnames, kwvals.n * sizeof *names);
                        n->kwnames = names;
                    }
                    n->kwnames[kwvals.n] = key;
                    nb_push(p, &kwvals, e);
                }
            } else {
                ok = !n->dyn_args && !n->dyn_kwargs && kwvals.n == 0;
                if (ok) {
                    struct node *e = parse_expression(p, true);
                    if (!e)
                        return -1;
                    nb_push(p, &args, e);
                }
            }
        }
        if (!ok)
            return tmpl_fail(p->diag, line, "invalid syntax for function call expression");
        need_comma = true;
    }
    if (expect(p, T_RPAREN) < 0)
        return -1;
    n->items = nb_list(&args);
    n->kwvals = nb_list(&kwvals);
    return 0;
}

static struct node *parse_call(struct parser *p, struct node *node) {
    struct node *n = new_node(p, N_CALL, p->cur.line, node->start);
    n->a = node;
    if (parse_call_args(p, n) < 0)
        return NULL;
    return seal(p, n) < 0 ? NULL : n;
}

/* A filter or test name: NAME(.NAME)*. */
static const char *parse_dotted_name(struct parser *p) {
    if (p->cur.type != T_NAME) {
        expect(p, T_NAME);
        return NULL;
    }
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_strbuf_puts(&sb, p->cur.str);
    int rc = next_tok(p);
    while (rc == 0 && p->cur.type == T_DOT) {
        rc = next_tok(p);
        if (rc == 0 && p->cur.type != T_NAME)
            rc = expect(p, T_NAME);
        if (rc == 0) {
            kurc_strbuf_putc(&sb, '.');
            kurc_strbuf_puts(&sb, p->cur.str);
            rc = next_tok(p);
        }
    }
    const char *name = rc == 0 ? tmpl_strndup(&p->t->arena, sb.data, sb.len) : NULL;
    kurc_strbuf_free(&sb);
    return name;
}

static struct node *parse_filter(struct parser *p, struct node *node, bool start_inline) {
    while (p->cur.type == T_PIPE || start_inline) {
        int line = p->cur.line;
        size_t start = node ? node->start : p->cur.start;
        if (!start_inline && next_tok(p) < 0)
            return NULL;
        const char *name = parse_dotted_name(p);
        if (!name)
            return NULL;
        struct node *n = new_node(p, N_FILTER, line, start);
        n->a = node;
        n->name = name;
        if (p->cur.type == T_LPAREN && parse_call_args(p, n) < 0)
            return NULL;
        if (seal(p, n) < 0)
            return NULL;
        node = n;
        start_inline = false;
    }
    return node;
}

static struct node *parse_test(struct parser *p, struct node *node) {
    int line = p->cur.line;
    if (next_tok(p) < 0)
        return NULL;
    bool negated = is_name(&p->cur, "not");
    if (negated && next_tok(p) < 0)
        return NULL;
    const char *name = parse_dotted_name(p);
    if (!name)
        return NULL;
    struct node *n = new_node(p, N_TEST, line, node->start);
    n->a = node;
    n->name = name;
    enum tok_type ty = p->cur.type;
    if (ty == T_LPAREN) {
        if (parse_call_args(p, n) < 0)
            return NULL;
    } else if ((ty == T_NAME || ty == T_STRING || ty == T_INT || ty == T_FLOAT ||
                ty == T_LBRACKET || ty == T_LBRACE) &&
               !is_name(&p->cur, "else") && !is_name(&p->cur, "or") && !is_name(&p->cur, "and")) {
        if (is_name(&p->cur, "is")) {
            fail(p, "You cannot chain multiple tests with is", NULL);
            return NULL;
        }
        struct node *arg = parse_primary(p);
        if (!arg || !(arg = parse_postfix(p, arg)))
            return NULL;
        struct nbuf args = {0};
        nb_push(p, &args, arg);
        n->items = nb_list(&args);
    }
    if (seal(p, n) < 0)
        return NULL;
    if (!negated)
        return n;
    struct node *not = new_node(p, N_NOT, line, node->start);
    not ->a = n;
    return seal(p, not ) < 0 ? NULL : not ;
}

static struct node *parse_postfix(struct parser *p, struct node *node) {
    while (node) {
        if (p->cur.type == T_DOT || p->cur.type == T_LBRACKET)
            node = parse_subscript(p, node);
        else if (p->cur.type == T_LPAREN)
            node = parse_call(p, node);
        else
            break;
    }
    return node;
}

static struct node *parse_filter_expr(struct parser *p, struct node *node) {
    while (node) {
        if (p->cur.type == T_PIPE)
            node = parse_filter(p, node, false);
        else if (is_name(&p->cur, "is"))
            node = parse_test(p, node);
        else if (p->cur.type == T_LPAREN)
            node = parse_call(p, node);
        else
            break;
    }
    return node;
}

static struct node *parse_unary(struct parser *p, bool with_filter) {
    size_t start = p->cur.start;
    int line = p->cur.line;
    struct node *node;
    if (p->cur.type == T_SUB || p->cur.type == T_ADD) {
        enum nkind kind = p->cur.type == T_SUB ? N_NEG : N_POS;
        if (enter(p) < 0 || next_tok(p) < 0)
            return NULL;
        struct node *operand = parse_unary(p, false);
        p->depth--;
        if (!operand)
            return NULL;
        node = new_node(p, kind, line, start);
        node->a = operand;
        if (seal(p, node) < 0)
            return NULL;
    } else {
        node = parse_primary(p);
    }
    node = parse_postfix(p, node);
    return with_filter ? parse_filter_expr(p, node) : node;
}

static struct node *binary(struct parser *p, enum nkind kind, int op, struct node *left,
                           struct node *right) {
    if (!right)
        return NULL;
    struct node *n = new_node(p, kind, left->line, left->start);
    n->op = op;
    n->a = left;
    n->b = right;
    return seal(p, n) < 0 ? NULL : n;
}

static struct node *parse_pow(struct parser *p) {
    struct node *left = parse_unary(p, true);
    while (left && p->cur.type == T_POW) {
        if (next_tok(p) < 0)
            return NULL;
        left = binary(p, N_BINOP, T_POW, left, parse_unary(p, true));
    }
    return left;
}

static struct node *parse_math2(struct parser *p) {
    struct node *left = parse_pow(p);
    while (left && (p->cur.type == T_MUL || p->cur.type == T_DIV || p->cur.type == T_FLOORDIV ||
                    p->cur.type == T_MOD)) {
        int op = p->cur.type;
        if (next_tok(p) < 0)
            return NULL;
        left = binary(p, N_BINOP, op, left, parse_pow(p));
    }
    return left;
}

static struct node *parse_concat(struct parser *p) {
    struct node *first = parse_math2(p);
    if (!first || p->cur.type != T_TILDE)
        return first;
    struct nbuf args = {0};
    nb_push(p, &args, first);
    while (p->cur.type == T_TILDE) {
        if (next_tok(p) < 0)
            return NULL;
        struct node *e = parse_math2(p);
        if (!e)
            return NULL;
        nb_push(p, &args, e);
    }
    struct node *n = new_node(p, N_CONCAT, first->line, first->start);
    n->items = nb_list(&args);
    return seal(p, n) < 0 ? NULL : n;
}

static struct node *parse_math1(struct parser *p) {
    struct node *left = parse_concat(p);
    while (left && (p->cur.type == T_ADD || p->cur.type == T_SUB)) {
        int op = p->cur.type;
        if (next_tok(p) < 0)
            return NULL;
        left = binary(p, N_BINOP, op, left, parse_concat(p));
    }
    return left;
}

static struct node *parse_compare(struct parser *p) {
    struct node *expr = parse_math1(p);
    if (!expr)
        return NULL;
    struct nbuf operands = {0};
    int *ops = NULL;
    size_t opcap = 0;
    for (;;) {
        int op;
        const struct tok *ahead;
        switch (p->cur.type) {
        case T_EQ:
            op = CMP_EQ;
            break;
        case T_NE:
            op = CMP_NE;
            break;
        case T_LT:
            op = CMP_LT;
            break;
        case T_LTEQ:
            op = CMP_LE;
            break;
        case T_GT:
            op = CMP_GT;
            break;
        case T_GTEQ:
            op = CMP_GE;
            break;
        default:
            op = -1;
            if (is_name(&p->cur, "in")) {
                op = CMP_IN;
            } else if (is_name(&p->cur, "not")) {
                if (look(p, &ahead) < 0)
                    return NULL;
                if (is_name(ahead, "in")) {
                    op = CMP_NOTIN;
                    if (next_tok(p) < 0)
                        return NULL;
                }
            }
            break;
        }
        if (op < 0)
            break;
        if (next_tok(p) < 0)
            return NULL;
        struct node *e = parse_math1(p);
        if (!e)
            return NULL;
        if (operands.n == opcap) {
            opcap = opcap ? opcap * 2 : 4;
            int *grown = tmpl_alloc(&p->t->arena, opcap * sizeof *grown);
            if (operands.n)
                memcpy(grown, ops, operands.n * sizeof *grown);
            ops = grown;
        }
        ops[operands.n] = op;
        nb_push(p, &operands, e);
    }
    if (operands.n == 0)
        return expr;
    struct node *n = new_node(p, N_COMPARE, expr->line, expr->start);
    n->a = expr;
    n->items = nb_list(&operands);
    n->ops = ops;
    return seal(p, n) < 0 ? NULL : n;
}

static struct node *parse_not(struct parser *p) {
    if (!is_name(&p->cur, "not"))
        return parse_compare(p);
    size_t start = p->cur.start;
    int line = p->cur.line;
    if (enter(p) < 0 || next_tok(p) < 0)
        return NULL;
    struct node *operand = parse_not(p);
    p->depth--;
    if (!operand)
        return NULL;
    struct node *n = new_node(p, N_NOT, line, start);
    n->a = operand;
    return seal(p, n) < 0 ? NULL : n;
}

static struct node *parse_and(struct parser *p) {
    struct node *left = parse_not(p);
    while (left && is_name(&p->cur, "and")) {
        if (next_tok(p) < 0)
            return NULL;
        left = binary(p, N_AND, 0, left, parse_not(p));
    }
    return left;
}

static struct node *parse_or(struct parser *p) {
    struct node *left = parse_and(p);
    while (left && is_name(&p->cur, "or")) {
        if (next_tok(p) < 0)
            return NULL;
        left = binary(p, N_OR, 0, left, parse_and(p));
    }
    return left;
}

static struct node *parse_condexpr(struct parser *p) {
    struct node *expr = parse_or(p);
    while (expr && is_name(&p->cur, "if")) {
        if (next_tok(p) < 0)
            return NULL;
        struct node *n = new_node(p, N_COND, expr->line, expr->start);
        n->a = expr;
        if (!(n->b = parse_or(p)))
            return NULL;
        if (is_name(&p->cur, "else")) {
            if (enter(p) < 0 || next_tok(p) < 0)
                return NULL;
            n->c = parse_condexpr(p);
            p->depth--;
            if (!n->c)
                return NULL;
        }
        expr = seal(p, n) < 0 ? NULL : n;
    }
    return expr;
}

static struct node *parse_expression(struct parser *p, bool with_condexpr) {
    if (enter(p) < 0)
        return NULL;
    struct node *n = with_condexpr ? parse_condexpr(p) : parse_or(p);
    p->depth--;
    return n;
}

/* ---- statements ------------------------------------------------------- */

static int subparse(struct parser *p, const char *const *end_tags, struct nlist *out);

/* Jinja's name for a node that cannot be assigned to. */
static const char *node_class(const struct node *n) {
    static const char *const names[] = {
        [N_CONST] = "const",   [N_NAME] = "name",     [N_ATTR] = "getattr",
        [N_ITEM] = "getitem",  [N_SLICE] = "slice",   [N_LIST] = "list",
        [N_TUPLE] = "tuple",   [N_DICT] = "dict",     [N_NEG] = "neg",
        [N_POS] = "pos",       [N_NOT] = "not",       [N_AND] = "and",
        [N_OR] = "or",         [N_CONCAT] = "concat", [N_COMPARE] = "compare",
        [N_COND] = "condexpr", [N_FILTER] = "filter", [N_TEST] = "test",
        [N_CALL] = "call",
    };
    if (n->kind != N_BINOP)
        return names[n->kind];
    switch (n->op) {
    case T_ADD:
        return "add";
    case T_SUB:
        return "sub";
    case T_MUL:
        return "mul";
    case T_DIV:
        return "div";
    case T_FLOORDIV:
        return "floordiv";
    case T_MOD:
        return "mod";
    default:
        return "pow";
    }
}

static bool assignable(const struct node *n) {
    if (n->kind == N_NAME)
        return true;
    if (n->kind != N_TUPLE)
        return false;
    for (size_t i = 0; i < n->items.n; i++)
        if (!assignable(n->items.v[i]))
            return false;
    return true;
}

static struct node *parse_assign_target(struct parser *p, const char *extra_end) {
    struct node *target = parse_tuple(p, true, true, extra_end, false);
    if (target && !assignable(target)) {
        tmpl_fail(p->diag, target->line, "can't assign to '%s'", node_class(target));
        return NULL;
    }
    return target;
}

static int fail_unknown_or_eof(struct parser *p, const char *name, const char *const *extra) {
    const char *const *stack[TMPL_MAX_DEPTH + 3];
    int n = 0;
    for (int i = 0; i < p->nend; i++)
        stack[n++] = p->end_stack[i];
    if (extra)
        stack[n++] = extra;
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    if (name)
        kurc_strbuf_printf(&sb, "Encountered unknown tag '%s'.", name);
    else
        kurc_strbuf_puts(&sb, "Unexpected end of template.");
    if (n > 0) {
        bool expected = false;
        for (int i = 0; name && i < n; i++)
            for (const char *const *e = stack[i]; *e; e++)
                expected |= strcmp(*e, name) == 0;
        kurc_strbuf_puts(&sb, expected ? " You probably made a nesting mistake. Jinja is "
                                         "expecting this tag, but currently looking for "
                                       : " Jinja was looking for the following tags: ");
        for (const char *const *e = stack[n - 1]; *e; e++)
            kurc_strbuf_printf(&sb, "%s'%s'", e == stack[n - 1] ? "" : " or ", *e);
        kurc_strbuf_putc(&sb, '.');
    }
    if (p->ntag > 0)
        kurc_strbuf_printf(&sb, " The innermost block that needs to be closed is '%s'.",
                           p->tag_stack[p->ntag - 1]);
    tmpl_fail(p->diag, p->cur.line, "%s", sb.data);
    kurc_strbuf_free(&sb);
    return -1;
}

/* Jinja's parse_statements: the rest of the opening tag, then the body up
 * to one of end_tags (left as the current token unless drop_needle). */
static int parse_statements(struct parser *p, const char *const *end_tags, bool drop_needle,
                            struct nlist *body) {
    if (p->cur.type == T_COLON && next_tok(p) < 0)
        return -1;
    if (expect(p, T_BLOCK_END) < 0 || subparse(p, end_tags, body) < 0)
        return -1;
    if (p->cur.type == T_EOF)
        return fail_unknown_or_eof(p, NULL, end_tags);
    return drop_needle ? next_tok(p) : 0;
}

static struct node *parse_for(struct parser *p, int line, size_t start) {
    struct node *n = new_node(p, N_FOR, line, start);
    if (next_tok(p) < 0 || !(n->a = parse_assign_target(p, "in")) || expect_name(p, "in") < 0)
        return NULL;
    if (!(n->b = parse_tuple(p, false, false, "recursive", false)))
        return NULL;
    if (is_name(&p->cur, "if")) {
        if (next_tok(p) < 0 || !(n->c = parse_expression(p, true)))
            return NULL;
    }
    if (is_name(&p->cur, "recursive")) {
        fail(p, "recursive loops are not supported by kurc", NULL);
        return NULL;
    }
    if (parse_statements(p, END_FOR, false, &n->body) < 0)
        return NULL;
    bool has_else = is_name(&p->cur, "else");
    if (next_tok(p) < 0)
        return NULL;
    if (has_else && parse_statements(p, END_FOR_ELSE, true, &n->orelse) < 0)
        return NULL;
    return n;
}

static struct node *parse_if(struct parser *p, int line, size_t start) {
    struct node *result = new_node(p, N_IF, line, start), *n = result;
    if (next_tok(p) < 0)
        return NULL;
    for (;;) {
        if (!(n->a = parse_tuple(p, false, false, NULL, false)))
            return NULL;
        if (parse_statements(p, END_IF, false, &n->body) < 0)
            return NULL;
        bool is_elif = is_name(&p->cur, "elif"), is_else = is_name(&p->cur, "else");
        int tag_line = p->cur.line;
        if (next_tok(p) < 0)
            return NULL;
        if (is_elif) {
            struct node *elif = new_node(p, N_IF, tag_line, p->cur.start);
            struct nbuf chain = {0};
            nb_push(p, &chain, elif);
            n->orelse = nb_list(&chain);
            n = elif;
            continue;
        }
        if (is_else && parse_statements(p, END_IF_ELSE, true, &n->orelse) < 0)
            return NULL;
        return result;
    }
}

static struct node *parse_set(struct parser *p, int line, size_t start) {
    const struct tok *ahead;
    if (next_tok(p) < 0)
        return NULL;
    if (p->cur.type == T_NAME) {
        if (look(p, &ahead) < 0)
            return NULL;
        if (ahead->type == T_DOT) {
            fail(p, "namespace attribute assignment ('set %s.attr') is not supported by kurc",
                 p->cur.str);
            return NULL;
        }
    }
    struct node *target = parse_assign_target(p, NULL);
    if (!target)
        return NULL;
    if (p->cur.type == T_ASSIGN) {
        struct node *n = new_node(p, N_SET, line, start);
        n->a = target;
        if (next_tok(p) < 0 || !(n->b = parse_tuple(p, false, true, NULL, false)))
            return NULL;
        return n;
    }
    struct node *n = new_node(p, N_SETBLOCK, line, start);
    n->a = target;
    if (p->cur.type == T_PIPE && !(n->b = parse_filter(p, NULL, false)))
        return NULL;
    return parse_statements(p, END_SET, true, &n->body) < 0 ? NULL : n;
}

static struct node *parse_with(struct parser *p, int line, size_t start) {
    struct node *n = new_node(p, N_WITH, line, start);
    struct nbuf targets = {0}, values = {0};
    if (next_tok(p) < 0)
        return NULL;
    while (p->cur.type != T_BLOCK_END) {
        if (targets.n && expect(p, T_COMMA) < 0)
            return NULL;
        struct node *target = parse_assign_target(p, NULL);
        if (!target || expect(p, T_ASSIGN) < 0)
            return NULL;
        struct node *value = parse_expression(p, true);
        if (!value)
            return NULL;
        nb_push(p, &targets, target);
        nb_push(p, &values, value);
    }
    n->items = nb_list(&targets);
    n->kwvals = nb_list(&values);
    return parse_statements(p, END_WITH, true, &n->body) < 0 ? NULL : n;
}

static struct node *parse_filter_block(struct parser *p, int line, size_t start) {
    struct node *n = new_node(p, N_FILTERBLOCK, line, start);
    if (next_tok(p) < 0 || !(n->b = parse_filter(p, NULL, true)))
        return NULL;
    return parse_statements(p, END_FILTER, true, &n->body) < 0 ? NULL : n;
}

static struct node *parse_print(struct parser *p, int line, size_t start) {
    struct node *n = new_node(p, N_OUTPUT, line, start);
    struct nbuf items = {0};
    if (next_tok(p) < 0)
        return NULL;
    while (p->cur.type != T_BLOCK_END) {
        if (items.n && expect(p, T_COMMA) < 0)
            return NULL;
        struct node *e = parse_expression(p, true);
        if (!e)
            return NULL;
        nb_push(p, &items, e);
    }
    n->items = nb_list(&items);
    return n;
}

static struct node *parse_statement(struct parser *p) {
    static const char *const unsupported[] = {"block", "extends", "macro",      "include",
                                              "from",  "import",  "autoescape", "call"};
    if (p->cur.type != T_NAME) {
        fail(p, "tag name expected", NULL);
        return NULL;
    }
    const char *name = p->cur.str;
    int line = p->cur.line;
    size_t start = p->cur.start;
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (strcmp(name, unsupported[i]) == 0) {
            fail(p, "tag '%s' is not supported by kurc", name);
            return NULL;
        }
    struct node *(*parse)(struct parser *, int, size_t) = strcmp(name, "for") == 0    ? parse_for
                                                          : strcmp(name, "if") == 0   ? parse_if
                                                          : strcmp(name, "set") == 0  ? parse_set
                                                          : strcmp(name, "with") == 0 ? parse_with
                                                          : strcmp(name, "filter") == 0
                                                              ? parse_filter_block
                                                          : strcmp(name, "print") == 0 ? parse_print
                                                                                       : NULL;
    if (!parse) {
        fail_unknown_or_eof(p, name, NULL);
        return NULL;
    }
    if (enter(p) < 0)
        return NULL;
    p->tag_stack[p->ntag++] = name;
    struct node *n = parse(p, line, start);
    p->ntag--;
    p->depth--;
    return n;
}

static bool is_end_tag(const struct tok *t, const char *const *end_tags) {
    for (; end_tags && *end_tags; end_tags++)
        if (is_name(t, *end_tags))
            return true;
    return false;
}

/* Text, {{ }} and statements up to the end of the template or a tag in
 * end_tags (which is then the current token). */
static int subparse(struct parser *p, const char *const *end_tags, struct nlist *out) {
    struct nbuf body = {0};
    if (end_tags)
        p->end_stack[p->nend++] = end_tags;
    int rc = 0;
    while (rc == 0 && p->cur.type != T_EOF) {
        struct node *n = NULL;
        if (p->cur.type == T_DATA) {
            n = new_node(p, N_DATA, p->cur.line, p->cur.start);
            n->name = p->cur.str;
            n->namelen = p->cur.len;
            rc = next_tok(p);
        } else if (p->cur.type == T_VAR_BEGIN) {
            n = new_node(p, N_OUTPUT, p->cur.line, p->cur.start);
            struct nbuf items = {0};
            struct node *e = NULL;
            if (next_tok(p) < 0 || !(e = parse_tuple(p, false, true, NULL, false)) ||
                expect(p, T_VAR_END) < 0) {
                rc = -1;
                break;
            }
            nb_push(p, &items, e);
            n->items = nb_list(&items);
        } else {
            if (next_tok(p) < 0) {
                rc = -1;
                break;
            }
            if (is_end_tag(&p->cur, end_tags))
                break;
            if (!(n = parse_statement(p)) || expect(p, T_BLOCK_END) < 0) {
                rc = -1;
                break;
            }
        }
        if (n)
            nb_push(p, &body, n);
    }
    if (end_tags)
        p->nend--;
    *out = nb_list(&body);
    return rc;
}

/* ---- unknown filters and tests --------------------------------------- */

static int check_list(struct parser *p, const struct nlist *l, bool soft);

/* Jinja's compile-time check: an unknown filter or test is an error unless
 * it sits inside an `if` statement or a conditional expression. */
static int check(struct parser *p, const struct node *n, bool soft) {
    if (!n)
        return 0;
    switch (n->kind) {
    case N_IF:
    case N_COND:
        soft = true;
        break;
    case N_FILTER:
        if (!soft && !tmpl_filter_exists(n->name))
            return tmpl_no_filter(p->diag, n->line, n->name);
        break;
    case N_TEST:
        if (!soft && !tmpl_test_exists(n->name))
            return tmpl_fail(p->diag, n->line, "no test named '%s'", n->name);
        break;
    case N_FOR:
        if (check(p, n->b, soft) < 0)
            return -1;
        return check(p, n->c, false) < 0 || check_list(p, &n->body, false) < 0 ||
                       check_list(p, &n->orelse, false) < 0
                   ? -1
                   : 0;
    case N_SETBLOCK:
    case N_FILTERBLOCK:
        soft = false;
        break;
    case N_WITH:
        if (check_list(p, &n->kwvals, soft) < 0)
            return -1;
        return check_list(p, &n->body, false);
    default:
        break;
    }
    if (check(p, n->a, soft) < 0 || check(p, n->b, soft) < 0 || check(p, n->c, soft) < 0 ||
        check(p, n->dyn_args, soft) < 0 || check(p, n->dyn_kwargs, soft) < 0)
        return -1;
    return check_list(p, &n->items, soft) < 0 || check_list(p, &n->kwvals, soft) < 0 ||
                   check_list(p, &n->body, soft) < 0 || check_list(p, &n->orelse, soft) < 0
               ? -1
               : 0;
}

static int check_list(struct parser *p, const struct nlist *l, bool soft) {
    for (size_t i = 0; i < l->n; i++)
        if (check(p, l->v[i], soft) < 0)
            return -1;
    return 0;
}

int tmpl_parse(struct tmpl *t, const char *src, size_t len, struct tmpl_diag *diag) {
    struct parser *p = kurc_xcalloc(1, sizeof *p);
    t->src = src;
    t->len = len;
    p->t = t;
    p->diag = diag;
    tmpl_lex_init(&p->lx, src, len, &t->arena, diag);
    int rc = tmpl_lex_next(&p->lx, &p->cur);
    if (rc == 0)
        rc = subparse(p, NULL, &t->body);
    if (rc == 0)
        rc = check_list(p, &t->body, false);
    free(p);
    return rc;
}

void tmpl_free(struct tmpl *t) {
    for (size_t i = 0; i < t->nconsts; i++)
        kurc_value_free(t->consts[i]);
    free(t->consts);
    tmpl_arena_free(&t->arena);
}
