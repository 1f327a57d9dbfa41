/* audio.h - decoding speech audio for the speech_recognition supplier.
 *
 * Files are decoded with libsndfile from memory (a file read whole, or an
 * archive member): WAV (any PCM width or float), FLAC, Ogg/Vorbis, Opus
 * and MP3 as far as the installed libsndfile supports them (Debian 12's
 * 1.2 does all of these).  Several channels are averaged to mono, as Kur
 * did.  Samples are floats in [-1, 1) (libsndfile's normalisation: an
 * integer sample divided by 2^(bits - 1), Kur's scale_signal).
 *
 * Sample rate.  Kur computed features at each file's own rate, so files of
 * another rate gave another number of spectrogram features and could not
 * share a model; its data sets were all 16 kHz.  kurc resamples every file
 * to KURC_AUDIO_RATE with libsamplerate (SRC_SINC_MEDIUM_QUALITY, a
 * band-limited sinc converter) so that mixed rates work; 16 kHz files are
 * used as they are.
 */
#ifndef KURC_AUDIO_H
#define KURC_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define KURC_AUDIO_RATE 16000

struct kurc_audio {
    float *samples; /* n mono samples in [-1, 1), at `rate` (malloc'ed) */
    int64_t n;
    int rate;      /* KURC_AUDIO_RATE after kurc_audio_decode */
    int file_rate; /* the rate the file had */
    int bits;      /* the file's integer sample width (16 for float and compressed data) */
};

/* Decodes len bytes of an audio file (name is for messages: the file's
 * path or "archive:member") to mono at KURC_AUDIO_RATE.  Errors
 * (KURC_E_DATA) name the file and what libsndfile said. */
enum kurc_status kurc_audio_decode(const void *bytes, size_t len, const char *name,
                                   struct kurc_audio *out, struct kurc_err *err);
void kurc_audio_release(struct kurc_audio *a);

#endif
