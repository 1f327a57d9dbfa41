#!/usr/bin/env bash
# run.sh - the GPU kit's one command (tests/gpu/pack.sh makes the kit; this
# file is its run.sh): on a bare GPU machine, in at most about 8 minutes,
#   1. finds the CUDA libraries (NVIDIA's pip wheels under python3's
#      site-packages nvidia/*/lib, else /usr/local/cuda) and checks that
#      every program finds every library;
#   2. runs every GPU test (parity, models, the communicator on one rank,
#      the CLI) and the kit's unit tests;
#   3. trains Kur's MNIST example (a subset of Fashion-MNIST) and its
#      speech example (shrunk, on espeak-ng's words) on the GPU and on the
#      CPU and prints the losses side by side;
#   4. benchmarks the dense and convolution ops against cuBLAS and cuDNN
#      (bench_gpu --quick), and a training step against PyTorch on the same
#      GPU, model, batch and data (samples/s and the ratio);
#   5. runs compute-sanitizer memcheck over the parity test;
# and writes its logs to $OUT (at most 8 files; default: out/ beside this
# file), the summary last: each step ok, FAILED, or skipped with the reason.
# Without a GPU every step that needs one is skipped and the rest runs
# (the kit's kurc trains on the CPU).  Exits 1 when a step failed.
set -u
kit=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$kit/out}
mkdir -p "$out"
start=$SECONDS
limit=${KURC_KIT_SECONDS:-470} # the whole run, with a margin under 8 minutes
summary=()

note() { summary+=("$(printf '%-34s %s' "$1" "$2")"); echo "== $1: $2"; }
left() { echo $((limit - (SECONDS - start))); }
# budget SECONDS: the smaller of SECONDS and what is left, at least 1
budget() { local l; l=$(left); [ "$1" -lt "$l" ] && echo "$1" || echo $((l > 1 ? l : 1)); }

# --- 1. libraries ----------------------------------------------------------------
env_log=$out/environment.txt
{
  echo "kit: $kit"
  uname -a
  nvidia-smi -L 2>&1 || echo "nvidia-smi: not found"
} >"$env_log" 2>&1

# the programs and their libraries, unpacked (xz, else Python's lzma)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! tar -C "$work" -xJf "$kit/programs.tar.xz" 2>>"$env_log"; then
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
    "$kit/programs.tar.xz" "$work" 2>>"$env_log"
fi
bin=$work/bin
libs=$work/lib
cuda_dirs=()
site=$(python3 -c 'import nvidia, os; print(os.path.dirname(nvidia.__path__[0]))' 2>/dev/null)
if [ -n "$site" ]; then
  for d in "$site"/nvidia/*/lib; do [ -d "$d" ] && cuda_dirs+=("$d"); done
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
  [ -d "$d" ] && cuda_dirs+=("$d")
done
cuda_path=$(IFS=:; echo "${cuda_dirs[*]}")
export LD_LIBRARY_PATH="$libs${cuda_path:+:$cuda_path}"
# glibc: the machine's, unless it is older than the programs need; then
# the kit's, through its own loader
need=$(sed 's/GLIBC_//' "$kit/glibc-needed" 2>/dev/null)
have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
loader=()
if [ -n "$need" ] && [ -n "$have" ] &&
  [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1)" != "$need" ]; then
  export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$libs/glibc"
  loader=("$libs/glibc/ld-linux-x86-64.so.2")
fi
{
  echo "CUDA library folders: ${cuda_dirs[*]:-none}"
  [ ${#loader[@]} -gt 0 ] && used="the kit's own" || used="the machine's"
  echo "glibc: the machine has $have, the kit needs $need: $used is used"
} >>"$env_log"

# deps PROGRAM: the libraries it loads, as ldd says
deps() { if [ ${#loader[@]} -gt 0 ]; then "${loader[@]}" --list "$1"; else ldd "$1"; fi; }
missing=$(for p in "$bin"/*; do
  deps "$p" 2>/dev/null | sed -n "s|^[[:space:]]*\([^ ]*\) => not found|$(basename "$p"): \1|p"
done | sort -u)
{
  echo "${missing:-every program finds every library}"
  echo "kurc loads:"
  deps "$bin/kurc" 2>&1
} >>"$env_log"
if [ -n "$missing" ]; then
  note "libraries" "FAILED: $(echo "$missing" | awk '{print $2}' | sort -u | tr '\n' ' ') (see environment.txt)"
else
  note "libraries" "ok (CUDA from ${cuda_dirs[0]:-nowhere})"
fi

gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
# the kit's programs run as "${loader[@]}" "$bin/PROGRAM": through the
# kit's loader where the machine's glibc is too old
cuda_gpus=$(timeout 60 "${loader[@]}" "$bin/bench_gpu" --gpus 2>/dev/null | tail -1)
case $cuda_gpus in '' | *[!0-9]*) cuda_gpus=0 ;; esac
echo "GPUs: nvidia-smi lists $gpus, CUDA sees $cuda_gpus" >>"$env_log"
if [ "$cuda_gpus" -gt 0 ]; then
  no_gpu=""
elif [ "$gpus" -gt 0 ]; then
  no_gpu="CUDA sees none of the $gpus GPUs nvidia-smi lists"
  note "GPU" "FAILED: $no_gpu"
else
  no_gpu="no GPU (nvidia-smi lists none)"
fi

# --- 2. tests ----------------------------------------------------------------------
tests_log=$out/tests.log
: >"$tests_log"
# test NAME SECONDS COMMAND...: runs it, notes ok / skipped (77) / FAILED
test_step() {
  local name=$1 seconds=$2 status
  shift 2
  timeout "$(budget "$seconds")" "$@" >"$work/test.log" 2>&1
  status=$?
  { echo "### $name (exit $status)"; cat "$work/test.log"; } >>"$tests_log"
  case $status in
    0) note "test $name" "ok" ;;
    77) note "test $name" "skipped: $(grep -m1 '^skipped:' "$work/test.log" | cut -c10-)" ;;
    124) note "test $name" "FAILED: timed out" ;;
    *) note "test $name" "FAILED (exit $status; see tests.log)" ;;
  esac
}
for t in test_device_spec test_lru test_tolerance test_gpu_absent; do
  test_step "$t" 30 "${loader[@]}" "$bin/$t"
done
export KURC_TEST_KURFILES=$kit/tests/kurfiles
test_step test_cuda_parity 150 "${loader[@]}" "$bin/test_cuda_parity"
test_step test_cuda_models 120 "${loader[@]}" "$bin/test_cuda_models"
[ -x "$bin/test_nccl_allreduce" ] &&
  test_step "test_nccl_allreduce (1 rank)" 60 "${loader[@]}" "$bin/test_nccl_allreduce" nccl
# the CLI test and the training below run the kit's kurc from a folder of
# wrappers (which put the kit's loader in front where needed)
mkdir -p "$work/cli"
for p in kurc kurc-train; do
  printf '#!/bin/sh\nexec %s "%s/%s" "$@"\n' "${loader[*]}" "$bin" "$p" >"$work/cli/$p"
  chmod +x "$work/cli/$p"
done
test_step cuda_cli 60 bash "$kit/tests/cuda/test_cuda_cli.sh" "$work/cli"

# --- 3. Kur's examples on the GPU and on the CPU ---------------------------------------
# train EXAMPLE BACKEND SECONDS: the kit's EXAMPLE (mnist, speech) trained on
# BACKEND in a folder of its own ($work/EXAMPLE/BACKEND: no weights, log or
# normalisation shared between the runs), its log in .../train.err
train() {
  local dir=$work/$1/$2 name="$1 on the $([ "$2" = cpu ] && echo CPU || echo GPU)"
  mkdir -p "$dir"
  for f in "$kit/$1"/*; do
    case $f in
      *.yml) sed "s|@DATA@|$kit/$1|" "$f" >"$dir/$(basename "$f")" ;;
      *) cp -r "$f" "$dir/" ;; # speech unpacks its archives beside them
    esac
  done
  printf 'include: %s.yml\nsettings:\n  backend: %s\n' "$1" "$2" >"$dir/run.yml"
  (cd "$dir" && timeout "$(budget "$3")" "$work/cli/kurc" -v train run.yml) \
    >"$dir/train.out" 2>"$dir/train.err"
  case $? in
    0) note "$name" "ok: $(rate "$dir/train.err") samples/s after the first epoch" ;;
    124) note "$name" "FAILED: timed out (see $1.log)" ;;
    *) note "$name" "FAILED (see $1.log)" ;;
  esac
}
losses() { sed -n 's|^.*Epoch \([0-9]*\)/[0-9]*, loss=\([0-9.naif]*\).*|\1 \2|p' "$1"; }
rate() { # samples/s over the epochs after the first (warm-up)
  awk '/Epoch [0-9]+\/[0-9]+, loss=.* samples in / {
      if (++e == 1) next; n = $(NF - 6); r = $(NF - 1); sub(/^\(/, "", r); s += n; t += n / r }
    END { if (t > 0) printf "%.1f", s / t }' "$1"
}
# example EXAMPLE TITLE SECONDS: trains it on the CPU and on the GPU and
# writes EXAMPLE.log: the losses per epoch side by side, then each run's
# last lines
example() {
  local log=$out/$1.log
  if [ ! -d "$kit/$1" ]; then
    note "$1" "skipped: the kit has no $1 example (pack.sh says why)"
    return
  fi
  train "$1" cpu "$3"
  if [ -n "$no_gpu" ]; then
    note "$1 on the GPU" "skipped: $no_gpu"
  else
    train "$1" cuda "$3"
  fi
  {
    echo "$2: loss per epoch"
    printf '%-6s %-12s %-12s\n' epoch cpu cuda
    join -a 1 -e - -o 0,1.2,2.2 <(losses "$work/$1/cpu/train.err") \
      <(losses "$work/$1/cuda/train.err" 2>/dev/null) |
      awk '{ printf "%-6s %-12s %-12s\n", $1, $2, $3 }'
    for b in cpu cuda; do
      [ -f "$work/$1/$b/train.err" ] || continue
      echo "--- kurc -v train ($b), last lines"
      tail -25 "$work/$1/$b/train.err"
    done
  } >"$log" 2>&1
  sed -n '1,14p' "$log"
}
example mnist "Kur's MNIST example (4000 training, 2000 test images)" 150
example speech "Kur's speech example, shrunk (24 espeak-ng words)" 60

# --- 4. benchmarks -------------------------------------------------------------------
bench_log=$out/bench.log
: >"$bench_log"
if [ -n "$no_gpu" ]; then
  note "bench dense/conv vs cuBLAS/cuDNN" "skipped: $no_gpu"
  note "bench training step vs PyTorch" "skipped: $no_gpu"
else
  if timeout "$(budget 100)" "${loader[@]}" "$bin/bench_gpu" --quick >>"$bench_log" 2>&1; then
    note "bench dense/conv vs cuBLAS/cuDNN" "ok (see bench.log)"
  else
    note "bench dense/conv vs cuBLAS/cuDNN" "FAILED (see bench.log)"
  fi
  # the same model, batch, data and schedule (15 batches of 32 an epoch,
  # 10 epochs); samples/s after the first (warm-up) epoch for both
  peer=$(cd "$kit/torch" && timeout "$(budget 90)" python3 fmnist_torch_peer.py \
    --data "$kit/mnist" --device cuda 2>>"$bench_log")
  torch_rate=$(echo "$peer" | sed -n 's/.*steady_samples_per_s=\([0-9.]*\).*/\1/p')
  kurc_rate=$(rate "$work/mnist/cuda/train.err")
  echo "training step, MNIST example: kurc $kurc_rate samples/s, PyTorch $torch_rate samples/s ($peer)" >>"$bench_log"
  if [ -n "$torch_rate" ] && [ -n "$kurc_rate" ]; then
    note "bench training step vs PyTorch" "ok: kurc $kurc_rate, PyTorch $torch_rate samples/s, ratio $(awk -v k="$kurc_rate" -v t="$torch_rate" 'BEGIN { printf "%.2f", k / t }')"
  else
    note "bench training step vs PyTorch" "FAILED: kurc '${kurc_rate}', PyTorch '${torch_rate}' samples/s (see bench.log)"
  fi
fi

# --- 5. compute-sanitizer ------------------------------------------------------------
sanitizer_log=$out/sanitizer.log
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ -n "$no_gpu" ]; then
  note "compute-sanitizer memcheck" "skipped: $no_gpu"
elif [ -z "$sanitizer" ]; then
  note "compute-sanitizer memcheck" "skipped: compute-sanitizer is not installed"
elif [ "$(left)" -lt 30 ]; then
  note "compute-sanitizer memcheck" "skipped: out of time"
else
  timeout "$(budget 200)" "$sanitizer" --tool memcheck --leak-check full --error-exitcode 9 \
    "${loader[@]}" "$bin/test_cuda_parity" >"$sanitizer_log" 2>&1
  case $? in
    0) note "compute-sanitizer memcheck" "ok" ;;
    124) note "compute-sanitizer memcheck" "FAILED: timed out (see sanitizer.log)" ;;
    *) note "compute-sanitizer memcheck" "FAILED: $(grep -m1 'ERROR SUMMARY' "$sanitizer_log")" ;;
  esac
fi

# --- the summary, last ----------------------------------------------------------------
{
  echo "kurc GPU kit: $(date -u +%Y-%m-%dT%H:%M:%SZ), $((SECONDS - start)) s"
  printf '%s\n' "${summary[@]}"
} >"$out/summary.txt"
echo
cat "$out/summary.txt"
! grep -q 'FAILED' "$out/summary.txt"
