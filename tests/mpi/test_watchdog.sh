#!/usr/bin/env bash
# test_watchdog.sh BIN_DIR TOOLS_DIR - a rank that stops answering (SIGSTOP)
# leaves the others waiting in a collective; with settings.comm_timeout: 3
# rank 0's watchdog names the collective and the stopped rank, and ends the
# job within a few seconds of the timeout.  Start-up is not held to a
# short comm_timeout: rank 0 loading data that takes longer while rank 1
# waits is no stall.
. "$(dirname "$0")/lib.sh"

EPOCHS=inf kurfile "$WORK" 24 mlp "comm_timeout: 3"
start 2 "$WORK"
wait_for "$WORK/out" "^Epoch 2" 30 || fail "training did not start: $(why "$WORK/out")"
stopped=$(ranks $PID | tail -1)
kill -STOP "$stopped"
reap $PID 20
if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; then
  ok "a stopped rank: the job ended (status $RC) $TOOK s after SIGSTOP"
else
  fail "a stopped rank: status $RC after $TOOK s"
fi
if grep -qE "kurc: rank 0 \(host [^)]*\): MPI_[A-Za-z]+ of .* has not completed after [3-9] s.*: rank 1 \(host [^)]*\) has made no progress" "$WORK/out"; then
  ok "the watchdog names the call and the stopped rank: $(grep -oE "rank 0 \(host .*: MPI_[A-Za-z]+ of .* has not completed after [0-9]+ s.*" "$WORK/out")"
else
  fail "no watchdog message: $(why "$WORK/out")"
fi
# mpirun resumes the stopped rank (SIGCONT) and ends it
i=0
while kill -0 "$stopped" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$stopped" 2>/dev/null; then
  fail "the stopped rank survived 10 s: $(ps -o pid,stat,args -p "$stopped" | tail -1)"
  kill -KILL "$stopped"
else
  ok "the stopped rank is gone too"
fi

# slow start-up: a CSV of 400k columns takes seconds to load, first on
# rank 0 (rank 1 waiting in a barrier), then on rank 1 (rank 0 waiting in
# the start-up check); comm_timeout: 1 must not end the job
mkdir -p "$WORK/slow"
awk 'BEGIN {
  n = 400000
  for (r = 0; r < 3; r++)
    for (i = 0; i < n; i++) printf "%s%s", r ? (i + r) % 7 : "c" i, i + 1 < n ? "," : "\n"
}' >"$WORK/slow/wide.csv"
printf '%s\n' "settings:" "  comm_timeout: 1" "model:" "  - input: c0" "  - dense: 1" \
  "    name: c1" "loss:" "  - target: c1" "    name: mean_squared_error" "train:" "  data:" \
  "    - csv: wide.csv" "  epochs: 1" "  provider: {batch_size: 2}" >"$WORK/slow/k.yml"
t0=$(date +%s)
if run 2 "$WORK/slow" && grep -q "Completed 1 epochs" "$WORK/slow/out"; then
  ok "start-up longer than comm_timeout (1 s) trains: $(($(date +%s) - t0)) s"
else
  fail "slow start-up with comm_timeout: 1: $(grep kurc: "$WORK/slow/out" | tail -3)"
fi
finish
