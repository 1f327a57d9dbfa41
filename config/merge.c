/* merge.c - blend, merge and concat of value trees (see merge.h). */
#include "config/merge.h"

#include <stdlib.h>
#include <string.h>

int kurc_merge_method_parse(const char *name) {
    if (strcmp(name, "blend") == 0)
        return KURC_MERGE_BLEND;
    if (strcmp(name, "merge") == 0)
        return KURC_MERGE_MERGE;
    if (strcmp(name, "concat") == 0)
        return KURC_MERGE_CONCAT;
    return -1;
}

static struct kurc_value *merge_maps(struct kurc_value *base, struct kurc_value *over,
                                     enum kurc_merge_method method) {
    /* base's keys in order (merged with over's where both have them), then
     * the keys only over has; the result lives in base's node with over's
     * location, since the including file wrote the final mapping. */
    for (size_t i = 0; i < base->u.map.len; i++) {
        struct kurc_pair *p = &base->u.map.pairs[i];
        struct kurc_value *theirs = kurc_map_take(over, p->key);
        if (theirs)
            p->val = kurc_merge(p->val, theirs, method);
    }
    for (size_t i = 0; i < over->u.map.len; i++) {
        struct kurc_pair *p = &over->u.map.pairs[i];
        kurc_map_set(base, p->key, &p->key_loc, p->val);
        p->val = NULL;
    }
    base->loc = over->loc;
    kurc_value_free(over);
    return base;
}

static struct kurc_value *merge_lists(struct kurc_value *base, struct kurc_value *over,
                                      enum kurc_merge_method method) {
    if (method == KURC_MERGE_MERGE) {
        kurc_value_free(base);
        return over;
    }
    size_t n_base = base->u.list.len;
    size_t n_over = over->u.list.len;
    if (method == KURC_MERGE_CONCAT) {
        for (size_t i = 0; i < n_over; i++)
            kurc_list_append(base, over->u.list.items[i]);
    } else {
        for (size_t i = 0; i < n_over; i++) {
            if (i < n_base)
                base->u.list.items[i] = kurc_merge(base->u.list.items[i], over->u.list.items[i],
                                                   method);
            else
                kurc_list_append(base, over->u.list.items[i]);
        }
    }
    over->u.list.len = 0;
    base->loc = over->loc;
    kurc_value_free(over);
    return base;
}

struct kurc_value *kurc_merge(struct kurc_value *base, struct kurc_value *over,
                              enum kurc_merge_method method) {
    if (base->kind == KURC_MAP && over->kind == KURC_MAP)
        return merge_maps(base, over, method);
    if (base->kind == KURC_LIST && over->kind == KURC_LIST)
        return merge_lists(base, over, method);
    kurc_value_free(base);
    return over;
}
