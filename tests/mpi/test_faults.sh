#!/usr/bin/env bash
# test_faults.sh BIN_DIR TOOLS_DIR - no failure hangs the job: a rank
# killed with SIGKILL, and a kurc error on one rank, end every rank within
# seconds with a message naming the rank.
. "$(dirname "$0")/lib.sh"

# a rank killed outright
EPOCHS=inf kurfile "$WORK/kill" 24 mlp
start 2 "$WORK/kill"
wait_for "$WORK/kill/out" "^Epoch 2" 30 || fail "kill: training did not start: $(why "$WORK/kill/out")"
victim=$(ranks $PID | tail -1)
kill -KILL "$victim"
reap $PID 30
if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; then
  ok "SIGKILL of one rank: the job ended (status $RC) in $TOOK s"
else
  fail "SIGKILL of one rank: status $RC after $TOOK s"
fi
if grep -qE "process rank [0-9]+ with PID [0-9]+ on node .* exited on signal 9" "$WORK/kill/out"; then
  ok "SIGKILL of one rank: the message names it ($(grep -oE "process rank [0-9]+ with PID [0-9]+ on node .* exited on signal 9[^.]*" "$WORK/kill/out"))"
else
  fail "SIGKILL of one rank: no message naming it: $(why "$WORK/kill/out")"
fi
for p in $(ranks $PID); do fail "a rank survived: $p"; kill -KILL "$p"; done

# a kurc error on rank 1 only (its Kurfile names data that is not there)
kurfile "$WORK/err" 24 mlp
sed 's/data.jsonl/missing.jsonl/' "$WORK/err/k.yml" >"$WORK/err/bad.yml"
t0=$(date +%s)
(cd "$WORK/err" && mpirun -np 1 "$BIN/kurc-train" k.yml : -np 1 "$BIN/kurc-train" bad.yml) >"$WORK/err/out" 2>&1
rc=$?
took=$(($(date +%s) - t0))
if [ $rc -ne 0 ] && [ $took -lt 30 ] && grep -q "kurc: rank 1 of 2: .*missing.jsonl" "$WORK/err/out"; then
  ok "an error on rank 1 ends the job (status $rc, ${took} s): $(grep -m1 'kurc: rank 1' "$WORK/err/out")"
else
  fail "an error on rank 1: status $rc after ${took} s: $(why "$WORK/err/out")"
fi
finish
