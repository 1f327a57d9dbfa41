/* cli_torch.c - `kurc export --pytorch DIR KURFILE [--weights FILE]` and
 * `kurc import --pytorch WEIGHTS.pt KURFILE OUT` (see cli_torch.h for the
 * state_dict's names and layouts).
 *
 * export builds the model as `kurc build` does, takes the weights that
 * `kurc evaluate` would take (the evaluate section's, else the initial
 * weights of settings.seed; or --weights), and
 * writes DIR/model.py and DIR/weights.pt.  import checks every entry of
 * the state_dict against the model (a missing or unknown key, a shape that
 * differs) and writes kurc's weight file OUT with the values permuted back
 * to kurc's layouts, bit for bit.  Both write through a temporary name, so
 * a failure leaves nothing under the real one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "cli/cli_commands.h"
#include "cli/cli_torch.h"
#include "formats/torch_zip.h"
#include "io/weights.h"
#include "kernels/backends.h"
#include "train/session.h"
#include "train/train_spec.h"

/* The flat index of kurc's element for stored element i (C order). */
static int64_t kurc_index(const struct kurc_shape *kurc, const int *perm, int64_t i) {
    int nd = kurc->ndim;
    int64_t stride[KURC_MAX_DIMS], s = 1, at = 0;
    for (int d = nd - 1; d >= 0; d--) {
        stride[d] = s;
        s *= kurc->dim[d];
    }
    for (int d = nd - 1; d >= 0; d--) {
        int64_t n = kurc->dim[perm[d]];
        at += (i % n) * stride[perm[d]];
        i /= n;
    }
    return at;
}

/* Builds the model and gives its parameters host-side arenas on the CPU
 * backend. */
static enum kurc_status prepare(const struct kurc_cli_args *args, struct kurc_kurfile **kf,
                                struct kurc_cli_built *built, struct kurc_backend **be,
                                bool *have, struct kurc_err *err) {
    *be = NULL;
    *have = false;
    if (!args->pytorch)
        return kurc_err_set(err, KURC_E_USAGE, NULL,
                            "%s: give the format: --pytorch (the only one so far)", args->command);
    enum kurc_status st = kurc_cli_load(args, kf, err);
    if (st)
        return st;
    *have = true;
    st = kurc_cli_build_model(*kf, args, built, err);
    const struct kurc_backend_type *cpu = kurc_backend_type_find("cpu");
    if (st == KURC_OK)
        st = cpu->create(&(struct kurc_backend_options){.threads = 1, .rank = -1}, be, err);
    if (st == KURC_OK)
        st = kurc_params_allocate(&built->m->params, *be, err);
    return st;
}

static void finish(struct kurc_kurfile *kf, struct kurc_cli_built *built, bool have,
                   struct kurc_backend *be) {
    if (have)
        kurc_cli_built_release(built);
    kurc_backend_release(be);
    kurc_kurfile_free(kf);
}

/* DIR/model.py, through a temporary name. */
static enum kurc_status write_model_py(const char *dir, const struct kurc_cli_built *b,
                                       const struct kurc_torch_entry *e, const char *kurfile,
                                       struct kurc_err *err) {
    char *path = kurc_xasprintf("%s/model.py", dir), *tmp = kurc_xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    enum kurc_status st = KURC_OK;
    if (!f)
        st = kurc_err_set(err, KURC_E_IO, NULL, "%s: cannot write: %s", path, strerror(errno));
    else {
        st = kurc_torch_write_model(f, path, b->m, b->probe, e, kurfile, err);
        if (fclose(f) != 0 && st == KURC_OK)
            st = kurc_err_set(err, KURC_E_IO, NULL, "%s: cannot write: %s", path,
                              strerror(errno));
        if (st == KURC_OK && rename(tmp, path) != 0)
            st = kurc_err_set(err, KURC_E_IO, NULL, "%s: cannot write: %s", path,
                              strerror(errno));
        if (st)
            remove(tmp);
    }
    free(tmp);
    free(path);
    return st;
}

/* The weights export gives: --weights, else the evaluate section's, else
 * (as `kurc evaluate` does) the initial weights of settings.seed. */
static enum kurc_status export_weights(const struct kurc_cli_args *args,
                                       const struct kurc_kurfile *kf, struct kurc_params *p,
                                       struct kurc_err *err) {
    bool must_exist;
    const struct kurc_value *sec = kurc_kurfile_section(kf, "evaluate");
    char *path = args->weights ? kurc_xstrdup(args->weights)
                               : sec ? kurc_section_weights(sec, &must_exist) : NULL;
    if (!path) {
        kurc_log(KURC_LOG_WARNING,
                 "export: no weights given (--weights or evaluate.weights), so the model has "
                 "its initial weights");
        return kurc_params_initialize(p, kurc_session_seed(kf), err);
    }
    enum kurc_status st = kurc_weights_load(path, p, err);
    free(path);
    return st;
}

enum kurc_status kurc_cmd_export(const struct kurc_cli_args *args, struct kurc_err *err) {
    const char *dir = args->operands[0];
    struct kurc_kurfile *kf = NULL;
    struct kurc_cli_built built;
    struct kurc_backend *be;
    bool have;
    struct stat sb;
    enum kurc_status st = prepare(args, &kf, &built, &be, &have, err);
    if (st == KURC_OK)
        st = export_weights(args, kf, &built.m->params, err);
    if (st == KURC_OK && (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) && mkdir(dir, 0777) != 0)
        st = kurc_err_set(err, KURC_E_IO, NULL, "%s: cannot make the directory: %s", dir,
                          strerror(errno));
    struct kurc_params *p = have && built.m ? &built.m->params : NULL;
    struct kurc_torch_entry *e = st ? NULL : kurc_torch_entries(built.m);
    if (st == KURC_OK)
        st = write_model_py(dir, &built, e, args->kurfile, err);
    if (st == KURC_OK) {
        struct kurc_torch_tensor *t = kurc_xcalloc(p->n + 1, sizeof *t);
        float *kurc = kurc_xmalloc((size_t)(kurc_params_count(p, false) + 1) * sizeof *kurc);
        for (size_t i = 0; i < p->n; i++) {
            const struct kurc_param *q = &p->items[i];
            kurc_params_download(p, i, kurc);
            t[i].name = e[i].key;
            t[i].shape = e[i].shape;
            t[i].numel = q->numel;
            t[i].data = kurc_xmalloc((size_t)(q->numel + 1) * sizeof(float));
            for (int64_t k = 0; k < q->numel; k++)
                t[i].data[k] = kurc[kurc_index(&q->shape, e[i].perm, k)];
        }
        char *path = kurc_xasprintf("%s/weights.pt", dir);
        st = kurc_torch_save(path, t, p->n, err);
        free(path);
        for (size_t i = 0; i < p->n; i++)
            free(t[i].data);
        free(t);
        free(kurc);
    }
    kurc_torch_entries_free(e, p ? p->n : 0);
    finish(kf, &built, have, be);
    return st;
}

/* Finds the state_dict's entry key among t, or NULL. */
static const struct kurc_torch_tensor *find_tensor(const struct kurc_torch_tensor *t, size_t n,
                                                   const char *key) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, key) == 0)
            return &t[i];
    return NULL;
}

/* Checks every entry of the state_dict against the model's parameters. */
static enum kurc_status check_state(const char *path, const struct kurc_torch_tensor *t, size_t n,
                                    const struct kurc_params *p,
                                    const struct kurc_torch_entry *e, struct kurc_err *err) {
    char want[96], got[96];
    for (size_t i = 0; i < p->n; i++) {
        const struct kurc_torch_tensor *x = find_tensor(t, n, e[i].key);
        kurc_shape_format(&e[i].shape, want, sizeof want);
        if (!x)
            return kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                                "%s: no tensor %s (layer %s, %s %s) in the state_dict", path,
                                e[i].key, p->items[i].layer, p->items[i].weight, want);
        kurc_shape_format(&x->shape, got, sizeof got);
        if (!kurc_shape_equal(&x->shape, &e[i].shape))
            return kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                                "%s: tensor %s has shape %s; the model's is %s", path, e[i].key,
                                got, want);
    }
    for (size_t k = 0; k < n; k++) {
        bool known = false;
        for (size_t i = 0; i < p->n && !known; i++)
            known = strcmp(t[k].name, e[i].key) == 0;
        if (!known)
            return kurc_err_set(err, KURC_E_CHECKPOINT, NULL,
                                "%s: tensor %s is not a parameter of the model", path, t[k].name);
    }
    return KURC_OK;
}

enum kurc_status kurc_cmd_import(const struct kurc_cli_args *args, struct kurc_err *err) {
    const char *pt = args->operands[0], *out = args->operands[1];
    struct kurc_kurfile *kf = NULL;
    struct kurc_cli_built built;
    struct kurc_backend *be;
    bool have;
    struct kurc_torch_tensor *t = NULL;
    size_t n = 0;
    enum kurc_status st = prepare(args, &kf, &built, &be, &have, err);
    if (st == KURC_OK)
        st = kurc_torch_load(pt, &t, &n, err);
    struct kurc_params *p = have && built.m ? &built.m->params : NULL;
    struct kurc_torch_entry *e = st ? NULL : kurc_torch_entries(built.m);
    if (st == KURC_OK)
        st = check_state(pt, t, n, p, e, err);
    if (st == KURC_OK) {
        float *kurc = kurc_xmalloc((size_t)(kurc_params_count(p, false) + 1) * sizeof *kurc);
        for (size_t i = 0; i < p->n; i++) {
            const struct kurc_torch_tensor *x = find_tensor(t, n, e[i].key);
            for (int64_t k = 0; k < x->numel; k++)
                kurc[kurc_index(&p->items[i].shape, e[i].perm, k)] = x->data[k];
            kurc_params_upload(p, i, kurc);
        }
        free(kurc);
        st = kurc_weights_save(out, p, err);
    }
    kurc_torch_entries_free(e, p ? p->n : 0);
    kurc_torch_tensors_free(t, n);
    finish(kf, &built, have, be);
    return st;
}
