/* fuzz_wav.c - libFuzzer harness for the speech supplier's audio decoder
 * (data/speech/audio.h): the input is an audio file in memory (WAV in the
 * seeds), decoded to mono and resampled to 16 kHz as an utterance is.  Bad
 * files must only ever produce errors: any crash, leak, hang or sanitizer
 * report is a bug in kurc's decoding. */
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "data/speech/audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kurc_log_configure(KURC_LOG_ERROR, 0, -1);
    struct kurc_audio audio;
    struct kurc_err err;
    if (kurc_audio_decode(data, size, "fuzz.wav", &audio, &err) == KURC_OK)
        kurc_audio_release(&audio);
    return 0;
}
