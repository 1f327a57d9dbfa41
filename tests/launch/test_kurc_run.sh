#!/usr/bin/env bash
# test_kurc_run.sh KURC_RUN BIN_DIR - launch/kurc-run as a user runs it: a
# tiny Kurfile trained with -n 1 and -n 2 gives the same losses, -v prints
# the mpirun command with the threads per rank, --oversubscribe above the
# cores, kurc commands other than train, one GPU per rank (with a stand-in
# nvidia-smi), no launcher, SIGUSR1 through mpirun (exit status 3, then the
# next run resumes), and bad arguments exit 2 with a message.  Skipped (77)
# without mpirun.
set -euo pipefail

kurc_run=$(readlink -f "$1")
bin=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/../harness.sh" "$tmp"
command -v mpirun >/dev/null 2>&1 || skip "mpirun is missing (apt-get install openmpi-bin)"
unset OPENBLAS_NUM_THREADS OMP_NUM_THREADS CUDA_VISIBLE_DEVICES SLURM_JOB_ID KURC_BIN
export KURC_BIN=$bin
cores=$(getconf _NPROCESSORS_ONLN)

# run_in DIR COMMAND...: runs COMMAND in DIR.
run_in() {
  local dir=$1
  shift
  (cd "$dir" && "$@")
}

# A Kurfile that trains in a moment; batch 8 of 48 samples divides among 1,
# 2 or 4 ranks.  make_run DIR [EPOCHS SAMPLES WIDTH CHECKPOINT]
make_run() {
  local dir=$1 epochs=${2:-3} samples=${3:-48} width=${4:-8} checkpoint=${5:-ck.h5}
  mkdir -p "$dir"
  cat >"$dir/t.yml" <<EOF
settings:
  seed: 5
model:
  - input: x
  - dense: $width
  - activation: tanh
  - dense: 3
  - activation: softmax
    name: y
train:
  data:
    - jsonl: data.jsonl
  provider: {batch_size: 8}
  stop_when: {epochs: $epochs, mode: total}
  weights: {last: last.w}
  checkpoint: $checkpoint
  optimizer: {name: sgd, learning_rate: 0.1}
evaluate:
  data:
    - jsonl: data.jsonl
  weights: last.w
  destination: out.pkl
loss:
  - target: y
    name: categorical_crossentropy
EOF
  awk -v n="$samples" 'BEGIN { for (i = 0; i < n; i++) { c = i % 3
    printf "{\"x\": [%d, %d, %d, 1], \"y\": [%d, %d, %d]}\n", c, i % 5, i % 7, c == 0, c == 1, c == 2 } }' \
    >"$dir/data.jsonl"
}

# --- training on 1 and 2 ranks ------------------------------------------------
make_run "$tmp/np1"
make_run "$tmp/np2"
expect "train -n 1" 0 '' '^Completed 3 epochs' -- run_in "$tmp/np1" "$kurc_run" -n 1 t.yml
grep -o 'Epoch [0-9]*/3, loss=[0-9.]*' "$tmp/err" >"$tmp/np1/losses" || true
expect "train -n 2" 0 '' '^Completed 3 epochs' -- run_in "$tmp/np2" "$kurc_run" -n 2 t.yml
grep -o 'Epoch [0-9]*/3, loss=[0-9.]*' "$tmp/err" >"$tmp/np2/losses" || true
# The same global batches, so the same losses up to summation order (the
# lines round to 3 decimals: allow one unit of the last digit).
if [ "$(wc -l <"$tmp/np1/losses")" -eq 3 ] &&
  paste -d' ' "$tmp/np1/losses" "$tmp/np2/losses" | awk '{
    split($3, a, "="); split($6, b, "=");
    if ($2 != $5 || a[2] - b[2] > 0.0011 || b[2] - a[2] > 0.0011) bad = 1 }
    END { exit bad }'; then
  ok "-n 2 gives the losses of -n 1: $(tr '\n' ' ' <"$tmp/np2/losses")"
else
  fail "-n 2 gives other losses than -n 1"
  paste "$tmp/np1/losses" "$tmp/np2/losses" | sed 's/^/  /'
fi
expect "trained weights" 0 '' '' -- test -s "$tmp/np2/last.w"
expect "evaluate -n 2" 0 '' '' -- run_in "$tmp/np2" "$kurc_run" -n 2 evaluate t.yml
expect "evaluate wrote out.pkl" 0 '' '' -- test -s "$tmp/np2/out.pkl"
expect "kurc flags after the command" 0 '"model"' '' -- run_in "$tmp/np2" "$kurc_run" -n 1 dump -p t.yml
expect "kurc-train flags after the Kurfile" 0 'usage: kurc-train' '' -- "$kurc_run" -n 1 t.yml --help

# --- the command it runs ------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
  root='OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 '
else
  root=''
fi
make_run "$tmp/verbose"
expect "-v prints mpirun with the threads" 0 '' \
  "running: ${root}mpirun -np 2 .*-x OPENBLAS_NUM_THREADS=$((cores >= 2 ? cores / 2 : 1)) -x OMP_NUM_THREADS=" \
  -- run_in "$tmp/verbose" "$kurc_run" -v -n 2 t.yml
if [ "$cores" -gt 1 ]; then
  expect "-n 1 takes every core, unbound" 0 '' \
    "running: ${root}mpirun -np 1 --bind-to none -x OPENBLAS_NUM_THREADS=$cores " \
    -- "$kurc_run" --dry-run -n 1 t.yml
fi
expect "--oversubscribe above the cores" 0 '' \
  "running: .*mpirun -np $((cores + 1)) --oversubscribe .*OPENBLAS_NUM_THREADS=1 " \
  -- "$kurc_run" --dry-run -n $((cores + 1)) t.yml
expect "-t sets the threads" 0 '' "OPENBLAS_NUM_THREADS=3 -x OMP_NUM_THREADS=3 " \
  -- "$kurc_run" --dry-run -n 2 -t 3 t.yml
expect "OPENBLAS_NUM_THREADS set by the user is kept" 0 '' "-x OPENBLAS_NUM_THREADS=5 " \
  -- env OPENBLAS_NUM_THREADS=5 "$kurc_run" --dry-run -n 2 t.yml
expect "arguments after -- go to mpirun" 0 '' "mpirun -np 2 .*--report-bindings $bin/kurc-train t.yml -v$" \
  -- "$kurc_run" --dry-run -n 2 t.yml -v -- --report-bindings
expect "-N maps ranks per node" 0 '' "mpirun -np 4 .*--map-by ppr:2:node" \
  -- "$kurc_run" --dry-run -n 4 -N 2 t.yml
expect "a kurc command runs kurc" 0 '' "$bin/kurc test t.yml$" -- "$kurc_run" --dry-run -n 2 test t.yml
make_run "$tmp/np3"
expect "oversubscribed run trains" 0 '' '^Completed 3 epochs' -- run_in "$tmp/np3" "$kurc_run" -n 3 t.yml

# --- GPUs, with a stand-in nvidia-smi -------------------------------------------
mkdir -p "$tmp/gpus"
printf '#!/bin/sh\necho "GPU 0: Stand-in (UUID: GPU-a)"\necho "GPU 1: Stand-in (UUID: GPU-b)"\n' \
  >"$tmp/gpus/nvidia-smi"
chmod +x "$tmp/gpus/nvidia-smi"
# shellcheck disable=SC2016  # expanded by each rank's shell
show='echo "rank $OMPI_COMM_WORLD_RANK gpu=[${CUDA_VISIBLE_DEVICES-unset}] threads=$OPENBLAS_NUM_THREADS"'
gpu_run() { PATH=$tmp/gpus:$PATH "$kurc_run" "$@" | sort; }
expect "one GPU per rank, all GPUs by default" 0 '^rank 1 gpu=\[1\]' 'running: .*kurc-rank --gpu sh' \
  -- gpu_run -v --exec sh -c "$show"
grep -q '^rank 0 gpu=\[0\]' "$tmp/out" || fail "rank 0 does not get GPU 0"
expect "GPUs named by CUDA_VISIBLE_DEVICES" 0 '^rank 3 gpu=\[7\]' '' \
  -- env CUDA_VISIBLE_DEVICES=5,7 PATH="$tmp/gpus:$PATH" "$kurc_run" -n 4 --exec sh -c "$show"
grep -q '^rank 2 gpu=\[5\]' "$tmp/out" || fail "rank 2 of CUDA_VISIBLE_DEVICES=5,7 does not get GPU 5"
expect "--cpu hides the GPUs" 0 '^rank 1 gpu=\[\]' '' -- gpu_run --cpu -n 2 --exec sh -c "$show"
expect "no GPU, no shim" 0 '^rank 0 gpu=\[unset\]' '' -- "$kurc_run" -n 1 --exec sh -c "$show"

# --- no launcher: a PATH without mpirun or srun ---------------------------------
mkdir -p "$tmp/nompi"
for c in bash env dirname readlink getconf nproc id grep; do
  ln -s "$(command -v "$c")" "$tmp/nompi/$c"
done
expect "no launcher for 2 ranks" 2 '' 'no launcher found' -- env PATH="$tmp/nompi" "$kurc_run" -n 2 t.yml
make_run "$tmp/direct"
expect "no launcher, 1 rank runs directly" 0 '' '^Completed 3 epochs' \
  -- run_in "$tmp/direct" env PATH="$tmp/nompi" "$kurc_run" -n 1 t.yml

# --- bad arguments --------------------------------------------------------------
expect "--help" 0 'usage: kurc-run' '' -- "$kurc_run" --help
expect "no Kurfile" 2 '' 'kurc-run: missing KURFILE' -- "$kurc_run" -n 2
expect "-n 0" 2 '' "-n expects a positive number of ranks, not '0'" -- "$kurc_run" -n 0 t.yml
expect "-n x" 2 '' "-n expects a positive number of ranks, not 'x'" -- "$kurc_run" -n x t.yml
expect "-n without a value" 2 '' "option '-n' needs a value" -- "$kurc_run" -n
expect "-t 0" 2 '' "-t expects a positive number of threads" -- "$kurc_run" -t 0 t.yml
expect "unknown option" 2 '' "unknown option '--frob'" -- "$kurc_run" --frob t.yml
expect "--cpu with --gpu" 2 '' '--cpu and --gpu exclude each other' -- "$kurc_run" --cpu --gpu t.yml
expect "--gpu without GPUs" 2 '' '--gpu: this node has no GPU' -- "$kurc_run" --gpu t.yml
expect "bad launcher" 2 '' "--launcher expects auto, mpirun, srun or none, not 'qsub'" \
  -- "$kurc_run" --launcher qsub t.yml
expect "srun outside SLURM" 2 '' 'needs a SLURM allocation|srun is not on PATH' \
  -- "$kurc_run" --launcher srun t.yml
expect "--launcher none with 2 ranks" 2 '' '--launcher none starts one process, not 2' \
  -- "$kurc_run" --launcher none -n 2 t.yml
expect "no kurc-train in --bin" 2 '' "no kurc-train in '$tmp' \(--bin\)" -- "$kurc_run" --bin "$tmp" t.yml
mkdir -p "$tmp/lonely"
cp "$kurc_run" "$tmp/lonely/kurc-run"
expect "kurc-train not found" 2 '' 'cannot find kurc-train' \
  -- env -u KURC_BIN PATH="$tmp/nompi" "$tmp/lonely/kurc-run" t.yml
expect "--exec of a missing program" 2 '' "cannot find program 'no-such-program'" \
  -- "$kurc_run" --exec no-such-program
expect "nothing before --" 2 '' "nothing to run before '--'" -- "$kurc_run" -- t.yml

# --- stop signals through mpirun: status 3, then the next run resumes ----------
# SIGUSR1 is forwarded by mpirun; SIGTERM and SIGINT, which Open MPI would
# not forward (it kills the ranks), kurc-run turns into SIGUSR1.  The only
# checkpoint is the one written at the stop (none at epoch ends); the runs
# are big enough (about 0.1 s an epoch) that the stop comes long before the
# last epoch: few samples, as reading them is slow under the sanitizers,
# and a wide layer for the time.
for sig in USR1 TERM INT; do
  dir=$tmp/signal-$sig
  make_run "$dir" 8 3000 4096 '{path: ck.h5, epochs: 1000}'
  (cd "$dir" && exec "$kurc_run" -n 2 t.yml) >"$dir/run1.out" 2>&1 &
  pid=$!
  for ((i = 0; i < 300; i++)); do
    grep -qs '^Epoch 2/' "$dir/run1.out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -"$sig" "$pid" 2>/dev/null || true
  status=0
  wait "$pid" || status=$?
  if [ $status -eq 3 ] && grep -q 'stopped by signal' "$dir/run1.out" && [ -s "$dir/ck.h5" ]; then
    ok "SIG$sig to kurc-run stops every rank with status 3 and saves the checkpoint"
  else
    fail "SIG$sig to kurc-run" "status $status (want 3), checkpoint $([ -s "$dir/ck.h5" ] && echo saved || echo missing)"
    sed 's/^/  /' "$dir/run1.out"
  fi
  expect "SIG$sig: the next run resumes and completes" 0 '' 'resuming from checkpoint ck.h5' \
    -- run_in "$dir" "$kurc_run" -n 2 t.yml
  grep -q '^Completed 8 epochs' "$tmp/err" || fail "SIG$sig" "the resumed run did not complete 8 epochs"
done

finish
