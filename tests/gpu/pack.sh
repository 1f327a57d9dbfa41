#!/usr/bin/env bash
# pack.sh [BUILD_DIR] [KIT_DIR] - the GPU kit: everything a bare GPU machine
# (the CUDA toolkit and NVIDIA's libraries, none of Debian's; see README,
# "GPUs") needs to test kurc there, in one folder (default build-kit/,
# git-ignored) under 64 MiB:
#   programs.tar.xz  bin/: kurc, kurc-train, every GPU test and benchmark
#            program; lib/kurc/: the CUDA module (libkurc_cuda.so, which
#            the programs open from $ORIGIN/../lib/kurc); lib/: every
#            non-CUDA shared library they and the module load (from ldd),
#            glibc's apart in lib/glibc/ (used only where the machine's
#            glibc is older than the programs need); run.sh unpacks it
#   tests/   the test scripts and Kurfiles the programs read
#   mnist/   Kur's MNIST example with a subset of Fashion-MNIST (4000
#            training and 2000 test images), since the GPU machine has no
#            Debian dataset package
#   speech/  Kur's speech example, shrunk (32 kernels and units, one GRU,
#            batch 4, 3 epochs), with 24 spoken words made here by
#            espeak-ng (examples/make_speech_data.py; left out, and run.sh
#            says so, where espeak-ng or numpy is missing)
#   torch/   the PyTorch peer of the MNIST example
#   run.sh   what to run there (tests/gpu/run.sh)
# BUILD_DIR (default build-cuda/) is configured with CUDA when it has no
# CMakeCache.txt (CMAKE_CUDA_ARCHITECTURES=90: the kit is for H100s) and
# built.  JOBS sets the build's parallelism (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${1:-$root/build-cuda}")
kit=$(realpath -m "${2:-$root/build-kit}")
data=${KURC_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKURC_CUDA=ON \
    -DKURC_WERROR=ON -DCMAKE_CUDA_ARCHITECTURES=90
fi
config=$build/generated/base/kurc_config.h
[ -f "$config" ] || cmake -S "$root" -B "$build" >/dev/null
grep -q 'KURC_HAVE_CUDA 1' "$config" ||
  { echo "pack.sh: $build is not a CUDA build (KURC_CUDA=ON)" >&2; exit 2; }
targets=(kurc kurc-train test_cuda_parity test_cuda_models bench_gpu test_device_spec
         test_gpu_absent test_tolerance test_lru)
if grep -q 'KURC_HAVE_NCCL 1' "$config"; then targets+=(test_nccl_allreduce); fi
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]}" kurc_cuda_module

rm -rf "$kit"
stage=$kit/staging
mkdir -p "$kit/tests/cuda" "$kit/mnist" "$kit/torch" "$stage/bin" "$stage/lib/glibc" \
  "$stage/lib/kurc"
for t in "${targets[@]}"; do
  f=$(find "$build/bin" "$build/tests" -name "$t" -type f -perm -u+x | head -1)
  [ -n "$f" ] || { echo "pack.sh: $t was not built" >&2; exit 1; }
  # host debug information is of no use there (device line information,
  # -lineinfo, stays in the fat binary)
  objcopy --strip-debug "$f" "$stage/bin/$t"
done

objcopy --strip-debug "$build/lib/kurc/libkurc_cuda.so" "$stage/lib/kurc/libkurc_cuda.so"

# The libraries: everything ldd finds but the CUDA libraries (the machine
# has its own) and the dynamic loader's vDSO.
cuda_libs='^(libcuda|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*|libnccl|libnvrtc|libnvJitLink|libcufft|libcurand)\.so'
glibc_libs='^(libc|libm|libpthread|libdl|librt|libresolv|libutil|ld-linux-x86-64)\.so'
ldd "$stage"/bin/* "$stage"/lib/kurc/* 2>/dev/null | awk '/=> \// { print $1, $3 } /^\t\/.*ld-linux/ { print "ld-linux-x86-64.so.2", $1 }' |
  sort -u | while read -r name path; do
    if [[ $name =~ $cuda_libs ]]; then continue; fi
    if [[ $name =~ $glibc_libs ]]; then cp -L "$path" "$stage/lib/glibc/$name"
    else cp -L "$path" "$stage/lib/$name"; fi
  done
# the newest glibc symbol version the programs and libraries ask for
objdump -T "$stage"/bin/* "$stage"/lib/*.so* "$stage"/lib/kurc/* 2>/dev/null | grep -o 'GLIBC_2\.[0-9]*' |
  sort -uV | tail -1 >"$kit/glibc-needed"
XZ_OPT=${XZ_OPT:--6 -T2} tar -C "$stage" -cJf "$kit/programs.tar.xz" bin lib
rm -rf "$stage"

# Tests that read files: the CLI test and its harness, the models' Kurfiles
# (test_cuda_models reads KURC_TEST_KURFILES when set).
cp "$root/tests/cuda/test_cuda_cli.sh" "$root/tests/cuda/backend_kurfile.sh" "$kit/tests/cuda/"
cp "$root/tests/harness.sh" "$kit/tests/"
cp -r "$root/tests/kurfiles" "$kit/tests/"

# Kur's MNIST example on a subset of Fashion-MNIST: the IDX headers with the
# counts changed, then the first images and labels.
subset() { # FILE COUNT OUT: the first COUNT items of an IDX file
  python3 - "$1" "$2" "$3" <<'PY'
import gzip, struct, sys
src, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = gzip.open(src, "rb").read()
ndim = data[3]
dims = list(struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim]))
item = 1
for d in dims[1:]:
    item *= d
body = data[4 + 4 * ndim:4 + 4 * ndim + count * item]
dims[0] = count
with gzip.open(out, "wb", compresslevel=9) as f:
    f.write(data[:4] + struct.pack(">" + "I" * ndim, *dims) + body)
PY
}
for kind in images labels; do
  subset "$data/train-$kind-idx$([ $kind = images ] && echo 3 || echo 1)-ubyte.gz" 4000 \
    "$kit/mnist/train-$kind-idx$([ $kind = images ] && echo 3 || echo 1)-ubyte.gz"
  subset "$data/t10k-$kind-idx$([ $kind = images ] && echo 3 || echo 1)-ubyte.gz" 2000 \
    "$kit/mnist/t10k-$kind-idx$([ $kind = images ] && echo 3 || echo 1)-ubyte.gz"
done
# the example's Kurfiles, reading the subset (run.sh puts in its folder)
# without the full files' checksums
for f in mnist.yml mnist-defaults.yml; do
  sed -e 's|/usr/share/datasets/fashion-mnist/|@DATA@/|' -e '/checksum:/d' \
    "$root/examples/$f" >"$kit/mnist/$f"
done
# Kur's speech example, shrunk, on espeak-ng's words
if command -v espeak-ng >/dev/null 2>&1 && /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  mkdir -p "$kit/speech"
  /usr/bin/python3 "$root/examples/make_speech_data.py" --out "$kit/speech/data" --words 24 \
    --archive >/dev/null
  find "$kit/speech/data" -mindepth 1 -maxdepth 1 ! -name '*.tar.gz' -exec rm -rf {} +
  sed -e 's/kernels: 1000/kernels: 32/' -e 's/size: 1000/size: 32/' -e 's/depth: 3/depth: 1/' \
    -e 's/batch_size: 16/batch_size: 4/' -e '/^train:/a\  epochs: 3' \
    "$root/examples/speech.yml" >"$kit/speech/speech.yml"
else
  echo "pack.sh: no espeak-ng or numpy here: the kit has no speech example" >&2
fi
cp "$root/tests/bench/fmnist_torch_peer.py" "$kit/torch/"
cp "$root/tests/gpu/run.sh" "$kit/run.sh"
du -sh "$kit"
size=$(du -sb "$kit" | cut -f1)
[ "$size" -lt $((64 << 20)) ] || { echo "pack.sh: the kit is $size bytes, over 64 MiB" >&2; exit 1; }
echo "pack.sh: the kit is in $kit; run it with: bash $kit/run.sh"
