#!/usr/bin/env bash
# mnist_accuracy.sh [BUILD_DIR] - kurc against PyTorch on Kur's MNIST example
# (examples/mnist.yml on Debian's Fashion-MNIST: 10 epochs of 15 batches of
# 32, Adam 0.001, validation on 100 batches of the test set each epoch),
# seed by seed.  Not a ctest: it takes a minute or two.
#
# For each seed, kurc runs the example as it is, through a Kurfile that
# includes it and adds only settings.seed, the thread count
# (settings.backend.threads) and train.weights.last; then `kurc evaluate`
# gives the accuracy of the example's weights (the best validation loss,
# mnist.w) and of the last weights, on the whole test set (the mnist hook's
# ALL line).  tests/bench/fmnist_torch_peer.py trains the same model on the
# same schedule and data with PyTorch and the same number of threads, and
# reports the accuracy of its last weights.  Training speed is samples per
# second of training alone (kurc: the epochs' progress lines; PyTorch: its
# training loop).
#
# Environment: SEEDS (default "0 1 2 3 4"), THREADS (default: all cores),
# PYTHON (default /usr/bin/python3, which needs python3-torch and numpy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
kurc=$build/bin/kurc
py=${PYTHON:-/usr/bin/python3}
seeds=${SEEDS:-0 1 2 3 4}
threads=${THREADS:-$(nproc)}
data=/usr/share/datasets/fashion-mnist
[ -x "$kurc" ] || { echo "no $kurc: build kurc first" >&2; exit 1; }
[ -r "$data/train-images-idx3-ubyte.gz" ] ||
  { echo "no Fashion-MNIST in $data (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
"$py" -c "import torch, numpy" 2>/dev/null ||
  { echo "$py cannot import torch and numpy (python3-torch)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

results=$work/results.txt
: >"$results"
echo "Kur's mnist example, 10 epochs x 15 batches of 32, $threads threads, seeds: $seeds"
printf '%-6s %-14s %-14s %-14s %-14s %-14s\n' seed kurc-best-val kurc-last torch-last \
  kurc-samples/s torch-samples/s
for seed in $seeds; do
  dir=$work/seed-$seed
  mkdir -p "$dir"
  cp "$root/examples/mnist.yml" "$root/examples/mnist-defaults.yml" "$dir/"
  cat >"$dir/run.yml" <<EOF
include: mnist.yml
settings:
  seed: $seed
  backend: {threads: $threads}
train:
  weights: {last: mnist.last.w}
EOF
  cat >"$dir/last.yml" <<EOF
include: run.yml
evaluate:
  weights: mnist.last.w
  destination: mnist.last.results.pkl
EOF
  (cd "$dir" && "$kurc" train run.yml 2>train.err >/dev/null &&
    "$kurc" evaluate run.yml >best.out 2>/dev/null &&
    "$kurc" evaluate last.yml >last.out 2>/dev/null) ||
    { echo "kurc failed for seed $seed:" >&2; tail -5 "$dir/train.err" >&2; exit 1; }
  # "ALL       8123      10000      81.2%": correct / total
  best=$(awk '$1 == "ALL" { printf "%.4f", $2 / $3 }' "$dir/best.out")
  last=$(awk '$1 == "ALL" { printf "%.4f", $2 / $3 }' "$dir/last.out")
  # "Epoch 3/10, loss=0.712: 480 samples in 0.1 s (4523.1 samples/s)"
  krate=$(awk '/^Epoch [0-9]+\/[0-9]+, loss=.* samples in / {
      n = $(NF - 6); r = $(NF - 1); sub(/^\(/, "", r); samples += n; seconds += n / r }
    END { printf "%.1f", samples / seconds }' "$dir/train.err")
  peer=$("$py" "$here/fmnist_torch_peer.py" --seed "$seed" --threads "$threads" --data "$data")
  tacc=$(echo "$peer" | sed -n 's/.*accuracy=\([0-9.]*\).*/\1/p')
  trate=$(echo "$peer" | sed -n 's/.* samples_per_s=\([0-9.]*\).*/\1/p')
  printf '%-6s %-14s %-14s %-14s %-14s %-14s\n' "$seed" "$best" "$last" "$tacc" "$krate" "$trate"
  echo "$seed $best $last $tacc $krate $trate" >>"$results"
done
"$py" - "$results" <<'EOF'
import sys
import numpy as np
rows = np.loadtxt(sys.argv[1], ndmin=2)
names = ["kurc, best-validation weights (Kur's example)", "kurc, last weights",
         "PyTorch, last weights"]
print()
for i, name in enumerate(names):
    col = rows[:, 1 + i]
    sd = col.std(ddof=1) if len(col) > 1 else 0.0
    print("accuracy %-46s mean %.4f  sd %.4f" % (name, col.mean(), sd))
k, t = rows[:, 4], rows[:, 5]
print("training samples/s   kurc mean %.1f (sd %.1f)   PyTorch mean %.1f (sd %.1f)   kurc/PyTorch %.2f"
      % (k.mean(), k.std(ddof=1) if len(k) > 1 else 0, t.mean(),
         t.std(ddof=1) if len(t) > 1 else 0, k.mean() / t.mean()))
EOF
