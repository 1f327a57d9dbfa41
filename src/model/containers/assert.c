/* assert.c - `assert: CONDITION`: the condition is evaluated (recursively,
 * in the current scopes) when the model is parsed; a falsy value (Python's
 * truthiness: false, 0, "", null, empty list or mapping) stops the parse
 * with "assertion failed: <condition as written> evaluated to <value>".
 * Makes no layer: an operator with no children, so the model has no node
 * for it. */
#include <stdlib.h>

#include "base/strbuf.h"
#include "config/value/pyrepr.h"
#include "model/model.h"

static enum kurc_status assert_parse(struct kurc_model *m, struct kurc_container *c,
                                     struct kurc_err *err) {
    (void)m;
    if (c->args && kurc_value_truthy(c->args))
        return KURC_OK;
    const struct kurc_value *written = kurc_map_get(c->entry, "assert");
    struct kurc_strbuf expr = KURC_STRBUF_INIT, value = KURC_STRBUF_INIT;
    if (written && written->kind == KURC_STR)
        kurc_strbuf_puts(&expr, written->u.str.s);
    else if (written)
        kurc_py_repr(written, &expr);
    else
        kurc_strbuf_puts(&expr, "None");
    if (c->args)
        kurc_py_repr(c->args, &value);
    else
        kurc_strbuf_puts(&value, "None");
    enum kurc_status st = kurc_container_error(c, err, "assertion failed: %s evaluated to %s",
                                               expr.data ? expr.data : "",
                                               value.data ? value.data : "");
    kurc_strbuf_free(&expr);
    kurc_strbuf_free(&value);
    return st;
}

const struct kurc_container_type kurc_container_assert = {
    .name = "assert",
    .operator = true,
    .parse = assert_parse,
};
