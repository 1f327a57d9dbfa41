# tests/expect.sh - the check that the command-line tests (test_cli.sh,
# launch/test_kurc_run.sh, e2e/*.sh) share; sourced with a scratch folder:
#   . "$(dirname "$0")/expect.sh" "$tmp"
# It counts checks in total and failed ones in fails.
# shellcheck shell=bash
expect_dir=$1
total=0 fails=0

# expect NAME STATUS STDOUT_PATTERN STDERR_PATTERN -- COMMAND...: runs
# COMMAND with its stdout in $expect_dir/out and its stderr in
# $expect_dir/err, and checks its exit status and that a line of each
# matches its pattern (ERE; an empty pattern matches anything).  Prints
# "ok   NAME", or "FAIL NAME: ..." and the last lines of both outputs.
expect() {
  local name=$1 status=$2 out_pat=$3 err_pat=$4 got=0 ok=1
  shift 5
  "$@" >"$expect_dir/out" 2>"$expect_dir/err" || got=$?
  total=$((total + 1))
  [ "$got" -eq "$status" ] || ok=0
  [ -z "$out_pat" ] || grep -qE -- "$out_pat" "$expect_dir/out" || ok=0
  [ -z "$err_pat" ] || grep -qE -- "$err_pat" "$expect_dir/err" || ok=0
  if [ $ok -eq 1 ]; then
    echo "ok   $name"
  else
    echo "FAIL $name: status $got (want $status)"
    sed 's/^/  stdout: /' "$expect_dir/out" | tail -n 40
    sed 's/^/  stderr: /' "$expect_dir/err" | tail -n 40
    fails=$((fails + 1))
  fi
}

# expect_loss_lowers NAME FILE: FILE (kurc's training output) has epoch
# lines "Epoch N/M, loss=X" and the last epoch's loss is below the first's.
expect_loss_lowers() {
  local name=$1 file=$2 losses
  losses=$(sed -n 's/^Epoch [0-9]*\/[0-9]*, loss=\([0-9.e+-]*\).*/\1/p' "$file")
  expect "$name" 0 '' '' -- awk -v l="$(echo $losses)" 'BEGIN {
    n = split(l, x, " "); if (n < 2 || x[n] + 0 >= x[1] + 0) { print "losses: " l; exit 1 } }'
}

# mpirun_np N COMMAND...: runs COMMAND on N ranks with Open MPI (allowed
# to run as root, oversubscribed above the cores).
mpirun_np() {
  local n=$1
  shift
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np "$n" --oversubscribe "$@"
}
