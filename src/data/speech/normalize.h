/* normalize.h - Kur's feature normalisation (kur/utils/normalize.py) for
 * the speech_recognition supplier.
 *
 * Learning: the frames of some utterances stacked into an N x F matrix X;
 * mean and standard deviation (ddof 1; 0 becomes 1) per feature; the
 * singular value decomposition of the centred X (kurc: the eigenvectors of
 * X^T X by Jacobi rotations, in double precision) gives Vt (rows: right
 * singular vectors, by decreasing singular value S_i) and Kur's whitening
 * scale s_i = sqrt(N - 1) / S_i (0 for S_i <= 1e-6 S_0).
 *
 * Applying, per frame x, as Kur's Normalize with center, scale and rotate
 * (default: all on, rotate = zca):
 *   rotate zca:  (x - mean) W^T with W = Vt^T diag(s) Vt  (diag(s) only with scale)
 *   rotate pca:  (x - mean) W^T with W = diag(s) Vt, Vt's columns flipped by
 *                the signs of its first row as Kur did (singular vectors
 *                are only defined up to sign, so PCA features may differ
 *                from Kur's in sign)
 *   no rotate:   (x - mean) / stddev with scale, x - mean without
 *   center off:  the mean is added back afterwards.
 *
 * Files: YAML mappings with the keys Kur's Normalize.save writes (`mean`,
 * `stddev`: lists of F; `S`: the F x F diagonal matrix of s; `Vt`: F x F),
 * so kurc reads Kur's normalisation files and Kur reads kurc's.
 */
#ifndef KURC_NORMALIZE_H
#define KURC_NORMALIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/status.h"

enum kurc_rotate {
    KURC_ROTATE_NONE,
    KURC_ROTATE_ZCA,
    KURC_ROTATE_PCA,
};

struct kurc_norm {
    bool center, scale;
    enum kurc_rotate rotate;
    int dim;        /* F; 0 before learning or loading */
    double *mean;   /* F */
    double *stddev; /* F */
    double *s;      /* F: the diagonal of Kur's S */
    double *vt;     /* F x F */
    double *w;      /* F x F transform (rotation), or NULL */
};

void kurc_norm_init(struct kurc_norm *n, bool center, bool scale, enum kurc_rotate rotate);
void kurc_norm_release(struct kurc_norm *n);

/* Learns the statistics from count utterances of frames[i] x dim floats. */
enum kurc_status kurc_norm_learn(struct kurc_norm *n, const float *const *utterances,
                                 const int64_t *frames, int64_t count, int dim,
                                 struct kurc_err *err);

/* Writes the statistics to path (YAML), and reads them back. */
enum kurc_status kurc_norm_save(const struct kurc_norm *n, const char *path, struct kurc_err *err);
enum kurc_status kurc_norm_load(struct kurc_norm *n, const char *path, struct kurc_err *err);

/* Normalises frames x dim floats in place. */
void kurc_norm_apply(const struct kurc_norm *n, float *x, int64_t frames);

#endif
