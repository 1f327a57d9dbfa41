/* test_engine.c - Kur's evaluation rules through the engine interface the
 * model builder uses: scopes, registered containers (layers, tags, oldest),
 * loop variables, template arguments, literal coercion and the fixpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/engine.h"
#include "config/kurfile.h"
#include "config/value/json_dump.h"
#include "config/yaml_load.h"

static struct kurc_value *yaml(const char *text) {
    struct kurc_value *v = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_load_buffer(text, strlen(text), KURC_FORMAT_YAML, "e.yml", &v, &err), 0);
    return v;
}

/* Evaluates the YAML value `text` (recursively) and returns compact JSON. */
static char *eval(struct kurc_engine *e, const char *text, bool recursive) {
    struct kurc_value *in = yaml(text);
    struct kurc_value *out = NULL;
    struct kurc_err err;
    enum kurc_status st = kurc_engine_evaluate(e, in, recursive, &out, &err);
    kurc_value_free(in);
    if (st) {
        fprintf(stderr, "%d:%d: %s\n", err.line, err.col, err.msg);
        fail();
    }
    struct kurc_strbuf sb = KURC_STRBUF_INIT;
    kurc_json_dump(out, -1, false, &sb);
    kurc_value_free(out);
    return kurc_strbuf_take(&sb);
}

#define EXPECT(engine, text, json)                                                               \
    do {                                                                                         \
        char *got_ = eval(engine, text, true);                                                   \
        assert_string_equal(got_, json);                                                         \
        free(got_);                                                                              \
    } while (0)

/* Templates each under the limit of one render, but together over the
 * Kurfile's total: the one that crosses it is named by its place. */
static void test_total_output(void **state) {
    (void)state;
    struct kurc_engine *e = kurc_engine_create(NULL, NULL);
    struct kurc_strbuf text = KURC_STRBUF_INIT;
    for (int i = 0; i < 40; i++) /* each renders 1 MB, and once more to see it stays */
        kurc_strbuf_puts(&text, "- \"{{ 'x' * 1000000 }}\"\n");
    struct kurc_value *in = yaml(text.data);
    kurc_strbuf_free(&text);
    struct kurc_value *out = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_engine_evaluate(e, in, true, &out, &err), KURC_E_CONFIG);
    assert_null(out);
    assert_string_equal(err.file, "e.yml");
    assert_true(err.line == 34 && err.col == 3); /* 33 x 2 MB, then 1 MB of 1.1 left */
    assert_non_null(strstr(err.msg, "the Kurfile's templates render more than 64 MiB in all"));
    kurc_value_free(in);
    kurc_engine_free(e);
}

static void test_literal_coercion(void **state) {
    (void)state;
    struct kurc_engine *e = kurc_engine_create(NULL, NULL);
    EXPECT(e, "[\"64\", \"[3, 3]\", 2e-4, \"None\", \"True\", \"'x'\", \"{'a': 1}\", not literal]",
           "[64, [3, 3], 0.0002, null, true, \"x\", {\"a\": 1}, \"not literal\"]");
    EXPECT(e, "\"1e5\"", "100000.0");
    EXPECT(e, "\"007\"", "\"007\"");
    kurc_engine_free(e);
}

/* The model builder's variables: layers, tags, oldest, loop index and item,
 * template arguments. */
static void test_model_variables(void **state) {
    (void)state;
    struct kurc_engine *e = kurc_engine_create(NULL, NULL);
    struct kurc_value *settings = yaml("cnn: {kernels: [64, 32], size: [3, 3]}");
    kurc_engine_push_borrowed(e, settings);

    const char *tag_a[] = {"foo"};
    kurc_engine_register(e, "images", NULL, 0, NULL, 0);
    kurc_engine_register(e, "conv1", tag_a, 1, tag_a, 1);
    kurc_engine_register(e, "conv2", tag_a, 1, tag_a, 1);
    EXPECT(e, "[\"{{ layers[-1] }}\", \"{{ layers|length }}\", \"{{ tags.foo }}\", "
              "\"{{ tags['foo'] }}\", \"{{ oldest.foo }}\"]",
           "[\"conv2\", 3, \"conv2\", \"conv2\", \"conv1\"]");

    for (int i = 0; i < 2; i++) {
        struct kurc_value *index = kurc_value_int(i, NULL);
        kurc_engine_push_var(e, "index", index);
        kurc_value_free(index);
        char *got = eval(e, "{kernels: \"{{ cnn.kernels[index] }}\", size: \"{{ cnn.size }}\"}",
                         true);
        assert_string_equal(got, i == 0 ? "{\"kernels\": 64, \"size\": [3, 3]}"
                                        : "{\"kernels\": 32, \"size\": [3, 3]}");
        free(got);
        kurc_engine_pop(e);
    }

    struct kurc_value *args = yaml("{depth: 2, item: hello}");
    kurc_engine_push_var(e, "args", args);
    kurc_engine_push_borrowed(e, args);
    EXPECT(e, "[\"{{ depth * 2 }}\", \"{{ args.item }} {{ item }}\"]", "[4, \"hello hello\"]");
    kurc_engine_pop(e);
    kurc_engine_pop(e);
    kurc_value_free(args);

    kurc_engine_pop(e);
    kurc_value_free(settings);
    kurc_engine_free(e);
}

/* Non-recursive evaluation leaves containers alone (Kur's model entries). */
static void test_non_recursive(void **state) {
    (void)state;
    struct kurc_engine *e = kurc_engine_create(NULL, NULL);
    char *got = eval(e, "{dense: \"{{ 1 + 1 }}\"}", false);
    assert_string_equal(got, "{\"dense\": \"{{ 1 + 1 }}\"}");
    free(got);
    got = eval(e, "\"{{ 1 + 1 }}\"", false);
    assert_string_equal(got, "2");
    free(got);
    kurc_engine_free(e);
}

/* A string is re-rendered until it stops changing; a list produced by a
 * template is evaluated again element by element. */
static void test_fixpoint(void **state) {
    (void)state;
    struct kurc_engine *e = kurc_engine_create(NULL, NULL);
    struct kurc_value *scope = yaml("{x: \"{{ y }}\", y: \"{{ z }}\", z: 5, l: \"['{{ z }}']\"}");
    kurc_engine_push_borrowed(e, scope);
    EXPECT(e, "[\"{{ x }}\", \"{{ l }}\"]", "[5, [5]]");

    struct kurc_value *self = yaml("{a: \"{{ a }}{{ a }}\"}");
    kurc_engine_push_borrowed(e, self);
    struct kurc_value *in = yaml("\"{{ a }}\"");
    struct kurc_value *out = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_engine_evaluate(e, in, true, &out, &err), KURC_E_CONFIG);
    assert_null(out);
    assert_int_equal(err.line, 1);
    kurc_value_free(in);
    kurc_engine_pop(e);
    kurc_value_free(self);
    kurc_engine_pop(e);
    kurc_value_free(scope);
    kurc_engine_free(e);
}

static void test_errors_name_the_place(void **state) {
    (void)state;
    struct kurc_engine *e = kurc_engine_create(NULL, NULL);
    struct kurc_value *in = yaml("a:\n  b: [1, \"{{ nope + 1 }}\"]\n");
    struct kurc_value *out = NULL;
    struct kurc_err err;
    assert_int_equal(kurc_engine_evaluate(e, in, true, &out, &err), KURC_E_CONFIG);
    assert_string_equal(err.file, "e.yml");
    assert_int_equal(err.line, 2);
    assert_int_equal(err.col, 10);
    assert_non_null(strstr(err.msg, "'nope' is undefined"));
    kurc_value_free(in);
    kurc_engine_free(e);
}

/* gpu_count() asks the Kurfile's counter, and only when a template calls
 * it: 0 without one. */
static int counter_calls;
static int three_gpus(void) {
    counter_calls++;
    return 3;
}

static void test_gpu_count(void **state) {
    (void)state;
    const char *text = "settings:\n  gpus: \"{{ gpu_count() }}\"\n  twice: \"{{ gpu_count() * 2 }}\"\n"
                       "model:\n  - input: x\n";
    const char *want[] = {"{\"gpus\": 0, \"twice\": 0}", "{\"gpus\": 3, \"twice\": 6}"};
    for (int with = 0; with < 2; with++) {
        struct kurc_kurfile *kf;
        struct kurc_err err;
        assert_int_equal(kurc_kurfile_from_text(text, strlen(text), "g.yml", &kf, &err), KURC_OK);
        kf->gpu_count = with ? three_gpus : NULL;
        counter_calls = 0;
        assert_int_equal(kurc_kurfile_parse(kf, NULL, &err), KURC_OK);
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        kurc_json_dump(kurc_kurfile_section(kf, "settings"), -1, true, &sb);
        assert_string_equal(sb.data, want[with]);
        assert_true(with ? counter_calls > 0 : counter_calls == 0);
        kurc_strbuf_free(&sb);
        kurc_kurfile_free(kf);
    }
    /* a Kurfile that never calls it never counts */
    const char *plain = "model:\n  - input: x\n";
    struct kurc_kurfile *kf;
    struct kurc_err err;
    assert_int_equal(kurc_kurfile_from_text(plain, strlen(plain), "p.yml", &kf, &err), KURC_OK);
    kf->gpu_count = three_gpus;
    counter_calls = 0;
    assert_int_equal(kurc_kurfile_parse(kf, NULL, &err), KURC_OK);
    assert_int_equal(counter_calls, 0);
    kurc_kurfile_free(kf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_coercion), cmocka_unit_test(test_total_output),
        cmocka_unit_test(test_model_variables),  cmocka_unit_test(test_non_recursive),
        cmocka_unit_test(test_fixpoint),         cmocka_unit_test(test_errors_name_the_place),
        cmocka_unit_test(test_gpu_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
