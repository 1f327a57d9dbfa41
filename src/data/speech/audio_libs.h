/* audio_libs.h - libsndfile, libsamplerate and FFTW, opened when speech
 * data is first decoded or its features set up (base/lazy_lib.h): the
 * functions audio.c and speech_features.c call, as LIBSNDFILE(sf_close)(f),
 * LIBSAMPLERATE(src_simple)(...) and FFTW(fftw_malloc)(n). */
#ifndef KURC_AUDIO_LIBS_H
#define KURC_AUDIO_LIBS_H

#include <fftw3.h>
#include <samplerate.h>
#include <sndfile.h>

#include "base/lazy_lib.h"

#define KURC_SNDFILE_FUNCTIONS(X, P)                                                               \
    X(P, sf_close)                                                                                 \
    X(P, sf_command)                                                                               \
    X(P, sf_error)                                                                                 \
    X(P, sf_error_number)                                                                          \
    X(P, sf_open_virtual)                                                                          \
    X(P, sf_readf_float)                                                                           \
    X(P, sf_strerror)

KURC_LAZY_DECLARE(KURC_SNDFILE, KURC_SNDFILE_FUNCTIONS, kurc_sndfile_fns)
#define LIBSNDFILE(f) KURC_LAZY_CALL(kurc_sndfile_fns, KURC_SNDFILE, f)

#define KURC_SAMPLERATE_FUNCTIONS(X, P)                                                            \
    X(P, src_simple)                                                                               \
    X(P, src_strerror)

KURC_LAZY_DECLARE(KURC_SAMPLERATE, KURC_SAMPLERATE_FUNCTIONS, kurc_samplerate_fns)
#define LIBSAMPLERATE(f) KURC_LAZY_CALL(kurc_samplerate_fns, KURC_SAMPLERATE, f)

#define KURC_FFTW_FUNCTIONS(X, P)                                                                  \
    X(P, fftw_destroy_plan)                                                                        \
    X(P, fftw_execute_dft_r2c)                                                                     \
    X(P, fftw_free)                                                                                \
    X(P, fftw_malloc)                                                                              \
    X(P, fftw_plan_dft_r2c_1d)

KURC_LAZY_DECLARE(KURC_FFTW, KURC_FFTW_FUNCTIONS, kurc_fftw_fns)
#define FFTW(f) KURC_LAZY_CALL(kurc_fftw_fns, KURC_FFTW, f)

/* Opens the three libraries (once per process, thread-safe); a failure
 * names the library's soname, at loc (or NULL). */
enum kurc_status kurc_audio_libs_load(const struct kurc_loc *loc, struct kurc_err *err);

#endif
