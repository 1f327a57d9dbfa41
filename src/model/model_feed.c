/* model_feed.c - graph inputs fed from named data sources that are not
 * model inputs: sequence lengths and the CTC loss's labels (see struct
 * kurc_feed in model.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "model/model.h"

int kurc_model_feed(struct kurc_model *m, struct kurc_feed **feeds, size_t *n_feeds,
                    const char *source, const struct kurc_shape *shape,
                    const struct kurc_length_map *map) {
    for (size_t i = 0; i < *n_feeds; i++) {
        const struct kurc_feed *f = &(*feeds)[i];
        if (strcmp(f->source, source) == 0 && f->length == (map != NULL) &&
            kurc_shape_equal(kurc_graph_shape(m->graph, f->tensor), shape) &&
            (!map || kurc_length_map_equal(&f->map, map)) &&
            m->graph->tensors[f->tensor].fold == m->graph->fold)
            return f->tensor;
    }
    int t = kurc_graph_add_tensor(m->graph, KURC_TENSOR_INPUT, shape, -1, false, source);
    *feeds = kurc_xrealloc(*feeds, (*n_feeds + 1) * sizeof **feeds);
    struct kurc_feed *f = &(*feeds)[(*n_feeds)++];
    memset(f, 0, sizeof *f);
    f->source = kurc_xstrdup(source);
    f->tensor = t;
    f->length = map != NULL;
    if (map)
        f->map = *map;
    return t;
}

void kurc_feeds_release(struct kurc_feed *feeds, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(feeds[i].source);
    free(feeds);
}

void kurc_feed_lengths(const struct kurc_feed *f, float *values, int64_t n) {
    if (!f->length)
        return;
    for (int64_t i = 0; i < n; i++) {
        float v = values[i];
        int64_t len = v > 0.0f && v < 9.0e15f ? (int64_t)llroundf(v) : 0;
        values[i] = (float)kurc_length_map_apply(&f->map, len);
    }
}

bool kurc_model_data_shape(const struct kurc_model *m, const char *name, struct kurc_shape *shape) {
    return m->shapes && m->shapes->lookup && m->shapes->lookup(m->shapes->ctx, name, shape);
}
