/* model.h - a Kurfile's model: containers, their wiring, and the op graph.
 *
 * kurc_model_parse turns the `model` section into containers in Kur's way:
 * each entry is evaluated through the template engine in its scope, its
 * generic keys are read, its type parses its arguments (operators make and
 * parse their children, with loop variables or template arguments in
 * scope), and it is registered with the engine (`layers`, `tags`,
 * `oldest`), children before their parent.  The leaves are then wired as
 * Kur's Model.assemble_graph does: a layer without `inputs` takes the most
 * recent layer, an `input` starts a new chain, an operator's `inputs` go to
 * its first leaf and its name to its last; every leaf nobody consumes, and
 * every sink, is an output, keyed by its first name.
 *
 * kurc_model_build then infers shapes from the inputs' shapes and emits the
 * op graph; parameters are declared as the layers ask for them.
 */
#ifndef KURC_MODEL_H
#define KURC_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/status.h"
#include "config/kurfile.h"
#include "core/graph.h"
#include "core/params.h"
#include "model/container.h"
#include "ops/seqlen.h"

/* Containers one model may make (loops included): a bound that keeps a
 * runaway `for` from exhausting memory (the fuzz build lowers it). */
#ifndef KURC_MODEL_MAX_CONTAINERS
#define KURC_MODEL_MAX_CONTAINERS 20000
#endif

/* A leaf container in wiring order (Kur's ContainerNode). */
struct kurc_node {
    struct kurc_container *c;
    char **names; /* every name it answers to; names[0] is its output key */
    size_t n_names;
    size_t *inputs; /* indices of the nodes it reads */
    size_t n_inputs;
    bool is_input;  /* an `input` container */
    bool used;      /* another node reads it */
    bool output;    /* a model output */
    bool suppressed; /* `when` is false for it or an ancestor */
    int value;      /* its tensor after building (-1 before) */
};

/* A model input or output: the data source it binds to and its tensor. */
struct kurc_model_io {
    const char *name; /* the node's first name (borrowed) */
    size_t node;
    int tensor;
};

/* A graph input fed from a data source, by the source's name, that is not
 * a model input: sequence lengths that recurrent layers mask with
 * (recurrent.c; kept in kurc_model.feeds, bound whenever the model runs)
 * and the CTC loss's labels and lengths (loss.c; kept in its loss term,
 * bound with the losses).  Length feeds hold integer-valued lengths that
 * the binding maps through `map` on the host for every batch
 * (kurc_feed_lengths): from frames of the source to steps of the tensor
 * that consumes them. */
struct kurc_feed {
    char *source;
    int tensor;
    bool length;
    struct kurc_length_map map;
};

/* Rounds n length values to integers and maps them through f->map (a
 * no-op for feeds that are not lengths). */
void kurc_feed_lengths(const struct kurc_feed *f, float *values, int64_t n);

/* A data shape lookup (see kurc_shape_source below). */
struct kurc_shape_source;

struct kurc_model {
    struct kurc_kurfile *kf;     /* borrowed */
    struct kurc_engine *engine;  /* the Kurfile's engine (borrowed) */
    struct kurc_container **all; /* every container, in parse order */
    size_t n_all;
    void *by_name; /* GHashTable: container name -> container (model_parse.c) */
    struct kurc_container **roots; /* the model section's entries */
    size_t n_roots;
    struct kurc_node *nodes;
    size_t n_nodes;
    struct kurc_params params;
    struct kurc_graph *graph;
    uint64_t seed;
    struct kurc_model_io *inputs;
    size_t n_inputs;
    struct kurc_model_io *outputs;
    size_t n_outputs;
    struct {
        const char *type;
        int count;
    } counters[64]; /* auto-name counters, per container type */
    size_t n_counters;
    struct kurc_feed *feeds; /* made by the last build (see struct kurc_feed) */
    size_t n_feeds;
    /* The data's shapes, kept from kurc_model_build for the containers it
     * builds and for kurc_losses_build right after it (NULL: a bare
     * build; the lookup's context must outlive both). */
    const struct kurc_shape_source *shapes;
};

/* Parses and wires kf's model section (kf must be parsed).  seed seeds the
 * parameters and dropout masks. */
enum kurc_status kurc_model_parse(struct kurc_kurfile *kf, uint64_t seed, struct kurc_model **out,
                                  struct kurc_err *err);
void kurc_model_free(struct kurc_model *m);

/* Where input shapes come from: the data (per sample, looked up by any name
 * of the input) when a provider is there, and the inputs' declared `shape`.
 * lookup returns false when the data has no source of that name.
 * free_length > 0 (`kurc build`, which builds with two lengths to find the
 * axes that follow a free one) gives every free axis of a declared shape
 * that length, the data's or not; 0: a free axis takes the data's length,
 * and without data it is an error. */
struct kurc_shape_source {
    bool (*lookup)(void *ctx, const char *name, struct kurc_shape *shape);
    void *ctx;
    int64_t free_length;
};

/* Emits the op graph (replacing any earlier one).  shapes may be NULL (a
 * bare build: every input must declare its shape).  Parameters are
 * declared on the first build and must keep their shapes after. */
enum kurc_status kurc_model_build(struct kurc_model *m, const struct kurc_shape_source *shapes,
                                  struct kurc_err *err);

/* For container parse functions: makes a child of parent from a model entry
 * and parses it (in the engine's current scopes). */
enum kurc_status kurc_model_parse_child(struct kurc_model *m, struct kurc_container *parent,
                                        const struct kurc_value *entry, struct kurc_err *err);

/* For container and loss build functions: the graph input fed from data
 * source `source` with this per-sample shape (lengths: through map; see
 * struct kurc_feed), added to *feeds (m->feeds for the model's own).  A
 * feed of the same source, shape and map is shared. */
int kurc_model_feed(struct kurc_model *m, struct kurc_feed **feeds, size_t *n_feeds,
                    const char *source, const struct kurc_shape *shape,
                    const struct kurc_length_map *map);
void kurc_feeds_release(struct kurc_feed *feeds, size_t n);

/* The data's per-sample shape of source `name`, when the model is being
 * built with data (false: no data, or no such source). */
bool kurc_model_data_shape(const struct kurc_model *m, const char *name, struct kurc_shape *shape);

/* For container build functions: the parameter `weight` of container c as a
 * graph tensor, declared with this shape and initialiser on first use. */
int kurc_model_param(struct kurc_model *m, const struct kurc_container *c, const char *weight,
                     const struct kurc_shape *shape, enum kurc_init init, float init_arg,
                     int64_t fan_in, int64_t fan_out, struct kurc_err *err);

/* A seed for container c's own random stream (dropout masks). */
uint64_t kurc_model_seed(const struct kurc_model *m, const struct kurc_container *c);

/* The container a name refers to (any of a node's names, or a container's
 * own name), or NULL. */
struct kurc_container *kurc_model_find(const struct kurc_model *m, const char *name);

#endif
