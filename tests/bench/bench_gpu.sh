#!/usr/bin/env bash
# bench_gpu.sh [BUILD_DIR] [--quick] - the CUDA backend's throughput on this
# machine's GPUs (not a test): dense and convolution ops against direct
# cuBLAS/cuDNN calls in TFLOP/s with the nominal peak, memory-bound ops in
# GB/s, NCCL all-reduce bus bandwidth over every GPU in one process, and,
# with MPI and two or more GPUs, the all-reduce through kurc's own
# communicator on one rank per GPU (NCCL, then MPI through host buffers).
# BUILD_DIR defaults to build/ (configure with -DKURC_CUDA=ON).  Exits 77
# when there is no GPU.  KURC_CUDA_TF32=1 measures with TF32 allowed.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
shift || true
bench=$build/tests/bench_gpu
if [ ! -x "$bench" ]; then
  echo "bench_gpu.sh: $bench is missing: build with CUDA first" >&2
  echo "  cmake -S $here -B $build -DKURC_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=\"80;90\" && cmake --build $build -j" >&2
  exit 1
fi
gpus=$("$bench" --gpus)
status=$?
if [ $status -eq 77 ] || [ "${gpus:-0}" = 0 ]; then
  "$bench" # says why
  exit 77
fi
"$bench" "$@" || exit $?
if [ "$gpus" -ge 2 ] && command -v mpirun >/dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
  mpirun -n "$gpus" "$bench" --comm "$@" || exit $?
  KURC_NCCL=0 mpirun -n "$gpus" -x KURC_NCCL "$bench" --comm "$@" || exit $?
fi
