/* speech_features.h - speech features as Kur computed them (kur/utils/
 * audiotools.py get_audio_features), from mono samples in [-1, 1).
 *
 * spec: Kur's log power spectrogram.  Frames of 20 ms (int(0.020 rate)
 *   samples) every 10 ms (int(0.010 rate)); samples that do not fill a
 *   last hop are dropped; each frame times a symmetric Hann window
 *   (numpy.hanning), a one-sided FFT (FFTW), the power |X|^2 divided by
 *   sum(window^2) * rate, interior bins then doubled; an optional cut at
 *   max_frequency keeps bins [0, min(int(f / 50 + 0.5) + 1, bins));
 *   then log(x + 1e-14).  At 16 kHz: 161 features, 100 frames a second.
 *   Audio shorter than one frame is an error (Kur skipped it).
 * mfcc: python_speech_features.mfcc as Kur called it (13 cepstra, 26 mel
 *   filters, highfreq = max_frequency or rate / 2) on the signal in
 *   integer units (samples times 2^(bits - 1), as scipy read Kur's WAV
 *   files): pre-emphasis 0.97, 25 ms frames every 10 ms (the last one
 *   zero-padded), a rectangular window, the power spectrum |FFT_512|^2 /
 *   512, 26 triangular mel filters, log (0 replaced by the float64
 *   epsilon), an orthonormal DCT-II, 13 coefficients liftered with L = 22,
 *   and the first replaced by the log frame energy.
 *
 * Everything is computed in double precision and stored as float32.
 * A plan holds the FFTW plans and the window/filters for one rate; it is
 * made once (FFTW's planner is not thread-safe) and may then be used from
 * several threads at once.
 */
#ifndef KURC_SPEECH_FEATURES_H
#define KURC_SPEECH_FEATURES_H

#include <stdint.h>

#include "base/status.h"

enum kurc_feature_type {
    KURC_FEATURES_SPEC,
    KURC_FEATURES_MFCC,
};

struct kurc_features;

/* A plan for `type` at `rate` Hz; max_frequency <= 0 means none.  Fails
 * (KURC_E_CONFIG) for an mfcc max_frequency above rate / 2. */
enum kurc_status kurc_features_create(enum kurc_feature_type type, int rate, double max_frequency,
                                      struct kurc_features **out, struct kurc_err *err);
void kurc_features_free(struct kurc_features *f);

/* Features per frame. */
int kurc_features_dim(const struct kurc_features *f);

/* The frames kurc_features_compute makes of n samples (spec: 0 when n is
 * shorter than one frame, which it refuses). */
int64_t kurc_features_frames(const struct kurc_features *f, int64_t n);

/* The features of n samples (bits: the file's integer width, for mfcc's
 * scaling): *out is frames x dim floats (malloc'ed).  name is for
 * messages. */
enum kurc_status kurc_features_compute(const struct kurc_features *f, const float *samples,
                                       int64_t n, int bits, const char *name, float **out,
                                       int64_t *frames, struct kurc_err *err);

#endif
