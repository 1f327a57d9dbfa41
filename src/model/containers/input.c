/* input.c - `input`: a model input, bound to the data source of the same
 * name.  `input: NAME` names it; `input: {shape: [...], type: T}` declares
 * its per-sample shape (null/None for an axis the data fixes) and dtype
 * (values are carried as float32 whatever the dtype). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/args.h"
#include "model/containers/input.h"
#include "model/model.h"

static const char *const dtypes[] = {"float16", "float32", "float64", "int8",  "int16", "int32",
                                     "int64",   "uint8",   "uint16",  "bool", NULL};

static const struct kurc_schema input_args = {
    .types = KT_STR | KT_MAP | KT_NULL,
    .keys =
        (const struct kurc_schema_key[]){
            {"shape", &(const struct kurc_schema){.types = KT_INT | KT_LIST | KT_NULL}},
            {"type", &(const struct kurc_schema){.types = KT_STR | KT_NULL, .choices = dtypes}},
            {NULL},
        },
};

static enum kurc_status input_parse(struct kurc_model *m, struct kurc_container *c,
                                    struct kurc_err *err) {
    (void)m;
    struct kurc_input_settings *s = kurc_xcalloc(1, sizeof *s);
    c->priv = s;
    strcpy(s->type, "float32");
    if (!c->args || c->args->kind != KURC_MAP)
        return KURC_OK;
    const struct kurc_value *type = kurc_map_get(c->args, "type");
    if (type && type->kind == KURC_STR)
        snprintf(s->type, sizeof s->type, "%s", type->u.str.s);
    const struct kurc_value *shape = kurc_map_get(c->args, "shape");
    if (!shape || shape->kind == KURC_NULL)
        return KURC_OK;
    const struct kurc_value *const *items = (const struct kurc_value *const *)&shape;
    size_t n = 1;
    if (shape->kind == KURC_LIST) {
        items = (const struct kurc_value *const *)shape->u.list.items;
        n = shape->u.list.len;
    }
    if (n > KURC_MAX_DIMS - 1)
        return kurc_container_error(c, err, "'shape' has %zu axes; kurc allows at most %d", n,
                                    KURC_MAX_DIMS - 1);
    s->has_shape = true;
    s->shape.ndim = (int)n;
    for (size_t i = 0; i < n; i++) {
        if (items[i]->kind == KURC_NULL) {
            s->shape.dim[i] = -1;
            continue;
        }
        enum kurc_status st = kurc_arg_int(c, items[i], "shape", 1, &s->shape.dim[i], err);
        if (st)
            return st;
    }
    return KURC_OK;
}

const struct kurc_container_type kurc_container_input = {
    .name = "input",
    .anonymous = true,
    .named_by_args = true,
    .args = &input_args,
    .parse = input_parse,
    .free_priv = free,
};
