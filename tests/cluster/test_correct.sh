#!/usr/bin/env bash
# test_correct.sh BIN_DIR TOOLS_DIR - deterministic training across 2 and 4
# simulated hosts (one rank each, Open MPI over TCP) ends bitwise where one
# process ends.
# shellcheck source=/dev/null
. "$(dirname "$0")/../mpi/lib.sh"
# shellcheck source=/dev/null
. "$(dirname "$0")/cluster.sh"

cluster_up 4
cluster_kurfile "$WORK/one" 2
run 0 "$WORK/one" || fail "one process: $(why "$WORK/one/out")"
for n in 2 4; do
  cluster_kurfile "$WORK/n$n" 2
  cluster_run "$n" "$WORK/n$n"
  if [ "$RC" -ne 0 ]; then
    fail "$n hosts: status $RC after $TOOK s: $(why "$WORK/n$n/out")"
  elif out=$(same "$WORK/one/last.w" "$WORK/n$n/last.w"); then
    ok "$n hosts ($TOOK s): bitwise the weights of one process ($out)"
  else
    fail "$n hosts: the weights differ from one process: $out"
  fi
done
cluster_clean 5 || fail "processes left on the hosts: $LEFT"
finish
