# bench_lib.sh [BUILD_DIR] - what the MPI benchmarks (bench_mpi.sh,
# bench_shard.sh, bench_trace.sh) set up first, sourced once they have
# $here (tests/bench): $build (BUILD_DIR, default the checkout's build),
# Open MPI allowed to run as root and oversubscribe, one BLAS thread, and
# a scratch directory $work removed on exit.
# shellcheck shell=bash disable=SC2034,SC2154
build=$(cd "${1:-$here/../../build}" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
