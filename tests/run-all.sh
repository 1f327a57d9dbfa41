#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh Debian 12 machine:
#   1. install the Debian packages kurc needs (launch/debian-deps.sh)
#   2. build with AddressSanitizer + UBSan and run every test   (build-asan/)
#   3. build the libFuzzer harnesses with clang and run them     (build-fuzz/)
#   4. build the release configuration and run every test        (build/)
#   5. build with CUDA (cuBLAS, cuDNN, NCCL) for sm_80 and sm_90 and run
#      every test; the GPU tests skip (77) without a GPU          (build-cuda/)
#   6. build the other build types with gcc and clang: Release with both,
#      RelWithDebInfo with clang (Debug and RelWithDebInfo with gcc, Debug
#      with clang are builds 2 to 4)                      (build-<cc>-<type>/)
# Builds 2 to 4 and 6 are CPU-only (-DKURC_CUDA=OFF), so that configuration
# stays tested; 5 compiles and links the CUDA backend and checks that kurc
# runs on a machine without a GPU.  Every build treats warnings as errors
# (KURC_WERROR=ON).  Any failure stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/debian-deps.sh

jobs=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "== sanitizer build (address, undefined)"
cmake -S . -B build-asan -DKURC_WERROR=ON -DKURC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DKURC_CUDA=OFF
cmake --build build-asan -j "$jobs"
ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== libFuzzer build (clang)"
CC=clang cmake -S . -B build-fuzz -DKURC_WERROR=ON -DKURC_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug -DKURC_CUDA=OFF
cmake --build build-fuzz -j "$jobs"
ctest --test-dir build-fuzz --output-on-failure -L fuzz

echo "== release build"
cmake -S . -B build -DKURC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKURC_CUDA=OFF
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== CUDA build (sm_80, sm_90)"
nvcc=/usr/local/cuda/bin/nvcc
[ -x "$nvcc" ] || nvcc=$(command -v nvcc || true)
if [ -n "$nvcc" ]; then
  cmake -S . -B build-cuda -DKURC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKURC_CUDA=ON \
        -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="80;90"
  cmake --build build-cuda -j "$jobs"
  ctest --test-dir build-cuda --output-on-failure -j "$jobs"
elif [ "${KURC_CI_REQUIRE_CUDA:-0}" = 1 ]; then
  echo "no CUDA toolkit (nvcc) found, and KURC_CI_REQUIRE_CUDA=1" >&2
  exit 1
else
  echo "skipped: no CUDA toolkit (nvcc) on this machine"
fi

echo "== the other build types (gcc Release, clang Release and RelWithDebInfo)"
for cc_type in gcc:Release clang:Release clang:RelWithDebInfo; do
  cc=${cc_type%%:*} type=${cc_type#*:}
  CC=$cc cmake -S . -B "build-$cc-$type" -DKURC_WERROR=ON -DCMAKE_BUILD_TYPE="$type" -DKURC_CUDA=OFF
  cmake --build "build-$cc-$type" -j "$jobs"
done
