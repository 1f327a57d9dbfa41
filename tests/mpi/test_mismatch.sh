#!/usr/bin/env bash
# test_mismatch.sh BIN_DIR TOOLS_DIR - ranks started on different Kurfiles
# (an MPMD command line) are stopped at start-up by the fingerprint, with a
# message naming the ranks that differ from rank 0.
. "$(dirname "$0")/lib.sh"

kurfile "$WORK" 24 mlp
sed 's/learning_rate: 0.05/learning_rate: 0.06/' "$WORK/k.yml" >"$WORK/b.yml"
sed 's/dense: 32/dense: 33/' "$WORK/k.yml" >"$WORK/c.yml"
[ "$(diff "$WORK/k.yml" "$WORK/b.yml" | grep -c '^<')" -eq 1 ] || fail "b.yml should differ in one line"

mpmd() { # NAME PATTERN mpirun-args...
  local name=$1 pattern=$2
  shift 2
  local t0=$(date +%s)
  (cd "$WORK" && mpirun "$@") >"$WORK/out" 2>&1
  local rc=$? took=$(($(date +%s) - t0))
  if [ $rc -ne 0 ] && [ $took -lt 30 ] && grep -qE -- "$pattern" "$WORK/out"; then
    ok "$name: status $rc in ${took} s: $(grep -m1 -oE -- "$pattern.*" "$WORK/out" | cut -c1-150)"
  else
    fail "$name: status $rc after ${took} s: $(why "$WORK/out")"
  fi
  [ ! -e "$WORK/last.w" ] || fail "$name: weights were written"
}
mpmd "one line of the Kurfile" "rank 0 of 2: rank 1 differs from rank 0 in the Kurfile" \
  -np 1 "$BIN/kurc-train" k.yml : -np 1 "$BIN/kurc-train" b.yml
mpmd "two ranks of three" "ranks 1, 2 differ from rank 0 in the Kurfile" \
  -np 1 "$BIN/kurc-train" k.yml : -np 2 "$BIN/kurc-train" b.yml
mpmd "the model" "rank 2 differs from rank 0 in the Kurfile; rank 2 differs from rank 0 in the model" \
  -np 2 "$BIN/kurc-train" k.yml : -np 1 "$BIN/kurc-train" c.yml
# the same Kurfile on different data of the same size (each rank in its own
# directory): the digest of the contents tells them apart
mkdir -p "$WORK/a" "$WORK/b"
cp "$WORK/k.yml" "$WORK/data.jsonl" "$WORK/a/"
cp "$WORK/k.yml" "$WORK/b/"
awk 'NR == 1 { if (!sub(/\[1, 0, 0\]/, "[0, 0, 1]")) sub(/\[0, [01], [01]\]/, "[1, 0, 0]") } 1' \
  "$WORK/data.jsonl" >"$WORK/b/data.jsonl"
[ "$(wc -c <"$WORK/b/data.jsonl")" -eq "$(wc -c <"$WORK/data.jsonl")" ] &&
  ! cmp -s "$WORK/data.jsonl" "$WORK/b/data.jsonl" || fail "b/data.jsonl should differ, same size"
mpmd "data of the same size" "rank 1 differs from rank 0 in the data" \
  -np 1 -wdir "$WORK/a" "$BIN/kurc-train" k.yml : -np 1 -wdir "$WORK/b" "$BIN/kurc-train" k.yml
[ ! -e "$WORK/a/last.w" ] || fail "data of the same size: weights were written"
# and the same Kurfile under two names is no mismatch
cp "$WORK/k.yml" "$WORK/same.yml"
if (cd "$WORK" && mpirun -np 1 "$BIN/kurc-train" k.yml : -np 1 "$BIN/kurc-train" same.yml) >"$WORK/out" 2>&1; then
  ok "identical Kurfiles under two names train"
else
  fail "identical Kurfiles: $(why "$WORK/out")"
fi
finish
