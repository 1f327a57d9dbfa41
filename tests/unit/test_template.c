/* test_template.c - the Jinja2-compatible renderer of Kurfile strings.
 *
 * The expected outputs in ok_cases were produced by Jinja2 3.1
 * (jinja2.Environment().from_string(src).render(**scope), with Kur's filters
 * and globals registered) for the scope that make_scope() builds, then
 * pasted here; the C tests do not run Python.  Error messages are kurc's
 * own: Jinja prints undefined values as nothing, kurc reports them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/template/template.h"

static struct kurc_value *scope; /* the caller's variables */
static int loads;                /* calls of load_file */

static struct kurc_value *list_of(int n, ...) {
    va_list ap;
    va_start(ap, n);
    struct kurc_value *l = kurc_value_list(NULL);
    for (int i = 0; i < n; i++)
        kurc_list_append(l, va_arg(ap, struct kurc_value *));
    va_end(ap);
    return l;
}

/* map_of(n, key1, value1, key2, value2, ...) */
static struct kurc_value *map_of(int n, ...) {
    va_list ap;
    va_start(ap, n);
    struct kurc_value *m = kurc_value_map(NULL);
    for (int i = 0; i < n; i++) {
        const char *key = va_arg(ap, const char *);
        kurc_map_set(m, key, NULL, va_arg(ap, struct kurc_value *));
    }
    va_end(ap);
    return m;
}

#define INT(x) kurc_value_int(x, NULL)
#define STR(x) kurc_value_str(x, NULL)

static struct kurc_value *make_scope(void) {
    return map_of(19, "cnn",
                  map_of(3, "kernels", list_of(2, INT(64), INT(128)), "size",
                         list_of(2, INT(3), INT(3)), "depth", INT(2)),
                  "index", INT(1), "tags", map_of(2, "foo", STR("bar"), "a b", INT(1)), "layers",
                  list_of(3, INT(1), INT(2), INT(3)), "vocab", map_of(1, "size", INT(100)), "rnn",
                  map_of(1, "depth", INT(3)), "idx", INT(1), "settings",
                  map_of(2, "backend", map_of(1, "parallel", INT(2)), "local_batch_size", INT(32)),
                  "lr", kurc_value_float(0.001, NULL), "name", STR("Hello World"), "path",
                  STR("/data/x/train.jsonl"), "flag", kurc_value_bool(true, NULL), "nothing",
                  kurc_value_null(NULL), "empty", list_of(0), "d",
                  map_of(2, "b", INT(2), "a", INT(1)), "words",
                  list_of(3, STR("b"), STR("A"), STR("c")), "users",
                  list_of(2, map_of(2, "name", STR("x"), "age", INT(3)),
                          map_of(2, "name", STR("y"), "age", INT(1))),
                  "s", STR(" hi there "), "f", kurc_value_float(2e-4, NULL));
}

static const struct kurc_value *lookup(void *ctx, const char *name) {
    (void)ctx;
    return kurc_map_get(scope, name);
}

/* Files: "missing.json" fails; any other path loads {path: ..., yaml: ...}. */
static enum kurc_status load_file(void *ctx, const char *path, int is_yaml, struct kurc_value **out,
                                  struct kurc_err *err) {
    (void)ctx;
    loads++;
    if (strcmp(path, "missing.json") == 0)
        return kurc_err_set(err, KURC_E_IO, NULL, "no such file");
    *out = map_of(2, "path", STR(path), "yaml", kurc_value_bool(is_yaml, NULL));
    return KURC_OK;
}

static int gpu_count(void *ctx) {
    (void)ctx;
    return 4;
}

static const struct kurc_tmpl_env env = {lookup, load_file, gpu_count, NULL, NULL};
static const struct kurc_loc where = {"Kurfile.yml", 7, 3};

/* Renders src; returns the output (caller frees) or NULL with err set. */
static char *render_with(const char *src, const struct kurc_tmpl_env *e, struct kurc_err *err) {
    struct kurc_strbuf out = KURC_STRBUF_INIT;
    kurc_err_clear(err);
    if (kurc_template_render(src, strlen(src), e, &where, &out, err) != KURC_OK) {
        assert_int_equal(err->status, KURC_E_CONFIG);
        kurc_strbuf_free(&out);
        return NULL;
    }
    return kurc_strbuf_take(&out);
}

static void expect_output(const char *src, const char *want) {
    struct kurc_err err;
    char *got = render_with(src, &env, &err);
    if (!got)
        fail_msg("%s: unexpected error: %s", src, err.msg);
    if (strcmp(got, want) != 0)
        fail_msg("%s:\n got  \"%s\"\n want \"%s\"", src, got, want);
    free(got);
}

/* Expects an error whose message is `template "<src>": <detail>`. */
static void expect_error(const char *src, const char *detail) {
    struct kurc_err err;
    char *got = render_with(src, &env, &err);
    if (got)
        fail_msg("%s: rendered \"%s\", want error %s", src, got, detail);
    char want[1536];
    snprintf(want, sizeof want, "template \"%s\": %s", src, detail);
    if (strcmp(err.msg, want) != 0)
        fail_msg("%s:\n got  %s\n want %s", src, err.msg, want);
    assert_string_equal(err.file, where.file);
    assert_int_equal(err.line, where.line);
    assert_int_equal(err.col, where.col);
}

struct ok_case {
    const char *src, *out;
};

static const struct ok_case ok_cases[] = {
    /* variables and lookups */
    {"{{ name }}", "Hello World"},
    {"{{ cnn.kernels[index] }}", "128"},
    {"{{ tags[\"foo\"] }}", "bar"},
    {"{{ tags['a b'] }}", "1"},
    {"{{ layers[-1] }}", "3"},
    {"{{ layers.0 }}", "1"},
    {"{{ users[1].name }}", "y"},
    {"{{ cnn['kernels'][0] }}", "64"},
    {"{{ settings.backend.parallel }}", "2"},
    {"{{ cnn }}", "{'kernels': [64, 128], 'size': [3, 3], 'depth': 2}"},
    {"{{ layers }}", "[1, 2, 3]"},
    {"{{ nothing }}", "None"},
    {"{{ flag }}", "True"},
    {"{{ empty }}", "[]"},
    /* arithmetic */
    {"{{ cnn.kernels|length }}", "2"},
    {"{{ vocab.size + 1 }}", "101"},
    {"{{ rnn.depth - 1 }}", "2"},
    {"{{ 2*(idx+1) }}", "4"},
    {"{{ idx < 2 }}", "True"},
    {"{{ settings.backend.parallel * settings.local_batch_size }}", "64"},
    {"{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -2 }} {{ -7 % 2 }}", "3 -4 -1 1"},
    {"{{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 7 / 2 }} {{ 4 / 2 }}", "3.0 0.5 3.5 2.0"},
    {"{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 0.5 }} {{ 2.0 ** 2 }}",
     "1024 0.5 1.4142135623730951 4.0"},
    {"{{ -2**2 }} {{ 2**3**2 }} {{ 1 + 2 is odd }}", "4 64 1"},
    {"{{ true + 1 }} {{ -true }} {{ +false }}", "2 -1 0"},
    {"{{ 1_000 + 0x1F + 0b101 + 0o17 }}", "1051"},
    {"{{ 'ab' + 'cd' }} {{ [1] + [2] }} {{ (1,) + (2,) }}", "abcd [1, 2] (1, 2)"},
    {"{{ 'a' * 3 }} {{ [1, 2] * 2 }} {{ 3 * 'x' }} {{ 'a' * -1 }}", "aaa [1, 2, 1, 2] xxx "},
    {"{{ 9223372036854775807 }} {{ -9223372036854775807 - 1 }}",
     "9223372036854775807 -9223372036854775808"},
    /* floats print as Python repr */
    {"{{ lr }} {{ f }} {{ 1e-5 }} {{ 2.0 }} {{ 1.5e3 }}", "0.001 0.0002 1e-05 2.0 1500.0"},
    {"{{ 1/3 }} {{ 0.1 + 0.2 }} {{ 1e16 }} {{ -0.0 }} {{ 1e308 * 10 }}",
     "0.3333333333333333 0.30000000000000004 1e+16 -0.0 inf"},
    /* strings and concatenation */
    {"{{ 'a' ~ 1 ~ none ~ 1.0 ~ [1, 'x'] ~ {'k': 2.0} }}", "a1None1.0[1, 'x']{'k': 2.0}"},
    {"{{ 'ab' 'cd' }}", "abcd"},
    {"{{ 'it\\'s' }} {{ \"tab\\there\" }} {{ '\\u00e9\\x41\\101' }}", "it's tab\there éAA"},
    {"{{ 'héllo'[1] }} {{ 'héllo'|length }} {{ 'abcdef'[::2] }} {{ 'abc'[-2:] }}", "é 5 ace bc"},
    {"{{ (1, 2) }} {{ 1, 2 }} {{ (1,) }} {{ () }}", "(1, 2) (1, 2) (1,) ()"},
    /* logic and comparisons */
    {"{{ true and 'x' }} {{ 0 or 'y' }} {{ not flag }} {{ nothing or empty or 'z' }}",
     "x y False z"},
    {"{{ x or 'd' }} {{ 0 and x }} {{ not x }}", "d 0 True"},
    {"{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ [1] < [1, 2] }} {{ 'abc' "
     "< 'abd' }}",
     "True False True True True True"},
    {"{{ 'ab' in 'cabd' }} {{ 1 in [1.0] }} {{ 'a' in d }} {{ 3 not in layers }} {{ x == 1 }} {{ x "
     "!= 1 }}",
     "True True True False False True"},
    {"{{ 'yes' if flag else 'no' }} {{ 'yes' if nothing else 'no' }}", "yes no"},
    /* statements */
    {"{% if idx == 0 %}zero{% elif idx == 1 %}one{% else %}many{% endif %}", "one"},
    {"{% if x is defined %}a{% elif nothing %}b{% else %}c{% endif %}", "c"},
    {"{% for k in layers %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ "
     "loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}|{% endfor %}",
     "10TrueFalse332|21FalseFalse321|32FalseTrue310|"},
    {"{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", "b=2;a=1;"},
    {"{% for x in empty %}x{% else %}none{% endfor %}", "none"},
    {"{% for i in range(5) if i is odd %}{{ i }}/{{ loop.length }} {% endfor %}", "1/2 3/2 "},
    {"{% for (a, (b, c)) in [[1, [2, 3]]] %}{{ a }}{{ b }}{{ c }}{% endfor %}", "123"},
    {"{% for x in 'ab' %}{{ x }}{% endfor %}{% for x in d %}{{ x }}{% endfor %}", "abba"},
    {"{% for x in [1, 2, 3] %}{{ loop.cycle('a', 'b') }}{% if not loop.first %}{{ loop.previtem "
     "}}{% endif %}{% endfor %}",
     "ab1a2"},
    {"{% for x in [1, 2] %}{% for y in 'ab' %}{{ loop.index }}{{ y }}{% endfor %}{{ loop.index "
     "}}{% endfor %}",
     "1a2b11a2b2"},
    {"{% set x = 3 %}{{ x * 2 }}", "6"},
    {"{% set a, b = 1, 2 %}{{ a }}{{ b }}", "12"},
    {"{% set c = 1, 2 %}{{ c }}", "(1, 2)"},
    {"{% set x = 1 %}{% set x = x + 1 %}{{ x }}", "2"},
    {"{% set cfg = cnn %}{% set cfg = cfg.kernels %}{{ cfg }}", "[64, 128]"},
    {"{% for i in [1, 2] %}{{ idx }}{% set idx = i + 5 %}{{ idx }}{% endfor %}{{ idx }}", "16171"},
    {"{% for i in [1] %}{% set y = 1 %}{% endfor %}{{ y is defined }}", "False"},
    {"{% print 1, 2 %}{% with x = 3, y = 4 %}{{ x + y }}{% endwith %}{{ x is defined }}",
     "127False"},
    {"{% filter upper %}abc{{ 1 }}{% endfilter %}{% set t | upper %}abc{% endset %}{{ t }}",
     "ABC1ABC"},
    /* whitespace control, raw, comments, newlines */
    {"a  {{- 1 -}}  b {%- if true -%}  c  {%- endif -%}  d", "a1bcd"},
    {"x {%- if true +%} y {%+ endif -%} z", "x y z"},
    {"a {{-1}}", "a1"},
    {"{% raw %}{{ not }}{% endraw %}", "{{ not }}"},
    {"{% raw -%}  a  {%- endraw %}", "a"},
    {"x{# comment #}y", "xy"},
    {"a\n  {#- c -#}\n  b", "ab"},
    {"{% for i in [1, 2] %}\n  item {{ i }}\n{% endfor %}\n", "\n  item 1\n\n  item 2\n"},
    {"{% for i in [1, 2] -%}\n  item {{ i }}\n{%- endfor %}", "item 1item 2"},
    {"a\n", "a"},
    {"a\n\n", "a\n"},
    {"a\r\nb\r\n", "a\nb"},
    {"a\rb", "a\nb"},
    {"{{ 1 }}\r\n\r\n", "1\n"},
    {"\n", ""},
    {"", ""},
    {"{{ 'a\r\nb' }}", "a\nb"},
    {"a{#", "a"},
    {"a{% raw %}", "a"},
    /* filters */
    {"{{ -3|abs }} {{ -2.5|abs }} {{ true|abs }}", "3 2.5 1"},
    {"{{ name|lower }} {{ name|upper }} {{ 'hello wORLD-x(y'|title }} {{ 'hello WORLD'|capitalize "
     "}}",
     "hello world HELLO WORLD Hello World-X(Y Hello world"},
    {"{{ x|default('dflt') }} {{ ''|default('e', true) }} {{ nothing|d('n') }} {{ 0|default(5) }} "
     "{{ x|default }}",
     "dflt e None 0 "},
    {"{{ layers|first }} {{ layers|last }} {{ 'abc'|first }} {{ d|first }}", "1 3 a b"},
    {"{{ '3.5'|float }} {{ 2|float }} {{ 'x'|float }} {{ 'x'|float(1) }}", "3.5 2.0 0.0 1"},
    {"{{ '42'|int }} {{ '4.7'|int }} {{ 'x'|int }} {{ 3.9|int }} {{ -3.9|int }} {{ "
     "'ff'|int(base=16) }} {{ 'x'|int(7) }}",
     "42 4 0 3 -3 255 7"},
    {"{{ layers|join }} {{ layers|join(', ') }} {{ users|join('/', attribute='name') }}",
     "123 1, 2, 3 x/y"},
    {"{{ layers|length }} {{ d|count }} {{ 'abc'|length }}", "3 2 3"},
    {"{{ 'abc'|list }} {{ d|list }} {{ (1, 2)|list }}", "['a', 'b', 'c'] ['b', 'a'] [1, 2]"},
    {"{{ layers|max }} {{ layers|min }} {{ words|max }} {{ words|min(case_sensitive=true) }} {{ "
     "users|max(attribute='age') }}",
     "3 1 c A {'name': 'x', 'age': 3}"},
    {"{{ 'a-b-c'|replace('-', '_') }} {{ 'a-b-c'|replace('-', '', 1) }} {{ 'abc'|replace('', '.') "
     "}}",
     "a_b_c ab-c .a.b.c."},
    {"{{ layers|reverse|list }} {{ 'abc'|reverse }}", "[3, 2, 1] cba"},
    {"{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 1234.5|round(-2) }} {{ 3|round }} {{ "
     "2.1|round(0, 'ceil') }} {{ 2.7|round(method='floor') }} {{ 42.55|round(1, 'floor') }}",
     "2.0 4.0 2.67 1200.0 3 3.0 2.0 42.5"},
    {"{{ [3, 1, 2]|sort }} {{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ "
     "words|sort(reverse=true) }} {{ users|sort(attribute='age')|map(attribute='name')|join }}",
     "[1, 2, 3] ['A', 'b', 'c'] ['A', 'b', 'c'] ['c', 'b', 'A'] yx"},
    {"{{ 5|string }} {{ none|string }} {{ layers|sum }} {{ [0.5, 1]|sum }} {{ "
     "users|sum(attribute='age') }} {{ [[1], [2]]|sum(start=[]) }}",
     "5 None 6 1.5 4 [1, 2]"},
    {"{{ ' x '|trim }}|{{ 'xxaxx'|trim('x') }}", "x|a"},
    {"{{ [1, 2, 1, 'a', 'A', 1.0]|unique|list }} {{ words|unique(case_sensitive=true)|list }}",
     "[1, 2, 'a'] ['b', 'A', 'c']"},
    {"{{ d|dictsort }} {{ d|dictsort(by='value', reverse=true) }}",
     "[('a', 1), ('b', 2)] [('b', 2), ('a', 1)]"},
    {"{{ d|tojson }} {{ {'a': [1, 2.5, none, true, 'q<\\'é']}|tojson }} {{ [1]|tojson(indent=2) }}",
     "{\"a\": 1, \"b\": 2} {\"a\": [1, 2.5, null, true, \"q\\u003c\\u0027\\u00e9\"]} [\n  1\n]"},
    {"{{ users|map(attribute='name')|list }} {{ ['a', 'B']|map('upper')|list }} {{ "
     "layers|select('odd')|list }} {{ layers|reject('odd')|list }}",
     "['x', 'y'] ['A', 'B'] [1, 3] [2]"},
    {"{{ users|selectattr('age', 'gt', 2)|map(attribute='name')|list }} {{ users|rejectattr('age', "
     "'gt', 2)|map(attribute='name')|list }}",
     "['x'] ['y']"},
    {"{{ '%s, %s!'|format('a', 'b') }} {{ '%(x)s'|format(x=1) }} {{ 'x'|center(5) }}| {{ 'a b  "
     "c'|wordcount }} {{ '<&\"\\'>'|e }} {{ 1|safe }}",
     "a, b! 1   x  | 3 &lt;&amp;&#34;&#39;&gt; 1"},
    {"{{ d|items|list }}", "[('b', 2), ('a', 1)]"},
    {"{{ path|basename }} {{ path|dirname }} {{ path|splitext }} {{ (path|splitext)[1] }} {{ "
     "'a/.bashrc'|splitext }} {{ '/'|dirname }}",
     "train.jsonl /data/x ('/data/x/train', '.jsonl') .jsonl ('a/.bashrc', '') /"},
    {"{{ d|combine({'c': 3}) }} {{ d|combine }} {{ 5|as_dict('k') }} {{ flag|ternary('y', 'n') }} "
     "{{ nothing|ternary('y', 'n') }}",
     "{'b': 2, 'a': 1, 'c': 3} {'b': 2, 'a': 1} {'k': 5} y n"},
    /* printf-style formatting */
    {"{{ '%s-%s' % (1, 2) }} {{ '%05.1f|%-4d|%x|%r' % (2.25, 7, 255, 'q') }} {{ '%s' % [1, 2] }} "
     "{{ '%(a)s' % {'a': 1} }} {{ '%%' % () }}",
     "1-2 002.2|7   |ff|'q' [1, 2] 1 %"},
    {"{{ '%e %g %g %E %G' % (1234.5, 1234.5, 0.00001234, 1.5, 1e-10) }} {{ '%i %c %o %X %+d % d "
     "%#x %#o' % (3, 65, 8, 255, 5, 5, 255, 8) }}",
     "1.234500e+03 1234.5 1.234e-05 1.500000E+00 1E-10 3 A 10 FF +5  5 0xff 0o10"},
    {"{{ '%.3s|%10s|%-10s|' % ('abcdef', 'ab', 'cd') }} {{ '%d' % 3.7 }} {{ '%*d' % (5, 3) }} {{ "
     "'%08.3d' % 5 }}",
     "abc|        ab|cd        | 3     3 00000005"},
    /* tests */
    {"{{ 1 is odd }} {{ 2 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 3.0 is "
     "odd }}",
     "True True True False True"},
    {"{{ x is defined }} {{ x is undefined }} {{ name is defined }} {{ cnn.nope is defined }} {{ x "
     "is not defined }}",
     "False True True False True"},
    {"{{ nothing is none }} {{ 1 is number }} {{ true is number }} {{ 1 is integer }} {{ true is "
     "integer }} {{ 1.0 is float }}",
     "True True True True False True"},
    {"{{ 'a' is string }} {{ d is mapping }} {{ layers is sequence }} {{ 'a' is sequence }} {{ 1 "
     "is sequence }} {{ d is iterable }} {{ 1 is iterable }}",
     "True True True True False True False"},
    {"{{ true is boolean }} {{ true is true }} {{ false is false }} {{ 1 is true }} {{ x is string "
     "}} {{ x is none }}",
     "True True True False False False"},
    {"{{ 1 is eq 1 }} {{ 1 is equalto 1 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 1 is le 1 }} {{ 2 is "
     "gt 1 }} {{ 2 is ge 3 }} {{ 2 is in layers }}",
     "True True True True True True False True"},
    {"{{ 1 is sameas 1 }} {{ nothing is sameas none }} {{ 'abc' is lower }} {{ 'ABC' is upper }} "
     "{{ 'upper' is filter }} {{ 'odd' is test }}",
     "True True True True True True"},
    /* globals and methods */
    {"{{ range(3)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }}",
     "[0, 1, 2] [1, 4, 7] [5, 3, 1]"},
    {"{% for i in range(3) %}{{ i }}{% endfor %}", "012"},
    {"{{ dict(a=1, b='x') }} {{ dict(d, c=3) }} {{ gpu_count() }}",
     "{'a': 1, 'b': 'x'} {'b': 2, 'a': 1, 'c': 3} 4"},
    {"{{ load_json('a.json') }} {{ load_yaml('b.yml').yaml }}",
     "{'path': 'a.json', 'yaml': False} True"},
    {"{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 7) }} {{ d.keys() }} {{ d.values() }} {{ "
     "d.items() }} {{ d.keys()|list }}",
     "1 None 7 dict_keys(['b', 'a']) dict_values([2, 1]) dict_items([('b', 2), ('a', 1)]) ['b', "
     "'a']"},
    {"{{ name.upper() }} {{ name.lower() }} {{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ "
     "'xay'.strip('xy') }}",
     "HELLO WORLD hello world hi there|hi there | hi there|a"},
    {"{{ 'a,b,,c'.split(',') }} {{ s.split() }} {{ 'a b c'.split(none, 1) }} {{ "
     "name.startswith('He') }} {{ name.endswith(('x', 'ld')) }} {{ name.replace('l', 'L') }}",
     "['a', 'b', '', 'c'] ['hi', 'there'] ['a', 'b c'] True True HeLLo WorLd"},
};

static void test_jinja_outputs(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++)
        expect_output(ok_cases[i].src, ok_cases[i].out);
}

struct error_case {
    const char *src, *detail;
};

static const struct error_case error_cases[] = {
    /* undefined values: Jinja would print nothing */
    {"{{ x }}", "'x' is undefined"},
    {"{{ cnn.missing }}", "'cnn' has no attribute 'missing'"},
    {"{{ cnn.kernels[5] }}", "list index 5 out of range ('cnn.kernels' has 2 items)"},
    {"{{ 'abc'[3] }}", "str index 3 out of range (''abc'' has 3 characters)"},
    {"{{ tags['nope'] }}", "'tags' has no key 'nope'"},
    {"{{ (1 + 2).x }}", "'(1 + 2)' has no attribute 'x'"},
    {"{{ x.y }}", "'x' is undefined"},
    {"{{ x + 1 }}", "'x' is undefined"},
    {"{{ x < 1 }}", "'x' is undefined"},
    {"{{ x|upper }}", "'x' is undefined"},
    {"{{ 'a' ~ x }}", "'x' is undefined"},
    {"{{ 'a' in x }}", "'x' is undefined"},
    {"{{ x is sequence }}", "'x' is undefined"},
    {"{% for i in x %}{% endfor %}", "'x' is undefined"},
    {"{{ 5[0] }}", "'int' object is not subscriptable ('5')"},
    {"{{ empty|first }}", "No first item, sequence was empty."},
    {"{{ empty|max }}", "No aggregated item, sequence was empty."},
    {"{% for x in [1, 2] %}{{ loop.previtem }}{% endfor %}", "there is no previous item"},
    {"{{ 1 if 0 }}",
     "the inline if-expression on line 1 evaluated to false and no else section was defined."},
    /* syntax errors, worded as Jinja words them */
    {"{{ }}", "Expected an expression, got 'end of print statement'"},
    {"{{", "unexpected 'end of template'"},
    {"{{ a", "unexpected end of template, expected 'end of print statement'."},
    {"{{ a b }}", "expected token 'end of print statement', got 'b'"},
    {"{% endfor %}", "Encountered unknown tag 'endfor'."},
    {"{% for x in y %}",
     "Unexpected end of template. Jinja was looking for the following tags: 'endfor' or 'else'. "
     "The innermost block that needs to be closed is 'for'."},
    {"{% for x in y %}{% endif %}",
     "Encountered unknown tag 'endif'. Jinja was looking for the following tags: 'endfor' or "
     "'else'. The innermost block that needs to be closed is 'for'."},
    {"{% if x %}{% for y in z %}{% endif %}",
     "Encountered unknown tag 'endif'. You probably made a nesting mistake. Jinja is expecting "
     "this tag, but currently looking for 'endfor' or 'else'. The innermost block that needs to "
     "be closed is 'for'."},
    {"{% foo %}", "Encountered unknown tag 'foo'."},
    {"{{ a } }}", "unexpected '}'"},
    {"{{ (a ] }}", "unexpected ']', expected ')'"},
    {"{{ 'abc }}", "unexpected char \"'\" at 3"},
    {"{{ a ! b }}", "unexpected char '!' at 5"},
    {"{# abc", "Missing end of comment tag"},
    {"{% raw %}abc", "Missing end of raw directive"},
    {"{{ 'a\\x4' }}", "truncated \\xXX escape"},
    {"{{ 007 }}", "expected token 'end of print statement', got 'integer'"},
    {"{{ 1. }}", "expected name or number"},
    {"{% %}", "tag name expected"},
    {"{% if %}{% endif %}", "Expected an expression, got 'end of statement block'"},
    {"{% for 1 in x %}{% endfor %}", "can't assign to 'const'"},
    {"{{ a is defined is defined }}", "You cannot chain multiple tests with is"},
    {"{{ f(*[1], 2) }}", "invalid syntax for function call expression"},
    {"{{ 9223372036854775808 }}", "integer literal 9223372036854775808 does not fit in 64 bits"},
    {"{% block x %}{% endblock %}", "tag 'block' is not supported by kurc"},
    {"{% set x.y = 1 %}", "namespace attribute assignment ('set x.attr') is not supported by kurc"},
    /* unknown filters and tests: at parse time, or when run inside an if */
    {"{{ x|nofilter }}", "no filter named 'nofilter'"},
    {"{{ x is notest }}", "no test named 'notest'"},
    {"{% if true %}{{ 1|nofilter }}{% endif %}", "no filter named 'nofilter'"},
    {"{{ 1|random }}", "filter 'random' is not supported by kurc"},
    /* arithmetic and types, worded as Python words them */
    {"{{ 1 / 0 }}", "division by zero"},
    {"{{ 1 // 0 }}", "division by zero"},
    {"{{ 1 % 0 }}", "division by zero"},
    {"{{ 1.5 % 0.0 }}", "division by zero"},
    {"{{ 0 ** -1 }}", "0.0 cannot be raised to a negative power"},
    {"{{ 9223372036854775807 + 1 }}", "integer overflow"},
    {"{{ 2 ** 63 }}", "integer overflow"},
    {"{{ 'a' + 1 }}", "can only concatenate str (not \"int\") to str"},
    {"{{ 1 + 'a' }}", "unsupported operand type(s) for +: 'int' and 'str'"},
    {"{{ [1] + (2,) }}", "can only concatenate list (not \"tuple\") to list"},
    {"{{ 'a' < 1 }}", "'<' not supported between instances of 'str' and 'int'"},
    {"{{ none < none }}", "'<' not supported between instances of 'NoneType' and 'NoneType'"},
    {"{{ [1, 'a']|sort }}", "'<' not supported between instances of 'str' and 'int'"},
    {"{{ 'a' * 1.5 }}", "can't multiply sequence by non-int of type 'float'"},
    {"{{ 1 in 'abc' }}", "'in <string>' requires string as left operand, not int"},
    {"{{ 1 in 5 }}", "argument of type 'int' is not iterable"},
    {"{{ [1] in d }}", "unhashable type: 'list'"},
    {"{{ -'a' }}", "bad operand type for unary -: 'str'"},
    {"{{ d[1:] }}", "unhashable type: 'slice'"},
    {"{% for a, b in [[1, 2, 3]] %}{% endfor %}", "too many values to unpack (expected 2)"},
    {"{% for a, b, c in [[1, 2]] %}{% endfor %}",
     "not enough values to unpack (expected 3, got 2)"},
    {"{% for a, b in [1] %}{% endfor %}", "cannot unpack non-iterable int object"},
    {"{% for x in 5 %}{% endfor %}", "'int' object is not iterable"},
    {"{{ '%s %s' % (1,) }}", "not enough arguments for format string"},
    {"{{ '%s' % (1, 2) }}", "not all arguments converted during string formatting"},
    {"{{ '%d' % 'x' }}", "%d format: a real number is required, not str"},
    {"{{ '%y' % 1 }}", "unsupported format character 'y' (0x79) at index 1"},
    {"{{ {1: 2} }}", "dictionary keys must be strings in kurc templates, not int"},
    {"{{ 'x'|round }}", "type str doesn't define __round__ method"},
    {"{{ 2.5|round(method='up') }}", "method must be common, ceil or floor"},
    {"{{ layers|first(1) }}", "filter 'first' takes no arguments (1 given)"},
    {"{{ 'a'|replace('a') }}", "filter 'replace' missing required argument 'new'"},
    {"{{ 'a'|replace('a', 'b', x=1) }}", "filter 'replace' got an unexpected keyword argument 'x'"},
    {"{{ 5|basename }}", "expected str, bytes or os.PathLike object, not int"},
    /* calls */
    {"{{ range(1, 2, 0) }}", "range() arg 3 must not be zero"},
    {"{{ range(1.5) }}", "range(): 'float' object cannot be interpreted as an integer"},
    {"{{ range() }}", "range expected at least 1 argument, got 0"},
    {"{{ name.format(1) }}", "calling method 'format' is not supported"},
    {"{{ layers.append(1) }}", "calling method 'append' is not supported"},
    {"{{ name.bogus() }}", "'name' has no attribute 'bogus'"},
    {"{{ 3() }}", "'int' object is not callable"},
    {"{{ range }}", "function 'range' cannot be used as a value"},
    {"{{ namespace() }}", "the global 'namespace' is not supported by kurc"},
    {"{{ load_json('missing.json') }}", "load_json() could not load 'missing.json': no such file"},
    /* limits */
    {"{{ range(1000001)|length }}",
     "result too large (kurc templates allow at most 1000000 items or bytes)"},
    {"{{ 'ab' * 500001 }}",
     "result too large (kurc templates allow at most 1000000 items or bytes)"},
    {"{{ '%1000001d' % 1 }}",
     "result too large (kurc templates allow at most 1000000 items or bytes)"},
};

static void test_errors(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++)
        expect_error(error_cases[i].src, error_cases[i].detail);
}

static void test_error_excerpt(void **state) {
    (void)state;
    struct kurc_err err;
    /* the excerpt stops at 60 characters and shows newlines as \n */
    const char *src = "first line\n{{ 1 +\n 'a' }} and some text that makes this template long";
    assert_null(render_with(src, &env, &err));
    assert_string_equal(
        err.msg,
        "template \"first line\\n{{ 1 +\\n 'a' }} and some text that makes this temp...\": "
        "line 2: unsupported operand type(s) for +: 'int' and 'str'");
    /* a multi-line template names the line of the template */
    assert_null(render_with("a\nb\n{{ x }}", &env, &err));
    assert_string_equal(err.msg, "template \"a\\nb\\n{{ x }}\": line 3: 'x' is undefined");
    assert_null(render_with("{% for i in [1] %}\n{% endif %}", &env, &err));
    assert_string_equal(
        err.msg, "template \"{% for i in [1] %}\\n{% endif %}\": line 2: Encountered "
                 "unknown tag 'endif'. Jinja was looking for the following tags: "
                 "'endfor' or 'else'. The innermost block that needs to be closed is 'for'.");
}

static void test_output_left_alone_on_error(void **state) {
    (void)state;
    struct kurc_strbuf out = KURC_STRBUF_INIT;
    struct kurc_err err;
    kurc_strbuf_puts(&out, "kept:");
    const char *bad = "partial {{ x }}";
    assert_int_equal(kurc_template_render(bad, strlen(bad), &env, &where, &out, &err),
                     KURC_E_CONFIG);
    assert_string_equal(out.data, "kept:");
    const char *good = "{{ 1 + 1 }}";
    assert_int_equal(kurc_template_render(good, strlen(good), &env, &where, &out, &err), KURC_OK);
    assert_string_equal(out.data, "kept:2");
    kurc_strbuf_free(&out);
}

/* A string of n copies of s. */
static char *repeat(const char *s, int n) {
    size_t len = strlen(s);
    char *r = malloc(len * (size_t)n + 1);
    for (int i = 0; i < n; i++)
        memcpy(r + len * (size_t)i, s, len);
    r[len * (size_t)n] = '\0';
    return r;
}

/* Expects open * n, then 1, then close * n (inside {{ }} when expr) to
 * fail for nesting too deeply. */
static void expect_too_deep(const char *open, const char *close, int n, bool expr) {
    char *o = repeat(open, n), *c = repeat(close, n);
    size_t len = strlen(o) + strlen(c) + 8;
    char *src = malloc(len);
    snprintf(src, len, expr ? "{{ %s1%s }}" : "%s1%s", o, c);
    struct kurc_err err;
    char *got = render_with(src, &env, &err);
    if (got)
        fail_msg("%s1%s: rendered", open, close);
    assert_non_null(strstr(err.msg, "\": template nests too deeply"));
    free(o);
    free(c);
    free(src);
}

static void test_limits(void **state) {
    (void)state;
    /* 150 levels are fine */
    char *o = repeat("{% if true %}", 150), *c = repeat("{% endif %}", 150);
    size_t len = strlen(o) + strlen(c) + 2;
    char *src = malloc(len);
    snprintf(src, len, "%sx%s", o, c);
    expect_output(src, "x");
    free(o);
    free(c);
    free(src);
    o = repeat("(", 150);
    c = repeat(")", 150);
    len = strlen(o) + strlen(c) + 8;
    src = malloc(len);
    snprintf(src, len, "{{ %s1%s }}", o, c);
    expect_output(src, "1");
    free(o);
    free(c);
    free(src);
    /* deeper nesting fails without exhausting the stack */
    expect_too_deep("(", ")", 100000, true);
    expect_too_deep("[", "]", 300, true);
    expect_too_deep("-", "", 300, true);
    expect_too_deep("not ", "", 300, true);
    expect_too_deep("", " + 1", 300, true);
    expect_too_deep("", "|abs", 300, true);
    expect_too_deep("1 if 0 else ", "", 300, true);
    expect_too_deep("{% if true %}", "{% endif %}", 201, false);
    /* loops stop after ten million iterations in all */
    struct kurc_err err;
    assert_null(render_with(
        "{% set r = range(4000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}", &env,
        &err));
    assert_string_equal(
        err.msg, "template \"{% set r = range(4000) %}{% for i in r %}{% for j in r %}{% ...\": "
                 "template loops run more than 10000000 times");
}

/* Renders given a budget take what they use from it; the render that
 * would pass it fails, naming the total. */
static void test_total_budget(void **state) {
    (void)state;
    struct kurc_tmpl_budget budget = {.bytes_left = 10, .steps_left = 5};
    struct kurc_tmpl_env e = env;
    e.budget = &budget;
    struct kurc_err err;
    char *got = render_with("{% for i in range(3) %}{{ i }}{% endfor %}", &e, &err);
    assert_string_equal(got, "012");
    free(got);
    assert_true(budget.bytes_left == 7 && budget.steps_left == 2);
    assert_null(render_with("{% for i in range(3) %}{% endfor %}", &e, &err));
    assert_string_equal(err.msg, "template \"{% for i in range(3) %}{% endfor %}\": the "
                                 "Kurfile's templates run more than 100000000 loop iterations "
                                 "in all");
    assert_true(err.line == where.line && err.col == where.col);
    got = render_with("plain", &e, &err);
    assert_string_equal(got, "plain");
    free(got);
    assert_null(render_with("{{ 'abc' }}", &e, &err)); /* 2 bytes are left */
    assert_string_equal(err.msg, "template \"{{ 'abc' }}\": the Kurfile's templates render more "
                                 "than 64 MiB in all");
    assert_true(budget.bytes_left == 2);
}

static void test_plain_strings(void **state) {
    (void)state;
    assert_false(kurc_template_has_markup("plain {text} 50%", 16));
    assert_true(kurc_template_has_markup("a {{ b }}", 9));
    assert_true(kurc_template_has_markup("{%", 2));
    assert_true(kurc_template_has_markup("x{#", 3));
    assert_false(kurc_template_has_markup("{{", 1)); /* only len bytes count */
    assert_true(kurc_template_is_plain("relu", 4));
    assert_true(kurc_template_is_plain("", 0));
    assert_false(kurc_template_is_plain("a\n", 2));
    assert_false(kurc_template_is_plain("a\r\nb", 4));
    assert_false(kurc_template_is_plain("{{ a }}", 7));
    /* what is_plain promises: rendering changes nothing else */
    expect_output("plain {text} 50%", "plain {text} 50%");
    expect_output("two\nlines", "two\nlines");
    expect_output("dos\r\n", "dos");
    /* embedded NUL bytes pass through */
    struct kurc_strbuf out = KURC_STRBUF_INIT;
    struct kurc_err err;
    assert_int_equal(kurc_template_render("a\0b{{ 1 }}", 10, &env, &where, &out, &err), KURC_OK);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "a\0b1", 4);
    kurc_strbuf_free(&out);
}

static void test_without_env(void **state) {
    (void)state;
    struct kurc_err err;
    struct kurc_tmpl_env bare = {NULL, NULL, NULL, NULL, NULL};
    char *got = render_with("{{ 1 + 1 }} {{ gpu_count() }}", NULL, &err);
    assert_non_null(got);
    assert_string_equal(got, "2 0");
    free(got);
    got = render_with("{% set x = 5 %}{{ x }} {{ gpu_count() }}", &bare, &err);
    assert_non_null(got);
    assert_string_equal(got, "5 0");
    free(got);
    assert_null(render_with("{{ name }}", NULL, &err));
    assert_string_equal(err.msg, "template \"{{ name }}\": 'name' is undefined");
    assert_null(render_with("{{ load_yaml('a.yml') }}", &bare, &err));
    assert_string_equal(
        err.msg, "template \"{{ load_yaml('a.yml') }}\": load_yaml() cannot load files here");
}

static void test_load_cache(void **state) {
    (void)state;
    loads = 0;
    expect_output("{{ load_json('a.json').path }} {{ load_json('a.json').yaml }} {{ "
                  "load_yaml('a.json').yaml }}",
                  "a.json False True");
    assert_int_equal(loads, 2); /* once per path and kind */
    loads = 0;
    expect_output("{{ load_json('a.json') == load_json('a.json', use_cache=false) }}", "True");
    assert_int_equal(loads, 2);
}

static void test_template_names_shadow_globals(void **state) {
    (void)state;
    struct kurc_value *saved = scope;
    scope = map_of(1, "range", INT(7));
    expect_output("{{ range }} {{ dict(a=1) }}", "7 {'a': 1}");
    kurc_value_free(scope);
    scope = saved;
    expect_output("{% set dict = 'mine' %}{{ dict }}", "mine");
}

int main(void) {
    scope = make_scope();
    struct kurc_value *before = kurc_value_copy(scope);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jinja_outputs), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_excerpt), cmocka_unit_test(test_output_left_alone_on_error),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_total_budget),
        cmocka_unit_test(test_plain_strings), cmocka_unit_test(test_without_env),
        cmocka_unit_test(test_load_cache),    cmocka_unit_test(test_template_names_shadow_globals),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* rendering never changes the caller's values */
    if (!kurc_value_identical(before, scope)) {
        fprintf(stderr, "the scope was modified by rendering\n");
        failed++;
    }
    kurc_value_free(before);
    kurc_value_free(scope);
    return failed ? 1 : 0;
}
