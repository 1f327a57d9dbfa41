/* debug.c - `debug: MESSAGE`: the message is evaluated (recursively, in the
 * current scopes) when the model is parsed and logged at DEBUG level as
 * "NAME says: MESSAGE" (`kurc -vv`).  Makes no layer: an operator with no
 * children, so the model has no node for it. */
#include "base/log.h"
#include "base/strbuf.h"
#include "config/value/pyrepr.h"
#include "model/model.h"

static enum kurc_status debug_parse(struct kurc_model *m, struct kurc_container *c,
                                    struct kurc_err *err) {
    (void)m;
    (void)err;
    if (!kurc_log_enabled(KURC_LOG_DEBUG))
        return KURC_OK;
    struct kurc_strbuf text = KURC_STRBUF_INIT;
    if (c->args)
        kurc_py_str(c->args, &text);
    else
        kurc_strbuf_puts(&text, "None");
    kurc_log_at(KURC_LOG_DEBUG, &c->loc, "container %s says: %s", c->name,
                text.data ? text.data : "");
    kurc_strbuf_free(&text);
    return KURC_OK;
}

const struct kurc_container_type kurc_container_debug = {
    .name = "debug",
    .operator = true,
    .parse = debug_parse,
};
