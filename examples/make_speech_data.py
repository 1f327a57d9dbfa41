#!/usr/bin/env python3
"""Makes a small spoken-word data set in Kur's speech format with espeak-ng.

    python3 examples/make_speech_data.py [--out data] [--words N] [--archive]

For each data set (train and test) it writes DIR/speech-SET/ holding

    manifest.jsonl   one JSON object per line: {"uuid": ..., "duration_s": ...,
                     "text": ...}, the format of Kur's speech_recognition
                     supplier (and of the LSDC archives Kur's speech example
                     downloads)
    audio/UUID.wav   16 kHz mono 16-bit PCM

or with --archive DIR/speech-SET.tar.gz instead (the directory packed, as
Kur's data sets came; the speech_recognition supplier unpacks it into
DIR/speech-SET/ on first use, or reads it in place with `unpack: no`).  Words are spoken by espeak-ng (Debian package
espeak-ng) with a few voices, pitches and speeds; its 22050 Hz output is
resampled to 16 kHz by truncating the spectrum (numpy).  The same command
makes the same files.  Exits 77 with "skipped: espeak-ng is not installed"
when espeak-ng is missing, so test scripts can pass that on.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import wave

WORDS = """
yes no up down left right on off stop go zero one two three four five six
seven eight nine ten cat dog bird fish tree house water fire earth wind red
green blue black white light dark hello world speech sound model train test
""".split()

# (voice, pitch, words per minute): the train set uses some, test the others.
VOICES = {
    "train": [("en-us", 50, 150), ("en", 40, 170), ("en-gb-scotland", 60, 140)],
    "test": [("en-us", 70, 160)],
}

RATE = 16000


def resample(samples, rate_in, rate_out):
    """Band-limited resampling of int16 samples by truncating the spectrum."""
    import numpy

    x = numpy.asarray(samples, dtype=numpy.float64)
    n_out = int(round(len(x) * rate_out / rate_in))
    spectrum = numpy.fft.rfft(x)
    keep = n_out // 2 + 1
    if keep <= len(spectrum):
        spectrum = spectrum[:keep]
    else:
        spectrum = numpy.concatenate([spectrum, numpy.zeros(keep - len(spectrum))])
    y = numpy.fft.irfft(spectrum, n_out) * (n_out / len(x))
    return numpy.clip(numpy.round(y), -32768, 32767).astype(numpy.int16)


def speak(word, voice, pitch, speed, path):
    """Speaks word into a 16 kHz mono WAV file; returns its duration."""
    import numpy

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.wav")
        subprocess.run(
            ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", raw, word],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with wave.open(raw) as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            frames = w.readframes(w.getnframes())
    if width != 2:
        raise SystemExit("espeak-ng wrote %d-byte samples; expected 16-bit" % width)
    samples = numpy.frombuffer(frames, dtype="<i2").reshape(-1, channels).mean(axis=1)
    if rate != RATE:
        samples = resample(samples, rate, RATE)
    samples = numpy.asarray(samples, dtype="<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())
    return len(samples) / RATE


def make_set(out, name, words, archive):
    root = os.path.join(out, "speech-" + name)
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(os.path.join(root, "audio"))
    lines = []
    for voice, pitch, speed in VOICES[name]:
        for i, word in enumerate(words):
            uuid = "%s-%s-%d-%02d-%s" % (name, voice, speed, i, word)
            duration = speak(word, voice, pitch, speed, os.path.join(root, "audio", uuid + ".wav"))
            lines.append({"uuid": uuid, "duration_s": round(duration, 4), "text": word})
    with open(os.path.join(root, "manifest.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    if archive:
        with tarfile.open(root + ".tar.gz", "w:gz") as tar:
            tar.add(root, arcname="speech-" + name)
        shutil.rmtree(root)
    return len(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data", help="where to write (default: data)")
    parser.add_argument("--words", type=int, default=len(WORDS),
                        help="how many words to speak (default: all %d)" % len(WORDS))
    parser.add_argument("--archive", action="store_true",
                        help="write speech-SET.tar.gz archives instead of directories")
    args = parser.parse_args()
    if not shutil.which("espeak-ng"):
        print("skipped: espeak-ng is not installed")
        return 77
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("skipped: numpy is not installed for %s" % sys.executable)
        return 77
    words = WORDS[: max(1, args.words)]
    os.makedirs(args.out, exist_ok=True)
    for name in ("train", "test"):
        n = make_set(args.out, name, words, args.archive)
        where = os.path.join(args.out, "speech-" + name) + (".tar.gz" if args.archive else "")
        print("%s: %d utterances in %s" % (name, n, where))
    return 0


if __name__ == "__main__":
    sys.exit(main())
