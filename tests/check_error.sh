#!/usr/bin/env bash
# check_error.sh KURC COMMAND KURFILE EXIT_CODE EXPECTED_LINE
# Runs `KURC COMMAND KURFILE` and checks that it exits with EXIT_CODE, prints
# nothing on stdout, and that its stderr is exactly EXPECTED_LINE.
set -u
kurc=$1 command=$2 kurfile=$3 code=$4 expected=$5
out=$(mktemp) errf=$(mktemp)
trap 'rm -f "$out" "$errf"' EXIT
"$kurc" $command "$kurfile" >"$out" 2>"$errf"
status=$?
fail=0
if [ "$status" -ne "$code" ]; then
  echo "exit status $status, expected $code"
  fail=1
fi
if [ -s "$out" ]; then
  echo "unexpected output on stdout:"; cat "$out"
  fail=1
fi
actual=$(cat "$errf")
if [ "$actual" != "$expected" ]; then
  echo "stderr differs:"
  echo "  expected: $expected"
  echo "  actual:   $actual"
  fail=1
fi
exit $fail
