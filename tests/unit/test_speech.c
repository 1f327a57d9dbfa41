/* test_speech.c - the speech_recognition supplier on data made here:
 * WAV files of pure tones (libsndfile), manifests, tar archives
 * (libarchive).
 *
 * Sources and their shapes, lengths and side tables; the spectrogram of a
 * tone peaking at its bin (16 kHz and resampled 22.05 kHz files, stereo);
 * the max_frequency cut; mfcc's 13 features; normalisation (identity,
 * centre and scale, ZCA whitening, the statistics file written once and
 * read back, a file for other features refused); vocabularies (inferred,
 * listed, from a JSON file, duplicates, `unknown`, symbols outside it as
 * errors naming file:line); words as symbols; several keys; bad manifest
 * lines skipped with warnings naming file:line and fatal past half;
 * undecodable and too short audio left out; durations; `samples`; fill
 * and bucket; archives read in place and unpacked (once), and unsafe
 * archives refused, also where the archive is named by an absolute path,
 * under `~` or through `..`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* (cmocka.h needs the four headers above before it.) */
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "data/speech/normalize.h"
#include "data/supplier.h"
#include "datatest.h"
#include "iotest.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* --- files ---------------------------------------------------------------- */

/* n samples of a tone of freq Hz at rate (amplitude amp, phase 0). */
static float *tone(int64_t n, int rate, double freq, double amp) {
    float *x = malloc((size_t)(n + 1) * sizeof *x);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(amp * sin(2 * M_PI * freq * (double)i / rate));
    return x;
}

static void write_wav(const char *path, int rate, int channels, int subtype, const float *x,
                      int64_t frames) {
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = SF_FORMAT_WAV | subtype};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    if (!f)
        fail_msg("cannot write %s: %s", path, sf_strerror(NULL));
    assert_int_equal(sf_writef_float(f, x, frames), frames);
    sf_close(f);
}

/* A tone WAV of `ms` milliseconds at 16 kHz, with noise of amplitude
 * `noise` (a fixed pseudo-random sequence). */
static void noisy_wav(const char *path, int ms, double freq, double noise) {
    int64_t n = 16 * ms;
    float *x = tone(n, 16000, freq, 0.5);
    uint32_t state = 12345u + (uint32_t)freq;
    for (int64_t i = 0; i < n; i++) {
        state = state * 1664525u + 1013904223u;
        x[i] += (float)(noise * ((double)(state >> 8) / (1 << 24) - 0.5));
    }
    write_wav(path, 16000, 1, SF_FORMAT_PCM_16, x, n);
    free(x);
}

static void tone_wav(const char *path, int ms, double freq) {
    noisy_wav(path, ms, freq, 0);
}

static void mkdirs(const char *path) {
    char *p = kurc_xstrdup(path);
    for (char *c = p + 1; *c; c++)
        if (*c == '/') {
            *c = '\0';
            mkdir(p, 0777);
            *c = '/';
        }
    mkdir(p, 0777);
    free(p);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void rm_rf(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *child = kurc_xasprintf("%s/%s", path, e->d_name);
            rm_rf(child);
            free(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A data set directory: utterance i is a tone of ms[i] milliseconds at
 * 500 (i + 1) Hz, uuid "u<i>", text texts[i] (JSON). */
static void make_set(const char *dir, int n, const int *ms, const char *const *texts) {
    rm_rf(dir);
    char *audio = kurc_xasprintf("%s/audio", dir);
    mkdirs(audio);
    struct kurc_strbuf manifest = KURC_STRBUF_INIT;
    for (int i = 0; i < n; i++) {
        char *wav = kurc_xasprintf("%s/u%d.wav", audio, i);
        noisy_wav(wav, ms[i], 500.0 * (i + 1), 0.2);
        free(wav);
        char line[512];
        snprintf(line, sizeof line, "{\"uuid\": \"u%d\", \"duration_s\": %g, \"text\": %s}\n", i,
                 ms[i] / 1000.0, texts[i]);
        kurc_strbuf_append(&manifest, line, strlen(line));
    }
    char *path = kurc_xasprintf("%s/data.jsonl", dir);
    write_text(path, manifest.data);
    free(path);
    free(audio);
    kurc_strbuf_free(&manifest);
}

/* Packs dir (as DIRNAME/...) into a tar.gz; extra adds one member: a file
 * `name` (symlink target NULL) or a symbolic link to target. */
static void tar_dir(const char *archive_path, const char *dir, const char *extra,
                    const char *target) {
    struct archive *a = archive_write_new();
    archive_write_add_filter_gzip(a);
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, archive_path), ARCHIVE_OK);
    const char *members[64];
    int n = 0;
    char *manifest = kurc_xasprintf("%s/data.jsonl", dir);
    members[n++] = manifest;
    char *audio = kurc_xasprintf("%s/audio", dir);
    DIR *d = opendir(audio);
    struct dirent *e;
    char *names[64];
    int n_names = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            names[n_names++] = kurc_xasprintf("%s/%s", audio, e->d_name);
    closedir(d);
    for (int i = 0; i < n_names; i++)
        members[n++] = names[i];
    for (int i = 0; i < n; i++) {
        struct stat sb;
        stat(members[i], &sb);
        FILE *f = fopen(members[i], "rb");
        unsigned char *buf = malloc((size_t)sb.st_size + 1);
        assert_int_equal(fread(buf, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
        fclose(f);
        struct archive_entry *entry = archive_entry_new();
        archive_entry_set_pathname(entry, members[i]);
        archive_entry_set_size(entry, sb.st_size);
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_write_header(a, entry);
        archive_write_data(a, buf, (size_t)sb.st_size);
        archive_entry_free(entry);
        free(buf);
    }
    if (extra) {
        struct archive_entry *entry = archive_entry_new();
        archive_entry_set_pathname(entry, extra);
        if (target) {
            archive_entry_set_filetype(entry, AE_IFLNK);
            archive_entry_set_symlink(entry, target);
            archive_entry_set_size(entry, 0);
        } else {
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_size(entry, 2);
        }
        archive_entry_set_perm(entry, 0644);
        archive_write_header(a, entry);
        if (!target)
            archive_write_data(a, "x\n", 2);
        archive_entry_free(entry);
    }
    archive_write_close(a);
    archive_write_free(a);
    for (int i = 0; i < n_names; i++)
        free(names[i]);
    free(manifest);
    free(audio);
}

/* --- loading and capturing warnings ------------------------------------- */

static int saved_stderr = -1;
static char capture_path[] = "/tmp/kurc-speech-stderr-XXXXXX";

static void begin_capture(void) {
    fflush(stderr);
    int fd = mkstemp(capture_path);
    assert_true(fd >= 0);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

static char *end_capture(void) {
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    FILE *f = fopen(capture_path, "r");
    char *text = kurc_xcalloc(1 << 16, 1);
    size_t n = fread(text, 1, (1 << 16) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(capture_path);
    strcpy(capture_path, "/tmp/kurc-speech-stderr-XXXXXX");
    fputs(text, stderr);
    return text;
}

static enum kurc_status load(const char *params, struct kurc_dataset *d, struct kurc_err *err) {
    char *yaml = kurc_xasprintf("- speech_recognition: %s", params);
    enum kurc_status st = kurc_data_load(dt_yaml(yaml), d, err);
    free(yaml);
    return st;
}

static void load_ok(const char *params, struct kurc_dataset *d) {
    struct kurc_err err;
    dt_expect_ok(load(params, d, &err), &err);
}

#define RAW "normalization: {center: no, scale: no, rotate: no}"

static const struct kurc_source *source(const struct kurc_dataset *d, const char *name) {
    const struct kurc_source *s = kurc_dataset_find(d, name);
    if (!s)
        fail_msg("no source %s", name);
    return s;
}

/* Frames of n samples: 20 ms windows every 10 ms at 16 kHz. */
static int64_t frames_of(int64_t n) {
    return (n - 320) / 160 + 1;
}

/* The bin of the largest value of a frame. */
static int peak(const float *frame, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (frame[i] > frame[best])
            best = i;
    return best;
}

/* --- tests ----------------------------------------------------------------- */

static void test_sources(void **state) {
    (void)state;
    make_set("set", 3, (const int[]){300, 520, 410},
             (const char *const[]){"\"Ab\"", "\"ba c\"", "\"\""});
    struct kurc_dataset d;
    load_ok("{path: set, " RAW "}", &d);
    assert_int_equal(d.count, 3);
    const struct kurc_source *u = source(&d, "utterance");
    assert_true(kurc_source_ragged(u));
    assert_int_equal(u->shape.ndim, 2);
    assert_int_equal(u->shape.dim[1], 161);
    assert_int_equal(u->shape.dim[0], frames_of(16 * 520));
    assert_int_equal(u->lengths[0], frames_of(16 * 300));
    assert_int_equal(u->lengths[2], frames_of(16 * 410));
    assert_string_equal(u->text[1], "set/audio/u1.wav");
    const struct kurc_source *ul = source(&d, "utterance_length");
    assert_float_equal(ul->data[1], (float)frames_of(16 * 520), 0);
    assert_float_equal(source(&d, "duration")->data[2], 0.41f, 1e-6);
    const struct kurc_source *t = source(&d, "transcript");
    assert_true(kurc_source_ragged(t));
    assert_int_equal(t->shape.ndim, 1);
    assert_int_equal(t->shape.dim[0], 4);
    assert_int_equal(t->n_vocab, 4); /* " ", a, b, c: inferred, lower-cased, sorted */
    assert_string_equal(t->vocab[0], " ");
    assert_string_equal(t->vocab[3], "c");
    int64_t len;
    const float *ids = kurc_source_sample(t, 1, &len);
    assert_int_equal(len, 4);
    assert_true(ids[0] == 2 && ids[1] == 1 && ids[2] == 0 && ids[3] == 3);
    kurc_source_sample(t, 2, &len);
    assert_int_equal(len, 0);
    assert_string_equal(t->text[0], "Ab");
    assert_float_equal(source(&d, "transcript_length")->data[1], 4, 0);
    kurc_dataset_release(&d);
    rm_rf("set");
}

static void test_spec_tone(void **state) {
    (void)state;
    /* 1 kHz at 16 kHz: bins are 50 Hz wide, so the peak is bin 20 */
    make_set("tone", 1, (const int[]){250}, (const char *const[]){"\"a\""});
    tone_wav("tone/audio/u0.wav", 250, 1000);
    struct kurc_dataset d;
    load_ok("{path: tone, " RAW "}", &d);
    const struct kurc_source *u = source(&d, "utterance");
    for (int64_t t = 0; t < u->lengths[0]; t++)
        assert_int_equal(peak(u->data + t * 161, 161), 20);
    /* Kur's scaling: a full-scale tone's peak bin holds about
     * amp^2 / 2 * sum(w)^2 / (sum(w^2) rate / 2) */
    double w = 0, w2 = 0;
    for (int k = 0; k < 320; k++) {
        double h = 0.5 - 0.5 * cos(2 * M_PI * k / 319);
        w += h;
        w2 += h * h;
    }
    double expect = log(0.25 * w * w / 4 / (w2 * 16000 / 2));
    assert_float_equal(u->data[20], expect, 0.05);
    kurc_dataset_release(&d);

    /* a 22.05 kHz stereo file is averaged and resampled to 16 kHz */
    int64_t n = 22050 / 4;
    float *mono = tone(n, 22050, 1000, 0.5), *stereo = malloc((size_t)(2 * n) * sizeof *stereo);
    for (int64_t i = 0; i < n; i++)
        stereo[2 * i] = stereo[2 * i + 1] = mono[i];
    write_wav("tone/audio/u0.wav", 22050, 2, SF_FORMAT_PCM_24, stereo, n);
    free(mono);
    free(stereo);
    load_ok("{path: tone, " RAW "}", &d);
    u = source(&d, "utterance");
    assert_true(u->lengths[0] >= frames_of(3900) && u->lengths[0] <= frames_of(4000));
    for (int64_t t = 1; t + 1 < u->lengths[0]; t++)
        assert_int_equal(peak(u->data + t * 161, 161), 20);
    kurc_dataset_release(&d);

    /* max_frequency keeps bins up to int(f / 50 + 0.5): 81 for 4 kHz */
    load_ok("{path: tone, max_frequency: 4000, " RAW "}", &d);
    assert_int_equal(source(&d, "utterance")->shape.dim[1], 81);
    kurc_dataset_release(&d);
    rm_rf("tone");
}

static void test_mfcc(void **state) {
    (void)state;
    make_set("mf", 2, (const int[]){300, 200}, (const char *const[]){"\"a\"", "\"b\""});
    struct kurc_dataset d;
    load_ok("{path: mf, type: mfcc, " RAW "}", &d);
    const struct kurc_source *u = source(&d, "utterance");
    assert_int_equal(u->shape.dim[1], 13);
    /* 25 ms frames every 10 ms, the last zero-padded: 1 + ceil((n - 400) / 160) */
    assert_int_equal(u->lengths[0], 1 + (4800 - 400 + 159) / 160);
    assert_int_equal(u->lengths[1], 1 + (3200 - 400 + 159) / 160);
    for (int64_t i = 0; i < u->lengths[0] * 13; i++)
        assert_true(isfinite(u->data[i]));
    kurc_dataset_release(&d);
    struct kurc_err err;
    dt_expect_error(load("{path: mf, type: mfcc, max_frequency: 9000}", &d, &err), &err,
                    KURC_E_CONFIG, "max_frequency 9000 is above half the sample rate");
    rm_rf("mf");
}

/* Per-feature mean and variance over every frame of a ragged source. */
static void moments(const struct kurc_source *u, int f, double *mean, double *var) {
    double sum = 0, sq = 0;
    int64_t n = 0;
    for (int64_t s = 0; s < u->count; s++) {
        int64_t len;
        const float *x = kurc_source_sample(u, s, &len);
        for (int64_t t = 0; t < len; t++, n++) {
            sum += x[t * u->shape.dim[1] + f];
            sq += x[t * u->shape.dim[1] + f] * x[t * u->shape.dim[1] + f];
        }
    }
    *mean = sum / (double)n;
    *var = (sq - sum * sum / (double)n) / (double)(n - 1);
}

static void test_normalization(void **state) {
    (void)state;
    make_set("nm", 4, (const int[]){300, 250, 400, 350},
             (const char *const[]){"\"a\"", "\"b\"", "\"c\"", "\"d\""});
    struct kurc_dataset d;
    /* centre and scale: every feature has mean 0 and variance 1 */
    load_ok("{path: nm, type: mfcc, normalization: {path: cs.yml, rotate: no}}", &d);
    for (int f = 0; f < 13; f++) {
        double mean, var;
        moments(source(&d, "utterance"), f, &mean, &var);
        assert_float_equal(mean, 0, 1e-4);
        assert_float_equal(var, 1, 1e-3);
    }
    kurc_dataset_release(&d);
    /* the file has Kur's keys and is read back, not learned again */
    struct kurc_norm norm;
    kurc_norm_init(&norm, true, true, KURC_ROTATE_NONE);
    struct kurc_err err;
    dt_expect_ok(kurc_norm_load(&norm, "cs.yml", &err), &err);
    assert_int_equal(norm.dim, 13);
    norm.mean[0] += 1000; /* a changed file changes the features */
    dt_expect_ok(kurc_norm_save(&norm, "cs.yml", &err), &err);
    kurc_norm_release(&norm);
    load_ok("{path: nm, type: mfcc, normalization: {path: cs.yml, rotate: no}}", &d);
    double mean, var;
    moments(source(&d, "utterance"), 0, &mean, &var);
    assert_true(mean < -10);
    kurc_dataset_release(&d);
    /* a file for other features is refused */
    dt_expect_error(load("{path: nm, normalization: cs.yml}", &d, &err), &err, KURC_E_DATA,
                    "cs.yml is for 13 features, but these features have 161");
    /* ZCA (the default): the covariance of the features becomes the identity */
    load_ok("{path: nm, type: mfcc, normalization: zca.yml}", &d);
    const struct kurc_source *u = source(&d, "utterance");
    for (int i = 0; i < 13; i++)
        for (int j = 0; j < 13; j++) {
            double c = 0;
            int64_t n = 0;
            for (int64_t s = 0; s < u->count; s++) {
                int64_t len;
                const float *x = kurc_source_sample(u, s, &len);
                for (int64_t t = 0; t < len; t++, n++)
                    c += (double)x[t * 13 + i] * x[t * 13 + j];
            }
            assert_float_equal(c / (double)(n - 1), i == j ? 1 : 0, 2e-3);
        }
    kurc_dataset_release(&d);
    struct stat sb;
    assert_int_equal(stat("zca.yml", &sb), 0);
    unlink("zca.yml");
    unlink("cs.yml");
    dt_expect_error(load("{path: nm, normalization: {depth: 0}}", &d, &err), &err, KURC_E_CONFIG,
                    "'depth' must be a positive integer");
    dt_expect_error(load("{path: nm, normalization: {rotation: no}}", &d, &err), &err,
                    KURC_E_CONFIG, "unknown normalization key 'rotation'");
    write_text("bad.yml", "mean: [1, 2]\n");
    dt_expect_error(load("{path: nm, normalization: bad.yml}", &d, &err), &err, KURC_E_DATA,
                    "bad.yml is not a normalisation file");
    unlink("bad.yml");
    rm_rf("nm");
}

static void test_vocabularies(void **state) {
    (void)state;
    make_set("vc", 3, (const int[]){200, 200, 200},
             (const char *const[]){"\"ab\"", "\"b!\"", "[\"Hello\", \"world\"]"});
    struct kurc_dataset d;
    struct kurc_err err;
    /* a symbol outside a listed vocabulary: an error naming file:line */
    dt_expect_error(load("{path: vc, vocab: [a, b, hello, world], " RAW "}", &d, &err), &err,
                    KURC_E_DATA,
                    "vc/data.jsonl:2: the transcript 'text' has the symbol '!', which is not in "
                    "the vocabulary");
    /* unknown maps it */
    load_ok("{path: vc, vocab: [a, b, hello, world, '?'], unknown: '?', " RAW "}", &d);
    const struct kurc_source *t = source(&d, "transcript");
    int64_t len;
    const float *ids = kurc_source_sample(t, 1, &len);
    assert_int_equal(len, 2);
    assert_true(ids[0] == 1 && ids[1] == 4);
    ids = kurc_source_sample(t, 2, &len); /* words are symbols, lower-cased */
    assert_int_equal(len, 2);
    assert_true(ids[0] == 2 && ids[1] == 3);
    assert_string_equal(t->text[2], "Hello world");
    kurc_dataset_release(&d);
    dt_expect_error(load("{path: vc, vocab: [a, b], unknown: z}", &d, &err), &err, KURC_E_CONFIG,
                    "the 'unknown' symbol 'z' must be part of the vocabulary");
    dt_expect_error(load("{path: vc, vocab: [a, B, b]}", &d, &err), &err, KURC_E_CONFIG,
                    "has 'b' twice, as entries 2 and 3");
    /* a JSON file */
    write_text("vocab.json", "[\"a\", \"b\", \"!\", \"hello\", \"world\"]");
    load_ok("{path: vc, vocab: vocab.json, " RAW "}", &d);
    assert_int_equal(source(&d, "transcript")->n_vocab, 5);
    kurc_dataset_release(&d);
    write_text("vocab.json", "{\"a\": 1}");
    dt_expect_error(load("{path: vc, vocab: vocab.json}", &d, &err), &err, KURC_E_DATA,
                    "vocab.json must hold a JSON list of strings");
    unlink("vocab.json");
    rm_rf("vc");
}

static void test_several_keys(void **state) {
    (void)state;
    rm_rf("keys");
    mkdirs("keys/audio");
    tone_wav("keys/audio/x.wav", 200, 700);
    write_text(
        "keys/m.jsonl",
        "{\"uuid\": \"x\", \"duration_s\": 0.2, \"text\": \"ab\", \"phones\": [\"AH\", \"B\"]}\n");
    struct kurc_dataset d;
    load_ok("{path: keys, key: [text, phones], vocab: {text: [a, b], phones: [ah, b]}, " RAW "}",
            &d);
    assert_non_null(kurc_dataset_find(&d, "text_transcript"));
    assert_non_null(kurc_dataset_find(&d, "text_transcript_length"));
    const struct kurc_source *p = source(&d, "phones_transcript");
    assert_string_equal(p->vocab[0], "ah");
    assert_null(kurc_dataset_find(&d, "transcript"));
    kurc_dataset_release(&d);
    struct kurc_err err;
    dt_expect_error(load("{path: keys, key: [text, phones], vocab: {text: [a, b]}}", &d, &err),
                    &err, KURC_E_CONFIG, "needs an entry for the key 'phones'");
    rm_rf("keys");
}

static void test_bad_lines(void **state) {
    (void)state;
    make_set("bl", 2, (const int[]){200, 300}, (const char *const[]){"\"a\"", "\"b\""});
    write_text("bl/data.jsonl", "{\"uuid\": \"u0\", \"duration_s\": 0.2, \"text\": \"a\"}\n"
                                "{\"uuid\": \"u1\", \"duration_s\": 0.3, \"text\": \"b\"\n"
                                "\n"
                                "{\"uuid\": \"u1\", \"text\": \"b\"}\n"
                                "{\"uuid\": \"nothere\", \"duration_s\": 0.3, \"text\": \"b\"}\n"
                                "{\"uuid\": \"../u1\", \"duration_s\": 0.3, \"text\": \"b\"}\n"
                                "{\"uuid\": \"u1\", \"duration_s\": \"long\", \"text\": \"b\"}\n"
                                "{\"uuid\": \"u1\", \"duration_s\": 0.3, \"text\": 5}\n"
                                "{\"uuid\": \"u1\", \"duration_s\": 0.3, \"text\": \"b\"}\n");
    struct kurc_dataset d;
    begin_capture();
    struct kurc_err err;
    enum kurc_status st = load("{path: bl, " RAW "}", &d, &err);
    char *out = end_capture();
    dt_expect_ok(st, &err);
    assert_int_equal(d.count, 2);
    assert_non_null(strstr(out, "bl/data.jsonl:2: skipping the line: not valid JSON"));
    assert_non_null(strstr(out, "bl/data.jsonl:4: skipping the line: it is missing the required "
                                "key 'duration_s' (its keys: uuid, text)"));
    assert_non_null(strstr(out, "bl/data.jsonl:5: skipping the line: there is no audio file "
                                "bl/audio/nothere.{wav,mp3,flac,ogg}"));
    assert_non_null(strstr(out, "bl/data.jsonl:6: skipping the line: 'uuid' is not a file name"));
    assert_non_null(strstr(out, "bl/data.jsonl:7: skipping the line: 'duration_s' is a string"));
    assert_non_null(strstr(out, "bl/data.jsonl:8: skipping the line: the transcript 'text' is "
                                "not a string or a list of strings"));
    free(out);
    kurc_dataset_release(&d);

    /* more than half bad, from the tenth line on: fatal */
    struct kurc_strbuf lines = KURC_STRBUF_INIT;
    for (int i = 0; i < 12; i++) {
        const char *line = i % 3 == 0 ? "{\"uuid\": \"u0\", \"duration_s\": 0.2, \"text\": \"a\"}\n"
                                      : "{\"uuid\": \"u0\"}\n";
        kurc_strbuf_append(&lines, line, strlen(line));
    }
    write_text("bl/data.jsonl", lines.data);
    kurc_strbuf_free(&lines);
    begin_capture();
    st = load("{path: bl}", &d, &err);
    free(end_capture());
    dt_expect_error(st, &err, KURC_E_DATA, "bl/data.jsonl has too many bad entries (6 of 9 lines)");
    /* nothing usable */
    write_text("bl/data.jsonl", "{\"uuid\": \"u0\", \"duration_s\": 0.2}\n");
    begin_capture();
    st = load("{path: bl}", &d, &err);
    free(end_capture());
    dt_expect_error(st, &err, KURC_E_DATA, "bl/data.jsonl has no usable entries");
    rm_rf("bl");
    mkdirs("empty");
    dt_expect_error(load("{path: empty}", &d, &err), &err, KURC_E_DATA,
                    "empty has no JSONL manifest");
    rm_rf("empty");
}

static void test_bad_audio(void **state) {
    (void)state;
    make_set("ba", 3, (const int[]){200, 300, 250},
             (const char *const[]){"\"a\"", "\"b\"", "\"c\""});
    write_text("ba/audio/u1.wav", "RIFF this is not audio");
    tone_wav("ba/audio/u2.wav", 10, 440); /* 160 samples: shorter than a frame */
    struct kurc_dataset d;
    struct kurc_err err;
    begin_capture();
    enum kurc_status st = load("{path: ba, " RAW "}", &d, &err);
    char *out = end_capture();
    dt_expect_ok(st, &err);
    assert_int_equal(d.count, 1);
    assert_non_null(strstr(out, "ba/data.jsonl:2: leaving the utterance out: ba/audio/u1.wav: "
                                "not a readable audio file"));
    assert_non_null(strstr(out, "ba/data.jsonl:3: leaving the utterance out: ba/audio/u2.wav: "
                                "the audio is too short: 160 samples"));
    free(out);
    kurc_dataset_release(&d);
    write_text("ba/audio/u0.wav", "garbage");
    begin_capture();
    st = load("{path: ba}", &d, &err);
    free(end_capture());
    dt_expect_error(st, &err, KURC_E_DATA, "the audio of 3 of the 3 utterances");
    rm_rf("ba");
}

static void test_durations_and_samples(void **state) {
    (void)state;
    make_set("ds", 6, (const int[]){200, 300, 400, 500, 600, 700},
             (const char *const[]){"\"a\"", "\"b\"", "\"c\"", "\"d\"", "\"e\"", "\"f\""});
    struct kurc_dataset d;
    load_ok("{path: ds, min_duration: 0.3, max_duration: 0.6, " RAW "}", &d);
    assert_int_equal(d.count, 4);
    assert_float_equal(source(&d, "duration")->data[0], 0.3f, 1e-6);
    kurc_dataset_release(&d);
    /* samples keep manifest order */
    load_ok("{path: ds, samples: 3, " RAW "}", &d);
    assert_int_equal(d.count, 3);
    const float *dur = source(&d, "duration")->data;
    assert_true(dur[0] < dur[1] && dur[1] < dur[2]);
    kurc_dataset_release(&d);
    load_ok("{path: ds, samples: '50%', " RAW "}", &d);
    assert_int_equal(d.count, 3);
    kurc_dataset_release(&d);
    load_ok("{path: ds, samples: '2-', " RAW "}", &d);
    assert_int_equal(d.count, 4);
    kurc_dataset_release(&d);
    /* disjoint splits: "50%" and "50-%" together are everything */
    struct kurc_dataset a, b;
    load_ok("{path: ds, samples: '50%', " RAW "}", &a);
    load_ok("{path: ds, samples: '50-%', " RAW "}", &b);
    assert_int_equal(a.count + b.count, 6);
    for (int64_t i = 0; i < a.count; i++)
        for (int64_t j = 0; j < b.count; j++)
            assert_true(source(&a, "duration")->data[i] != source(&b, "duration")->data[j]);
    kurc_dataset_release(&a);
    kurc_dataset_release(&b);
    struct kurc_err err;
    dt_expect_error(load("{path: ds, samples: '4-2'}", &d, &err), &err, KURC_E_CONFIG,
                    "no samples pass the 'samples' cut [4, 2)");
    dt_expect_error(load("{path: ds, samples: 'ten'}", &d, &err), &err, KURC_E_CONFIG,
                    "cannot read the 'samples' specification 'ten'");
    dt_expect_error(load("{path: ds, samples: 0}", &d, &err), &err, KURC_E_CONFIG,
                    "'samples' cannot be less than 1");
    /* fill and bucket reach the source */
    load_ok("{path: ds, fill: loop, bucket: 0.25, " RAW "}", &d);
    const struct kurc_source *u = source(&d, "utterance");
    assert_int_equal(u->fill, KURC_FILL_LOOP);
    assert_int_equal(u->bucket, 25);
    kurc_dataset_release(&d);
    rm_rf("ds");
}

/* The utterance source of a load, for comparing loads. */
static float *utterances(const char *params, int64_t *floats) {
    struct kurc_dataset d;
    load_ok(params, &d);
    const struct kurc_source *u = source(&d, "utterance");
    *floats = 0;
    for (int64_t i = 0; i < u->count; i++)
        *floats += u->lengths[i] * u->shape.dim[1];
    float *copy = malloc((size_t)*floats * sizeof *copy);
    memcpy(copy, u->data, (size_t)*floats * sizeof *copy);
    kurc_dataset_release(&d);
    return copy;
}

static void test_archives(void **state) {
    (void)state;
    make_set("ar", 2, (const int[]){200, 300}, (const char *const[]){"\"a\"", "\"b\""});
    tar_dir("ar.tar.gz", "ar", NULL, NULL);
    int64_t n_dir, n_place, n_unpacked;
    float *dir = utterances("{path: ar, " RAW "}", &n_dir);
    rm_rf("ar");
    float *place = utterances("{path: ar.tar.gz, unpack: no, " RAW "}", &n_place);
    struct stat sb;
    assert_int_not_equal(stat("ar", &sb), 0); /* read in place: nothing extracted */
    float *unpacked = utterances("{path: ar.tar.gz, " RAW "}", &n_unpacked);
    assert_int_equal(n_dir, n_place);
    assert_int_equal(n_dir, n_unpacked);
    assert_memory_equal(dir, place, (size_t)n_dir * sizeof *dir);
    assert_memory_equal(dir, unpacked, (size_t)n_dir * sizeof *dir);
    /* unpacked beside the archive, once */
    assert_int_equal(stat("ar/ar/data.jsonl", &sb), 0);
    assert_int_equal(stat("ar/.kurc-unpacked", &sb), 0);
    unlink("ar/ar/audio/u0.wav");
    free(utterances("{path: ar.tar.gz, samples: 1, " RAW "}", &n_unpacked));
    assert_int_not_equal(stat("ar/ar/audio/u0.wav", &sb), 0);
    free(dir);
    free(place);
    free(unpacked);
    rm_rf("ar");
    unlink("ar.tar.gz");
}

static void test_unsafe_archives(void **state) {
    (void)state;
    make_set("us", 1, (const int[]){200}, (const char *const[]){"\"a\""});
    struct kurc_dataset d;
    struct kurc_err err;
    static const struct {
        const char *member, *link, *message;
    } cases[] = {
        {"../evil.txt", NULL, "refusing to extract member '../evil.txt': its path is absolute"},
        {"us/../../evil.txt", NULL, "refusing to extract member 'us/../../evil.txt'"},
        {"/tmp/evil.txt", NULL, "refusing to extract member '/tmp/evil.txt'"},
        {"us/link", "/etc/passwd", "a symbolic link to '/etc/passwd', outside"},
        {"us/link", "../../x", "a symbolic link to '../../x', outside"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tar_dir("us.tar.gz", "us", cases[i].member, cases[i].link);
        dt_expect_error(load("{path: us.tar.gz}", &d, &err), &err, KURC_E_DATA, cases[i].message);
        rm_rf("us.d");
        char *unpacked = kurc_xstrdup("us");
        rm_rf(unpacked);
        free(unpacked);
        make_set("us", 1, (const int[]){200}, (const char *const[]){"\"a\""});
    }
    struct stat sb;
    assert_int_not_equal(stat("../evil.txt", &sb), 0);
    /* a link inside the archive's directory is fine */
    tar_dir("us.tar.gz", "us", "us/audio/alias.wav", "u0.wav");
    rm_rf("us");
    load_ok("{path: us.tar.gz, " RAW "}", &d);
    assert_int_equal(d.count, 1);
    kurc_dataset_release(&d);
    rm_rf("us");
    unlink("us.tar.gz");
}

/* An archive named by an absolute path, under `~` (HOME set to a scratch
 * directory, as Kur's speech example keeps its data at ~/kur) and through
 * `..` unpacks beside itself; hostile members stay refused there. */
static void test_archive_places(void **state) {
    (void)state;
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    make_set("ap", 1, (const int[]){200}, (const char *const[]){"\"a\""});
    mkdirs("home/kur");
    mkdirs("sub");
    tar_dir("home/kur/ap.tar.gz", "ap", NULL, NULL);
    char *old_home = getenv("HOME") ? kurc_xstrdup(getenv("HOME")) : NULL;
    char *home = kurc_xasprintf("%s/home", cwd);
    setenv("HOME", home, 1);
    const char *const places[] = {"%s/home/kur/ap.tar.gz", "~/kur/ap.tar.gz",
                                  "sub/../home/kur/ap.tar.gz"};
    struct kurc_dataset d;
    struct stat sb;
    for (size_t i = 0; i < sizeof places / sizeof *places; i++) {
        char *path = kurc_xasprintf(places[i], cwd);
        char *params = kurc_xasprintf("{path: \"%s\", " RAW "}", path);
        load_ok(params, &d);
        assert_int_equal(d.count, 1);
        kurc_dataset_release(&d);
        assert_int_equal(stat("home/kur/ap/ap/data.jsonl", &sb), 0);
        rm_rf("home/kur/ap");
        free(params);
        free(path);
    }
    struct kurc_err err;
    tar_dir("home/kur/ap.tar.gz", "ap", "/tmp/kurc-evil.txt", NULL);
    char *params = kurc_xasprintf("{path: \"%s/home/kur/ap.tar.gz\"}", cwd);
    dt_expect_error(load(params, &d, &err), &err, KURC_E_DATA,
                    "refusing to extract member '/tmp/kurc-evil.txt'");
    tar_dir("home/kur/ap.tar.gz", "ap", "ap/link", "../../../x");
    dt_expect_error(load("{path: ~/kur/ap.tar.gz}", &d, &err), &err, KURC_E_DATA,
                    "a symbolic link to '../../../x', outside");
    assert_int_not_equal(stat("/tmp/kurc-evil.txt", &sb), 0);
    free(params);
    if (old_home)
        setenv("HOME", old_home, 1);
    else
        unsetenv("HOME");
    free(old_home);
    free(home);
    rm_rf("home");
    rm_rf("sub");
    rm_rf("ap");
}

/* An archive whose gzip CRC-32 fails is refused before anything is
 * extracted or marked unpacked, and read in place it is refused too; once
 * whole again it unpacks. */
/* A small archive whose member declares 3 GiB is refused from its header,
 * unpacked or read in place; nothing is extracted or marked. */
static void test_huge_member(void **state) {
    (void)state;
    iot_tar_declaring("hg.tar", "hg/data.jsonl", (uint64_t)3 << 30);
    struct kurc_dataset d;
    struct kurc_err err;
    dt_expect_error(load("{path: hg.tar}", &d, &err), &err, KURC_E_DATA,
                    "hg.tar: member 'hg/data.jsonl' is larger than a member may be (3221225472 "
                    "bytes, 1073741824 allowed)");
    struct stat sb;
    assert_int_not_equal(stat("hg/hg/data.jsonl", &sb), 0);
    assert_int_not_equal(stat("hg/.kurc-unpacked", &sb), 0);
    dt_expect_error(load("{path: hg.tar, unpack: no}", &d, &err), &err, KURC_E_DATA,
                    "hg.tar: member 'hg/data.jsonl' is larger than a member may be (3221225472 "
                    "bytes, 1073741824 allowed)");
    rm_rf("hg");
    unlink("hg.tar");
}

static void test_damaged_archive(void **state) {
    (void)state;
    make_set("dm", 1, (const int[]){200}, (const char *const[]){"\"a\""});
    tar_dir("dm.tar.gz", "dm", NULL, NULL);
    rm_rf("dm");
    FILE *f = fopen("dm.tar.gz", "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, -8, SEEK_END), 0); /* the trailer's first CRC byte */
    int c = fgetc(f);
    assert_int_equal(fseek(f, -8, SEEK_END), 0);
    fputc(c ^ 0xff, f);
    fclose(f);
    struct kurc_dataset d;
    struct kurc_err err;
    for (int pass = 0; pass < 2; pass++) { /* twice: no marker makes it stick */
        dt_expect_error(load("{path: dm.tar.gz}", &d, &err), &err, KURC_E_DATA,
                        "dm.tar.gz: corrupt gzip data after ");
        struct stat sb;
        assert_int_not_equal(stat("dm/.kurc-unpacked", &sb), 0);
        assert_int_not_equal(stat("dm/dm/data.jsonl", &sb), 0);
    }
    dt_expect_error(load("{path: dm.tar.gz, unpack: no}", &d, &err), &err, KURC_E_DATA,
                    "incorrect CRC-32 or length check");
    make_set("dm", 1, (const int[]){200}, (const char *const[]){"\"a\""});
    tar_dir("dm.tar.gz", "dm", NULL, NULL);
    rm_rf("dm");
    load_ok("{path: dm.tar.gz, " RAW "}", &d);
    assert_int_equal(d.count, 1);
    kurc_dataset_release(&d);
    rm_rf("dm");
    unlink("dm.tar.gz");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_spec_tone),
        cmocka_unit_test(test_mfcc),
        cmocka_unit_test(test_normalization),
        cmocka_unit_test(test_vocabularies),
        cmocka_unit_test(test_several_keys),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_bad_audio),
        cmocka_unit_test(test_durations_and_samples),
        cmocka_unit_test(test_archives),
        cmocka_unit_test(test_unsafe_archives),
        cmocka_unit_test(test_archive_places),
        cmocka_unit_test(test_damaged_archive),
        cmocka_unit_test(test_huge_member),
    };
    return cmocka_run_group_tests(tests, dt_setup, dt_teardown);
}
