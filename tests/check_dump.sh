#!/usr/bin/env bash
# check_dump.sh KURC KURFILE EXPECTED [--pre-parse]
# Runs `KURC dump [--pre-parse] KURFILE` and compares its output byte for byte
# with EXPECTED (a dump written by hand from Kur's rules).
set -u
kurc=$1 kurfile=$2 expected=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/harness.sh" "$tmp"
if ! "$kurc" dump "$@" "$kurfile" >"$tmp/actual"; then
  fail "kurc dump $* $kurfile" "it failed"
elif ! diff -u "$expected" "$tmp/actual"; then
  fail "kurc dump $* $kurfile" "differs from $expected"
else
  ok "kurc dump $* $kurfile is $expected"
fi
finish
