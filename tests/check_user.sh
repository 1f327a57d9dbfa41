#!/usr/bin/env bash
# check_user.sh KURC CASES LINE - one line of CASES ("FILE | COMMAND | EXIT
# | STDERR"): runs `KURC --no-color COMMAND FILE` (COMMAND may carry
# options: "build -b") and checks that it exits with EXIT and that its
# stderr is exactly STDERR, with each log line's "[LEVEL hh:mm:ss] " written
# "level: " and the lines joined by " // " (empty: no output).  Its stdout
# is not checked.
set -u
kurc=$1 cases=$2 n=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/harness.sh" "$tmp"
line=$(grep -v '^#' "$cases" | sed -n "${n}p")
if [ -z "$line" ]; then
  fail "case $n" "no line $n in $cases"
  finish
fi
IFS='|' read -r file command code expected <<<"$line"
file=$(echo "$file" | xargs) command=$(echo "$command" | xargs) code=$(echo "$code" | xargs)
expected=${expected# }
# shellcheck disable=SC2086 # COMMAND is a command and its options
"$kurc" --no-color $command "$file" >"$tmp/out" 2>"$tmp/err" </dev/null
status=$?
if [ "$status" -eq "$code" ]; then
  ok "kurc $command $file: exit status $code"
else
  fail "kurc $command $file: exit status" "$status, expected $code"
fi
actual=$(sed -E 's/^\[([A-Z]+) [0-9:]+\] /\L\1: /' "$tmp/err" | awk 'NR > 1 { printf " // " } { printf "%s", $0 }')
if [ "$actual" = "$expected" ]; then
  ok "the messages on stderr"
else
  fail "the messages on stderr" "they differ:"
  echo "  expected: $expected"
  echo "  actual:   $actual"
fi
finish
