/* fuzz_kurfile.c - libFuzzer harness for the Kurfile loader and engine.
 *
 * The input is read as a YAML document (or, when it starts with '{', as
 * JSON); every string of the resulting tree is then evaluated through the
 * template engine with the tree itself in scope, the way Kur evaluates a
 * section.  Any crash, leak, hang or sanitizer report is a bug: bad input
 * must only ever produce a KURC_E_CONFIG error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/engine.h"
#include "config/value/json_dump.h"
#include "config/yaml_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    enum kurc_doc_format format = size && data[0] == '{' ? KURC_FORMAT_JSON : KURC_FORMAT_YAML;
    struct kurc_value *tree = NULL;
    struct kurc_err err;
    if (kurc_load_buffer((const char *)data, size, format, "fuzz.yml", &tree, &err) != KURC_OK)
        return 0;
    if (!tree)
        return 0;
    struct kurc_engine *engine = kurc_engine_create(NULL, NULL);
    if (tree->kind == KURC_MAP)
        kurc_engine_push_borrowed(engine, tree);
    struct kurc_value *out = NULL;
    if (kurc_engine_evaluate(engine, tree, true, &out, &err) == KURC_OK) {
        struct kurc_strbuf sb = KURC_STRBUF_INIT;
        kurc_json_dump(out, 4, true, &sb);
        kurc_strbuf_free(&sb);
    }
    kurc_value_free(out);
    kurc_engine_free(engine);
    kurc_value_free(tree);
    return 0;
}
