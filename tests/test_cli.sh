#!/usr/bin/env bash
# test_cli.sh BIN_DIR KURFILES_DIR - the command line as a user types it:
# help and version, usage errors, missing files, kurc-train, and commands
# whose engine is not built yet.
set -u
bin=$1 kurfiles=$2
fails=0
total=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME STATUS STDOUT_PATTERN STDERR_PATTERN -- COMMAND...
expect() {
  local name=$1 status=$2 out_pat=$3 err_pat=$4
  shift 5
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  total=$((total + 1))
  local ok=1
  [ "$got" -eq "$status" ] || ok=0
  [ -z "$out_pat" ] || grep -qE -- "$out_pat" "$tmp/out" || ok=0
  [ -z "$err_pat" ] || grep -qE -- "$err_pat" "$tmp/err" || ok=0
  if [ $ok -eq 1 ]; then
    echo "ok   $name"
  else
    echo "FAIL $name: status $got (want $status)"
    sed 's/^/  stdout: /' "$tmp/out"
    sed 's/^/  stderr: /' "$tmp/err"
    fails=$((fails + 1))
  fi
}

ex=$kurfiles/examples/mnist.yml
expect version 0 '^kurc [0-9]+\.[0-9]+\.[0-9]+ \(MPI (yes|no), CUDA (yes|no), NCCL (yes|no)\)$' '' -- "$bin/kurc" --version
expect help 0 'commands:' '' -- "$bin/kurc" --help
expect dump-help 0 'usage: kurc dump \[-p\] KURFILE' '' -- "$bin/kurc" dump --help
expect train-help 0 'usage: kurc-train \[--step\] KURFILE' '' -- "$bin/kurc-train" --help
expect no-command 2 '' 'nothing to do' -- "$bin/kurc"
expect unknown-command 2 '' "unknown command 'dupm'; did you mean 'dump'\?" -- "$bin/kurc" dupm "$ex"
expect unknown-option 2 '' "unknown option '--frobnicate'" -- "$bin/kurc" dump --frobnicate "$ex"
expect missing-kurfile 2 '' 'dump: missing KURFILE' -- "$bin/kurc" dump
expect two-kurfiles 2 '' "unexpected argument" -- "$bin/kurc" dump "$ex" "$ex"
expect no-such-file 2 '' "cannot read Kurfile '/nonexistent/k.yml': No such file or directory" -- "$bin/kurc" dump /nonexistent/k.yml
expect dump-ok 0 '"labels"' '' -- "$bin/kurc" dump "$ex"
expect dump-verbose 0 '"labels"' '' -- "$bin/kurc" -vv --no-color dump "$ex"
expect pre-parse 0 '"2e-4"|"include"|"model"' '' -- "$bin/kurc" dump -p "$ex"
for cmd in train test evaluate data; do
  expect "pending-$cmd" 1 '' "the Kurfile is valid, but '$cmd' is not built yet" -- "$bin/kurc" $cmd "$ex"
done
printf 'model:\n  - input: {shape: [4]}\n    name: x\n  - dense: [3, 2]\n    name: y\n' >"$tmp/m.yml"
expect build-table 0 'y +dense +x +\(2,\) +23' '' -- "$bin/kurc" build "$tmp/m.yml"
expect build-no-shape 2 '' "images \(input\): the input needs a shape" -- "$bin/kurc" build "$ex"
expect kurc-train-pending 1 '' "'train' is not built yet" -- "$bin/kurc-train" -v "$ex"
expect kurc-train-bad-kurfile 2 '' 'unknown section' -- "$bin/kurc-train" "$kurfiles/errors/unknown-section.yml"
expect data-bad-number 2 '' "-n expects a non-negative number" -- "$bin/kurc" data -n x "$ex"

echo "$((total - fails)) passed, $fails failed"
[ $fails -eq 0 ]
