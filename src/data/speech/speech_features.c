/* speech_features.c - Kur's spectrogram and MFCC features (see speech_features.h). */
#include "data/speech/speech_features.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "data/speech/audio_libs.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define MFCC_CEPSTRA 13
#define MFCC_FILTERS 26

struct kurc_features {
    enum kurc_feature_type type;
    int rate;
    int frame;       /* samples per frame */
    int hop;         /* samples between frames */
    int nfft;        /* FFT length */
    int bins;        /* nfft / 2 + 1 */
    int dim;         /* features per frame */
    double *window;  /* spec: the Hann window */
    double scale;    /* spec: sum(window^2) * rate */
    double *filters; /* mfcc: MFCC_FILTERS x bins */
    double *dct;     /* mfcc: MFCC_CEPSTRA x MFCC_FILTERS, lifter included */
    fftw_plan plan;
};

static double hz2mel(double hz) {
    return 2595 * log10(1 + hz / 700.);
}

static double mel2hz(double mel) {
    return 700 * (pow(10, mel / 2595.0) - 1);
}

/* python_speech_features.get_filterbanks(nfilt, nfft, rate, 0, high). */
static void make_filters(struct kurc_features *f, double high) {
    double lowmel = hz2mel(0), highmel = hz2mel(high);
    double bin[MFCC_FILTERS + 2];
    for (int i = 0; i < MFCC_FILTERS + 2; i++) {
        /* numpy.linspace: start + i * step, the last point exactly stop */
        double mel = i == MFCC_FILTERS + 1 ? highmel
                                           : lowmel + i * ((highmel - lowmel) / (MFCC_FILTERS + 1));
        bin[i] = floor((f->nfft + 1) * mel2hz(mel) / f->rate);
    }
    f->filters = kurc_xcalloc((size_t)(MFCC_FILTERS * f->bins), sizeof *f->filters);
    for (int j = 0; j < MFCC_FILTERS; j++) {
        double *row = f->filters + j * f->bins;
        for (int i = (int)bin[j]; i < (int)bin[j + 1]; i++)
            if (i >= 0 && i < f->bins)
                row[i] = (i - bin[j]) / (bin[j + 1] - bin[j]);
        for (int i = (int)bin[j + 1]; i < (int)bin[j + 2]; i++)
            if (i >= 0 && i < f->bins)
                row[i] = (bin[j + 2] - i) / (bin[j + 2] - bin[j + 1]);
    }
    /* scipy's orthonormal DCT-II, then the lifter 1 + (L / 2) sin(pi k / L) */
    f->dct = kurc_xcalloc(MFCC_CEPSTRA * MFCC_FILTERS, sizeof *f->dct);
    for (int k = 0; k < MFCC_CEPSTRA; k++) {
        double norm = k == 0 ? sqrt(1.0 / MFCC_FILTERS) : sqrt(2.0 / MFCC_FILTERS);
        double lift = 1 + (22 / 2.) * sin(M_PI * k / 22);
        for (int n = 0; n < MFCC_FILTERS; n++)
            f->dct[k * MFCC_FILTERS + n] =
                lift * norm * cos(M_PI * k * (2 * n + 1) / (2.0 * MFCC_FILTERS));
    }
}

enum kurc_status kurc_features_create(enum kurc_feature_type type, int rate, double max_frequency,
                                      struct kurc_features **out, struct kurc_err *err) {
    *out = NULL;
    enum kurc_status st = kurc_audio_libs_load(NULL, err);
    if (st)
        return st;
    struct kurc_features *f = kurc_xcalloc(1, sizeof *f);
    f->type = type;
    f->rate = rate;
    if (type == KURC_FEATURES_SPEC) {
        f->frame = (int)(0.020 * rate);
        f->hop = (int)(0.010 * rate);
        f->nfft = f->frame;
        f->bins = f->nfft / 2 + 1;
        f->window = kurc_xmalloc((size_t)f->frame * sizeof *f->window);
        f->scale = 0;
        for (int k = 0; k < f->frame; k++) {
            f->window[k] = f->frame == 1 ? 1.0 : 0.5 - 0.5 * cos(2 * M_PI * k / (f->frame - 1));
            f->scale += f->window[k] * f->window[k];
        }
        f->scale *= rate;
        f->dim = f->bins;
        if (max_frequency > 0) {
            double delta = 1 / 0.020;
            long keep = (long)(max_frequency / delta + 0.5) + 1;
            if (keep < f->dim)
                f->dim = (int)keep;
        }
    } else {
        if (max_frequency > rate / 2.0) {
            free(f);
            return kurc_err_set(err, KURC_E_CONFIG, NULL,
                                "mfcc features: max_frequency %g is above half the sample rate "
                                "(%d Hz)",
                                max_frequency, rate);
        }
        f->frame = (int)floor(0.025 * rate + 0.5);
        f->hop = (int)floor(0.010 * rate + 0.5);
        f->nfft = 1;
        while (f->nfft < 0.025 * rate)
            f->nfft *= 2;
        f->bins = f->nfft / 2 + 1;
        f->dim = MFCC_CEPSTRA;
        make_filters(f, max_frequency > 0 ? max_frequency : rate / 2.0);
    }
    double *in = FFTW(fftw_malloc)((size_t)f->nfft * sizeof *in);
    fftw_complex *spectrum = FFTW(fftw_malloc)((size_t)f->bins * sizeof *spectrum);
    f->plan = FFTW(fftw_plan_dft_r2c_1d)(f->nfft, in, spectrum, FFTW_ESTIMATE);
    FFTW(fftw_free)(in);
    FFTW(fftw_free)(spectrum);
    *out = f;
    return KURC_OK;
}

void kurc_features_free(struct kurc_features *f) {
    if (!f)
        return;
    if (f->plan)
        FFTW(fftw_destroy_plan)(f->plan);
    free(f->window);
    free(f->filters);
    free(f->dct);
    free(f);
}

int kurc_features_dim(const struct kurc_features *f) {
    return f->dim;
}

int64_t kurc_features_frames(const struct kurc_features *f, int64_t n) {
    if (f->type == KURC_FEATURES_SPEC) /* whole frames only */
        return n < f->frame ? 0 : (n - (n - f->frame) % f->hop - f->frame) / f->hop + 1;
    return n <= f->frame ? 1 : 1 + (int64_t)ceil((double)(n - f->frame) / f->hop);
}

static enum kurc_status spec(const struct kurc_features *f, const float *x, int64_t n,
                             const char *name, double *in, fftw_complex *X, float **out,
                             int64_t *frames, struct kurc_err *err) {
    if (n < f->frame)
        return kurc_err_set(err, KURC_E_DATA, NULL,
                            "%s: the audio is too short: %lld samples at %d Hz, less than one "
                            "20 ms frame",
                            name, (long long)n, f->rate);
    int64_t count = kurc_features_frames(f, n);
    float *y = malloc((size_t)(count * f->dim) * sizeof *y);
    if (!y)
        return kurc_err_set(err, KURC_E_DATA, NULL, "%s: out of memory for %lld frames", name,
                            (long long)count);
    for (int64_t t = 0; t < count; t++) {
        const float *frame = x + t * f->hop;
        for (int k = 0; k < f->frame; k++)
            in[k] = (double)frame[k] * f->window[k];
        FFTW(fftw_execute_dft_r2c)(f->plan, in, X);
        for (int b = 0; b < f->dim; b++) {
            double power = X[b][0] * X[b][0] + X[b][1] * X[b][1];
            power /= b == 0 || b == f->bins - 1 ? f->scale : f->scale / 2;
            y[t * f->dim + b] = (float)log(power + 1e-14);
        }
    }
    *out = y;
    *frames = count;
    return KURC_OK;
}

static enum kurc_status mfcc(const struct kurc_features *f, const float *x, int64_t n, int bits,
                             const char *name, double *in, fftw_complex *X, float **out,
                             int64_t *frames, struct kurc_err *err) {
    const double eps = 2.220446049250313e-16; /* numpy.finfo(float).eps */
    double unit = ldexp(1.0, bits - 1);
    int64_t count = kurc_features_frames(f, n);
    float *y = malloc((size_t)(count * f->dim) * sizeof *y);
    double *power = malloc((size_t)f->bins * sizeof *power);
    if (!y || !power) {
        free(y);
        free(power);
        return kurc_err_set(err, KURC_E_DATA, NULL, "%s: out of memory for %lld frames", name,
                            (long long)count);
    }
    for (int64_t t = 0; t < count; t++) {
        memset(in, 0, (size_t)f->nfft * sizeof *in);
        int take = f->frame < f->nfft ? f->frame : f->nfft;
        for (int k = 0; k < take; k++) {
            int64_t i = t * f->hop + k; /* the pre-emphasised signal, zero past the end */
            if (i >= n)
                break;
            in[k] = unit * (i == 0 ? (double)x[0] : (double)x[i] - 0.97 * (double)x[i - 1]);
        }
        FFTW(fftw_execute_dft_r2c)(f->plan, in, X);
        double energy = 0;
        for (int b = 0; b < f->bins; b++) {
            power[b] = (X[b][0] * X[b][0] + X[b][1] * X[b][1]) / f->nfft;
            energy += power[b];
        }
        if (energy == 0)
            energy = eps;
        double logmel[MFCC_FILTERS];
        for (int j = 0; j < MFCC_FILTERS; j++) {
            double sum = 0;
            const double *row = f->filters + j * f->bins;
            for (int b = 0; b < f->bins; b++)
                sum += power[b] * row[b];
            logmel[j] = log(sum == 0 ? eps : sum);
        }
        for (int k = 0; k < MFCC_CEPSTRA; k++) {
            double c = 0;
            for (int j = 0; j < MFCC_FILTERS; j++)
                c += f->dct[k * MFCC_FILTERS + j] * logmel[j];
            y[t * f->dim + k] = (float)(k == 0 ? log(energy) : c);
        }
    }
    free(power);
    *out = y;
    *frames = count;
    return KURC_OK;
}

enum kurc_status kurc_features_compute(const struct kurc_features *f, const float *samples,
                                       int64_t n, int bits, const char *name, float **out,
                                       int64_t *frames, struct kurc_err *err) {
    *out = NULL;
    *frames = 0;
    double *in = FFTW(fftw_malloc)((size_t)f->nfft * sizeof *in);
    fftw_complex *X = FFTW(fftw_malloc)((size_t)f->bins * sizeof *X);
    enum kurc_status st;
    if (!in || !X)
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: out of memory", name);
    else if (f->type == KURC_FEATURES_SPEC)
        st = spec(f, samples, n, name, in, X, out, frames, err);
    else
        st = mfcc(f, samples, n, bits, name, in, X, out, frames, err);
    FFTW(fftw_free)(in);
    FFTW(fftw_free)(X);
    return st;
}
