#!/usr/bin/env bash
# test_cuda_cli.sh BIN_DIR - backend selection through the command line, on
# any machine:
#   - settings.backend: cuda trains where a GPU is visible; elsewhere kurc
#     exits 1 saying why (no CUDA device, with cudaGetDeviceCount's error,
#     or a build without CUDA) instead of crashing or falling back;
#   - auto (and Kur's names keras and pytorch) always train: on a GPU when
#     there is one, else on the CPU;
#   - device: cpu with cuda is a Kurfile error (exit 2); a malformed device
#     specification is one too.
set -u
bin=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/../harness.sh" "$tmp"

result() { # NAME GOOD DETAIL: ok, or fail with kurc's stderr
  if [ "$2" -eq 1 ]; then
    ok "$1"
  else
    fail "$1" "$3"
    sed 's/^/  stderr: /' "$tmp/err"
  fi
}

# shellcheck source=/dev/null
. "$(dirname "$0")/backend_kurfile.sh"

run() { (cd "$tmp" && "$bin/kurc" -v --no-color train t.yml) >"$tmp/out" 2>"$tmp/err"; }

# cuda: trains on a GPU, or fails with the reason
kurfile cuda
run
status=$?
if [ $status -eq 0 ]; then
  grep -q 'backend: cuda on' "$tmp/err" && grep -q 'Completed 1 epochs' "$tmp/err"
  result "backend cuda trains on the GPU" $((1 - $?)) "no 'backend: cuda on' or no completion"
  gpu=1
else
  good=0
  if [ $status -eq 1 ] && grep -qE "asks for cuda, but no CUDA device is visible \(cudaGetDeviceCount|asks for cuda, which this build does not have" "$tmp/err"; then
    good=1
  fi
  # CUDA not seeing GPUs that nvidia-smi lists is a failure, not "no GPU"
  listed=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
  if [ "${listed:-0}" -gt 0 ] && grep -q "no CUDA device is visible" "$tmp/err"; then
    good=0
    echo "  nvidia-smi lists $listed GPU(s) that CUDA cannot see"
  fi
  result "backend cuda without a GPU fails clearly (exit $status)" $good "unexpected status or message"
  gpu=0
fi

# auto, keras, pytorch: train wherever
for name in auto keras pytorch; do
  kurfile $name
  run
  status=$?
  good=0
  if [ $status -eq 0 ] && grep -q 'Completed 1 epochs' "$tmp/err"; then
    if [ $gpu -eq 1 ]; then grep -q 'backend: cuda on' "$tmp/err" && good=1
    else grep -q 'backend: cpu' "$tmp/err" && good=1; fi
  fi
  result "backend $name trains (on the $([ $gpu -eq 1 ] && echo GPU || echo CPU))" $good "status $status"
done

# device: cpu picks the CPU under auto, and contradicts cuda
kurfile "{name: auto, device: cpu}"
run
status=$?
good=0; [ $status -eq 0 ] && grep -q 'backend: cpu' "$tmp/err" && good=1
result "auto with device cpu runs on the CPU" $good "status $status"

if grep -q 'CUDA yes' <("$bin/kurc" --version); then
  kurfile "{name: cuda, device: cpu}"
  run
  status=$?
  good=0; [ $status -eq 2 ] && grep -q 'asks for cuda on device cpu' "$tmp/err" && good=1
  result "cuda with device cpu is a Kurfile error" $good "status $status"
fi
kurfile "{name: auto, device: gpu0-x}"
run
status=$?
good=0; [ $status -eq 2 ] && grep -q "'gpu0-x' is not a device specification" "$tmp/err" && good=1
result "a malformed device is a Kurfile error" $good "status $status"

finish
