#!/usr/bin/env bash
# bench_trace.sh [BUILD_DIR] - what `--trace FILE` costs (not a test).
# Trains, on Fashion-MNIST (Debian's dataset-fashion-mnist), the MNIST
# example (conv 64 3x3, dense 10; batch 32, 300 batches per epoch) and the
# MLP 784-512-512-10 (batch 128, 200 batches), 2 epochs, on 1 process and
# on 2 ranks, without and with --trace (runs alternating, REPS of each,
# default 3), and prints the median samples/s of the second epoch of each,
# their ratio (traced / untraced) and the size of the trace; then what
# one event costs (bench_trace_events).  NPS="2" runs only the 2-rank rows.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/bench_lib.sh
. "$here/bench_lib.sh" "${1:-}"
# shellcheck source=/dev/null
. "$here/fmnist_kurfile.sh"
fmnist_need

# train DIR NP [ARGS...]: the second epoch's samples/s
train() {
  local dir=$1 np=$2
  shift 2
  if [ "$np" -eq 1 ]; then
    (cd "$dir" && "$build/bin/kurc-train" "$@" k.yml) >"$dir/out" 2>&1
  else
    (cd "$dir" && mpirun -np "$np" "$build/bin/kurc-train" "$@" k.yml) >"$dir/out" 2>&1
  fi || { echo "bench_trace: $dir on $np failed:" >&2; tail -5 "$dir/out" >&2; exit 1; }
  grep -E '^Epoch 2/2' "$dir/out" | sed -E 's/.*\(([0-9.]+) samples\/s\).*/\1/'
}

median() {
  sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'
}

printf '%-6s %-7s %12s %12s %8s %12s\n' model ranks off-samp/s on-samp/s on/off trace-bytes
for m in ${MODELS:-mnist:32:300:conv mlp:128:200:mlp}; do
  IFS=: read -r name batch batches kind <<<"$m"
  model=$FMNIST_CONV
  [ "$kind" = mlp ] && model=$FMNIST_MLP
  fmnist_kurfile "$work/$name" "$batch" "$batches" "$model"
  for np in ${NPS:-1 2}; do
    off=() on=()
    for _ in $(seq 1 "${REPS:-3}"); do
      off+=("$(train "$work/$name" "$np")")
      on+=("$(train "$work/$name" "$np" --trace "$work/$name/t.json")")
    done
    a=$(printf '%s\n' "${off[@]}" | median)
    b=$(printf '%s\n' "${on[@]}" | median)
    printf '%-6s %-7s %12s %12s %8.3f %12s\n' "$name" "$np" "$a" "$b" \
      "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')" "$(wc -c <"$work/$name/t.json")"
  done
done
# the cost of one event, against the clock reads it takes
[ -x "$build/tests/bench_trace_events" ] && "$build/tests/bench_trace_events"
