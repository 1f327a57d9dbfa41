/* weights.c - weight files and checkpoints in HDF5 (layout in weights.h);
 * weights in Kur's directories go to kur_dir.h.
 *
 * Saving downloads each arena (values, optimizer state) to the host once and
 * writes one dataset per parameter into PATH.tmp, which is renamed over
 * PATH only when complete.  Loading reads and checks everything into host
 * arenas first and uploads only when the whole file agrees with the model,
 * so a failed load leaves the model as it was.
 */
#include "io/weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hdf5.h>

#include "base/kurc_config.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "core/finite.h"
#include "io/io_util.h"
#include "io/kur_dir.h"

#define FORMAT_WEIGHTS "kurc-weights"
#define FORMAT_CHECKPOINT "kurc-checkpoint"
#define FORMAT_VERSION 1

/* Root names a checkpoint uses besides the layers' groups. */
static const char *const reserved[] = {"optimizer", "training", "kurfile"};

static bool is_reserved(const char *name) {
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return true;
    return false;
}

/* Every layer and weight name must be an HDF5 link name, and in a
 * checkpoint no layer may take a reserved name. */
static enum kurc_status check_names(const char *path, const struct kurc_params *p, bool checkpoint,
                                    struct kurc_err *err) {
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        if (!kurc_h5_name_ok(q->layer) || !kurc_h5_name_ok(q->weight))
            return kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                                "layer '%s' weight '%s' cannot be stored: HDF5 names cannot be "
                                "empty or '.', or hold '/'",
                                q->layer, q->weight);
        if (checkpoint && is_reserved(q->layer))
            return kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                                "layer '%s' cannot be stored in a checkpoint, which uses the "
                                "name for itself (rename the container)",
                                q->layer);
    }
    return KURC_OK;
}

/* Writes an attribute of n values (n 1: a scalar) of type mem, stored as
 * file type. */
static herr_t write_attr(hid_t obj, const char *name, hid_t file_type, hid_t mem, int n,
                         const void *value) {
    hsize_t dim = (hsize_t)n;
    hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    if (space < 0)
        return -1;
    hid_t attr = H5Acreate2(obj, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
    herr_t st = attr >= 0 ? H5Awrite(attr, mem, value) : -1;
    if (attr >= 0 && H5Aclose(attr) < 0)
        st = -1;
    H5Sclose(space);
    return st;
}

/* Reads an attribute of exactly n values as type mem; false when it is
 * missing, of another size, or unreadable. */
static bool read_attr(hid_t obj, const char *name, hid_t mem, int n, void *value) {
    if (H5Aexists(obj, name) <= 0)
        return false;
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return false;
    hid_t space = H5Aget_space(attr);
    bool ok =
        space >= 0 && H5Sget_simple_extent_npoints(space) == n && H5Aread(attr, mem, value) >= 0;
    if (space >= 0)
        H5Sclose(space);
    H5Aclose(attr);
    return ok;
}

/* Opens the group name in loc, creating it when missing. */
static hid_t open_or_create_group(hid_t loc, const char *name) {
    htri_t exists = H5Lexists(loc, name, H5P_DEFAULT);
    if (exists < 0)
        return -1;
    return exists ? H5Gopen2(loc, name, H5P_DEFAULT)
                  : H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

/* Writes one arena (params' values or one optimizer state, in backend
 * memory) into loc as LAYER/WEIGHT datasets.  what prefixes the names in
 * errors ("" or "optimizer state0 of "). */
static enum kurc_status write_arena(hid_t loc, const char *path, const struct kurc_params *p,
                                    struct kurc_backend *be, const float *arena, const char *what,
                                    struct kurc_err *err) {
    float *host = kurc_xmalloc((p->total ? p->total : 1) * sizeof *host);
    be->ops->download(be, host, arena, p->total * sizeof *host);
    enum kurc_status st = KURC_OK;
    for (size_t i = 0; i < p->n && !st; i++) {
        const struct kurc_param *q = &p->items[i];
        hsize_t dims[KURC_MAX_DIMS];
        for (int d = 0; d < q->shape.ndim; d++)
            dims[d] = (hsize_t)q->shape.dim[d];
        hid_t group = open_or_create_group(loc, q->layer);
        if (group < 0 ||
            kurc_h5_write_floats(group, q->weight, q->shape.ndim, dims, host + q->offset) < 0)
            st = kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot write %slayer '%s' weight '%s'",
                              what, q->layer, q->weight);
        if (group >= 0)
            H5Gclose(group);
    }
    free(host);
    return st;
}

/* The checkpoint's extra parts: /optimizer, /training and /kurfile. */
static enum kurc_status write_training(hid_t file, const char *path, const struct kurc_params *p,
                                       const struct kurc_optimizer *o,
                                       const struct kurc_train_state *s, const char *kurfile,
                                       struct kurc_err *err) {
    hid_t opt = H5Gcreate2(file, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (opt < 0 || kurc_h5_write_str(opt, "name", o->type->component.name, true) < 0 ||
        write_attr(opt, "iterations", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &o->iterations) < 0) {
        if (opt >= 0)
            H5Gclose(opt);
        return kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot write /optimizer");
    }
    enum kurc_status st = KURC_OK;
    for (int k = 0; k < o->type->n_state && !st; k++) {
        char name[16], what[32];
        snprintf(name, sizeof name, "state%d", k);
        snprintf(what, sizeof what, "optimizer %s of ", name);
        hid_t group = H5Gcreate2(opt, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (group < 0)
            st = kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot write /optimizer/%s", name);
        else
            st = write_arena(group, path, p, o->be, o->state[k], what, err);
        if (group >= 0)
            H5Gclose(group);
    }
    H5Gclose(opt);
    if (st)
        return st;

    hid_t tr = H5Gcreate2(file, "training", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bool ok = tr >= 0;
    const int64_t counters[4] = {s->epoch, s->batch, s->batches, s->samples};
    const char *const counter_names[4] = {"epoch", "batch", "batches", "samples"};
    for (int i = 0; i < 4 && ok; i++)
        ok =
            write_attr(tr, counter_names[i], H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &counters[i]) >= 0;
    ok = ok && write_attr(tr, "clocks", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 4, s->clocks) >= 0 &&
         write_attr(tr, "best_train_loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1,
                    &s->best_train_loss) >= 0 &&
         write_attr(tr, "best_valid_loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1,
                    &s->best_valid_loss) >= 0 &&
         write_attr(tr, "seed", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &s->seed) >= 0;
    if (!ok)
        st = kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot write /training");
    if (tr >= 0)
        H5Gclose(tr);
    if (st || !kurfile)
        return st;

    if (kurc_h5_write_str(file, "kurfile", kurfile, false) < 0)
        st = kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot write /kurfile");
    return st;
}

/* Writes a weight file (o NULL) or a checkpoint: built in memory, then
 * stored through PATH.tmp. */
static enum kurc_status save(const char *path, const struct kurc_params *p,
                             const struct kurc_optimizer *o, const struct kurc_train_state *s,
                             const char *kurfile, struct kurc_err *err) {
    kurc_h5_begin();
    enum kurc_status st = check_names(path, p, o != NULL, err);
    if (st)
        return st;
    hid_t file = kurc_h5_create(path);
    if (file < 0)
        return kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot create an HDF5 file");
    const int version = FORMAT_VERSION;
    if (kurc_h5_write_str(file, "format", o ? FORMAT_CHECKPOINT : FORMAT_WEIGHTS, true) < 0 ||
        write_attr(file, "format_version", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &version) < 0 ||
        kurc_h5_write_str(file, "kurc_version", KURC_VERSION, true) < 0)
        st = kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot write the root attributes");
    if (!st)
        st = write_arena(file, path, p, p->be, p->values, "", err);
    if (!st && o)
        st = write_training(file, path, p, o, s, kurfile, err);
    return kurc_h5_finish(file, path, st, KURC_E_CHECKPOINT, err);
}

enum kurc_status kurc_weights_save(const char *path, const struct kurc_params *p,
                                   struct kurc_err *err) {
    if (kurc_kur_dir_wanted(path))
        return kurc_kur_dir_save(path, p, err);
    return save(path, p, NULL, NULL, NULL, err);
}

enum kurc_status kurc_checkpoint_save(const char *path, const struct kurc_params *p,
                                      const struct kurc_optimizer *o,
                                      const struct kurc_train_state *state, const char *kurfile,
                                      struct kurc_err *err) {
    return save(path, p, o, state, kurfile, err);
}

/* Opens path read-only and checks its format attributes; *checkpoint says
 * whether it is a checkpoint.  A checkpoint is required when want_checkpoint. */
static enum kurc_status open_file(const char *path, bool want_checkpoint, hid_t *out,
                                  bool *checkpoint, struct kurc_err *err) {
    hid_t file = kurc_h5_open_read(path);
    if (file < 0)
        return kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot open as an HDF5 file");
    enum kurc_status st = KURC_OK;
    char *format = kurc_h5_read_str(file, "format", true);
    int version = 0;
    if (!format)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                          "not a kurc weight file (no 'format' attribute)");
    else if (strcmp(format, FORMAT_WEIGHTS) != 0 && strcmp(format, FORMAT_CHECKPOINT) != 0)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path, "not a kurc weight file (format '%s')",
                          format);
    else if (!read_attr(file, "format_version", H5T_NATIVE_INT, 1, &version) || version < 1)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path, "no valid 'format_version' attribute");
    else if (version > FORMAT_VERSION)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                          "format version %d is newer than this kurc reads (%d)", version,
                          FORMAT_VERSION);
    else if (want_checkpoint && strcmp(format, FORMAT_CHECKPOINT) != 0)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                          "holds only weights (format '%s'), not a checkpoint", format);
    if (!st)
        *checkpoint = strcmp(format, FORMAT_CHECKPOINT) == 0;
    free(format);
    if (st)
        H5Fclose(file);
    else
        *out = file;
    return st;
}

/* A parameter read from the file must hold only finite numbers (a NaN or
 * an infinity would train or evaluate to nonsense). */
static enum kurc_status check_finite(const char *path, const struct kurc_param *q,
                                     const float *values, const char *what, struct kurc_err *err) {
    int64_t bad = kurc_find_nonfinite(values, kurc_shape_numel(&q->shape));
    if (bad < 0)
        return KURC_OK;
    char at[KURC_MAX_DIMS * 24];
    kurc_shape_format_index(&q->shape, bad, at, sizeof at);
    return kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                        "%slayer '%s' weight '%s' holds %s at index %s (element %lld); refusing "
                        "weights that are not finite",
                        what, q->layer, q->weight, kurc_nonfinite_name(values[bad]), at,
                        (long long)bad);
}

/* Reads LAYER/WEIGHT datasets of loc into host (an arena laid out like
 * p's), checking that each exists with the model's shape and holds
 * finite floating-point numbers. */
static enum kurc_status read_arena(hid_t loc, const char *path, const struct kurc_params *p,
                                   float *host, const char *what, struct kurc_err *err) {
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_param *q = &p->items[i];
        if (H5Lexists(loc, q->layer, H5P_DEFAULT) <= 0)
            return kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                                "%slayer '%s' weight '%s' is not in the file", what, q->layer,
                                q->weight);
        hid_t group = H5Gopen2(loc, q->layer, H5P_DEFAULT);
        if (group < 0)
            return kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot open %slayer '%s'", what,
                                q->layer);
        if (H5Lexists(group, q->weight, H5P_DEFAULT) <= 0) {
            H5Gclose(group);
            return kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                                "%slayer '%s' weight '%s' is not in the file", what, q->layer,
                                q->weight);
        }
        hid_t set = H5Dopen2(group, q->weight, H5P_DEFAULT);
        H5Gclose(group);
        if (set < 0)
            return kurc_h5_fail(err, KURC_E_CHECKPOINT, path,
                                "cannot open %slayer '%s' weight '%s'", what, q->layer, q->weight);
        hid_t space = H5Dget_space(set), type = H5Dget_type(set);
        int ndim = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
        hsize_t dims[H5S_MAX_RANK];
        enum kurc_status st = KURC_OK;
        if (ndim < 0 || type < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
            st = kurc_h5_fail(err, KURC_E_CHECKPOINT, path,
                              "cannot read the shape of %slayer '%s' weight '%s'", what, q->layer,
                              q->weight);
        } else {
            bool same = ndim == q->shape.ndim;
            int64_t file_dims[H5S_MAX_RANK];
            for (int d = 0; d < ndim; d++) {
                file_dims[d] = (int64_t)dims[d];
                same = same && file_dims[d] == q->shape.dim[d];
            }
            if (!same) {
                char have[H5S_MAX_RANK * 24], want[KURC_MAX_DIMS * 24];
                kurc_io_format_dims(file_dims, ndim, have, sizeof have);
                kurc_io_format_dims(q->shape.dim, q->shape.ndim, want, sizeof want);
                st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                                  "%slayer '%s' weight '%s' has shape %s in the file but %s in "
                                  "the model",
                                  what, q->layer, q->weight, have, want);
            } else if (H5Tget_class(type) != H5T_FLOAT) {
                st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                                  "%slayer '%s' weight '%s' does not hold floating-point numbers",
                                  what, q->layer, q->weight);
            } else if (H5Dread(set, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                               host + q->offset) < 0) {
                st =
                    kurc_h5_fail(err, KURC_E_CHECKPOINT, path,
                                 "cannot read %slayer '%s' weight '%s'", what, q->layer, q->weight);
            } else {
                st = check_finite(path, q, host + q->offset, what, err);
            }
        }
        if (type >= 0)
            H5Tclose(type);
        if (space >= 0)
            H5Sclose(space);
        H5Dclose(set);
        if (st)
            return st;
    }
    return KURC_OK;
}

/* What the walk over a file's groups looking for weights the model lacks
 * collects. */
struct extras {
    const struct kurc_params *p;
    const char *layer; /* the group being walked, NULL at the root */
    bool checkpoint;   /* skip the reserved root names */
    size_t count;
    struct kurc_strbuf names; /* the first few, "layer 'a' weight 'b', ..." */
};

#define EXTRAS_NAMED 8

static void add_extra(struct extras *x, const char *layer, const char *weight) {
    if (x->count++ >= EXTRAS_NAMED)
        return;
    if (x->names.len)
        kurc_strbuf_puts(&x->names, ", ");
    if (weight)
        kurc_strbuf_printf(&x->names, "layer '%s' weight '%s'", layer, weight);
    else
        kurc_strbuf_printf(&x->names, "'%s'", layer);
}

/* H5Literate callback inside a layer's group: each link must be one of
 * the layer's weights. */
static herr_t visit_weight(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    (void)group;
    (void)info;
    struct extras *x = data;
    if (kurc_params_find(x->p, x->layer, name) < 0)
        add_extra(x, x->layer, name);
    return 0;
}

/* H5Literate callback at the root: each link must be a group of a layer
 * the model has (or a checkpoint's own part). */
static herr_t visit_layer(hid_t root, const char *name, const H5L_info_t *info, void *data) {
    (void)info;
    struct extras *x = data;
    if (x->checkpoint && is_reserved(name))
        return 0;
    hid_t obj = H5Oopen(root, name, H5P_DEFAULT);
    if (obj < 0)
        return -1;
    herr_t st = 0;
    if (H5Iget_type(obj) == H5I_GROUP) {
        x->layer = name;
        st = H5Literate(obj, H5_INDEX_NAME, H5_ITER_INC, NULL, visit_weight, x);
        x->layer = NULL;
    } else {
        add_extra(x, name, NULL);
    }
    H5Oclose(obj);
    return st;
}

/* Reports the datasets of the file that the model does not have. */
static enum kurc_status check_extras(hid_t file, const char *path, const struct kurc_params *p,
                                     bool checkpoint, struct kurc_err *err) {
    struct extras x = {p, NULL, checkpoint, 0, KURC_STRBUF_INIT};
    enum kurc_status st = KURC_OK;
    if (H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, visit_layer, &x) < 0)
        st = kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot list the file's contents");
    else if (x.count > EXTRAS_NAMED)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                          "the file holds weights the model does not have: %s and %zu more",
                          x.names.data, x.count - EXTRAS_NAMED);
    else if (x.count)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                          "the file holds weights the model does not have: %s", x.names.data);
    kurc_strbuf_free(&x.names);
    return st;
}

/* Reads all weights of path into a new host arena (*host), checking names
 * and shapes both ways. */
static enum kurc_status read_weights(hid_t file, const char *path, const struct kurc_params *p,
                                     bool checkpoint, float **host, struct kurc_err *err) {
    enum kurc_status st = check_names(path, p, false, err);
    if (st)
        return st;
    *host = kurc_xcalloc(p->total ? p->total : 1, sizeof **host);
    st = read_arena(file, path, p, *host, "", err);
    if (!st)
        st = check_extras(file, path, p, checkpoint, err);
    if (st) {
        free(*host);
        *host = NULL;
    }
    return st;
}

enum kurc_status kurc_weights_load(const char *path, struct kurc_params *p, struct kurc_err *err) {
    struct stat s;
    if (stat(path, &s) == 0 && S_ISDIR(s.st_mode))
        return kurc_kur_dir_load(path, p, err);
    kurc_h5_begin();
    hid_t file;
    bool checkpoint;
    enum kurc_status st = open_file(path, false, &file, &checkpoint, err);
    if (st)
        return st;
    float *host = NULL;
    st = read_weights(file, path, p, checkpoint, &host, err);
    H5Fclose(file);
    if (!st)
        p->be->ops->upload(p->be, p->values, host, p->total * sizeof *host);
    free(host);
    return st;
}

/* The counters a checkpoint records must be possible: none negative, no
 * more epochs or batches of this epoch than batches in all, no more
 * batches than samples (every batch has one), clocks finite and not
 * negative, best losses not NaN. */
static enum kurc_status check_counters(const char *path, const struct kurc_train_state *s,
                                       int64_t iterations, struct kurc_err *err) {
    const char *bad = NULL;
    if (iterations < 0)
        bad = "/optimizer's 'iterations' is negative";
    else if (s->epoch < 0 || s->batch < 0 || s->batches < 0 || s->samples < 0)
        bad = "a counter of /training (epoch, batch, batches, samples) is negative";
    else if (s->batch > s->batches || s->epoch > s->batches)
        bad = "/training counts more epochs or batches of this epoch than batches in all";
    else if (s->batches > s->samples)
        bad = "/training counts more batches than samples";
    for (int i = 0; i < 4 && !bad; i++)
        if (!(s->clocks[i] >= 0 && s->clocks[i] < INFINITY))
            bad = "/training's 'clocks' hold a negative or non-finite time";
    if (!bad && (isnan(s->best_train_loss) || isnan(s->best_valid_loss)))
        bad = "/training's best loss is NaN";
    if (!bad)
        return KURC_OK;
    return kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                        "%s (iterations %lld, epoch %lld, batch %lld, batches %lld, samples "
                        "%lld); the checkpoint is damaged",
                        bad, (long long)iterations, (long long)s->epoch, (long long)s->batch,
                        (long long)s->batches, (long long)s->samples);
}

/* Reads /optimizer (state arenas into host[0..n_state), iterations) and
 * /training of a checkpoint. */
static enum kurc_status read_training(hid_t file, const char *path, const struct kurc_params *p,
                                      const struct kurc_optimizer *o, float **host,
                                      int64_t *iterations, struct kurc_train_state *s,
                                      struct kurc_err *err) {
    if (H5Lexists(file, "optimizer", H5P_DEFAULT) <= 0)
        return kurc_io_fail(err, KURC_E_CHECKPOINT, path, "the checkpoint has no /optimizer");
    hid_t opt = H5Gopen2(file, "optimizer", H5P_DEFAULT);
    if (opt < 0)
        return kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot open /optimizer");
    enum kurc_status st = KURC_OK;
    char *name = kurc_h5_read_str(opt, "name", true);
    if (!name || !read_attr(opt, "iterations", H5T_NATIVE_INT64, 1, iterations))
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                          "/optimizer lacks its 'name' or 'iterations' attribute");
    else if (strcmp(name, o->type->component.name) != 0)
        st = kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                          "the checkpoint holds %s optimizer state, but the optimizer here is %s",
                          name, o->type->component.name);
    free(name);
    for (int k = 0; k < o->type->n_state && !st; k++) {
        char group_name[16], what[32];
        snprintf(group_name, sizeof group_name, "state%d", k);
        snprintf(what, sizeof what, "optimizer %s of ", group_name);
        if (H5Lexists(opt, group_name, H5P_DEFAULT) <= 0) {
            st = kurc_io_fail(err, KURC_E_CHECKPOINT, path, "the checkpoint has no /optimizer/%s",
                              group_name);
            break;
        }
        hid_t group = H5Gopen2(opt, group_name, H5P_DEFAULT);
        if (group < 0) {
            st =
                kurc_h5_fail(err, KURC_E_CHECKPOINT, path, "cannot open /optimizer/%s", group_name);
            break;
        }
        host[k] = kurc_xcalloc(p->total ? p->total : 1, sizeof **host);
        st = read_arena(group, path, p, host[k], what, err);
        H5Gclose(group);
    }
    H5Gclose(opt);
    if (st)
        return st;

    hid_t tr =
        H5Lexists(file, "training", H5P_DEFAULT) > 0 ? H5Gopen2(file, "training", H5P_DEFAULT) : -1;
    int64_t counters[4];
    const char *const counter_names[4] = {"epoch", "batch", "batches", "samples"};
    bool ok = tr >= 0;
    for (int i = 0; i < 4 && ok; i++)
        ok = read_attr(tr, counter_names[i], H5T_NATIVE_INT64, 1, &counters[i]);
    ok = ok && read_attr(tr, "clocks", H5T_NATIVE_DOUBLE, 4, s->clocks) &&
         read_attr(tr, "best_train_loss", H5T_NATIVE_DOUBLE, 1, &s->best_train_loss) &&
         read_attr(tr, "best_valid_loss", H5T_NATIVE_DOUBLE, 1, &s->best_valid_loss) &&
         read_attr(tr, "seed", H5T_NATIVE_UINT64, 1, &s->seed);
    if (tr >= 0)
        H5Gclose(tr);
    if (!ok)
        return kurc_io_fail(err, KURC_E_CHECKPOINT, path,
                            "/training is missing or lacks one of its attributes");
    s->epoch = counters[0];
    s->batch = counters[1];
    s->batches = counters[2];
    s->samples = counters[3];
    return check_counters(path, s, *iterations, err);
}

enum kurc_status kurc_checkpoint_load(const char *path, struct kurc_params *p,
                                      struct kurc_optimizer *o, struct kurc_train_state *state,
                                      char **kurfile, struct kurc_err *err) {
    kurc_h5_begin();
    hid_t file;
    bool checkpoint;
    enum kurc_status st = open_file(path, true, &file, &checkpoint, err);
    if (st)
        return st;
    float *values = NULL, *opt_state[2] = {NULL, NULL};
    int64_t iterations = 0;
    struct kurc_train_state s;
    st = read_weights(file, path, p, true, &values, err);
    if (!st)
        st = read_training(file, path, p, o, opt_state, &iterations, &s, err);
    if (!st && kurfile)
        *kurfile = kurc_h5_read_str(file, "kurfile", false);
    H5Fclose(file);
    if (!st) {
        size_t bytes = p->total * sizeof(float);
        p->be->ops->upload(p->be, p->values, values, bytes);
        for (int k = 0; k < o->type->n_state; k++)
            o->be->ops->upload(o->be, o->state[k], opt_state[k], bytes);
        o->iterations = iterations;
        *state = s;
    }
    free(values);
    free(opt_state[0]);
    free(opt_state[1]);
    return st;
}

bool kurc_checkpoint_is(const char *path) {
    kurc_h5_begin();
    hid_t file = kurc_h5_open_read(path);
    if (file < 0)
        return false;
    char *format = kurc_h5_read_str(file, "format", true);
    bool is = format && strcmp(format, FORMAT_CHECKPOINT) == 0;
    free(format);
    H5Fclose(file);
    return is;
}
