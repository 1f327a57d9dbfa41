/* normalize.c - learning, saving, loading and applying Kur's feature
 * normalisation (see normalize.h). */
#include "data/speech/normalize.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "config/yaml_load.h"
#include "data/supplier_util.h"

void kurc_norm_init(struct kurc_norm *n, bool center, bool scale, enum kurc_rotate rotate) {
    memset(n, 0, sizeof *n);
    n->center = center;
    n->scale = scale;
    n->rotate = rotate;
}

void kurc_norm_release(struct kurc_norm *n) {
    free(n->mean);
    free(n->stddev);
    free(n->s);
    free(n->vt);
    free(n->w);
    bool center = n->center, scale = n->scale;
    enum kurc_rotate rotate = n->rotate;
    kurc_norm_init(n, center, scale, rotate);
}

static void allocate(struct kurc_norm *n, int dim) {
    n->dim = dim;
    n->mean = kurc_xcalloc((size_t)dim, sizeof *n->mean);
    n->stddev = kurc_xcalloc((size_t)dim, sizeof *n->stddev);
    n->s = kurc_xcalloc((size_t)dim, sizeof *n->s);
    n->vt = kurc_xcalloc((size_t)dim * (size_t)dim, sizeof *n->vt);
}

/* Eigenvalues (w) and eigenvectors (columns of v) of the symmetric n x n
 * matrix a (destroyed), by cyclic Jacobi rotations. */
static void jacobi(double *a, int n, double *w, double *v) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            v[i * n + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, total = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                total += a[i * n + j] * a[i * n + j];
                if (i != j)
                    off += a[i * n + j] * a[i * n + j];
            }
        if (off <= 1e-30 * total || off == 0)
            break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[p * n + q];
                if (fabs(apq) < 1e-300)
                    continue;
                double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* columns p, q */
                    double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) { /* rows p, q */
                    double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {
                    double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < n; i++)
        w[i] = a[i * n + i];
}

/* The transform W of the options (NULL without rotation). */
static void build(struct kurc_norm *n) {
    free(n->w);
    n->w = NULL;
    if (n->rotate == KURC_ROTATE_NONE)
        return;
    int f = n->dim;
    double *t = kurc_xmalloc((size_t)f * (size_t)f * sizeof *t);
    memcpy(t, n->vt, (size_t)f * (size_t)f * sizeof *t);
    if (n->rotate == KURC_ROTATE_PCA) /* Kur: reflect * Vt, by the signs of Vt's first row */
        for (int i = 0; i < f; i++)
            for (int j = 0; j < f; j++)
                t[i * f + j] *= n->vt[j] < 0 ? -1 : 1;
    if (n->scale)
        for (int i = 0; i < f; i++)
            for (int j = 0; j < f; j++)
                t[i * f + j] *= n->s[i];
    n->w = kurc_xmalloc((size_t)f * (size_t)f * sizeof *n->w);
    if (n->rotate == KURC_ROTATE_ZCA) { /* Vt^T t */
        for (int i = 0; i < f; i++)
            for (int j = 0; j < f; j++) {
                double sum = 0;
                for (int k = 0; k < f; k++)
                    sum += n->vt[k * f + i] * t[k * f + j];
                n->w[i * f + j] = sum;
            }
    } else {
        for (int i = 0; i < f * f; i++)
            n->w[i] = t[i];
    }
    free(t);
}

enum kurc_status kurc_norm_learn(struct kurc_norm *n, const float *const *utterances,
                                 const int64_t *frames, int64_t count, int dim,
                                 struct kurc_err *err) {
    kurc_norm_release(n);
    int64_t total = 0;
    for (int64_t u = 0; u < count; u++)
        total += frames[u];
    if (total < 1 || dim < 1)
        return kurc_err_set(err, KURC_E_DATA, NULL, "cannot learn a normalisation from %lld frames",
                            (long long)total);
    allocate(n, dim);
    for (int64_t u = 0; u < count; u++)
        for (int64_t t = 0; t < frames[u]; t++)
            for (int j = 0; j < dim; j++)
                n->mean[j] += utterances[u][t * dim + j];
    for (int j = 0; j < dim; j++)
        n->mean[j] /= (double)total;
    double *cov = kurc_xcalloc((size_t)dim * (size_t)dim, sizeof *cov);
    double *row = kurc_xmalloc((size_t)dim * sizeof *row);
    for (int64_t u = 0; u < count; u++)
        for (int64_t t = 0; t < frames[u]; t++) {
            for (int j = 0; j < dim; j++)
                row[j] = utterances[u][t * dim + j] - n->mean[j];
            for (int i = 0; i < dim; i++)
                for (int j = i; j < dim; j++)
                    cov[i * dim + j] += row[i] * row[j];
        }
    for (int i = 0; i < dim; i++)
        for (int j = 0; j < i; j++)
            cov[i * dim + j] = cov[j * dim + i];
    for (int j = 0; j < dim; j++) {
        double var = total > 1 ? cov[j * dim + j] / (double)(total - 1) : 0;
        n->stddev[j] = var > 0 ? sqrt(var) : 1.0;
    }
    double *eig = kurc_xmalloc((size_t)dim * sizeof *eig);
    double *vec = kurc_xmalloc((size_t)dim * (size_t)dim * sizeof *vec);
    jacobi(cov, dim, eig, vec);
    /* rows of Vt by decreasing singular value */
    int *order = kurc_xmalloc((size_t)dim * sizeof *order);
    for (int i = 0; i < dim; i++)
        order[i] = i;
    for (int i = 1; i < dim; i++) /* insertion sort: dim is small */
        for (int k = i; k > 0 && eig[order[k]] > eig[order[k - 1]]; k--) {
            int tmp = order[k];
            order[k] = order[k - 1];
            order[k - 1] = tmp;
        }
    double top = sqrt(eig[order[0]] > 0 ? eig[order[0]] : 0);
    for (int i = 0; i < dim; i++) {
        double sv = sqrt(eig[order[i]] > 0 ? eig[order[i]] : 0);
        n->s[i] = sv > top * 1e-6 && sv > 0 ? sqrt((double)(total - 1)) / sv : 0;
        for (int j = 0; j < dim; j++)
            n->vt[i * dim + j] = vec[j * dim + order[i]];
    }
    free(order);
    free(eig);
    free(vec);
    free(cov);
    free(row);
    build(n);
    return KURC_OK;
}

static void write_list(FILE *f, const double *x, int n) {
    fputc('[', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%.17g", i ? ", " : "", x[i]);
    fputs("]\n", f);
}

enum kurc_status kurc_norm_save(const struct kurc_norm *n, const char *path, struct kurc_err *err) {
    char *tmp = kurc_xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        enum kurc_status st =
            kurc_err_set(err, KURC_E_IO, NULL, "cannot write the normalisation file %s: %s", path,
                         strerror(errno));
        free(tmp);
        return st;
    }
    int dim = n->dim;
    fputs("S:\n", f);
    double *row = kurc_xcalloc((size_t)dim, sizeof *row);
    for (int i = 0; i < dim; i++) {
        memset(row, 0, (size_t)dim * sizeof *row);
        row[i] = n->s[i];
        fputs("- ", f);
        write_list(f, row, dim);
    }
    free(row);
    fputs("Vt:\n", f);
    for (int i = 0; i < dim; i++) {
        fputs("- ", f);
        write_list(f, n->vt + (size_t)i * (size_t)dim, dim);
    }
    fputs("mean: ", f);
    write_list(f, n->mean, dim);
    fputs("stddev: ", f);
    write_list(f, n->stddev, dim);
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    enum kurc_status st = KURC_OK;
    if (!ok || rename(tmp, path) != 0) {
        st = kurc_err_set(err, KURC_E_IO, NULL, "cannot write the normalisation file %s: %s", path,
                          strerror(errno));
        remove(tmp);
    }
    free(tmp);
    return st;
}

/* Reads a list of dim numbers. */
static bool read_vector(const struct kurc_value *v, int dim, double *out) {
    if (!v || v->kind != KURC_LIST || (int)v->u.list.len != dim)
        return false;
    for (int i = 0; i < dim; i++) {
        const struct kurc_value *x = v->u.list.items[i];
        if (x->kind == KURC_INT)
            out[i] = (double)x->u.i;
        else if (x->kind == KURC_FLOAT)
            out[i] = x->u.f;
        else
            return false;
    }
    return true;
}

enum kurc_status kurc_norm_load(struct kurc_norm *n, const char *path, struct kurc_err *err) {
    kurc_norm_release(n);
    char *text;
    size_t len;
    enum kurc_status st =
        kurc_supplier_read_file(path, "speech_recognition", NULL, &text, &len, err);
    if (st)
        return st;
    struct kurc_value *doc = NULL;
    st = kurc_load_buffer(text, len, KURC_FORMAT_YAML, path, &doc, err);
    free(text);
    if (st) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return kurc_err_set(err, KURC_E_DATA, NULL, "the normalisation file %s is not YAML: %s",
                            path, msg);
    }
    const struct kurc_value *mean = doc && doc->kind == KURC_MAP ? kurc_map_get(doc, "mean") : NULL;
    const struct kurc_value *sd = mean ? kurc_map_get(doc, "stddev") : NULL;
    const struct kurc_value *s = mean ? kurc_map_get(doc, "S") : NULL;
    const struct kurc_value *vt = mean ? kurc_map_get(doc, "Vt") : NULL;
    int dim = mean && mean->kind == KURC_LIST ? (int)mean->u.list.len : 0;
    bool ok = dim > 0 && vt && vt->kind == KURC_LIST && (int)vt->u.list.len == dim && s &&
              s->kind == KURC_LIST && (int)s->u.list.len == dim;
    if (ok) {
        allocate(n, dim);
        ok = read_vector(mean, dim, n->mean) && read_vector(sd, dim, n->stddev);
        double *srow = kurc_xmalloc((size_t)dim * sizeof *srow);
        for (int i = 0; ok && i < dim; i++) {
            const struct kurc_value *si = s->u.list.items[i];
            if (si->kind == KURC_LIST) { /* Kur's diagonal matrix */
                ok = read_vector(si, dim, srow);
                n->s[i] = srow[i];
            } else {
                ok = read_vector(s, dim, n->s);
                break;
            }
        }
        free(srow);
        for (int i = 0; ok && i < dim; i++)
            ok = read_vector(vt->u.list.items[i], dim, n->vt + (size_t)i * (size_t)dim);
    }
    kurc_value_free(doc);
    if (!ok) {
        kurc_norm_release(n);
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s is not a normalisation file: it needs `mean` and `stddev` (lists "
                            "of F numbers) and `S` and `Vt` (F x F matrices), as Kur writes them",
                            path);
    }
    build(n);
    return KURC_OK;
}

void kurc_norm_apply(const struct kurc_norm *n, float *x, int64_t frames) {
    int f = n->dim;
    double *c = n->w ? kurc_xmalloc((size_t)f * sizeof *c) : NULL;
    for (int64_t t = 0; t < frames; t++) {
        float *row = x + t * f;
        if (n->w) {
            for (int j = 0; j < f; j++)
                c[j] = row[j] - n->mean[j];
            for (int i = 0; i < f; i++) {
                const double *w = n->w + (size_t)i * (size_t)f;
                double sum = 0;
                for (int j = 0; j < f; j++)
                    sum += w[j] * c[j];
                row[i] = (float)(n->center ? sum : sum + n->mean[i]);
            }
        } else {
            for (int j = 0; j < f; j++) {
                double y = row[j] - n->mean[j];
                if (n->scale)
                    y /= n->stddev[j];
                row[j] = (float)(n->center ? y : y + n->mean[j]);
            }
        }
    }
    free(c);
}
