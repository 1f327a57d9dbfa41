#!/usr/bin/env bash
# test_signals.sh BIN_DIR TOOLS_DIR - a stop signal is agreed by every rank
# at a batch boundary; rank 0 saves the `last` weights and the checkpoint,
# says so once, and the job exits 3.
#   SIGUSR1 to mpirun (it forwards USR1 to every rank): exit 3.
#   SIGTERM to every rank (what SLURM does at a time limit): exit 3.
#   SIGINT to a single process (Ctrl+C without mpirun): exit 3.
#   SIGTERM (or SIGINT, Ctrl+C) to mpirun itself: Open MPI does not forward
#   it but kills the job, so there is nothing to save; the test checks that
#   the job ends.  (launch/kurc-run turns them into SIGUSR1.)
. "$(dirname "$0")/lib.sh"

long() { # DIR: a run that would last for ever
  EPOCHS=inf CHECKPOINT="{path: ck.kurc, epochs: 1000}" kurfile "$1" 24 mlp
}

check_saved() { # NAME DIR SIGNAL WANT_RC
  local name=$1 dir=$2 sig=$3 want=$4
  if [ "$RC" -eq "$want" ]; then ok "$name: exit status $RC"; else fail "$name: exit status $RC, not $want: $(why "$dir/out")"; fi
  if [ -s "$dir/last.w" ] && [ -s "$dir/ck.kurc" ]; then
    ok "$name: last weights and checkpoint saved"
  else
    fail "$name: last.w or ck.kurc missing: $(ls "$dir")"
  fi
  local said
  said=$(grep -c "stopped by signal $sig after epoch" "$dir/out")
  if [ "$said" -eq 1 ]; then ok "$name: one rank says it stopped"; else fail "$name: $said lines say it stopped: $(why "$dir/out")"; fi
  [ ! -e "$dir/ck.kurc.tmp" ] || fail "$name: a temporary checkpoint was left behind"
}

# SIGUSR1 to mpirun
long "$WORK/usr1"
start 2 "$WORK/usr1"
wait_for "$WORK/usr1/out" "^Epoch 2" 30 || fail "usr1: training did not start: $(why "$WORK/usr1/out")"
kill -USR1 $PID
reap $PID 30
check_saved "SIGUSR1 to mpirun" "$WORK/usr1" 10 3
# and the checkpoint resumes
EPOCHS="{number: 1, mode: additional}" CHECKPOINT="{path: ck.kurc, epochs: 1000}" kurfile "$WORK/usr1" 24 mlp
if run 2 "$WORK/usr1" -v && grep -q "resuming from checkpoint ck.kurc" "$WORK/usr1/out"; then
  ok "SIGUSR1: the checkpoint resumes"
else
  fail "SIGUSR1: the checkpoint does not resume: $(why "$WORK/usr1/out")"
fi

# SIGTERM to every rank, 3 ranks
long "$WORK/term"
start 3 "$WORK/term"
wait_for "$WORK/term/out" "^Epoch 2" 30 || fail "term: training did not start"
for p in $(ranks $PID); do kill -TERM "$p"; done
reap $PID 30
check_saved "SIGTERM to every rank" "$WORK/term" 15 3

# SIGINT (Ctrl+C) to a run without mpirun
long "$WORK/int"
(cd "$WORK/int" && exec "$BIN/kurc-train" k.yml) >"$WORK/int/out" 2>&1 &
PID=$!
wait_for "$WORK/int/out" "^Epoch 2" 30 || fail "int: training did not start"
kill -INT $PID
reap $PID 30
check_saved "SIGINT to one process" "$WORK/int" 2 3

# SIGTERM to mpirun itself: Open MPI 4.1 does not forward it, it ends the
# job (SIGCONT, then SIGTERM and SIGKILL after odls_base_sigkill_timeout):
# nothing can be saved, but nothing hangs either
long "$WORK/mpirun"
start 2 "$WORK/mpirun"
wait_for "$WORK/mpirun/out" "^Epoch 2" 30 || fail "mpirun: training did not start"
kill -TERM $PID
reap $PID 30
if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; then
  ok "SIGTERM to mpirun ends the job (status $RC) in $TOOK s"
else
  fail "SIGTERM to mpirun: status $RC after $TOOK s"
fi
finish
