#!/usr/bin/env bash
# test_cli.sh BIN_DIR KURFILES_DIR - the command line as a user types it:
# help and version, usage errors, missing files, kurc-train, and commands
# whose engine is not built yet.
set -u
bin=$(cd "$1" && pwd) kurfiles=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/harness.sh" "$tmp"

ex=$kurfiles/examples/mnist.yml
expect version 0 '^kurc [0-9]+\.[0-9]+\.[0-9]+ \(MPI (yes|no), CUDA (yes|no), NCCL (yes|no)\)$' '' -- "$bin/kurc" --version
expect help 0 'commands:' '' -- "$bin/kurc" --help
expect dump-help 0 'usage: kurc dump \[-p\] KURFILE' '' -- "$bin/kurc" dump --help
expect train-help 0 'usage: kurc-train \[--step\] \[--trace FILE \[--trace-steps N\]\] KURFILE' '' -- "$bin/kurc-train" --help
expect trace-help 0 '--trace FILE    write a Chrome/Perfetto trace' '' -- "$bin/kurc-train" --help
expect test-help 0 'usage: kurc test \[--step\] \[--trace FILE\] KURFILE' '' -- "$bin/kurc" test --help
expect trace-no-file 2 '' "option '--trace' needs a value" -- "$bin/kurc-train" "$ex" --trace
expect trace-steps-zero 2 '' "--trace-steps expects a positive number, not '0'" -- "$bin/kurc-train" --trace t.json --trace-steps 0 "$ex"
expect trace-steps-alone 2 '' '--trace-steps needs --trace FILE' -- "$bin/kurc-train" --trace-steps 3 "$ex"
expect trace-steps-test 2 '' "unknown option '--trace-steps'" -- "$bin/kurc" test --trace t.json --trace-steps 3 "$ex"
expect no-command 2 '' 'nothing to do' -- "$bin/kurc"
expect unknown-command 2 '' "unknown command 'dupm'; did you mean 'dump'\?" -- "$bin/kurc" dupm "$ex"
expect unknown-option 2 '' "unknown option '--frobnicate'" -- "$bin/kurc" dump --frobnicate "$ex"
expect missing-kurfile 2 '' 'dump: missing KURFILE' -- "$bin/kurc" dump
expect two-kurfiles 2 '' "unexpected argument" -- "$bin/kurc" dump "$ex" "$ex"
expect no-such-file 2 '' "cannot read Kurfile '/nonexistent/k.yml': No such file or directory" -- "$bin/kurc" dump /nonexistent/k.yml
expect dump-ok 0 '"labels"' '' -- "$bin/kurc" dump "$ex"
expect dump-verbose 0 '"labels"' '' -- "$bin/kurc" -vv --no-color dump "$ex"
expect pre-parse 0 '"2e-4"|"include"|"model"' '' -- "$bin/kurc" dump -p "$ex"
# a small Kurfile that trains in a moment, in a scratch directory
mkdir -p "$tmp/run"
cat >"$tmp/run/t.yml" <<'KURFILE'
model:
  - input: x
  - dense: 3
  - activation: softmax
    name: y
train:
  data:
    - jsonl: data.jsonl
  epochs: 2
  weights: {last: last.w}
evaluate:
  data:
    - jsonl: data.jsonl
  weights: last.w
  destination: out.pkl
loss:
  - target: y
    name: categorical_crossentropy
KURFILE
for i in 0 1 2 3 4 5; do
  echo "{\"x\": [$i, 1], \"y\": [1, 0, 0]}"
done >"$tmp/run/data.jsonl"
expect train 0 '' 'Completed 2 epochs' -- sh -c "cd '$tmp/run' && '$bin/kurc' train t.yml"
expect train-wrote-last 0 '' '' -- test -s "$tmp/run/last.w"
# libraries opened on first use (src/base/lazy_lib.h): --version, --help
# and dump map none of them; training maps OpenBLAS, and no plot hook and
# no speech data leave cairo and the audio libraries out
lazy_libs='libopenblas|libcairo|libsndfile|libsamplerate|libfftw3'
mapped() { # ARGS...: runs them in $tmp/run; the lazy ones it loaded (loaded_libs)
  (cd "$tmp/run" && loaded_libs "$lazy_libs" "$@")
}
for args in --version --help "dump t.yml"; do
  # shellcheck disable=SC2086
  libs=$(mapped "$bin/kurc" $args)
  if [ -z "$libs" ]; then ok "kurc $args maps no library it does not use"
  else fail "kurc $args maps no library it does not use" "loaded: $libs"; fi
done
libs=$(mapped "$bin/kurc" train t.yml)
if [ "$libs" = "libopenblas.so.0" ]; then ok "kurc train maps OpenBLAS alone of the lazy libraries"
else fail "kurc train maps OpenBLAS alone of the lazy libraries" "loaded: $libs"; fi
expect evaluate 0 '' 'Evaluating' -- sh -c "cd '$tmp/run' && '$bin/kurc' evaluate t.yml"
expect evaluate-wrote 0 '' '' -- test -s "$tmp/run/out.pkl"
expect data 0 '^Entry 1/6:' '' -- sh -c "cd '$tmp/run' && '$bin/kurc' data -n 2 t.yml"
expect test-no-section 2 '' 'there is no data to test' -- sh -c "cd '$tmp/run' && '$bin/kurc' test t.yml"
printf 'model:\n  - input: {shape: [4]}\n    name: x\n  - dense: [3, 2]\n    name: y\n' >"$tmp/m.yml"
expect build-table 0 'y +dense +x +\(2,\) +23' '' -- "$bin/kurc" build "$tmp/m.yml"
expect build-data-shapes 0 'images +input .*\(28, 28, 1\)' '' -- "$bin/kurc" build "$ex"
# the activation memory of a training step (-v's log), planned by liveness
# with the convolution's relu fused and flatten a view of the relu output:
# the example's gradients need two (28, 28, 64) buffers of its batch of 32
# at a time (the relu output's, shared by flatten, and the convolution
# output's, written by the fused backward: 4 bytes x 32 x 50176 x 2), not
# one per tensor; its values the images (4 x 32 x 784), the relu output
# (the convolution output has none) and three (10,) tensors (dense output
# and loss share): 100,352 + 6,422,528 + 3 x 1,280
expect build-memory 0 '' 'activation memory, a training step on a batch of 32: [0-9,]+ bytes \(values 6,526,720, gradients 12,845,056, saved [0-9,]+, workspace [0-9,]+\); without reuse [0-9,]+$' -- "$bin/kurc" -v build "$ex"
expect build-bare-no-shape 2 '' "images \(input\): the input needs a shape" -- "$bin/kurc" build --bare "$ex"
# a free axis (Kur's speech input, `shape: [null, 161]`) builds without
# data and shows as None, as Kur showed it; with data too, where the data
# fixed its length for a batch
cat >"$tmp/free.yml" <<'KURFILE'
model:
  - input: {shape: [null, 161]}
    name: utterance
  - convolution: {kernels: 16, size: 11, strides: 2, border: valid}
  - recurrent: {size: 8, sequence: yes}
  - parallel: {apply: [{dense: 5}]}
  - activation: softmax
    name: asr
KURFILE
expect build-bare-free-axis 0 '^utterance +input +- +\(None, 161\) ' '' -- "$bin/kurc" build -b "$tmp/free.yml"
expect build-bare-free-axis-follows 0 '^asr +activation .* \(None, 5\) ' '' -- "$bin/kurc" build -b "$tmp/free.yml"
cat >"$tmp/run/free.yml" <<'KURFILE'
model:
  - input: {shape: [null, 2]}
    name: x
  - recurrent: {size: 3, sequence: yes}
  - dense: 4
    name: y
train:
  data:
    - jsonl: seq.jsonl
KURFILE
printf '{"x": [[1, 2], [3, 4], [5, 6]], "y": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]}\n' \
  >"$tmp/run/seq.jsonl"
expect build-data-free-axis 0 '^y +dense .* \(None, 4\) ' '' -- sh -c "cd '$tmp/run' && '$bin/kurc' build free.yml"
# a free axis the parameters depend on needs data
printf 'model:\n  - input: {shape: [null, 2]}\n    name: x\n  - flatten:\n  - dense: 4\n    name: y\n' >"$tmp/flat.yml"
expect build-bare-free-axis-params 2 '' "x \(input\): the input's shape has a free axis \(None\), so it needs data to fix it" -- "$bin/kurc" build -b "$tmp/flat.yml"
expect kurc-train 0 '' 'Completed 2 epochs' -- sh -c "cd '$tmp/run' && '$bin/kurc-train' t.yml"
expect kurc-train-bad-kurfile 2 '' 'unknown section' -- "$bin/kurc-train" "$kurfiles/errors/unknown-section.yml"
expect data-bad-number 2 '' "-n expects a non-negative number" -- "$bin/kurc" data -n x "$ex"

# export and import (their results are checked against PyTorch in
# tests/torch/export.sh): usage errors, and files they must not write
expect export-help 0 'usage: kurc export --pytorch \[--weights FILE\] DIR KURFILE' '' -- "$bin/kurc" export --help
expect import-help 0 'usage: kurc import --pytorch WEIGHTS.pt KURFILE OUT' '' -- "$bin/kurc" import --help
expect export-no-format 2 '' 'export: give the format: --pytorch' -- sh -c "cd '$tmp/run' && '$bin/kurc' export exp t.yml"
expect export-no-format-wrote 1 '' '' -- test -e "$tmp/run/exp"
expect export-missing-kurfile 2 '' 'export: missing KURFILE \(usage: kurc export --pytorch' -- "$bin/kurc" export --pytorch exp
expect export-extra 2 '' "unexpected argument 'more'" -- "$bin/kurc" export --pytorch exp t.yml more
expect import-missing-out 2 '' 'import: missing KURFILE' -- "$bin/kurc" import --pytorch w.pt t.yml
expect import-no-weights-flag 2 '' "unknown option '--weights'" -- "$bin/kurc" import --pytorch --weights x w.pt t.yml o.w
expect export-weights-missing 1 '' 'nonexistent.w' -- sh -c "cd '$tmp/run' && '$bin/kurc' export --pytorch exp2 --weights nonexistent.w t.yml"
expect export-weights-missing-wrote 1 '' '' -- test -e "$tmp/run/exp2/weights.pt"
printf 'model:\n  - input: {shape: [2]}\n    name: x\n  - dense: 3\n    name: y\n' >"$tmp/run/now.yml"
expect export-no-weights 0 '' 'no weights given \(--weights or evaluate.weights\), so the model has its initial weights' -- sh -c "cd '$tmp/run' && '$bin/kurc' export --pytorch exp3 now.yml && test -s exp3/weights.pt"
printf 'model:\n  - input: {shape: [2]}\n    name: x\n  - convolution: {kernels: 2, size: 3}\n    name: y\n' >"$tmp/run/badm.yml"
expect export-bad-model 2 '' 'badm.yml:4:5: y \(convolution\): a 1-D convolution needs inputs of 2 axes' -- sh -c "cd '$tmp/run' && '$bin/kurc' export --pytorch exp4 --weights last.w badm.yml"
expect export-bad-model-wrote 1 '' '' -- test -e "$tmp/run/exp4"
expect export-ok 0 '' '' -- sh -c "cd '$tmp/run' && '$bin/kurc' export --pytorch exp t.yml && test -s exp/model.py && test -s exp/weights.pt"
expect import-not-zip 1 '' 'now.yml: not a PyTorch zip file' -- sh -c "cd '$tmp/run' && '$bin/kurc' import --pytorch now.yml t.yml back.w"
expect import-not-zip-wrote 1 '' '' -- test -e "$tmp/run/back.w"
expect import-other-model 1 '' 'exp/weights.pt: no tensor y.kernel \(layer y, kernel \(3, 2\)\) in the state_dict' -- sh -c "cd '$tmp/run' && '$bin/kurc' import --pytorch exp/weights.pt now.yml back.w"
expect import-ok 0 '' '' -- sh -c "cd '$tmp/run' && '$bin/kurc' import --pytorch exp/weights.pt t.yml back.w && cmp -s back.w back.w && test -s back.w"

# the CPU backend's threads: settings.backend.threads, else the launcher's
# OPENBLAS_NUM_THREADS, else the cores this process may run on
expect threads-env 0 '' 'cpu with 1 BLAS thread ' -- sh -c "cd '$tmp/run' && OPENBLAS_NUM_THREADS=1 '$bin/kurc' -v train t.yml"
expect threads-affinity 0 '' 'cpu with 1 BLAS thread ' -- sh -c "cd '$tmp/run' && unset OPENBLAS_NUM_THREADS OMP_NUM_THREADS; taskset -c 0 '$bin/kurc' -v train t.yml"
sed 's/^model:/settings: {backend: {name: cpu, threads: 3}}\nmodel:/' "$tmp/run/t.yml" >"$tmp/run/t3.yml"
expect threads-setting 0 '' 'cpu with 3 BLAS threads' -- sh -c "cd '$tmp/run' && OPENBLAS_NUM_THREADS=1 '$bin/kurc' -v train t3.yml"

# embedding indices from data must pick rows of the table (checked once at load)
mkdir -p "$tmp/emb"
cat >"$tmp/emb/e.yml" <<'KURFILE'
model:
  - input: {shape: [3]}
    name: x
  - embedding: {vocab_size: 5, size: 2}
    name: emb
  - flatten:
  - dense: 1
    name: y
train:
  data:
    - jsonl: d.jsonl
  epochs: 1
loss:
  - target: y
    name: mean_squared_error
KURFILE
printf '{"x": [0, 1, 4], "y": [1]}\n{"x": [2, 3, 4.5], "y": [0]}\n' >"$tmp/emb/d.jsonl"
expect embedding-in-range 0 '' 'Completed 1 epochs' -- sh -c "cd '$tmp/emb' && '$bin/kurc' train e.yml"
printf '{"x": [0, 1, 4], "y": [1]}\n{"x": [2, 5, 1], "y": [0]}\n' >"$tmp/emb/d.jsonl"
expect embedding-too-large 1 '' "the data source 'x' \(d.jsonl\) has the value 5 in sample 1 \(from 0\), but the embedding 'emb' looks up rows 0 to 4" -- sh -c "cd '$tmp/emb' && '$bin/kurc' train e.yml"
printf '{"x": [-1, 1, 4], "y": [1]}\n' >"$tmp/emb/d.jsonl"
expect embedding-negative 1 '' "has the value -1 in sample 0" -- sh -c "cd '$tmp/emb' && '$bin/kurc' train e.yml"

finish
