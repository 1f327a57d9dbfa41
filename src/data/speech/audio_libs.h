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

#define KURC_SNDFILE_FUNCTIONS(X)                                                                  \
    X(sf_close)                                                                                    \
    X(sf_command)                                                                                  \
    X(sf_error)                                                                                    \
    X(sf_error_number)                                                                             \
    X(sf_open_virtual)                                                                             \
    X(sf_readf_float)                                                                              \
    X(sf_strerror)

#define X(f) KURC_SNDFILE_##f,
enum { KURC_SNDFILE_FUNCTIONS(X) KURC_SNDFILE_COUNT };
#undef X
extern kurc_lazy_fn kurc_sndfile_fns[KURC_SNDFILE_COUNT];
#define LIBSNDFILE(f) KURC_LAZY_CALL(kurc_sndfile_fns, KURC_SNDFILE, f)

#define KURC_SAMPLERATE_FUNCTIONS(X)                                                               \
    X(src_simple)                                                                                  \
    X(src_strerror)

#define X(f) KURC_SAMPLERATE_##f,
enum { KURC_SAMPLERATE_FUNCTIONS(X) KURC_SAMPLERATE_COUNT };
#undef X
extern kurc_lazy_fn kurc_samplerate_fns[KURC_SAMPLERATE_COUNT];
#define LIBSAMPLERATE(f) KURC_LAZY_CALL(kurc_samplerate_fns, KURC_SAMPLERATE, f)

#define KURC_FFTW_FUNCTIONS(X)                                                                     \
    X(fftw_destroy_plan)                                                                           \
    X(fftw_execute_dft_r2c)                                                                        \
    X(fftw_free)                                                                                   \
    X(fftw_malloc)                                                                                 \
    X(fftw_plan_dft_r2c_1d)

#define X(f) KURC_FFTW_##f,
enum { KURC_FFTW_FUNCTIONS(X) KURC_FFTW_COUNT };
#undef X
extern kurc_lazy_fn kurc_fftw_fns[KURC_FFTW_COUNT];
#define FFTW(f) KURC_LAZY_CALL(kurc_fftw_fns, KURC_FFTW, f)

/* Opens the three libraries (once per process, thread-safe); a failure
 * names the library's soname, at loc (or NULL). */
enum kurc_status kurc_audio_libs_load(const struct kurc_loc *loc, struct kurc_err *err);

#endif
