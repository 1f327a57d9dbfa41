#!/usr/bin/env bash
# bench_network.sh BIN_DIR TOOLS_DIR [MS:PCT...] - kurc across a slow,
# lossy link (a benchmark, not a test).  This kernel has no netem, so the 2
# hosts of the simulated cluster (tests/cluster/cluster.sh) are joined by
# a user-space switch between TAP devices (cluster_switch, from TOOLS_DIR)
# that delays every frame by MS ms one way and drops PCT % of them (default
# configurations: 0:0 2:0 20:0 0:1 2:1).  For each it trains the MLP
# 784-512-512-10 on Fashion-MNIST (batch 128, KURC_BENCH_BATCHES = 10
# batches per epoch, 2 epochs) with one rank per host through kurc-run, and
# prints the second epoch's samples/s, its time per step, the exposed
# communication per step (kurc -v), and the time of one plain
# MPI_Allreduce of the same bytes and of kurc's buckets over the same link
# (tests/bench/bench_allreduce, best of 5).  Needs root, iproute2 and
# dataset-fashion-mnist (else exit 77).
# shellcheck source=/dev/null
. "$(dirname "$0")/../mpi/lib.sh"
# shellcheck source=/dev/null
. "$(dirname "$0")/cluster.sh"
# shellcheck source=/dev/null
. "$(dirname "$0")/../bench/fmnist_kurfile.sh"

fmnist_need
if [ ! -x "$TOOLS/cluster_switch" ] || [ ! -x "$TOOLS/bench_allreduce" ]; then
  skip "needs cluster_switch and bench_allreduce in $TOOLS"
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
shift 2
[ $# -gt 0 ] || set -- 0:0 2:0 20:0 0:1 2:1

# allreduce_ms WAY SIZES...: milliseconds of bench_allreduce's WAY (plain or
# buckets) between kc1 and kc2.
allreduce_ms() {
  local way=$1
  shift
  # shellcheck disable=SC2046  # the mpirun arguments are words
  on_host 1 mpirun -np 2 $(cluster_mpirun_args 2) "$TOOLS/bench_allreduce" -s 0.2 "$@" \
    2>>"$WORK/mpirun.log" |
    awk -v w="$way" '$1 == w { for (i = 2; i < NF; i++) if ($(i + 1) == "us") printf "%.2f", $i / 1e3 }'
}

CLUSTER_LINK=tap cluster_up 2
status=0
printf '%8s %6s %10s %9s %12s %16s %16s %16s\n' delay-ms loss-% samples/s step-ms \
  exposed-ms first..last-ms plain-allreduce buckets-allreduce
for conf in "$@"; do
  IFS=: read -r ms pct <<<"$conf"
  switch_start "$ms" "$pct" 2>>"$WORK/switch.log"
  dir=$WORK/$ms-$pct
  fmnist_kurfile "$dir" 128 "${KURC_BENCH_BATCHES:-10}" "$FMNIST_MLP"
  cluster_start 2 "$dir" -v
  reap "$PID" 600
  rate=$(grep -aE '^Epoch 2/2' "$dir/out" | sed -E 's/.*\(([0-9.]+) samples\/s\).*/\1/')
  if [ "$RC" -ne 0 ] || [ -z "$rate" ]; then
    echo "bench_network: $conf: status $RC: $(why "$dir/out")" >&2
    status=1
    continue
  fi
  read -r exposed window <<<"$(grep -a 'communication:' "$dir/out" | tail -1 |
    sed -E 's/.*\(([0-9.]+) ms per step; ([0-9.]+) ms per step.*/\1 \2/')"
  read -r -a sizes <<<"$(grep -ao 'gradients: .*' "$dir/out" | grep -oE '\(([0-9]+) floats\)' |
    grep -oE '[0-9]+' | tr '\n' ' ')"
  floats=$(IFS=+ && echo "$((${sizes[*]}))")
  printf '%8s %6s %10s %9.1f %12s %16s %16s %16s\n' "$ms" "$pct" "$rate" \
    "$(awk -v r="$rate" 'BEGIN { print 128e3 / r }')" "$exposed" "$window" \
    "$(allreduce_ms plain "$floats") ms" "$(allreduce_ms buckets "${sizes[@]}") ms"
done
switch_stop 2>>"$WORK/switch.log"
tail -1 "$WORK/switch.log"
exit "$status"
