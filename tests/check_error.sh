#!/usr/bin/env bash
# check_error.sh KURC CASES FILE
# Looks FILE up in CASES (lines "FILE | EXIT | EXPECTED STDERR"), runs
# `KURC dump FILE`, and checks that it exits with EXIT, prints nothing on
# stdout, and that its stderr is exactly EXPECTED STDERR.
set -u
kurc=$1 cases=$2 file=$3
line=$(grep -F -- "$file | " "$cases" | head -n 1)
if [ -z "$line" ]; then
  echo "no case for $file in $cases"
  exit 1
fi
code=${line#* | }
expected=${code#* | }
code=${code%% | *}
out=$(mktemp) errf=$(mktemp)
trap 'rm -f "$out" "$errf"' EXIT
"$kurc" dump "$file" >"$out" 2>"$errf"
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
