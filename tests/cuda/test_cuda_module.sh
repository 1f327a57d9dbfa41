#!/usr/bin/env bash
# test_cuda_module.sh BIN_DIR FAKE_MODULE - the CUDA module of a CUDA build
# (src/core/cuda_module.h), on a machine without a GPU:
#   - kurc links no CUDA library (ldd), and --version, --help, build, dump and
#     a CPU train load none (LD_DEBUG=libs): neither the module nor
#     cudart, cuBLAS, cuDNN, NCCL, libcuda;
#   - backend: cuda opens the module (it loads: no missing symbol) and
#     fails with the CUDA runtime's reason;
#   - a copy of kurc without the module, and one beside a module whose
#     libraries are missing (FAKE_MODULE, which needs libkurc_gone.so),
#     train on the CPU, and asking them for the GPU fails naming the
#     module and the loader's reason.
set -u
bin=$(cd "$1" && pwd)
fake=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/../harness.sh" "$tmp"
nvidia-smi -L 2>/dev/null | grep -q '^GPU ' && skip "this machine has a GPU (the test is for machines without)"

cuda_libs='libcuda|libcudart|libcublas|libcudnn|libnccl|libkurc_cuda'

# shellcheck source=/dev/null
. "$(dirname "$0")/backend_kurfile.sh"

loaded() { # KURC ARGS...: runs it in $tmp; the CUDA libraries it loaded (loaded_libs)
  (cd "$tmp" && loaded_libs "$cuda_libs" "$@")
}

# the build's own kurc
grep -q 'CUDA yes' <("$bin/kurc" --version) || fail "kurc --version says CUDA yes"
linked=$(ldd "$bin/kurc" | grep -E "$cuda_libs")
if [ -z "$linked" ]; then ok "kurc links no CUDA library"; else fail "kurc links no CUDA library" "$linked"; fi

kurfile auto
for args in "--version" "--help" "build t.yml" "dump t.yml" "-v train t.yml"; do
  # shellcheck disable=SC2086
  libs=$(loaded "$bin/kurc" $args)
  status=$?
  if [ $status -eq 0 ] && [ -z "$libs" ]; then ok "kurc $args loads nothing of CUDA"
  else fail "kurc $args loads nothing of CUDA" "status $status, loaded: $libs"; fi
done
grep -q 'backend: cpu' "$tmp/err" || fail "auto trains on the CPU" "$(cat "$tmp/err")"

kurfile cuda
libs=$(loaded "$bin/kurc" train t.yml)
status=$?
if [ $status -eq 1 ] && echo "$libs" | grep -q libkurc_cuda && echo "$libs" | grep -q libcudart &&
   grep -q 'asks for cuda, but no CUDA device is visible (cudaGetDeviceCount' "$tmp/err"; then
  ok "backend cuda opens the module and says why there is no GPU"
else
  fail "backend cuda opens the module and says why there is no GPU" "status $status, loaded: $libs"
  sed 's/^/  stderr: /' "$tmp/err"
fi

# copies of kurc: without the module, and beside one that cannot load
mkdir -p "$tmp/alone/bin" "$tmp/broken/bin" "$tmp/broken/lib/kurc"
cp "$bin/kurc" "$tmp/alone/bin/"
cp "$bin/kurc" "$tmp/broken/bin/"
cp "$fake" "$tmp/broken/lib/kurc/libkurc_cuda.so"
for copy in alone broken; do
  case $copy in
    alone) reason='libkurc_cuda.so: cannot open shared object file' ;;
    broken) reason='libkurc_gone.so: cannot open shared object file' ;;
  esac
  kurfile auto
  (cd "$tmp" && LD_LIBRARY_PATH= "$tmp/$copy/bin/kurc" -v train t.yml) >"$tmp/out" 2>"$tmp/err"
  status=$?
  if [ $status -eq 0 ] && grep -q 'backend: cpu' "$tmp/err"; then ok "$copy: auto trains on the CPU"
  else fail "$copy: auto trains on the CPU" "status $status"; sed 's/^/  stderr: /' "$tmp/err"; fi
  kurfile cuda
  (cd "$tmp" && LD_LIBRARY_PATH= "$tmp/$copy/bin/kurc" train t.yml) >"$tmp/out" 2>"$tmp/err"
  status=$?
  if [ $status -eq 1 ] && grep -q "asks for cuda, but cannot load the CUDA module libkurc_cuda.so" "$tmp/err" &&
     grep -qF "$reason" "$tmp/err"; then
    ok "$copy: backend cuda fails naming the module and why ($reason)"
  else
    fail "$copy: backend cuda fails naming the module and why ($reason)" "status $status"
    sed 's/^/  stderr: /' "$tmp/err"
  fi
done
finish
