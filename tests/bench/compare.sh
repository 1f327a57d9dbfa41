#!/usr/bin/env bash
# compare.sh [BUILD_DIR] - kurc against PyTorch on this machine, in one run
# (a benchmark, not a test).  On Debian's Fashion-MNIST (dataset-fashion-
# mnist) both train, with Adam and the same global batch:
#   mnist  the MNIST example (conv 64 3x3, dense 10), batch 32
#   mlp    784-512-512-10, batch 128
# kurc in its default and its deterministic mode, PyTorch (Debian's
# python3-torch, tests/bench/compare_torch.py), each on 1 process with 1
# thread and on 2 ranks (kurc over MPI, PyTorch DDP over gloo; one thread
# per rank).  A run is 2 epochs of BATCHES random batches; the rate is the
# second epoch's samples/s.  Printed per row: samples/s, kurc/PyTorch, the
# peak RSS of the largest process (GNU time's maximum resident set: for 2
# ranks the largest rank's), and the time to the first step: the wall time
# of a whole run of one step (start-up, data, model, one step, exit).
# Every number is the median of REPS (default 3) runs, the runs of kurc,
# deterministic kurc and PyTorch alternating.  A small shared machine gives
# noisy numbers: check `uptime` first.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=/dev/null
. "$here/fmnist_kurfile.sh"
fmnist_need
python=/usr/bin/python3
$python -c 'import torch' 2>/dev/null || {
  echo "compare.sh: needs python3-torch"
  exit 77
}
reps=${REPS:-3}

# timed OUT CMD...: runs CMD, its output in OUT, and prints "wall-s max-rss-MB"
timed() {
  local out=$1
  shift
  /usr/bin/time -f 'TIMED %e %M' -o "$out.time" "$@" >"$out" 2>&1 || {
    echo "compare.sh: failed: $*" >&2
    tail -5 "$out" >&2
    exit 1
  }
  awk '/^TIMED/ { printf "%s %.0f\n", $2, $3 / 1024 }' "$out.time"
}

# kurc DIR NP: "samples/s rss-MB" of the run of DIR/k.yml on NP ranks
kurc() {
  local dir=$1 np=$2 wall rss rate
  if [ "$np" -eq 1 ]; then
    read -r wall rss <<<"$(cd "$dir" && timed "$dir/out" "$build/bin/kurc" train k.yml)"
  else
    read -r wall rss <<<"$(cd "$dir" && timed "$dir/out" mpirun -np "$np" "$build/bin/kurc-train" k.yml)"
  fi
  rate=$(grep -E '^Epoch 2/2' "$dir/out" | sed -E 's/.*\(([0-9.]+) samples\/s\).*/\1/')
  echo "$rate $rss"
}

# torch MODEL BATCH BATCHES NP [EPOCHS]: "samples/s rss-MB wall-s"
torch() {
  local wall rss rate
  read -r wall rss <<<"$(timed "$work/torch.out" $python "$here/compare_torch.py" --model "$1" \
    --batch "$2" --batches "$3" --ranks "$4" --epochs "${5:-2}")"
  rate=$(grep -o 'samples_per_s=[0-9.]*' "$work/torch.out" | cut -d= -f2)
  echo "${rate:-nan} $rss $wall"
}

# kurc_first DIR NP: the wall time of DIR/k1.yml (one step)
kurc_first() {
  local dir=$1 np=$2
  if [ "$np" -eq 1 ]; then
    (cd "$dir" && timed "$dir/out1" "$build/bin/kurc" train k1.yml) | cut -d' ' -f1
  else
    (cd "$dir" && timed "$dir/out1" mpirun -np "$np" "$build/bin/kurc-train" k1.yml) | cut -d' ' -f1
  fi
}

# median: the median of the numbers on stdin, one a line
median() {
  sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "nan" }'
}

# column N FILE: the median of column N
column() {
  awk -v n="$1" '{ print $n }' "$2" | median
}

echo "compare.sh: kurc $(git -C "$root" rev-parse --short HEAD 2>/dev/null) against PyTorch" \
  "$($python -c 'import torch; print(torch.__version__)'); $(getconf _NPROCESSORS_ONLN) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-6s %-20s %11s %13s %8s %15s\n' model ranks run samples/s kurc/PyTorch \
  "RSS MB" "first step s"
for m in mnist:conv:32:150 mlp:mlp:128:100; do
  IFS=: read -r name kind batch batches <<<"$m"
  model=$FMNIST_CONV
  [ "$kind" = mlp ] && model=$FMNIST_MLP
  fmnist_kurfile "$work/$name" "$batch" "$batches" "$model" "backend: {name: cpu, threads: 1}"
  fmnist_kurfile "$work/$name-det" "$batch" "$batches" "$model" \
    "backend: {name: cpu, threads: 1}" "deterministic: yes"
  for d in "$work/$name" "$work/$name-det"; do # one step, for the start-up time
    sed -e 's/num_batches: [0-9]*/num_batches: 1/' -e 's/epochs: 2/epochs: 1/' "$d/k.yml" >"$d/k1.yml"
  done
  for np in 1 2; do
    rm -f "$work"/*.rows
    for _ in $(seq 1 "$reps"); do
      echo "$(kurc "$work/$name" "$np") $(kurc_first "$work/$name" "$np")" >>"$work/kurc.rows"
      echo "$(kurc "$work/$name-det" "$np") $(kurc_first "$work/$name-det" "$np")" >>"$work/det.rows"
      read -r rate rss _ <<<"$(torch "$kind" "$batch" "$batches" "$np")"
      read -r _ _ first <<<"$(torch "$kind" "$batch" 1 "$np" 1)"
      echo "$rate $rss $first" >>"$work/torch.rows"
    done
    peer=$(column 1 "$work/torch.rows")
    for run in kurc:kurc det:kurc-deterministic torch:PyTorch; do
      IFS=: read -r file label <<<"$run"
      rate=$(column 1 "$work/$file.rows")
      ratio=$(awk -v a="$rate" -v b="$peer" 'BEGIN { printf (b > 0 ? "%.2fx" : "-"), a / b }')
      printf '%-6s %-6s %-20s %11s %13s %8s %15s\n' "$name" "$np" "$label" "$rate" "$ratio" \
        "$(column 2 "$work/$file.rows")" "$(column 3 "$work/$file.rows")"
    done
  done
done
