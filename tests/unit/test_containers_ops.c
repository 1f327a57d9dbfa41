/* test_containers_ops.c - the operator containers (for, for_each/each,
 * templates, assert, debug) and the layers that combine or reuse others
 * (merge, parallel, reuse): the containers they make, their names and
 * wiring, the template engine variables they see, output shapes and values,
 * gradients against finite differences, the generic keys through operators,
 * and Kur's "uber model" (tests/kurfiles/models/uber.yml). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "modeltest.h"
#include "train/components.h"

#ifndef KURC_TEST_KURFILES
#error "KURC_TEST_KURFILES must name tests/kurfiles"
#endif

/* --- helpers ------------------------------------------------------------ */

static void load_ok(struct mt_model *t, const char *yaml, int64_t batch) {
    struct kurc_err err;
    if (mt_load(t, yaml, batch, &err)) {
        fprintf(stderr, "%s:%d:%d: %s\n", err.file, err.line, err.col, err.msg);
        fail();
    }
}

/* The Kurfile must fail to load with a message containing every needle
 * (NULL-terminated), at a known line; returns that line. */
static int load_fails(const char *yaml, ...) {
    struct mt_model t;
    struct kurc_err err;
    enum kurc_status st = mt_load(&t, yaml, 2, &err);
    mt_free(&t);
    if (st == KURC_OK) {
        fprintf(stderr, "expected an error, but the model loaded\n");
        fail();
    }
    fprintf(stderr, "expected error: line %d: %s\n", err.line, err.msg);
    va_list ap;
    va_start(ap, yaml);
    for (const char *needle = va_arg(ap, const char *); needle; needle = va_arg(ap, const char *))
        if (!strstr(err.msg, needle)) {
            fprintf(stderr, "missing '%s'\n", needle);
            fail();
        }
    va_end(ap);
    assert_true(err.line > 0);
    return err.line;
}

static const struct kurc_node *node_named(const struct kurc_model *m, const char *name) {
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t k = 0; k < m->nodes[i].n_names; k++)
            if (strcmp(m->nodes[i].names[k], name) == 0)
                return &m->nodes[i];
    fprintf(stderr, "no node named '%s'\n", name);
    fail();
    return NULL;
}

/* The name of the node that node `name` reads (its input k). */
static const char *input_of(const struct kurc_model *m, const char *name, size_t k) {
    const struct kurc_node *n = node_named(m, name);
    assert_true(k < n->n_inputs);
    return m->nodes[n->inputs[k]].c->name;
}

/* Checks a tensor's per-sample shape: ndim dimensions follow. */
static void expect_shape(const struct kurc_model *m, int tensor, int ndim, ...) {
    const struct kurc_shape *s = kurc_graph_shape(m->graph, tensor);
    char have[96];
    kurc_shape_format(s, have, sizeof have);
    va_list ap;
    va_start(ap, ndim);
    bool ok = s->ndim == ndim;
    for (int i = 0; i < ndim; i++) {
        int64_t d = va_arg(ap, int);
        ok = ok && s->dim[i] == d;
    }
    va_end(ap);
    if (!ok) {
        fprintf(stderr, "tensor '%s' has shape %s\n", m->graph->tensors[tensor].name, have);
        fail();
    }
}

static const struct kurc_param *param(const struct kurc_model *m, const char *layer,
                                      const char *weight) {
    int i = kurc_params_find(&m->params, layer, weight);
    if (i < 0) {
        fprintf(stderr, "no parameter %s/%s\n", layer, weight);
        fail();
    }
    return &m->params.items[i];
}

static const float *param_values(const struct mt_model *t, const char *layer,
                                 const char *weight) {
    return t->m->params.values + param(t->m, layer, weight)->offset;
}

static void gradcheck(struct mt_model *t, double tol) {
    mt_fill_inputs(t, 7, -1.0f, 1.0f);
    double worst = mt_gradcheck(t, 12, 1e-3, tol);
    fprintf(stderr, "worst relative gradient error %.2e\n", worst);
    assert_true(worst < tol);
}

static void check_gradients(const char *yaml, int64_t batch, double tol) {
    struct mt_model t;
    load_ok(&t, yaml, batch);
    gradcheck(&t, tol);
    mt_free(&t);
}

/* Reads a file into a new string. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* --- for ------------------------------------------------------------------ */

static void test_for_names_and_arguments(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "settings:\n  cnn:\n    kernels: [4, 2]\n"
            "model:\n"
            "  - input: {shape: [6, 6, 1]}\n    name: images\n"
            "  - for:\n"
            "      range: 2\n"
            "      iterate:\n"
            "        - convolution:\n"
            "            kernels: \"{{ cnn.kernels[index] }}\"\n"
            "            size: [2, 2]\n"
            "        - activation: relu\n"
            "  - flatten:\n"
            "  - dense: 3\n    name: out\n",
            2);
    const struct kurc_model *m = t.m;
    /* images, conv, relu, conv, relu, flatten, out */
    assert_int_equal(m->n_nodes, 7);
    const char *names[] = {"images",           "..convolution.0", "..activation.0",
                           "..convolution.1",  "..activation.1",  "..flatten.0",
                           "out"};
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(m->nodes[i].c->name, names[i]);
    /* the loop's automatic name is an alias of its last layer, after the
     * layer's own */
    assert_int_equal(m->nodes[4].n_names, 2);
    assert_string_equal(m->nodes[4].names[1], "..for.0");
    /* kernels from cnn.kernels[index] */
    assert_int_equal(param(m, "..convolution.0", "kernel")->shape.dim[3], 4);
    assert_int_equal(param(m, "..convolution.1", "kernel")->shape.dim[2], 4);
    assert_int_equal(param(m, "..convolution.1", "kernel")->shape.dim[3], 2);
    expect_shape(m, node_named(m, "..activation.1")->value, 3, 6, 6, 2);
    expect_shape(m, mt_output_tensor(m, "out"), 1, 3);
    mt_free(&t);
}

/* Each iteration makes new layers with their own weights. */
static void test_for_fresh_weights_and_with_index(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - for:\n"
            "      range: 3\n"
            "      with_index: i\n"
            "      iterate:\n"
            "        - dense: 4\n"
            "        - dense: \"{{ 2 * (i + 1) }}\"\n"
            "        - dense: 4\n",
            2);
    const struct kurc_model *m = t.m;
    assert_int_equal(m->n_nodes, 10);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "..dense.%d", 3 * i + 1);
        assert_int_equal(param(m, name, "kernel")->shape.dim[1], 2 * (i + 1));
    }
    /* ..dense.0, ..dense.3, ..dense.6 have the same shape, different values */
    const float *a = param_values(&t, "..dense.0", "kernel");
    const float *b = param_values(&t, "..dense.3", "kernel");
    const float *c = param_values(&t, "..dense.6", "kernel");
    assert_true(memcmp(a, b, 16 * sizeof *a) != 0);
    assert_true(memcmp(b, c, 16 * sizeof *a) != 0);
    assert_int_equal(m->params.n, 18);
    expect_shape(m, node_named(m, "..for.0")->value, 1, 4);
    mt_free(&t);
}

/* Kur's CIFAR-10 example as it is: `range: "{{ cnn.kernels|length }}"`. */
static bool cifar_shape(void *ctx, const char *name, struct kurc_shape *shape) {
    (void)ctx;
    if (strcmp(name, "images") != 0)
        return false;
    *shape = (struct kurc_shape){.ndim = 3, .dim = {32, 32, 3}};
    return true;
}

static void test_for_cifar_example(void **state) {
    (void)state;
    struct kurc_kurfile *kf;
    struct kurc_model *m;
    struct kurc_err err;
    assert_int_equal(kurc_kurfile_load(KURC_TEST_KURFILES "/examples/cifar.yml", &kf, &err),
                     KURC_OK);
    assert_int_equal(kurc_kurfile_parse(kf, kurc_all_components(), &err), KURC_OK);
    if (kurc_model_parse(kf, 1, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        fail();
    }
    struct kurc_shape_source source = {cifar_shape, NULL};
    assert_int_equal(kurc_model_build(m, &source, &err), KURC_OK);
    assert_int_equal(m->n_nodes, 8);
    assert_string_equal(m->nodes[1].c->name, "..convolution.0");
    assert_string_equal(m->nodes[3].c->name, "..convolution.1");
    assert_int_equal(param(m, "..convolution.0", "kernel")->shape.dim[3], 64);
    assert_int_equal(param(m, "..convolution.1", "kernel")->shape.dim[3], 32);
    expect_shape(m, node_named(m, "..activation.1")->value, 3, 32, 32, 32);
    assert_int_equal(m->n_outputs, 1);
    expect_shape(m, mt_output_tensor(m, "labels"), 1, 10);
    kurc_model_free(m);
    kurc_kurfile_free(kf);
}

static void test_for_errors(void **state) {
    (void)state;
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for:\n      range: \"{{ 'three' }}\"\n      iterate:\n        - dense: 2\n",
               "(for)", "'range' must be an integer", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for:\n      range: -1\n      iterate:\n        - dense: 2\n",
               "'range' must be at least 0", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for:\n      range: 1000000000000\n      iterate: []\n",
               "'range' is 1000000000000, more than a model may hold", NULL);
    /* nested loops, each within the bound, exceed it together */
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for:\n      range: 20000\n      iterate:\n"
               "        - for: {range: 20000, iterate: [{for: {range: 0, iterate: []}}]}\n",
               "the model has more than", "containers (a loop too long?)", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for:\n      iterate:\n        - dense: 2\n",
               "range", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for:\n      range: 2\n      iterate: 3\n",
               "'iterate' must be a list of containers", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for:\n      range: 2\n      with_index: [1]\n      iterate: [dense: 2]\n",
               "'with_index' must be a variable name", NULL);
}

/* --- for_each / each ---------------------------------------------------- */

static void test_for_each_and_each(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "settings:\n  sizes: [6, 2]\n  big: 9\n"
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - for_each:\n"
            "      items: [3, \"{{ big }}\"]\n"
            "      iterate:\n"
            "        - dense: \"{{ item }}\"\n"
            "  - each:\n"
            "      items: \"{{ sizes }}\"\n"
            "      loop_var: width\n"
            "      iterate:\n"
            "        - dense: \"{{ width }}\"\n"
            "          name: \"d{{ width }}\"\n"
            "        - activation: tanh\n",
            2);
    const struct kurc_model *m = t.m;
    assert_int_equal(m->n_nodes, 7);
    assert_int_equal(param(m, "..dense.0", "kernel")->shape.dim[1], 3);
    assert_int_equal(param(m, "..dense.1", "kernel")->shape.dim[1], 9);
    assert_int_equal(param(m, "d6", "kernel")->shape.dim[0], 9);
    assert_int_equal(param(m, "d2", "kernel")->shape.dim[0], 6);
    assert_string_equal(input_of(m, "d6", 0), "..dense.1");
    /* the loops' automatic names: ..for_each.0 and ..each.0 */
    expect_shape(m, node_named(m, "..for_each.0")->value, 1, 9);
    expect_shape(m, node_named(m, "..each.0")->value, 1, 2);
    mt_free(&t);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for_each:\n      items: 3\n      iterate: [dense: 2]\n",
               "(for_each)", "'items' must be a list", NULL);
}

/* --- templates ---------------------------------------------------------- */

static const char *const template_model =
    "templates:\n"
    "  block:\n"
    "    - dense: \"{{ size }}\"\n"
    "      inputs: \"{{ inputs }}\"\n"
    "    - activation: \"{{ args.act }}\"\n"
    "  single:\n"
    "    dense: 5\n"
    "model:\n"
    "  - input: {shape: [4]}\n    name: x\n"
    "  - dense: 7\n    name: first\n"
    "  - block: {size: 3, act: relu}\n"
    "    name: b1\n"
    "  - block: {size: 2, act: tanh}\n"
    "    inputs: x\n"
    "    name: b2\n"
    "  - single\n";

static void test_templates(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t, template_model, 2);
    const struct kurc_model *m = t.m;
    /* x, first, dense+relu (b1), dense+tanh (b2), dense (single) */
    assert_int_equal(m->n_nodes, 7);
    /* b1's dense reads the layer before the instance; b2's reads x */
    assert_string_equal(m->nodes[2].c->name, "..dense.0");
    assert_string_equal(input_of(m, "..dense.0", 0), "first");
    assert_string_equal(m->nodes[4].c->name, "..dense.1");
    assert_string_equal(input_of(m, "..dense.1", 0), "x");
    assert_int_equal(param(m, "..dense.0", "kernel")->shape.dim[1], 3);
    assert_int_equal(param(m, "..dense.1", "kernel")->shape.dim[1], 2);
    /* the instances' names are aliases of their last layers */
    expect_shape(m, mt_output_tensor(m, "b1"), 1, 3);
    expect_shape(m, node_named(m, "b2")->value, 1, 2);
    assert_string_equal(m->nodes[3].c->name, "..activation.0");
    assert_string_equal(m->nodes[3].names[0], "b1");
    /* a bare template name; a single-container template; automatic name */
    assert_string_equal(input_of(m, "..meta.0", 0), "..activation.1");
    expect_shape(m, node_named(m, "..meta.0")->value, 1, 5);
    mt_free(&t);
}

static void test_template_errors(void **state) {
    (void)state;
    int line = load_fails("templates:\n  dense:\n    - activation: relu\n"
                          "model:\n  - input: {shape: [4]}\n    name: x\n  - dense: 3\n",
                          "template 'dense'", "built-in container", NULL);
    assert_int_equal(line, 2);
    load_fails("templates:\n  inputs:\n    - activation: relu\n"
               "model:\n  - input: {shape: [4]}\n    name: x\n",
               "template 'inputs'", NULL);
    load_fails("templates:\n  loop:\n    - dense: 3\n    - loop: {}\n"
               "model:\n  - input: {shape: [4]}\n    name: x\n  - loop: {}\n",
               "the template 'loop' instantiates itself", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n  - meta: {}\n",
               "names no template", NULL);
    load_fails("templates:\n  blk:\n    - dense: \"{{ size }}\"\n"
               "model:\n  - input: {shape: [4]}\n    name: x\n  - blk: 3\n",
               "(meta)", NULL);
}

/* --- engine variables ------------------------------------------------------ */

static void test_engine_variables_in_inputs(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - dense: 3\n    name: d1\n    tag: foo\n    oldest: first\n"
            "  - dense: 5\n    name: d2\n    tag: [foo, bar]\n    oldest: first\n"
            "  - dense: 2\n    name: from_tag\n    inputs: \"{{ tags.foo }}\"\n"
            "  - dense: 2\n    name: from_oldest\n    inputs: \"{{ oldest.first }}\"\n"
            "  - dense: 2\n    name: from_bar\n    inputs: \"{{ tags['bar'] }}\"\n"
            "  - for:\n"
            "      range: 2\n"
            "      iterate:\n"
            "        - dense: 6\n"
            "    name: loop\n"
            "    inputs: x\n"
            "  - dense: 2\n    name: prev\n    inputs: \"{{ layers[-1] }}\"\n"
            "  - dense: 2\n    name: prev4\n    inputs: \"{{ layers[-4] }}\"\n"
            "  - dense: 2\n    name: count\n    inputs: \"{{ layers[layers|length - 3] }}\"\n",
            2);
    const struct kurc_model *m = t.m;
    assert_string_equal(input_of(m, "from_tag", 0), "d2");
    assert_string_equal(input_of(m, "from_oldest", 0), "d1");
    assert_string_equal(input_of(m, "from_bar", 0), "d2");
    /* the loop registers after its children: layers[-1] is "loop", the
     * alias of its last dense */
    assert_string_equal(input_of(m, "..dense.0", 0), "x");
    assert_string_equal(input_of(m, "prev", 0), "..dense.1");
    /* [..., ..dense.0, ..dense.1, loop, prev]: layers[-4] is ..dense.0 */
    assert_string_equal(input_of(m, "prev4", 0), "..dense.0");
    /* [..., ..dense.1, loop, prev, prev4]: third from the end is loop */
    assert_string_equal(input_of(m, "count", 0), "..dense.1");
    mt_free(&t);
}

/* --- merge ---------------------------------------------------------------- */

static void test_merge_modes_values(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "model:\n"
            "  - input: {shape: [3, 4]}\n    name: a\n"
            "  - input: {shape: [3, 4]}\n    name: b\n"
            "  - input: {shape: [3, 2]}\n    name: c\n"
            "  - input: {shape: [2, 4]}\n    name: d\n"
            "  - merge: concat\n    inputs: [a, c]\n    name: cat\n"
            "  - merge: {mode: concat}\n    inputs: [c, a]\n    name: cat_dict\n"
            "  - merge: {mode: concat, axis: 0}\n    inputs: [a, d]\n    name: cat0\n"
            "  - merge: {axis: -2}\n    inputs: [d, a, d]\n    name: cat_neg\n"
            "  - merge:\n    inputs: [a, c]\n    name: cat_null\n"
            "  - merge: add\n    inputs: [a, b]\n    name: add\n"
            "  - merge: {mode: Multiply}\n    inputs: [a, b]\n    name: mul\n"
            "  - merge: average\n    inputs: [a, b, a]\n    name: avg\n"
            "  - merge: add\n    inputs: [b]\n    name: one\n    sink: yes\n",
            3);
    const struct kurc_model *m = t.m;
    expect_shape(m, mt_output_tensor(m, "cat"), 2, 3, 6);
    expect_shape(m, mt_output_tensor(m, "cat_dict"), 2, 3, 6);
    expect_shape(m, mt_output_tensor(m, "cat0"), 2, 5, 4);
    expect_shape(m, mt_output_tensor(m, "cat_neg"), 2, 7, 4);
    expect_shape(m, mt_output_tensor(m, "cat_null"), 2, 3, 6);
    expect_shape(m, mt_output_tensor(m, "add"), 2, 3, 4);
    expect_shape(m, mt_output_tensor(m, "mul"), 2, 3, 4);
    expect_shape(m, mt_output_tensor(m, "avg"), 2, 3, 4);
    /* one input: the input itself */
    assert_int_equal(mt_output_tensor(m, "one"), mt_input_tensor(m, "b"));
    mt_fill_inputs(&t, 11, -1.0f, 1.0f);
    kurc_exec_forward(t.x);
    const float *a = kurc_exec_value(t.x, mt_input_tensor(m, "a"));
    const float *b = kurc_exec_value(t.x, mt_input_tensor(m, "b"));
    const float *c = kurc_exec_value(t.x, mt_input_tensor(m, "c"));
    const float *d = kurc_exec_value(t.x, mt_input_tensor(m, "d"));
    const float *cat = kurc_exec_value(t.x, mt_output_tensor(m, "cat"));
    const float *cat_dict = kurc_exec_value(t.x, mt_output_tensor(m, "cat_dict"));
    const float *cat0 = kurc_exec_value(t.x, mt_output_tensor(m, "cat0"));
    const float *add = kurc_exec_value(t.x, mt_output_tensor(m, "add"));
    const float *mul = kurc_exec_value(t.x, mt_output_tensor(m, "mul"));
    const float *avg = kurc_exec_value(t.x, mt_output_tensor(m, "avg"));
    for (int s = 0; s < 3; s++) {
        for (int r = 0; r < 3; r++) {
            for (int k = 0; k < 6; k++) {
                float want = k < 4 ? a[s * 12 + r * 4 + k] : c[s * 6 + r * 2 + k - 4];
                assert_true(cat[s * 18 + r * 6 + k] == want);
                want = k < 2 ? c[s * 6 + r * 2 + k] : a[s * 12 + r * 4 + k - 2];
                assert_true(cat_dict[s * 18 + r * 6 + k] == want);
            }
            for (int k = 0; k < 4; k++) {
                int i = s * 12 + r * 4 + k;
                assert_true(fabsf(add[i] - (a[i] + b[i])) < 1e-6f);
                assert_true(fabsf(mul[i] - a[i] * b[i]) < 1e-6f);
                assert_true(fabsf(avg[i] - (2 * a[i] + b[i]) / 3) < 1e-6f);
            }
        }
        for (int r = 0; r < 5; r++)
            for (int k = 0; k < 4; k++)
                assert_true(cat0[s * 20 + r * 4 + k] ==
                            (r < 3 ? a[s * 12 + r * 4 + k] : d[s * 8 + (r - 3) * 4 + k]));
    }
    mt_free(&t);
}

static void test_merge_gradients(void **state) {
    (void)state;
    static const char *const modes[] = {"concat", "add", "multiply", "average",
                                        "{mode: concat, axis: 0}"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "model:\n"
                 "  - input: {shape: [2, 4]}\n    name: x\n"
                 "  - dense: 3\n    name: p\n"
                 "  - dense: 3\n    name: q\n    inputs: x\n"
                 "  - activation: tanh\n    name: qt\n"
                 "  - dense: 3\n    name: r\n    inputs: x\n"
                 "  - merge: %s\n    inputs: [p, qt, r]\n"
                 "  - flatten:\n"
                 "  - dense: 2\n    name: y\n"
                 "loss:\n  - target: y\n    name: mean_squared_error\n",
                 modes[i]);
        fprintf(stderr, "merge: %s\n", modes[i]);
        check_gradients(yaml, 3, 3e-2);
    }
}

static void test_merge_errors(void **state) {
    (void)state;
    int line = load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
                          "  - dense: 3\n    name: p\n"
                          "  - dense: 5\n    name: q\n    inputs: x\n"
                          "  - merge: add\n    inputs: [p, q]\n    name: m\n",
                          "m (merge): cannot add its inputs", "'p' has shape (3,)",
                          "'q' has shape (5,)", NULL);
    assert_int_equal(line, 9);
    load_fails("model:\n  - input: {shape: [2, 4]}\n    name: x\n"
               "  - input: {shape: [3, 3]}\n    name: z\n"
               "  - merge: concat\n    inputs: [x, z]\n",
               "cannot concat its inputs", "only the concat axis may differ", NULL);
    load_fails("model:\n  - input: {shape: [2, 4]}\n    name: x\n"
               "  - merge: {mode: concat, axis: 2}\n    inputs: [x, x]\n",
               "axis 2 is out of range", NULL);
    load_fails("model:\n  - input: {shape: [2, 4]}\n    name: x\n"
               "  - merge: maximum\n    inputs: [x, x]\n",
               "unknown merge mode 'maximum'", NULL);
}

/* --- parallel ------------------------------------------------------------- */

/* A parallel dense on (T, F) is the dense applied to every slice with the
 * same weights: the parallel's child `d` and a plain dense `d` in another
 * model get the same initial weights (they are a function of the seed and
 * the parameter's name), so the plain model run on each slice must give the
 * parallel's output slice by slice. */
static void test_parallel_dense_matches_slices(void **state) {
    (void)state;
    struct mt_model par, plain;
    load_ok(&par,
            "model:\n"
            "  - input: {shape: [5, 4]}\n    name: x\n"
            "  - parallel:\n"
            "      apply:\n"
            "        - dense: 3\n"
            "          name: d\n"
            "        - activation: tanh\n"
            "    name: y\n",
            2);
    load_ok(&plain,
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - dense: 3\n    name: d\n"
            "  - activation: tanh\n    name: y\n",
            2);
    expect_shape(par.m, mt_output_tensor(par.m, "y"), 2, 5, 3);
    /* one set of weights, shaped for a slice */
    assert_int_equal(par.m->params.n, 2);
    assert_int_equal(param(par.m, "d", "kernel")->shape.dim[0], 4);
    assert_memory_equal(param_values(&par, "d", "kernel"), param_values(&plain, "d", "kernel"),
                        12 * sizeof(float));
    mt_fill_inputs(&par, 5, -1.0f, 1.0f);
    kurc_exec_forward(par.x);
    const float *x = kurc_exec_value(par.x, mt_input_tensor(par.m, "x"));
    const float *y = kurc_exec_value(par.x, mt_output_tensor(par.m, "y"));
    float *xs = kurc_exec_value(plain.x, mt_input_tensor(plain.m, "x"));
    const float *ys = kurc_exec_value(plain.x, mt_output_tensor(plain.m, "y"));
    for (int step = 0; step < 5; step++) {
        for (int s = 0; s < 2; s++)
            memcpy(xs + s * 4, x + s * 20 + step * 4, 4 * sizeof *xs);
        kurc_exec_forward(plain.x);
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < 3; k++)
                assert_true(fabsf(ys[s * 3 + k] - y[s * 15 + step * 3 + k]) < 1e-6f);
    }
    mt_free(&par);
    mt_free(&plain);
    check_gradients("model:\n"
                    "  - input: {shape: [5, 4]}\n    name: x\n"
                    "  - parallel:\n"
                    "      apply:\n"
                    "        - dense: 3\n"
                    "        - activation: tanh\n"
                    "        - dense: 2\n"
                    "  - flatten:\n"
                    "  - dense: 2\n    name: y\n"
                    "loss:\n  - target: y\n    name: mean_squared_error\n",
                    3, 1e-2);
}

/* A convolution over every frame of (T, H, W, C). */
static void test_parallel_convolution(void **state) {
    (void)state;
    struct mt_model par, plain;
    load_ok(&par,
            "model:\n"
            "  - input: {shape: [3, 6, 5, 2]}\n    name: x\n"
            "  - parallel:\n"
            "      apply:\n"
            "        - convolution: {kernels: 4, size: [3, 3], border: valid}\n"
            "          name: c\n"
            "        - flatten\n"
            "    name: y\n",
            2);
    load_ok(&plain,
            "model:\n"
            "  - input: {shape: [6, 5, 2]}\n    name: x\n"
            "  - convolution: {kernels: 4, size: [3, 3], border: valid}\n    name: c\n"
            "  - flatten:\n    name: y\n",
            2);
    expect_shape(par.m, mt_output_tensor(par.m, "y"), 2, 3, 48);
    mt_fill_inputs(&par, 9, -1.0f, 1.0f);
    kurc_exec_forward(par.x);
    const float *x = kurc_exec_value(par.x, mt_input_tensor(par.m, "x"));
    const float *y = kurc_exec_value(par.x, mt_output_tensor(par.m, "y"));
    float *xs = kurc_exec_value(plain.x, mt_input_tensor(plain.m, "x"));
    const float *ys = kurc_exec_value(plain.x, mt_output_tensor(plain.m, "y"));
    for (int step = 0; step < 3; step++) {
        for (int s = 0; s < 2; s++)
            memcpy(xs + s * 60, x + s * 180 + step * 60, 60 * sizeof *xs);
        kurc_exec_forward(plain.x);
        for (int s = 0; s < 2; s++)
            for (int k = 0; k < 48; k++)
                assert_true(fabsf(ys[s * 48 + k] - y[s * 144 + step * 48 + k]) < 1e-5f);
    }
    mt_free(&par);
    mt_free(&plain);
    check_gradients("model:\n"
                    "  - input: {shape: [3, 5, 4, 2]}\n    name: x\n"
                    "  - parallel:\n"
                    "      apply:\n"
                    "        - convolution: {kernels: 3, size: [2, 2]}\n"
                    "        - activation: tanh\n"
                    "        - flatten\n"
                    "  - dense: 2\n    name: y\n"
                    "loss:\n  - target: y\n    name: mean_squared_error\n",
                    2, 2e-2);
}

static void test_parallel_errors(void **state) {
    (void)state;
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - parallel: {apply: [dense: 3]}\n",
               "(parallel)", "no leading axis", NULL);
    load_fails("model:\n  - input: {shape: [2, 4]}\n    name: x\n"
               "  - parallel:\n      apply:\n        - dense: 3\n          inputs: x\n",
               "(dense)", "`inputs` is not allowed", NULL);
    load_fails("model:\n  - input: {shape: [2, 4]}\n    name: x\n"
               "  - parallel:\n      apply:\n        - output: y\n",
               "(output)", "cannot be inside a parallel", NULL);
    load_fails("model:\n  - input: {shape: [2, 4]}\n    name: x\n"
               "  - parallel:\n      apply:\n        - dense: 3\n          name: inner\n"
               "  - dense: 2\n    inputs: inner\n",
               "'inner' makes no layer of its own", NULL);
    load_fails("model:\n  - input: {shape: [2, 4]}\n    name: x\n"
               "  - parallel: {apply: 3}\n",
               "'apply' must be a list of containers", NULL);
}

/* --- reuse ---------------------------------------------------------------- */

static void test_reuse_shares_weights(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - dense: 4\n    name: shared\n"
            "  - activation: tanh\n    name: h\n"
            "  - reuse: shared\n    inputs: x\n    name: again\n"
            "  - reuse: {target: shared}\n    inputs: h\n    name: twice\n",
            3);
    const struct kurc_model *m = t.m;
    assert_int_equal(m->params.n, 2);
    /* "shared" is no output: fused with its tanh, it would not be written */
    struct kurc_err err;
    t.x->no_fusion = true;
    assert_int_equal(kurc_exec_replan(t.x, m->graph, &err), KURC_OK);
    mt_fill_inputs(&t, 3, -1.0f, 1.0f);
    kurc_exec_forward(t.x);
    const float *shared = kurc_exec_value(t.x, node_named(m, "shared")->value);
    const float *again = kurc_exec_value(t.x, mt_output_tensor(m, "again"));
    assert_memory_equal(shared, again, 12 * sizeof(float));
    expect_shape(m, mt_output_tensor(m, "twice"), 1, 4);
    mt_free(&t);
    /* the shared weights' gradient is the sum over both uses */
    check_gradients("model:\n"
                    "  - input: {shape: [4]}\n    name: x\n"
                    "  - dense: 4\n    name: s\n"
                    "  - activation: tanh\n"
                    "  - reuse: s\n"
                    "  - dense: 2\n    name: y\n"
                    "loss:\n  - target: y\n    name: mean_squared_error\n",
                    3, 1e-2);
}

/* A reused operator applies all its layers in order; frozen targets stay
 * frozen. */
static void test_reuse_operator_and_template(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "templates:\n  blk:\n    - dense: 4\n    - activation: tanh\n"
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - for:\n      range: 2\n      iterate: [dense: 4, activation: tanh]\n"
            "    name: loop\n"
            "  - reuse: loop\n    name: again\n"
            "  - blk: {}\n    name: inst\n    freeze: yes\n"
            "  - reuse: inst\n    name: inst2\n"
            "  - dense: 2\n    name: y\n"
            "loss:\n  - target: y\n    name: mean_squared_error\n",
            3);
    const struct kurc_model *m = t.m;
    /* 2 loop denses, 1 template dense, y */
    assert_int_equal(m->params.n, 8);
    assert_false(param(m, "..dense.2", "kernel")->trainable);
    mt_fill_inputs(&t, 3, -1.0f, 1.0f);
    kurc_exec_forward(t.x);
    /* again = loop(loop(x)): feed the loop's output through the same layers */
    const float *loop = kurc_exec_value(t.x, node_named(m, "loop")->value);
    const float *again = kurc_exec_value(t.x, node_named(m, "again")->value);
    const float *w0 = param_values(&t, "..dense.0", "kernel");
    const float *w1 = param_values(&t, "..dense.1", "kernel");
    for (int s = 0; s < 3; s++) {
        float h[4], g[4];
        for (int j = 0; j < 4; j++) {
            double sum = 0;
            for (int i = 0; i < 4; i++)
                sum += loop[s * 4 + i] * w0[i * 4 + j];
            h[j] = tanhf((float)sum);
        }
        for (int j = 0; j < 4; j++) {
            double sum = 0;
            for (int i = 0; i < 4; i++)
                sum += h[i] * w1[i * 4 + j];
            g[j] = tanhf((float)sum);
            assert_true(fabsf(g[j] - again[s * 4 + j]) < 1e-5f);
        }
    }
    double worst = mt_gradcheck(&t, 12, 1e-3, 1e-2);
    assert_true(worst < 1e-2);
    mt_free(&t);
}

static void test_reuse_errors(void **state) {
    (void)state;
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - for:\n      range: 1\n      iterate:\n        - dense: 4\n"
               "        - reuse: loop\n    name: loop\n",
               "(reuse)", "cannot reuse 'loop': it contains this reuse (a cycle)", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - reuse: me\n    name: me\n",
               "me (reuse): a reuse cannot reuse itself", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - reuse: later\n  - dense: 3\n    name: later\n",
               "its target 'later' is not the name of a container before it", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - reuse: x\n",
               "(reuse)", "cannot reuse 'x': it is or contains an input", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n"
               "  - reuse: {}\n",
               "target", NULL);
}

/* --- assert and debug ---------------------------------------------------- */

static void test_assert(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "settings:\n  n: 2\n"
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - assert: \"{{ n == 2 }}\"\n"
            "  - for:\n      range: \"{{ n }}\"\n      iterate:\n"
            "        - assert: \"{{ index < n }}\"\n"
            "        - dense: 3\n"
            "  - assert: [1]\n"
            "  - dense: 2\n",
            2);
    /* asserts make no nodes */
    assert_int_equal(t.m->n_nodes, 4);
    assert_string_equal(input_of(t.m, "..dense.2", 0), "..dense.1");
    mt_free(&t);
    int line = load_fails("model:\n"
                          "  - input: {shape: [4]}\n    name: x\n"
                          "  - for:\n      range: 3\n      iterate:\n"
                          "        - assert: \"{{ index < 2 }}\"\n",
                          "..assert.2 (assert): assertion failed: {{ index < 2 }} evaluated to "
                          "False",
                          NULL);
    assert_int_equal(line, 7);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n  - assert: \"{{ [] }}\"\n",
               "assertion failed: {{ [] }} evaluated to []", NULL);
    load_fails("model:\n  - input: {shape: [4]}\n    name: x\n  - assert: 0\n",
               "assertion failed: 0 evaluated to 0", NULL);
}

static void test_debug(void **state) {
    (void)state;
    struct mt_model t;
    kurc_log_configure(KURC_LOG_DEBUG, 0, -1);
    load_ok(&t,
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - debug: \"{{ layers|length }} layers so far\"\n"
            "  - dense: 3\n"
            "  - debug: {a: \"{{ layers[-1] }}\"}\n"
            "    name: talk\n",
            2);
    kurc_log_configure(KURC_LOG_WARNING, 0, -1);
    assert_int_equal(t.m->n_nodes, 2);
    assert_int_equal(t.m->n_outputs, 1);
    assert_string_equal(t.m->outputs[0].name, "..dense.0");
    mt_free(&t);
}

/* --- generic keys through operators -------------------------------------- */

static void test_sink_and_names(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - dense: 3\n    name: mid\n    sink: yes\n"
            "  - for:\n      range: 2\n      iterate: [dense: 5]\n"
            "    name: loop\n    sink: yes\n"
            "  - dense: 2\n    name: last\n",
            2);
    const struct kurc_model *m = t.m;
    assert_int_equal(m->n_outputs, 3);
    expect_shape(m, mt_output_tensor(m, "mid"), 1, 3);
    /* the loop's explicit name is its last layer's first name */
    expect_shape(m, mt_output_tensor(m, "loop"), 1, 5);
    expect_shape(m, mt_output_tensor(m, "last"), 1, 2);
    mt_free(&t);
}

static bool param_has_grad(const struct mt_model *t, const char *layer, const char *weight) {
    int index = kurc_params_find(&t->m->params, layer, weight);
    assert_true(index >= 0);
    const struct kurc_graph *g = t->m->graph;
    for (size_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].kind == KURC_TENSOR_PARAM && g->tensors[i].param == index)
            return kurc_exec_grad(t->x, (int)i) != NULL;
    fail();
    return false;
}

static void test_freeze_inheritance(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - dense: 3\n    name: f\n    freeze: yes\n"
            "  - for:\n      range: 2\n      iterate:\n"
            "        - dense: 3\n"
            "        - dense: 3\n          freeze: no\n"
            "    freeze: yes\n"
            "  - dense: 2\n    name: y\n"
            "loss:\n  - target: y\n    name: mean_squared_error\n",
            2);
    const struct kurc_model *m = t.m;
    assert_false(param(m, "f", "kernel")->trainable);
    assert_false(param(m, "f", "bias")->trainable);
    assert_false(param_has_grad(&t, "f", "kernel"));
    assert_false(param(m, "..dense.0", "kernel")->trainable);
    assert_true(param(m, "..dense.1", "kernel")->trainable);
    assert_false(param(m, "..dense.2", "kernel")->trainable);
    assert_true(param(m, "..dense.3", "kernel")->trainable);
    assert_false(param_has_grad(&t, "..dense.2", "bias"));
    assert_true(param_has_grad(&t, "..dense.3", "bias"));
    assert_true(param(m, "y", "kernel")->trainable);
    assert_int_equal(kurc_params_count(&m->params, true), 2 * 12 + 8);
    gradcheck(&t, 1e-2);
    mt_free(&t);
    /* a frozen parallel freezes the layers it applies */
    load_ok(&t,
            "model:\n"
            "  - input: {shape: [3, 4]}\n    name: x\n"
            "  - parallel:\n      apply:\n        - dense: 3\n        - dense: 2\n"
            "          freeze: no\n"
            "    freeze: yes\n",
            2);
    assert_false(param(t.m, "..dense.0", "kernel")->trainable);
    assert_true(param(t.m, "..dense.1", "kernel")->trainable);
    mt_free(&t);
}

static void test_when(void **state) {
    (void)state;
    struct mt_model t;
    load_ok(&t,
            "settings:\n  deep: no\n"
            "model:\n"
            "  - input: {shape: [4]}\n    name: x\n"
            "  - dense: 3\n    when: no\n    name: skipped\n"
            "  - for:\n      range: 2\n      iterate: [dense: 7, activation: tanh]\n"
            "    when: \"{{ deep }}\"\n"
            "  - parallel: {apply: [dense: 2]}\n    when: \"{{ 1 > 2 }}\"\n"
            "  - dense: 5\n    name: y\n",
            2);
    const struct kurc_model *m = t.m;
    /* nothing was built for the switched-off containers */
    assert_int_equal(m->params.n, 2);
    assert_int_equal(kurc_params_find(&m->params, "skipped", "kernel"), -1);
    assert_int_equal(kurc_params_find(&m->params, "..dense.0", "kernel"), -1);
    assert_int_equal(param(m, "y", "kernel")->shape.dim[0], 4);
    assert_int_equal(m->n_outputs, 1);
    expect_shape(m, mt_output_tensor(m, "y"), 1, 5);
    mt_free(&t);
}

/* --- Kur's uber model ------------------------------------------------------ */

static void test_uber_model(void **state) {
    (void)state;
    char *yaml = slurp(KURC_TEST_KURFILES "/models/uber.yml");
    struct mt_model t;
    load_ok(&t, yaml, 4);
    free(yaml);
    const struct kurc_model *m = t.m;
    assert_int_equal(m->n_inputs, 1);
    expect_shape(m, mt_input_tensor(m, "TEST_input"), 2, 32, 32);
    assert_int_equal(m->n_outputs, 1);
    expect_shape(m, mt_output_tensor(m, "TEST_output"), 1, 140);
    expect_shape(m, node_named(m, "..for.0")->value, 3, 7, 7, 4);
    expect_shape(m, node_named(m, "..parallel.0")->value, 2, 7, 10);
    /* Kur's recurrent: {size: 28, sequence: False}: a GRU over the 7 steps */
    expect_shape(m, node_named(m, "..recurrent.0")->value, 1, 28);
    assert_int_equal(param(m, "..recurrent.0", "kernel")->shape.dim[0], 10);
    assert_int_equal(param(m, "..recurrent.0", "recurrent_kernel")->shape.dim[1], 84);
    expect_shape(m, node_named(m, "..repeat.0")->value, 2, 7, 28);
    expect_shape(m, node_named(m, "..parallel.1")->value, 2, 7, 10);
    expect_shape(m, node_named(m, "TEST_mark1")->value, 1, 70);
    expect_shape(m, node_named(m, "TEST_mark2")->value, 1, 70);
    /* TEST_reuse's weights exist once, used by both parallels */
    assert_int_equal(param(m, "TEST_reuse", "kernel")->shape.dim[0], 28);
    assert_int_equal(kurc_params_find(&m->params, "..reuse.0", "kernel"), -1);
    /* Element-wise finite differences are unreliable this deep (relu and
     * max-pool kinks, float32 loss noise); the derivative along random
     * directions of all parameters at once is not.  The per-container tests
     * check each container element by element. */
    mt_fill_inputs(&t, 7, -1.0f, 1.0f);
    for (uint64_t d = 0; d < 3; d++) {
        double e = mt_gradcheck_direction(&t, 100 + d);
        fprintf(stderr, "uber model directional gradient error %.2e\n", e);
        assert_true(e < 1e-2);
    }
    mt_free(&t);
}

/* A few Adam steps on one batch of random data lower the uber model's
 * loss (dropout on, so each step sees other masks). */
static void test_uber_model_trains(void **state) {
    (void)state;
    char *yaml = slurp(KURC_TEST_KURFILES "/models/uber.yml");
    struct mt_model t;
    load_ok(&t, yaml, 8);
    free(yaml);
    mt_fill_inputs(&t, 11, -1.0f, 1.0f);
    struct kurc_err err;
    double first = 0, last = 0;
    assert_int_equal(mt_train(&t, 40, true, &first, &last, &err), KURC_OK);
    fprintf(stderr, "uber model loss %.4f -> %.4f\n", first, last);
    assert_true(last < 0.7 * first);
    mt_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_for_names_and_arguments),
        cmocka_unit_test(test_for_fresh_weights_and_with_index),
        cmocka_unit_test(test_for_cifar_example),
        cmocka_unit_test(test_for_errors),
        cmocka_unit_test(test_for_each_and_each),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_engine_variables_in_inputs),
        cmocka_unit_test(test_merge_modes_values),
        cmocka_unit_test(test_merge_gradients),
        cmocka_unit_test(test_merge_errors),
        cmocka_unit_test(test_parallel_dense_matches_slices),
        cmocka_unit_test(test_parallel_convolution),
        cmocka_unit_test(test_parallel_errors),
        cmocka_unit_test(test_reuse_shares_weights),
        cmocka_unit_test(test_reuse_operator_and_template),
        cmocka_unit_test(test_reuse_errors),
        cmocka_unit_test(test_assert),
        cmocka_unit_test(test_debug),
        cmocka_unit_test(test_sink_and_names),
        cmocka_unit_test(test_freeze_inheritance),
        cmocka_unit_test(test_when),
        cmocka_unit_test(test_uber_model),
        cmocka_unit_test(test_uber_model_trains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
