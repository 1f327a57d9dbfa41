#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh Debian 12 machine:
#   1. install the Debian packages kurc needs (launch/debian-deps.sh)
#   2. build with AddressSanitizer + UBSan and run every test   (build-asan/)
#   3. build the libFuzzer harnesses with clang and run them     (build-fuzz/)
#   4. build the release configuration and run every test        (build/)
# Any failure stops the run with a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."

bash launch/debian-deps.sh

jobs=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "== sanitizer build (address, undefined)"
cmake -S . -B build-asan -DKURC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
cmake --build build-asan -j "$jobs"
ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== libFuzzer build (clang)"
CC=clang cmake -S . -B build-fuzz -DKURC_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug -DKURC_CUDA=OFF
cmake --build build-fuzz -j "$jobs"
ctest --test-dir build-fuzz --output-on-failure -L fuzz

echo "== release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs"
