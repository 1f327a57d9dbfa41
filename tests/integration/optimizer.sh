#!/usr/bin/env bash
# optimizer.sh BIN SRC WORK - hyperparameters given as 0: Kur reads them as
# `value or default`, and kurc does too, but says so at the key's place.
. "$(dirname "$0")/lib.sh"

points 16 train.jsonl 7

# kurfile FILE OPTIMIZER
kurfile() {
  cat >"$1" <<EOF2
settings: {seed: 3}
model:
  - input: x
  - dense: 2
  - activation: softmax
    name: y
train:
  data:
    - jsonl: train.jsonl
  provider: {batch_size: 8}
  epochs: 1
  optimizer: $2
loss:
  - target: y
    name: categorical_crossentropy
EOF2
}

kurfile lr0.yml "{name: sgd, learning_rate: 0, clip: {norm: 0}}"
kurc_run lr0 0 train lr0.yml
has lr0-warns lr0.err "lr0.yml:12:41: learning_rate: 0 means the default, 0.01, as in Kur"
has clip0-warns lr0.err "train.optimizer.clip: norm 0 (or null) clips nothing"
kurfile lr1.yml "{name: sgd, learning_rate: 0.5}"
kurc_run lr1 0 train lr1.yml
lacks lr1-quiet lr1.err "means the default"
finish
