# fmnist_kurfile.sh - the Fashion-MNIST Kurfiles of the benchmarks (sourced
# by tests/bench/bench_mpi.sh and tests/cluster/bench_network.sh).
#
#   fmnist_need                 exits 77 unless dataset-fashion-mnist is there
#   fmnist_kurfile DIR BATCH BATCHES MODEL [SETTINGS...]
#                               writes DIR/k.yml: MODEL (FMNIST_CONV or
#                               FMNIST_MLP) on the training set, BATCHES
#                               batches of BATCH per epoch, 2 epochs, the
#                               SETTINGS lines under settings
# shellcheck shell=bash

FMNIST_IMAGES=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
# the MNIST example: conv 64 3x3, dense 10
FMNIST_CONV='  - input: images
  - convolution: {kernels: 64, size: [3, 3]}
  - activation: relu
  - flatten:
  - dense: 10
  - activation: softmax
    name: labels'
# 784-512-512-10
FMNIST_MLP='  - input: images
  - flatten:
  - dense: 512
  - activation: relu
  - dense: 512
  - activation: relu
  - dense: 10
  - activation: softmax
    name: labels'
export FMNIST_CONV FMNIST_MLP

fmnist_need() {
  [ -r "$FMNIST_IMAGES" ] || {
    echo "$(basename "$0"): needs $FMNIST_IMAGES (dataset-fashion-mnist)"
    exit 77
  }
}

fmnist_kurfile() {
  local dir=$1 batch=$2 batches=$3 model=$4
  shift 4
  mkdir -p "$dir"
  {
    echo "settings:"
    echo "  seed: 1"
    for s in "$@"; do echo "  $s"; done
    echo "model:"
    echo "$model"
    echo "train:"
    echo "  data:"
    echo "    - mnist:"
    echo "        images: {path: $FMNIST_IMAGES}"
    echo "        labels: {path: ${FMNIST_IMAGES/images-idx3/labels-idx1}}"
    echo "  provider: {batch_size: $batch, num_batches: $batches}"
    echo "  epochs: 2"
    echo "loss:"
    echo "  - {target: labels, name: categorical_crossentropy}"
  } >"$dir/k.yml"
}
