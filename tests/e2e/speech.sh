#!/usr/bin/env bash
# speech.sh BIN_DIR EXAMPLES_DIR MODE - Kur's speech example on spoken words
# that espeak-ng makes (examples/make_speech_data.py), end to end.
#
#   eval   needs no sequence layers: a convolutional model evaluates the
#          test words (variable-length batches, graph rebuilds, outputs
#          padded per batch) with the transcript hook, from an archive read
#          in place; `kurc data` shows examples/speech.yml's first batch
#          (archive unpacked once, normalisation learned and saved).
#   train  examples/speech.yml shrunk (16 kernels and units, one GRU, batch
#          4, 3 epochs): train (the CTC loss falls), test and evaluate; then
#          the same training from scratch on 2 MPI ranks (without mpirun:
#          skipped).
#
# Skipped (77) when espeak-ng or /usr/bin/python3 with numpy is missing.
set -u
bin=$(cd "$1" && pwd) examples=$(cd "$2" && pwd) mode=$3
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/../harness.sh" "$tmp"
command -v espeak-ng >/dev/null 2>&1 || skip "espeak-ng is not installed"
"$py" -c "import numpy" 2>/dev/null || skip "$py cannot import numpy"
cd "$tmp" || exit 1

"$py" "$examples/make_speech_data.py" --out data --words 12 --archive >make.txt 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  cat make.txt
  exit $rc
fi

if [ "$mode" = eval ]; then
  cat >conv.yml <<'KURFILE'
model:
  - input: utterance
  - convolution: {kernels: 8, size: 5, strides: 2, border: valid}
  - activation: relu
  - parallel:
      apply:
        - dense: 29
  - activation: softmax
  - output: asr
evaluate:
  data:
    - speech_recognition:
        path: data/speech-test.tar.gz
        unpack: no
        normalization: norm.yml
        vocab: [" ", "'", a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v,
                w, x, y, z]
  provider: {batch_size: 5}
  hooks:
    - transcript
  destination: conv.pkl
KURFILE
  expect evaluate-transcript 0 '^Prediction: "[a-z '"'"']*"$' '' -- "$bin/kurc" evaluate conv.yml
  cp "$tmp/out" evaluated.txt
  expect transcript-truth 0 '^Truth: "yes"$' '' -- cat evaluated.txt
  expect in-place 1 '' '' -- test -e data/speech-test/.kurc-unpacked
  expect padded-outputs 0 'ok' '' -- "$py" -c '
import pickle, numpy
r = pickle.load(open("conv.pkl", "rb"))["result"]["asr"]
assert r.ndim == 3 and r.shape[0] == 12 and r.shape[2] == 29, r.shape
rows = (numpy.abs(r).sum(axis=2) > 0).sum(axis=1)
# batches of 5 are padded to their own longest utterance, then to the longest
assert len(set(rows[:5])) == 1 and len(set(rows[5:10])) == 1, rows
assert rows.max() == r.shape[1] and rows.min() < r.shape[1], rows
print("ok")'
  expect data-example 0 'transcript \(text\): "[a-z]+"' '' -- "$bin/kurc" data "$examples/speech.yml"
  expect unpacked-once 0 '' '' -- test -e data/speech-train/.kurc-unpacked -a -e data/speech-train/speech-train/manifest.jsonl
  expect norm-saved 0 '' '' -- grep -q '^stddev: \[' norm.yml
  sed 's/ d, e, f,//' conv.yml >bad.yml
  expect bad-vocab 1 '' "manifest.jsonl:1: the transcript 'text' has the symbol 'e'" -- \
    "$bin/kurc" evaluate bad.yml
elif [ "$mode" = train ]; then
  sed -e 's/kernels: 1000/kernels: 16/' -e 's/size: 1000/size: 16/' -e 's/depth: 3/depth: 1/' \
    -e 's/batch_size: 16/batch_size: 4/' -e '/^train:/a\  epochs: 3' \
    "$examples/speech.yml" >small.yml
  "$bin/kurc" train small.yml >train.txt 2>&1
  rc=$?
  expect train 0 '' '' -- sh -c "test $rc -eq 0 && grep -q 'Completed 3 epochs' train.txt"
  [ $rc -eq 0 ] || tail -20 train.txt
  expect_loss_lowers ctc-loss-falls train.txt
  expect norm-saved 0 '' '' -- grep -q '^mean: \[' norm.yml
  expect weights 0 '' '' -- test -s weights
  expect test 0 '^Prediction: "' 'Test loss: [0-9.]+' -- "$bin/kurc" test small.yml
  cp "$tmp/out" tested.txt
  expect test-truth 0 '^Truth: "' '' -- cat tested.txt
  expect evaluate 0 '^Prediction: "' '' -- "$bin/kurc" evaluate small.yml
  if command -v mpirun >/dev/null 2>&1; then
    mkdir ranks2 && cp small.yml ranks2/ && cp data/*.tar.gz ranks2/ && mkdir ranks2/data &&
      mv ranks2/*.tar.gz ranks2/data/
    expect train-2-ranks 0 '' '' -- sh -c "cd ranks2 && $(declare -f mpirun_np); mpirun_np 2 '$bin/kurc-train' small.yml >train.txt 2>&1 && grep -q 'Completed 3 epochs' train.txt"
    expect_loss_lowers ctc-loss-falls-2-ranks ranks2/train.txt
    expect transcript-2-ranks 0 '^Prediction: "' '' -- sh -c "cd ranks2 && $(declare -f mpirun_np); mpirun_np 2 '$bin/kurc' evaluate small.yml"
  fi
else
  echo "usage: speech.sh BIN_DIR EXAMPLES_DIR eval|train" >&2
  exit 2
fi
finish
