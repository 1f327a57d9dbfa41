# backend_kurfile.sh - sourced by test_cuda_cli.sh and test_cuda_module.sh
# once $tmp exists: writes $tmp/data.jsonl (6 samples) and defines
# kurfile BACKEND_YAML, which writes $tmp/t.yml: one epoch of a softmax
# classifier on that data with that settings.backend.
# shellcheck shell=bash disable=SC2154
kurfile() {
  cat >"$tmp/t.yml" <<KURFILE
settings:
  backend: $1
model:
  - input: x
  - dense: 3
  - activation: softmax
    name: y
train:
  data:
    - jsonl: data.jsonl
  epochs: 1
loss:
  - target: y
    name: categorical_crossentropy
KURFILE
}
for i in 0 1 2 3 4 5; do
  echo "{\"x\": [$i, 1], \"y\": [0, 1, 0]}"
done >"$tmp/data.jsonl"
