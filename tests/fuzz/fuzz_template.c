/* fuzz_template.c - libFuzzer harness for the template renderer and the
 * Python literal parser: the input is rendered as a template against a small
 * fixed scope (numbers, strings, lists, a mapping), and the output is parsed
 * as a Python literal.  Errors are fine; crashes, leaks and hangs are not. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/template/template.h"
#include "config/value/pyliteral.h"
#include "config/yaml_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char scope_yaml[] = "n: 3\nf: 0.5\ns: text\nl: [1, 2, three]\n"
                                 "cnn: {kernels: [64, 32], size: [3, 3]}\nnone: ~\nt: yes\n";

static const struct kurc_value *lookup(void *ctx, const char *name) {
    return kurc_map_get(ctx, name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct kurc_value *scope = NULL;
    struct kurc_err err;
    if (kurc_load_buffer(scope_yaml, strlen(scope_yaml), KURC_FORMAT_YAML, "scope", &scope,
                         &err) != KURC_OK)
        return 0;
    struct kurc_tmpl_env env = {.lookup = lookup, .ctx = scope};
    struct kurc_loc loc = {"fuzz", 1, 1};
    struct kurc_strbuf out = KURC_STRBUF_INIT;
    if (kurc_template_render((const char *)data, size, &env, &loc, &out, &err) == KURC_OK) {
        struct kurc_value *v = NULL;
        if (kurc_py_literal_parse(out.data ? out.data : "", out.len, &loc, &v))
            kurc_value_free(v);
    }
    kurc_strbuf_free(&out);
    kurc_value_free(scope);
    return 0;
}
