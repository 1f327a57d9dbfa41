#!/usr/bin/env bash
# check_error.sh KURC CASES FILE
# Looks FILE up in CASES (lines "FILE | EXIT | EXPECTED STDERR"), runs
# `KURC dump FILE`, and checks that it exits with EXIT, prints nothing on
# stdout, and that its stderr is exactly EXPECTED STDERR.
set -u
kurc=$1 cases=$2 file=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/harness.sh" "$tmp"
line=$(grep -F -- "$file | " "$cases" | head -n 1)
if [ -z "$line" ]; then
  fail "$file" "no case for it in $cases"
  finish
fi
code=${line#* | }
expected=${code#* | }
code=${code%% | *}
"$kurc" dump "$file" >"$tmp/out" 2>"$tmp/err"
status=$?
if [ "$status" -eq "$code" ]; then
  ok "exit status $code"
else
  fail "exit status" "$status, expected $code"
fi
if [ -s "$tmp/out" ]; then
  fail "nothing on stdout" "unexpected output:"
  cat "$tmp/out"
else
  ok "nothing on stdout"
fi
actual=$(cat "$tmp/err")
if [ "$actual" = "$expected" ]; then
  ok "the message on stderr"
else
  fail "the message on stderr" "it differs:"
  echo "  expected: $expected"
  echo "  actual:   $actual"
fi
finish
