#!/usr/bin/env bash
# shapes.sh BIN SRC WORK - `kurc build` learns the data's shapes from the
# files' headers (IDX, HDF5, CIFAR members; a pickle's arrays are read, not
# converted) without reading their values, and `kurc train` still reads and
# checks every value: data that build accepts because it never reads it (a
# gzip IDX file cut short, a NaN in an IDX, HDF5 or pickle file, a CIFAR
# label that is not a class) stops train with an error naming the file,
# before any weights are written; so does bad validation data, loaded on
# a second thread beside the training data.
# A bad header (here a gzip stream damaged where the header is) stops build.
# Speech: build reads the manifest and no audio (lengths from durations).
# With Debian's Fashion-MNIST, build's peak memory stays far below the
# 188 MB the training images take as floats.
. "$(dirname "$0")/lib.sh"
need_python numpy h5py

"$PY" - <<'EOF'
import gzip, struct
import numpy as np
import h5py
n = 20
rng = np.random.RandomState(0)
images = rng.randint(0, 256, (n, 6, 5)).astype(np.uint8)
head = struct.pack(">BBBBIII", 0, 0, 8, 3, n, 6, 5)
with gzip.open("cut.idx.gz", "wb") as f:       # half of the pixels
    f.write(head + images.tobytes()[:n * 15])
with gzip.open("whole.idx.gz", "wb") as f:
    f.write(head + images.tobytes())
damaged = bytearray(gzip.compress(head + images.tobytes()))
damaged[10:16] = b"\xff" * 6                  # the deflate stream's first bytes
with open("damaged.idx.gz", "wb") as f:
    f.write(damaged)
floats = rng.rand(n, 6, 5).astype(">f4")
floats[17, 2, 3] = np.nan
with open("nan.idx", "wb") as f:               # float32 with a NaN in sample 17
    f.write(struct.pack(">BBBBIII", 0, 0, 0x0D, 3, n, 6, 5) + floats.tobytes())
with open("labels.idx", "wb") as f:
    f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + (np.arange(n) % 10).astype(np.uint8).tobytes())
with h5py.File("nan.h5", "w") as f:            # a NaN in sample 11 of x
    x = rng.rand(n, 3, 4).astype(np.float32)
    x[11, 1, 2] = np.nan
    f["x"] = x
    f["y"] = rng.rand(n, 2).astype(np.float32)
import pickle
x = rng.rand(n, 3, 4).astype(np.float32)
y = [[float(v) for v in row] for row in rng.rand(n, 2)]
with open("good.pkl", "wb") as f:
    pickle.dump({"x": x, "y": y}, f, protocol=2)
x[11, 1, 2] = np.nan                           # element 11 * 12 + 1 * 4 + 2 of x
with open("nan.pkl", "wb") as f:
    pickle.dump({"x": x, "y": y}, f, protocol=2)
big = rng.rand(400, 3, 4).astype(np.float32)    # 19200 bytes: build skips them
big[311, 1, 2] = np.nan                         # element 311 * 12 + 1 * 4 + 2
for protocol in (2, 4):                         # a latin1 str, then bytes
    with open("big%d.pkl" % protocol, "wb") as f:
        pickle.dump({"x": big, "y": big[:, 0, :2].copy()}, f, protocol=protocol)
import io, tarfile
def tar(name, members):
    with tarfile.open(name, "w:gz") as t:
        for member, blob in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(blob)
            t.addfile(info, io.BytesIO(blob))
def batch(n, bad=None):                        # python layout; label 12 at index bad
    labels = [int(v) for v in rng.randint(0, 10, n)]
    if bad is not None:
        labels[bad] = 12
    data = rng.randint(0, 256, (n, 3072)).astype(np.uint8)
    return pickle.dumps({b"labels": labels, b"data": data}, protocol=2)
def records(n, bad=None):                      # binary layout; label 11 in record bad
    labels = rng.randint(0, 10, n).astype(np.uint8)
    if bad is not None:
        labels[bad] = 11
    data = rng.randint(0, 256, (n, 3072)).astype(np.uint8)
    return np.concatenate([labels[:, None], data], axis=1).tobytes()
tar("py.tar.gz", {"b/data_batch_1": batch(7), "b/data_batch_2": batch(5, bad=4),
                  "b/test_batch": batch(3)})
tar("bin.tar.gz", {"b/data_batch_1.bin": records(7), "b/data_batch_2.bin": records(5, bad=4)})
EOF

# mnist_kurfile FILE IMAGES: a dense model on an mnist supplier
mnist_kurfile() {
  cat >"$1" <<EOF
train:
  data:
    - mnist: {images: $2, labels: labels.idx}
  provider: {batch_size: 4}
  epochs: 1
  weights: {last: ${1%.yml}.w}
model:
  - input: images
  - flatten:
  - dense: 10
  - activation: softmax
    name: labels
loss:
  - {target: labels, name: categorical_crossentropy}
EOF
}

mnist_kurfile whole.yml whole.idx.gz
kurc_run build-whole 0 build whole.yml
has build-whole-shape build-whole.out "(6, 5, 1)"
kurc_run train-whole 0 train whole.yml
check train-whole-weights test -e whole.w

# a gzip file is read no further than its header: build shows the shapes
mnist_kurfile cut.yml cut.idx.gz
kurc_run build-cut 0 build cut.yml
has build-cut-shape build-cut.out "(6, 5, 1)"
kurc_run train-cut 1 train cut.yml
has train-cut-names-file train-cut.err \
  "cut.idx.gz: truncated IDX file: expected 600 data bytes for shape (20, 6, 5) of uint8, found 300"
check train-cut-no-weights test ! -e cut.w

# the header is still read and checked, through the gzip stream
mnist_kurfile damaged.yml damaged.idx.gz
kurc_run build-damaged 1 build damaged.yml
has build-damaged-error build-damaged.err "damaged.idx.gz: corrupt gzip data after 0 decompressed bytes: invalid deflate block"

# the validation set loads on a second thread while the training set loads:
# its bad data still stops train before any weights are written, and bad
# training data is reported first, as when the sets load in turn
valid_kurfile() { # FILE TRAIN-IMAGES VALID-IMAGES
  mnist_kurfile "$1" "$2"
  cat >>"$1" <<EOF
validate:
  data:
    - mnist: {images: $3, labels: labels.idx}
  weights: ${1%.yml}-best.w
EOF
}
valid_kurfile valid-good.yml whole.idx.gz whole.idx.gz
kurc_run train-valid-good 0 train valid-good.yml
check train-valid-good-weights test -e valid-good.w -a -e valid-good-best.w # best: validated
valid_kurfile valid-cut.yml whole.idx.gz cut.idx.gz
kurc_run train-valid-cut 1 train valid-cut.yml
has train-valid-cut-names-file train-valid-cut.err \
  "cut.idx.gz: truncated IDX file: expected 600 data bytes for shape (20, 6, 5) of uint8, found 300"
check train-valid-cut-no-weights test ! -e valid-cut.w -a ! -e valid-cut-best.w
valid_kurfile valid-both.yml nan.idx cut.idx.gz
kurc_run train-valid-both 1 train valid-both.yml
has train-valid-both-training-first train-valid-both.err "nan.idx: sample 17 of 'images' holds NaN"
check train-valid-both-one-error test "$(grep -c cut.idx.gz train-valid-both.err)" = 0

mnist_kurfile nan.yml nan.idx
kurc_run build-nan-idx 0 build nan.yml
has build-nan-idx-shape build-nan-idx.out "(6, 5, 1)"
kurc_run train-nan-idx 1 train nan.yml
has train-nan-idx-error train-nan-idx.err "nan.idx: sample 17 of 'images' holds NaN at index [2, 3]"
check train-nan-idx-no-weights test ! -e nan.w

cat >h5.yml <<'EOF'
train:
  data:
    - hdf5: nan.h5
  provider: {batch_size: 4}
  epochs: 1
  weights: {last: h5.w}
model:
  - input: x
  - flatten:
  - dense: 2
    name: y
loss:
  - {target: y, name: mean_squared_error}
EOF
kurc_run build-h5 0 build h5.yml
has build-h5-shape build-h5.out "(3, 4)"
kurc_run train-h5 1 train h5.yml
has train-h5-error train-h5.err "nan.h5: sample 11 of 'x' holds NaN at index [1, 2]"
check train-h5-no-weights test ! -e h5.w

# pickle: build reads the arrays' shapes, not their values
for p in good nan; do
  sed -e "s/hdf5: nan.h5/pickle: $p.pkl/" -e "s/h5.w/$p-pkl.w/" h5.yml >$p-pkl.yml
done
cat >want-pkl.out <<'EOF'
container                type                 inputs                   output shape         parameters
x                        input                -                        (3, 4)                        0
..flatten.0              flatten              x                        (12,)                         0
y                        dense                ..flatten.0              (2,)                         26

outputs: y
parameters: 26 (trainable 26)
EOF
kurc_run build-pkl 0 build good-pkl.yml
check build-pkl-table diff want-pkl.out build-pkl.out
kurc_run train-pkl 0 train good-pkl.yml
check train-pkl-weights test -e good-pkl.w
kurc_run build-nan-pkl 0 build nan-pkl.yml
check build-nan-pkl-table diff want-pkl.out build-nan-pkl.out
kurc_run train-nan-pkl 1 train nan-pkl.yml
has train-nan-pkl-error train-nan-pkl.err \
  "pickle: nan.pkl: key 'x' holds NaN, an infinity or a number beyond the float32 range (element 138)"
check train-nan-pkl-no-weights test ! -e nan-pkl.w

# a pickle's array bytes are skipped by build (protocol 2 stores them as a
# latin1 str, 4 as bytes) and read by train, which finds the NaN
for protocol in 2 4; do
  sed -e "s/hdf5: nan.h5/pickle: big$protocol.pkl/" -e "s/h5.w/big$protocol.w/" h5.yml >big$protocol.yml
  kurc_run build-big$protocol 0 build big$protocol.yml
  check build-big$protocol-table diff want-pkl.out build-big$protocol.out
  kurc_run train-big$protocol 1 train big$protocol.yml
  has train-big$protocol-error train-big$protocol.err "key 'x' holds NaN, an infinity or a number beyond the float32 range (element 3738)"
  check train-big$protocol-no-weights test ! -e big$protocol.w
done

# cifar: build counts the images from the members (a binary batch's size,
# a python batch's pickle) and decodes none; train checks every label.  The
# counts show in the message about two suppliers of different counts.
printf '{"z": 1}\n{"z": 2}\n{"z": 3}\n' >three.jsonl
for layout in py bin; do
  cat >$layout.yml <<EOF
train:
  data:
    - cifar: {path: $layout.tar.gz, parts: [1, 2]}
  provider: {batch_size: 4}
  epochs: 1
  weights: {last: $layout.w}
model:
  - input: images
  - flatten:
  - dense: 10
  - activation: softmax
    name: labels
loss:
  - {target: labels, name: categorical_crossentropy}
EOF
  kurc_run build-$layout 0 build $layout.yml
  has build-$layout-shape build-$layout.out "(32, 32, 3)"
  has build-$layout-labels build-$layout.out "(10,)"
  kurc_run train-$layout 1 train $layout.yml
  check train-$layout-no-weights test ! -e $layout.w
  sed -e 's/parts: \[1, 2\]}/parts: [1, 2, test]}/' -e '/parts/a\    - jsonl: three.jsonl' \
    $layout.yml >$layout-mix.yml
done
has train-py-error train-py.err "cifar: py.tar.gz:b/data_batch_2: label 4 is not a class from 0 to 9"
has train-bin-error train-bin.err \
  "cifar: bin.tar.gz:b/data_batch_2.bin: label 11 of record 4 is not a class from 0 to 9"
kurc_run build-py-mix 1 build py-mix.yml
has build-py-mix-counts build-py-mix.err \
  "images (py.tar.gz): 15, labels (py.tar.gz): 15, z (three.jsonl): 3"
kurc_run build-bin-mix 1 build bin-mix.yml
has build-bin-mix-error build-bin-mix.err \
  "cifar: bin.tar.gz has no CIFAR batch for part test (no member test_batch or test_batch.bin)"
sed -i 's/parts: \[1, 2, test\]}/parts: [2, 1]}/' bin-mix.yml
kurc_run build-bin-mix2 1 build bin-mix.yml
has build-bin-mix-counts build-bin-mix2.err \
  "images (bin.tar.gz): 12, labels (bin.tar.gz): 12, z (three.jsonl): 3"

# speech: build reads the manifest, not the audio: an utterance's length in
# frames is its duration_s at 16 kHz (spec: (samples - 320) // 160 + 1, so
# 2.5 s make 249 frames); no normalization statistics are learned or saved
# and undecodable audio goes unseen, which `kurc data` (a load) reports
"$PY" - <<'EOF'
import json, os, wave
import numpy as np
os.makedirs("speech/audio", exist_ok=True)
with open("speech/manifest.jsonl", "w") as m:
    for i, seconds in enumerate([1.0, 2.5, 1.5, 0.5]):
        n = int(seconds * 16000)
        x = 0.3 * np.sin(2 * np.pi * 300 * np.arange(n) / 16000)
        with wave.open("speech/audio/u%d.wav" % i, "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
            w.writeframes((x * 32767).astype("<i2").tobytes())
        m.write(json.dumps({"uuid": "u%d" % i, "duration_s": seconds, "text": "yes"}) + "\n")
    m.write(json.dumps({"uuid": "bad", "duration_s": 1.0, "text": "no"}) + "\n")
with open("speech/audio/bad.wav", "wb") as f:
    f.write(b"RIFF" + bytes(range(200)))
EOF
cat >speech.yml <<'EOF'
train:
  data:
    - speech_recognition: {path: speech, normalization: {path: speech-norm.yml}}
  provider: {batch_size: 5}
  epochs: 1
model:
  - input: utterance
  - flatten:
  - dense: 2
    name: y
loss:
  - {target: y, name: mean_squared_error}
EOF
kurc_run build-speech 0 build speech.yml
has build-speech-longest build-speech.out "(249, 161)"
check build-speech-no-statistics test ! -e speech-norm.yml
check build-speech-no-audio-read test "$(grep -c bad.wav build-speech.err)" = 0
sed -i 's/speech-norm.yml}/speech-norm.yml, rotate: sideways}/' speech.yml
kurc_run build-speech-rotate 2 build speech.yml
has build-speech-rotate-error build-speech-rotate.err "normalization 'rotate' is yes (zca), zca, pca or no"
sed -i 's/, rotate: sideways//' speech.yml
kurc_run data-speech 0 data speech.yml
has data-speech-bad-audio data-speech.err "bad.wav"
check data-speech-statistics test -e speech-norm.yml

# the MNIST example's build does not decode 60 000 images (188 MB of floats)
if [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%M' -o build-mnist.rss "$KURC" build "$src/examples/mnist.yml" \
    >build-mnist.out 2>build-mnist.err
  has build-mnist-shape build-mnist.out "(28, 28, 1)"
  rss=$(tail -n 1 build-mnist.rss)
  if [ "$rss" -lt 65536 ]; then
    ok "build-mnist-rss ($rss KiB)"
  else
    fail build-mnist-rss "peak RSS $rss KiB, want under 64 MiB"
  fi
fi
finish
