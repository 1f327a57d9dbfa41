#!/usr/bin/env bash
# bench_mpi.sh [BUILD_DIR] - data-parallel throughput on this machine (not
# a test).  Trains, on Fashion-MNIST (Debian's dataset-fashion-mnist):
#   mnist  the example (examples/mnist.yml: conv 64 3x3, dense 10), batch 32
#   mlp    784-512-512-10, batch 128
# on 1 process (1 and 2 BLAS threads), as 2 independent processes at once
# (what the machine gives two ranks that never talk: the ceiling), and on 2
# ranks (default buckets, one all-reduce after backward, small buckets,
# deterministic mode), and prints samples/s of the second epoch, the
# exposed communication time per step (waiting after backward) and the
# time from the first bucket's start to the last's end; then times the
# gradient buckets kurc uses against one plain MPI_Allreduce of the same
# bytes (bench_allreduce).  Each training row is the median of REPS runs
# (default 3) and bench_allreduce takes the best of 5 timings, because a
# small shared machine gives noisy numbers: check `uptime` first.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/bench_lib.sh
. "$here/bench_lib.sh" "${1:-}"
# shellcheck source=/dev/null
. "$here/fmnist_kurfile.sh"
fmnist_need

# kurfile NAME BATCH BATCHES MODEL-YAML [SETTINGS...]
kurfile() {
  fmnist_kurfile "$work/$1" "${@:2}"
}

# train NAME NP: prints "samples/s exposed-ms-per-step window-ms-per-step"
# (NP 0: two independent processes at once, their samples/s added)
train() {
  local dir=$work/$1 np=$2
  if [ "$np" -eq 0 ]; then
    mkdir -p "$dir/b"
    cp "$dir/k.yml" "$dir/b/"
    (cd "$dir" && "$build/bin/kurc-train" k.yml >"$dir/out.a" 2>&1) &
    (cd "$dir/b" && "$build/bin/kurc-train" k.yml >"$dir/out.b" 2>&1)
    wait
    cat "$dir/out.a" "$dir/out.b" | grep -E '^Epoch 2/2' |
      sed -E 's/.*\(([0-9.]+) samples\/s\).*/\1/' | awk '{ s += $1 } END { print s, "-", "-" }'
    return
  fi
  if [ "$np" -eq 1 ]; then
    (cd "$dir" && "$build/bin/kurc-train" -v k.yml) >"$dir/out.$np" 2>&1
  else
    (cd "$dir" && mpirun -np "$np" "$build/bin/kurc-train" -v k.yml) >"$dir/out.$np" 2>&1
  fi || { echo "bench_mpi: $1 on $np failed:" >&2; tail -5 "$dir/out.$np" >&2; exit 1; }
  local rate comm
  rate=$(grep -E '^Epoch 2/2' "$dir/out.$np" | sed -E 's/.*\(([0-9.]+) samples\/s\).*/\1/')
  comm=$(grep 'communication:' "$dir/out.$np" | tail -1 |
    sed -E 's/.*\(([0-9.]+) ms per step; ([0-9.]+) ms per step.*/\1 \2/')
  echo "$rate ${comm:-- -}"
}

# median RUN...: the median (by samples/s) of REPS runs of `train RUN`
median() {
  for _ in $(seq 1 "${REPS:-3}"); do train "$@"; done | sort -n | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'
}

printf '%-6s %-22s %12s %12s %22s\n' model mode samples/s exposed-ms "first..last bucket ms"
for m in mnist:32:300:conv mlp:128:200:mlp; do
  IFS=: read -r name batch batches kind <<<"$m"
  model=$FMNIST_CONV
  [ "$kind" = mlp ] && model=$FMNIST_MLP
  kurfile "$name" "$batch" "$batches" "$model"
  kurfile "$name-t1" "$batch" "$batches" "$model" "backend: {name: cpu, threads: 1}"
  kurfile "$name-t2" "$batch" "$batches" "$model" "backend: {name: cpu, threads: 2}"
  kurfile "$name-one" "$batch" "$batches" "$model" "buckets: no"
  kurfile "$name-small" "$batch" "$batches" "$model" "buckets: {first_mb: 0.25, mb: 0.5}"
  kurfile "$name-det" "$batch" "$batches" "$model" "deterministic: yes"
  for run in "$name-t1 1 1-process,1-thread" "$name-t2 1 1-process,2-threads" \
    "$name-t1 0 2-independent(sum)" "$name 2 2-ranks" "$name-one 2 2-ranks,buckets:no" \
    "$name-small 2 2-ranks,0.25/0.5MiB" "$name-det 1 deterministic,1-proc" "$name-det 2 deterministic,2-ranks"; do
    read -r dir np label <<<"$run"
    read -r rate exposed window <<<"$(median "$dir" "$np")"
    printf '%-6s %-22s %12s %12s %22s\n' "$name" "$label" "$rate" "$exposed" "$window"
  done
  plan=$(grep -o 'gradients: .*' "$work/$name/out.2")
  echo "       plan: $plan"
  read -r -a sizes <<<"$(echo "$plan" | grep -oE '\(([0-9]+) floats\)' | grep -oE '[0-9]+' | tr '\n' ' ')"
  mpirun -np 2 "$build/tests/bench_allreduce" "${sizes[@]}" | sed 's/^/       /'
  read -r -a sizes <<<"$(grep -o 'gradients: .*' "$work/$name-small/out.2" | grep -oE '\(([0-9]+) floats\)' | grep -oE '[0-9]+' | tr '\n' ' ')"
  mpirun -np 2 "$build/tests/bench_allreduce" "${sizes[@]}" | sed 's/^/       /'
done
