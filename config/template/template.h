/* template.h - Jinja2-compatible rendering of Kurfile strings.
 *
 * Kur renders every string of a Kurfile with
 * jinja2.Environment().from_string(s).render(**scope) before reading the
 * result back with ast.literal_eval.  kurc_template_render produces the same
 * text as that call (default Environment: no autoescape, trim_blocks and
 * lstrip_blocks off, keep_trailing_newline off), for the subset of Jinja that
 * Kurfiles use: {{ }}, {% if/for/set/with/filter/print/raw %}, {# #},
 * whitespace control, Jinja's expression grammar and precedence, Python
 * arithmetic and comparisons, the stock filters and tests, Kur's own filters
 * (basename, dirname, splitext, combine, as_dict, ternary) and globals
 * (range, dict, gpu_count, load_json, load_yaml).  Values print with
 * Python's str().
 *
 * Differences from Jinja, all deliberate:
 *  - Using an undefined value (printing it, computing with it, iterating
 *    it, taking its attributes, passing it to a filter other than default,
 *    d and ternary) is an error; Jinja prints nothing.  Truth tests, ==,
 *    `is defined` / `is undefined`, type tests and default still accept it.
 *  - Integers are 64-bit: "integer overflow" where Python would grow.
 *  - Mapping keys are strings: {1: 2} is an error.
 *  - Filters that return generators or iterators in Jinja (map, select,
 *    reject, selectattr, rejectattr, unique, reverse, items) and range()
 *    return lists, so printing one shows its items instead of
 *    "<generator object ...>" or "range(0, 3)".
 *  - Case mapping (upper, lower, title, capitalize) covers ASCII only;
 *    names are ASCII; \N{...} escapes and lone surrogates are rejected.
 *  - Not provided: macros, blocks, includes, imports, namespace(), the
 *    loop controls and recursive loops, and the filters batch,
 *    filesizeformat, forceescape, groupby, indent, pprint, random, slice,
 *    striptags, truncate, urlencode, urlize, wordwrap and xmlattr (each is
 *    reported by name).
 */
#ifndef KURC_TEMPLATE_H
#define KURC_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "base/strbuf.h"
#include "config/value/value.h"

/* What all the renders of one Kurfile may use together, beside the limits
 * of each render: a Kurfile of thousands of templates, each under those,
 * would otherwise exhaust memory or run for hours. */
#define KURC_TMPL_TOTAL_BYTES ((uint64_t)64 << 20) /* output of all renders */
#define KURC_TMPL_TOTAL_STEPS 100000000u           /* loop iterations of all renders */

/* What is left of the totals; each render given one takes what it used. */
struct kurc_tmpl_budget {
    uint64_t bytes_left;
    uint64_t steps_left;
};

#define KURC_TMPL_BUDGET_INIT                                                                      \
    { KURC_TMPL_TOTAL_BYTES, KURC_TMPL_TOTAL_STEPS }

/* What a template can see of its caller. */
struct kurc_tmpl_env {
    /* Looks a variable up in the caller's scope chain; returns a borrowed
     * value (which must stay unchanged while the render runs) or NULL when
     * the name is undefined.  May be NULL: then only template-local names
     * and the globals are defined.  Caller names shadow the globals. */
    const struct kurc_value *(*lookup)(void *ctx, const char *name);
    /* Loads a JSON (is_yaml false) or YAML file for the load_json() and
     * load_yaml() globals.  path is as written in the template: the caller
     * resolves it (relative to the Kurfile).  On success stores a new value
     * that the renderer owns and frees.  On failure returns a status and
     * fills err; the renderer reports err->msg inside its own message.  May
     * be NULL: then calling these globals is an error.  A render loads each
     * (path, kind) once and reuses it, unless the template passes
     * use_cache=false. */
    enum kurc_status (*load_file)(void *ctx, const char *path, int is_yaml, struct kurc_value **out,
                                  struct kurc_err *err);
    /* Number of GPUs for the gpu_count() global; NULL means 0. */
    int (*gpu_count)(void *ctx);
    void *ctx;
    /* The totals this render counts against; NULL: none. */
    struct kurc_tmpl_budget *budget;
};

/* True if s contains "{{", "{%" or "{#", the only things that make Jinja do
 * more than copy the text. */
bool kurc_template_has_markup(const char *s, size_t len);

/* True if rendering s returns s unchanged, so a caller may skip the render:
 * s has no markup, no carriage return (Jinja turns \r\n and \r into \n) and
 * does not end in a newline (Jinja drops one trailing newline). */
bool kurc_template_is_plain(const char *s, size_t len);

/* Renders src (len bytes, UTF-8; need not be NUL-terminated) and appends the
 * result to out.  env may be NULL (no caller variables, no files, no GPUs).
 * loc is the place of the string in the Kurfile.
 *
 * Errors return KURC_E_CONFIG with err->msg set to
 *     template "<first 60 characters of src>": <detail>
 * (newlines in the excerpt shown as \n, "..." added when src is longer),
 * "line N: " put before <detail> when src spans several lines, and err's
 * place set to loc.  Errors are: syntax errors (worded as Jinja words them),
 * unknown filters and tests ("no filter named 'x'", "no test named 'x'"),
 * use of undefined values ("'x' is undefined", "'a' has no attribute 'b'",
 * "list index 5 out of range ..."), Python's TypeErrors and ValueErrors
 * (worded as Python words them), "division by zero", "integer overflow"
 * (integers are 64-bit), and the limits that keep any input from running
 * away: "template nests too deeply" (200 levels), 1,000,000 elements or
 * bytes for any one list or string, 10,000,000 loop iterations per render,
 * and with env->budget, "the Kurfile's templates render more than 64 MiB
 * in all" or "... run more than 100000000 loop iterations in all".
 * On error, out is left as it was. */
enum kurc_status kurc_template_render(const char *src, size_t len, const struct kurc_tmpl_env *env,
                                      const struct kurc_loc *loc, struct kurc_strbuf *out,
                                      struct kurc_err *err);

#endif
