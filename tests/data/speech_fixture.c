/* speech_fixture.c - writes what tests/data/check_speech.py compares with
 * Kur's numpy code:
 *   speech_fixture DIR
 * DIR/signal.wav (16 kHz 16-bit PCM: tones and noise) and, from it as the
 * supplier decodes it, DIR/NAME.f32 (float32 frames x dim, row-major) for
 *   spec       spec features, no cut
 *   spec_cut   spec with max_frequency 3000
 *   mfcc       mfcc features
 *   mfcc_cut   mfcc with max_frequency 5000
 *   center     mfcc centred and scaled (no rotation)
 *   zca        mfcc whitened (ZCA, Kur's default)
 *   pca        mfcc with PCA rotation and scaling
 * with DIR/shapes.txt ("NAME FRAMES DIM" lines), and DIR/norm.yml, the
 * statistics learned from the mfcc features. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "data/speech/audio.h"
#include "data/speech/normalize.h"
#include "data/speech/speech_features.h"
#include "data/supplier_util.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static void check(enum kurc_status st, const struct kurc_err *err) {
    if (st) {
        fprintf(stderr, "speech_fixture: %s\n", err->msg);
        exit(1);
    }
}

static void save(const char *dir, FILE *shapes, const char *name, const float *x, int64_t frames,
                 int dim) {
    char *path = kurc_xasprintf("%s/%s.f32", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(x, sizeof *x, (size_t)(frames * dim), f) != (size_t)(frames * dim)) {
        fprintf(stderr, "speech_fixture: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
    free(path);
    fprintf(shapes, "%s %lld %d\n", name, (long long)frames, dim);
}

static float *features(const struct kurc_audio *a, enum kurc_feature_type type, double cut,
                       int64_t *frames, int *dim) {
    struct kurc_features *f;
    struct kurc_err err;
    check(kurc_features_create(type, KURC_AUDIO_RATE, cut, &f, &err), &err);
    float *x;
    check(kurc_features_compute(f, a->samples, a->n, a->bits, "signal.wav", &x, frames, &err),
          &err);
    *dim = kurc_features_dim(f);
    kurc_features_free(f);
    return x;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: speech_fixture DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    /* 0.77 s: 440 Hz and 2.5 kHz tones, a chirp and pseudo-random noise */
    int64_t n = 12320;
    float *x = malloc((size_t)n * sizeof *x);
    uint32_t state = 7;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / 16000;
        state = state * 1664525u + 1013904223u;
        x[i] = (float)(0.3 * sin(2 * M_PI * 440 * t) + 0.2 * sin(2 * M_PI * 2500 * t) +
                       0.1 * sin(2 * M_PI * (300 + 4000 * t) * t) +
                       0.05 * ((double)(state >> 8) / (1 << 24) - 0.5));
    }
    char *wav = kurc_xasprintf("%s/signal.wav", dir);
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(wav, SFM_WRITE, &info);
    if (!sf || sf_writef_float(sf, x, n) != n) {
        fprintf(stderr, "speech_fixture: cannot write %s\n", wav);
        return 1;
    }
    sf_close(sf);
    free(x);

    struct kurc_err err;
    char *bytes;
    size_t len;
    check(kurc_supplier_read_file(wav, "speech_fixture", NULL, &bytes, &len, &err), &err);
    struct kurc_audio a;
    check(kurc_audio_decode(bytes, len, wav, &a, &err), &err);
    free(bytes);

    char *shapes_path = kurc_xasprintf("%s/shapes.txt", dir);
    FILE *shapes = fopen(shapes_path, "w");
    int64_t frames;
    int dim;
    float *y = features(&a, KURC_FEATURES_SPEC, 0, &frames, &dim);
    save(dir, shapes, "spec", y, frames, dim);
    free(y);
    y = features(&a, KURC_FEATURES_SPEC, 3000, &frames, &dim);
    save(dir, shapes, "spec_cut", y, frames, dim);
    free(y);
    y = features(&a, KURC_FEATURES_MFCC, 5000, &frames, &dim);
    save(dir, shapes, "mfcc_cut", y, frames, dim);
    free(y);
    float *mfcc = features(&a, KURC_FEATURES_MFCC, 0, &frames, &dim);
    save(dir, shapes, "mfcc", mfcc, frames, dim);

    static const struct {
        const char *name;
        bool center, scale;
        enum kurc_rotate rotate;
    } norms[] = {{"center", true, true, KURC_ROTATE_NONE},
                 {"zca", true, true, KURC_ROTATE_ZCA},
                 {"pca", true, true, KURC_ROTATE_PCA}};
    for (size_t i = 0; i < sizeof norms / sizeof *norms; i++) {
        struct kurc_norm norm;
        kurc_norm_init(&norm, norms[i].center, norms[i].scale, norms[i].rotate);
        const float *utts[] = {mfcc};
        check(kurc_norm_learn(&norm, utts, &frames, 1, dim, &err), &err);
        if (i == 0) {
            char *path = kurc_xasprintf("%s/norm.yml", dir);
            check(kurc_norm_save(&norm, path, &err), &err);
            free(path);
        }
        float *z = malloc((size_t)(frames * dim) * sizeof *z);
        memcpy(z, mfcc, (size_t)(frames * dim) * sizeof *z);
        kurc_norm_apply(&norm, z, frames);
        save(dir, shapes, norms[i].name, z, frames, dim);
        free(z);
        kurc_norm_release(&norm);
    }
    free(mfcc);
    fclose(shapes);
    free(shapes_path);
    kurc_audio_release(&a);
    free(wav);
    return 0;
}
