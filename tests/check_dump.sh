#!/usr/bin/env bash
# check_dump.sh KURC KURFILE EXPECTED [--pre-parse]
# Runs `KURC dump [--pre-parse] KURFILE` and compares its output byte for byte
# with EXPECTED (a dump written by hand from Kur's rules).
set -u
kurc=$1 kurfile=$2 expected=$3
shift 3
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT
if ! "$kurc" dump "$@" "$kurfile" >"$actual"; then
  echo "kurc dump $* $kurfile failed"
  exit 1
fi
if ! diff -u "$expected" "$actual"; then
  echo "kurc dump $* $kurfile differs from $expected"
  exit 1
fi
