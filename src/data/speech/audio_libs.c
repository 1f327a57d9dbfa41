/* audio_libs.c - the speech supplier's audio libraries (audio_libs.h),
 * from the sonames CMake read off the libraries it found. */
#include "data/speech/audio_libs.h"

static const char *const sndfile_names[] = KURC_LAZY_NAMES(KURC_SNDFILE, KURC_SNDFILE_FUNCTIONS);
static const char *const samplerate_names[] =
    KURC_LAZY_NAMES(KURC_SAMPLERATE, KURC_SAMPLERATE_FUNCTIONS);
static const char *const fftw_names[] = KURC_LAZY_NAMES(KURC_FFTW, KURC_FFTW_FUNCTIONS);

kurc_lazy_fn kurc_sndfile_fns[KURC_SNDFILE_COUNT];
kurc_lazy_fn kurc_samplerate_fns[KURC_SAMPLERATE_COUNT];
kurc_lazy_fn kurc_fftw_fns[KURC_FFTW_COUNT];

static struct kurc_lazy_lib libs[] = {
    {.file = KURC_SNDFILE_SONAME,
     .names = sndfile_names,
     .n = KURC_SNDFILE_COUNT,
     .fns = kurc_sndfile_fns},
    {.file = KURC_SAMPLERATE_SONAME,
     .names = samplerate_names,
     .n = KURC_SAMPLERATE_COUNT,
     .fns = kurc_samplerate_fns},
    {.file = KURC_FFTW_SONAME, .names = fftw_names, .n = KURC_FFTW_COUNT, .fns = kurc_fftw_fns},
};

enum kurc_status kurc_audio_libs_load(const struct kurc_loc *loc, struct kurc_err *err) {
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        enum kurc_status st = kurc_lazy_lib_load(&libs[i], "speech data", loc, err);
        if (st)
            return st;
    }
    return KURC_OK;
}
