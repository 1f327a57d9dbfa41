# tests/harness.sh - the checks every shell test shares; sourced as
#   . "$(dirname "$0")/harness.sh" [SCRATCH_DIR]
# Each check prints "ok   NAME" or "FAIL NAME: why" and is counted;
# finish prints "N passed, N failed" and exits 0 only when none failed;
# skip exits 77 (ctest's skip) with "skipped: WHY".  expect keeps the
# output of the command it runs in SCRATCH_DIR (default: the current
# directory).  Pass SCRATCH_DIR (or "") explicitly when sourcing from a
# function or another sourced file, which would hand on their arguments.
# shellcheck shell=bash
harness_dir=${1:-.}
total=0 fails=0

# ok NAME...: a check passed.
ok() {
  total=$((total + 1))
  echo "ok   $*"
}

# fail NAME [WHY]: a check failed.
fail() {
  total=$((total + 1))
  fails=$((fails + 1))
  echo "FAIL $1${2:+: $2}"
}

# why FILE: what a failed run printed that tells why: kurc's own error
# lines and any sanitizer report (up to 8 lines), or, when there are none,
# its last 3 lines (the end of mpirun's banner alone hides which rank said
# what).
why() {
  local lines
  lines=$(grep -E '^kurc|Sanitizer|runtime error|^    #[0-9]' "$1" 2>/dev/null | head -n 8)
  if [ -n "$lines" ]; then echo "$lines"; else tail -3 "$1"; fi
}

# loaded_libs PATTERN COMMAND...: runs COMMAND under the loader's
# LD_DEBUG=libs, its output in SCRATCH_DIR/out and SCRATCH_DIR/err; prints
# the file names of the shared libraries matching PATTERN (an extended
# regex) that it initialised, sorted, one a line; returns COMMAND's status.
loaded_libs() {
  local pattern=$1 status
  shift
  LD_DEBUG=libs LD_DEBUG_OUTPUT="$harness_dir/ld" "$@" >"$harness_dir/out" 2>"$harness_dir/err"
  status=$?
  grep -hoE "calling init: [^ ]*($pattern)[^ ]*" "$harness_dir"/ld.* 2>/dev/null | sed 's|.*/||' | sort -u
  rm -f "$harness_dir"/ld.*
  return $status
}

# skip WHY: the whole test cannot run here.
skip() {
  echo "skipped: $*"
  exit 77
}

# finish: the summary line and the exit status.
finish() {
  echo "$((total - fails)) passed, $fails failed"
  [ "$fails" -eq 0 ]
  exit
}

# expect NAME STATUS STDOUT_PATTERN STDERR_PATTERN -- COMMAND...: runs
# COMMAND with its stdout in $harness_dir/out and its stderr in
# $harness_dir/err, and checks its exit status and that a line of each
# matches its pattern (ERE; an empty pattern matches anything).  On
# failure it prints the last lines of both outputs.
expect() {
  local name=$1 status=$2 out_pat=$3 err_pat=$4 got=0 good=1
  shift 5
  "$@" >"$harness_dir/out" 2>"$harness_dir/err" || got=$?
  [ "$got" -eq "$status" ] || good=0
  [ -z "$out_pat" ] || grep -qE -- "$out_pat" "$harness_dir/out" || good=0
  [ -z "$err_pat" ] || grep -qE -- "$err_pat" "$harness_dir/err" || good=0
  if [ $good -eq 1 ]; then
    ok "$name"
  else
    fail "$name" "status $got (want $status)"
    sed 's/^/  stdout: /' "$harness_dir/out" | tail -n 40
    sed 's/^/  stderr: /' "$harness_dir/err" | tail -n 40
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
