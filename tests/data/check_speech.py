"""Compares kurc's speech features and normalisation (written by
speech_fixture) with Kur's own code, restated with numpy only:

  spec   kur/utils/audiotools.py get_audio_features(feature_type='spec')
  mfcc   python_speech_features.mfcc as Kur called it (numcep=13, nfilt=26,
         highfreq=max_frequency), on the integer signal as scipy reads it
  norm   kur/utils/normalize.py Normalize (learn, center/scale, zca, pca)

Usage: check_speech.py DIR (exit 0 when everything agrees).
"""

import os
import sys
import wave

import numpy


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return w.getframerate(), numpy.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def kur_spec(rate, sig, high_freq=None):
    window_size, step_size = 0.020, 0.010
    signal = sig / 2 ** 15  # scale_signal for 16-bit samples
    hop_size = int(step_size * rate)
    frame_size = int(window_size * rate)
    remove = (len(signal) - frame_size) % hop_size
    clean = signal[:-remove] if remove else signal
    num_frames = (len(clean) - frame_size) // hop_size + 1
    frames = numpy.lib.stride_tricks.as_strided(
        clean, shape=(frame_size, num_frames), strides=(clean.strides[0], clean.strides[0] * hop_size)
    )
    filter_window = numpy.hanning(frame_size)
    fft = numpy.fft.rfft(frames * numpy.expand_dims(filter_window, -1), axis=0)
    norm = numpy.absolute(fft) ** 2
    scale = numpy.sum(filter_window ** 2) * rate
    scaled = norm
    scaled[1:-1] /= scale / 2
    scaled[[0, -1]] /= scale
    spec = scaled
    if high_freq:
        num_bins = spec.shape[0]
        delta_freq = 1 / window_size
        get_bin = lambda f, alt: min(max(int(f / delta_freq + 0.5), 0) + 1, num_bins) if f else alt
        spec = spec[get_bin(None, 0):get_bin(high_freq, num_bins)]
    return numpy.log(spec + 1e-14).T


def psf_mfcc(signal, samplerate, numcep=13, nfilt=26, lowfreq=0, highfreq=None):
    """python_speech_features 0.6 mfcc with its defaults (winlen 0.025,
    winstep 0.01, preemph 0.97, ceplifter 22, appendEnergy)."""
    winlen, winstep, preemph, ceplifter = 0.025, 0.01, 0.97, 22
    nfft = 1
    while nfft < winlen * samplerate:
        nfft *= 2
    highfreq = highfreq or samplerate / 2
    signal = numpy.append(signal[0], signal[1:] - preemph * signal[:-1])
    slen = len(signal)
    frame_len = int(numpy.floor(winlen * samplerate + 0.5))
    frame_step = int(numpy.floor(winstep * samplerate + 0.5))
    numframes = 1 if slen <= frame_len else 1 + int(numpy.ceil((1.0 * slen - frame_len) / frame_step))
    padlen = int((numframes - 1) * frame_step + frame_len)
    padsignal = numpy.concatenate((signal, numpy.zeros((padlen - slen,))))
    indices = numpy.tile(numpy.arange(0, frame_len), (numframes, 1)) + numpy.tile(
        numpy.arange(0, numframes * frame_step, frame_step), (frame_len, 1)
    ).T
    frames = padsignal[indices.astype(numpy.int32, copy=False)]
    pspec = 1.0 / nfft * numpy.square(numpy.absolute(numpy.fft.rfft(frames, nfft)))
    energy = numpy.sum(pspec, 1)
    energy = numpy.where(energy == 0, numpy.finfo(float).eps, energy)
    hz2mel = lambda hz: 2595 * numpy.log10(1 + hz / 700.0)
    mel2hz = lambda mel: 700 * (10 ** (mel / 2595.0) - 1)
    melpoints = numpy.linspace(hz2mel(lowfreq), hz2mel(highfreq), nfilt + 2)
    bins = numpy.floor((nfft + 1) * mel2hz(melpoints) / samplerate)
    fbank = numpy.zeros([nfilt, nfft // 2 + 1])
    for j in range(nfilt):
        for i in range(int(bins[j]), int(bins[j + 1])):
            fbank[j, i] = (i - bins[j]) / (bins[j + 1] - bins[j])
        for i in range(int(bins[j + 1]), int(bins[j + 2])):
            fbank[j, i] = (bins[j + 2] - i) / (bins[j + 2] - bins[j + 1])
    feat = numpy.dot(pspec, fbank.T)
    feat = numpy.log(numpy.where(feat == 0, numpy.finfo(float).eps, feat))
    # scipy.fftpack.dct(type=2, norm='ortho') as a matrix
    n = numpy.arange(nfilt)
    k = numpy.arange(numcep)[:, None]
    dct = numpy.cos(numpy.pi * k * (2 * n + 1) / (2.0 * nfilt)) * numpy.sqrt(2.0 / nfilt)
    dct[0] *= numpy.sqrt(0.5)
    feat = feat.dot(dct.T)
    lift = 1 + (ceplifter / 2.0) * numpy.sin(numpy.pi * numpy.arange(numcep) / ceplifter)
    feat = lift * feat
    feat[:, 0] = numpy.log(energy)
    return feat


def kur_normalize(data, scale=True, rotate="zca"):
    """Normalize.learn and _build_transform with center=True."""
    mean = data.mean(axis=0)
    stddev = data.std(axis=0, ddof=1)
    stddev = numpy.where(stddev, stddev, 1.0)
    centered = data - mean
    M, N = centered.shape
    _, S, Vt = numpy.linalg.svd(centered, full_matrices=bool(M < N))
    s = numpy.array([1 / x if x > S[0] * 1e-6 else 0.0 for x in S]) * numpy.sqrt(data.shape[0] - 1)
    Sm = numpy.diag(s)
    if not rotate:
        return (data - mean) / stddev, mean, stddev, s
    t = Vt
    if rotate == "pca":
        reflect = numpy.array([-1 if r[0] < 0 else 1 for r in t.T])
        t = reflect * t
    if scale:
        t = Sm.dot(t)
    if rotate == "zca":
        t = Vt.T.dot(t)
    return (data - mean).dot(t.T), mean, stddev, s


def load(dir_, shapes, name):
    frames, dim = shapes[name]
    return numpy.fromfile(os.path.join(dir_, name + ".f32"), dtype="<f4").reshape(frames, dim)


def compare(name, got, want, atol, rtol=1e-5):
    if got.shape != want.shape:
        print("%s: shape %s, Kur's %s" % (name, got.shape, want.shape))
        return False
    err = numpy.abs(got - want)
    bad = err > atol + rtol * numpy.abs(want)
    print("%-9s %s max |diff| %.3g" % (name, got.shape, err.max()))
    if bad.any():
        i = numpy.argwhere(bad)[0]
        print("%s differs at %s: kurc %r, Kur %r" % (name, tuple(i), got[tuple(i)], want[tuple(i)]))
        return False
    return True


def main():
    dir_ = sys.argv[1]
    shapes = {}
    for line in open(os.path.join(dir_, "shapes.txt")):
        name, frames, dim = line.split()
        shapes[name] = (int(frames), int(dim))
    rate, sig = read_wav(os.path.join(dir_, "signal.wav"))
    ok = compare("spec", load(dir_, shapes, "spec"), kur_spec(rate, sig), 2e-3)
    ok &= compare("spec_cut", load(dir_, shapes, "spec_cut"), kur_spec(rate, sig, 3000), 2e-3)
    ok &= compare("mfcc", load(dir_, shapes, "mfcc"), psf_mfcc(sig.astype(float), rate), 2e-3)
    ok &= compare("mfcc_cut", load(dir_, shapes, "mfcc_cut"),
                  psf_mfcc(sig.astype(float), rate, highfreq=5000), 2e-3)
    mfcc = load(dir_, shapes, "mfcc").astype(numpy.float64)
    want, mean, stddev, s = kur_normalize(mfcc, rotate=None)
    ok &= compare("center", load(dir_, shapes, "center"), want, 1e-4)
    ok &= compare("zca", load(dir_, shapes, "zca"), kur_normalize(mfcc)[0], 1e-3, 1e-3)
    # singular vectors have arbitrary signs: compare magnitudes
    ok &= compare("pca", numpy.abs(load(dir_, shapes, "pca")),
                  numpy.abs(kur_normalize(mfcc, rotate="pca")[0]), 1e-3, 1e-3)
    # norm.yml: Kur's keys (read with a tiny YAML reader: flow lists only)
    saved = {}
    key = None
    for line in open(os.path.join(dir_, "norm.yml")):
        if line.startswith("- "):
            saved[key].append(eval(line[2:]))
        elif line.rstrip().endswith(":"):
            key = line.rstrip()[:-1]
            saved[key] = []
        else:
            k, v = line.split(": ", 1)
            saved[k] = eval(v)
    ok &= compare("mean", numpy.array(saved["mean"]), mean, 1e-9, 1e-9)
    ok &= compare("stddev", numpy.array(saved["stddev"]), stddev, 1e-9, 1e-7)
    ok &= compare("S", numpy.diag(numpy.array(saved["S"])), s, 1e-9, 1e-6)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
