/* audio.c - audio files to mono 16 kHz samples with libsndfile and
 * libsamplerate (see audio.h). */
#include "data/speech/audio.h"

#include <stdlib.h>
#include <string.h>

#include "data/speech/audio_libs.h"

/* libsndfile's virtual I/O over a buffer in memory. */
struct memfile {
    const unsigned char *data;
    sf_count_t len, pos;
};

static sf_count_t mem_length(void *user) {
    return ((struct memfile *)user)->len;
}

static sf_count_t mem_seek(sf_count_t offset, int whence, void *user) {
    struct memfile *m = user;
    sf_count_t at = whence == SEEK_SET   ? offset
                    : whence == SEEK_CUR ? m->pos + offset
                                         : m->len + offset;
    if (at < 0 || at > m->len)
        return -1;
    m->pos = at;
    return at;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user) {
    struct memfile *m = user;
    sf_count_t left = m->len - m->pos;
    if (count > left)
        count = left;
    if (count > 0)
        memcpy(ptr, m->data + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user) {
    (void)ptr;
    (void)count;
    (void)user;
    return 0;
}

static sf_count_t mem_tell(void *user) {
    return ((struct memfile *)user)->pos;
}

/* The integer width Kur's scaling would have used. */
static int sample_bits(int format) {
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
        return 8;
    case SF_FORMAT_PCM_24:
        return 24;
    case SF_FORMAT_PCM_32:
        return 32;
    default:
        return 16;
    }
}

/* Resamples n mono samples from rate `from` to rate `to` (libsamplerate);
 * *out is malloc'ed, *n_out its length. */
static enum kurc_status kurc_audio_resample(const float *in, int64_t n, int from, int to, float **out,
                                            int64_t *n_out, const char *name, struct kurc_err *err) {
    double ratio = (double)to / (double)from;
    int64_t cap = (int64_t)((double)n * ratio) + 16;
    float *buf = malloc((size_t)cap * sizeof *buf);
    if (!buf)
        return kurc_err_set(err, KURC_E_DATA, NULL, "%s: out of memory resampling %lld samples",
                            name, (long long)n);
    SRC_DATA d = {.data_in = in,
                  .data_out = buf,
                  .input_frames = (long)n,
                  .output_frames = (long)cap,
                  .src_ratio = ratio,
                  .end_of_input = 1};
    int rc = LIBSAMPLERATE(src_simple)(&d, SRC_SINC_MEDIUM_QUALITY, 1);
    if (rc) {
        free(buf);
        return kurc_err_set(err, KURC_E_DATA, NULL, "%s: cannot resample from %d Hz to %d Hz: %s",
                            name, from, to, LIBSAMPLERATE(src_strerror)(rc));
    }
    *out = buf;
    *n_out = d.output_frames_gen;
    return KURC_OK;
}

enum kurc_status kurc_audio_decode(const void *bytes, size_t len, const char *name,
                                   struct kurc_audio *out, struct kurc_err *err) {
    memset(out, 0, sizeof *out);
    enum kurc_status st = kurc_audio_libs_load(NULL, err);
    if (st)
        return st;
    struct memfile m = {bytes, (sf_count_t)len, 0};
    SF_VIRTUAL_IO io = {mem_length, mem_seek, mem_read, mem_write, mem_tell};
    SF_INFO info = {0};
    SNDFILE *f = LIBSNDFILE(sf_open_virtual)(&io, SFM_READ, &info, &m);
    if (!f)
        return kurc_err_set(err, KURC_E_DATA, NULL, "%s: not a readable audio file: %s", name,
                            LIBSNDFILE(sf_error_number)(
                                LIBSNDFILE(sf_error)(NULL))); /* constant strings: threads */
    float *frames = NULL, *mono = NULL;
    if (info.channels < 1 || info.samplerate < 1 || info.frames < 0 ||
        info.frames > (INT64_MAX / 8) / (info.channels > 0 ? info.channels : 1)) {
        st = kurc_err_set(err, KURC_E_DATA, NULL,
                          "%s: the audio header is invalid (%d channels, %d Hz)", name,
                          info.channels, info.samplerate);
        goto done;
    }
    LIBSNDFILE(sf_command)(f, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
    /* Some formats (MP3) only know their length roughly: read until the end. */
    size_t cap = (size_t)(info.frames > 0 ? info.frames : 16000) + 1, got = 0;
    frames = malloc(cap * (size_t)info.channels * sizeof *frames);
    while (frames) {
        sf_count_t r = LIBSNDFILE(sf_readf_float)(f, frames + got * (size_t)info.channels,
                                                  (sf_count_t)(cap - got));
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == cap) {
            float *grown = realloc(frames, 2 * cap * (size_t)info.channels * sizeof *frames);
            if (!grown) {
                free(frames);
                frames = NULL;
                break;
            }
            frames = grown;
            cap *= 2;
        }
    }
    if (!frames) {
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: out of memory decoding %lld frames", name,
                          (long long)info.frames);
        goto done;
    }
    if (LIBSNDFILE(sf_error)(f)) {
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: cannot decode the audio: %s", name,
                          LIBSNDFILE(sf_strerror)(f));
        goto done;
    }
    mono = malloc((got ? got : 1) * sizeof *mono);
    if (!mono) {
        st = kurc_err_set(err, KURC_E_DATA, NULL, "%s: out of memory", name);
        goto done;
    }
    for (size_t i = 0; i < got; i++) {
        double sum = 0;
        for (int c = 0; c < info.channels; c++)
            sum += frames[i * (size_t)info.channels + (size_t)c];
        mono[i] = (float)(sum / info.channels);
    }
    out->file_rate = info.samplerate;
    out->bits = sample_bits(info.format);
    if (info.samplerate != KURC_AUDIO_RATE && got > 0) {
        float *resampled = NULL;
        int64_t n = 0;
        st = kurc_audio_resample(mono, (int64_t)got, info.samplerate, KURC_AUDIO_RATE, &resampled,
                                 &n, name, err);
        if (st)
            goto done;
        free(mono);
        mono = resampled;
        got = (size_t)n;
    }
    out->samples = mono;
    out->n = (int64_t)got;
    out->rate = KURC_AUDIO_RATE;
    mono = NULL;
done:
    free(frames);
    free(mono);
    LIBSNDFILE(sf_close)(f);
    return st;
}

void kurc_audio_release(struct kurc_audio *a) {
    free(a->samples);
    memset(a, 0, sizeof *a);
}
