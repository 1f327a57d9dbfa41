#!/usr/bin/env bash
# test_resume.sh BIN_DIR TOOLS_DIR - a checkpoint written mid-epoch on 4
# ranks resumes on 2 and ends where an uninterrupted run ends: bitwise in
# deterministic mode, within 1e-5 by default.  The first part stops at a
# known batch: with --step rank 0 waits for a line of its input before each
# batch; after 17 lines, SIGUSR1 lets the 18th batch run and stops there.
. "$(dirname "$0")/lib.sh"

export CHECKPOINT="{path: ck.kurc, batches: 7}"
for mode in det default; do
  settings=()
  tol=()
  if [ $mode = det ]; then settings=("deterministic: yes" "deterministic_chunk: 4"); else tol=(1e-5); fi
  # uninterrupted: 3 epochs of 10 batches on 2 ranks
  EPOCHS="{number: 3, mode: total}" kurfile "$WORK/$mode-all" 24 bn "${settings[@]}"
  run 2 "$WORK/$mode-all" || fail "$mode uninterrupted: $(why "$WORK/$mode-all/out")"
  # on 4 ranks, stopped by a signal after batch 8 of epoch 2
  EPOCHS="{number: 3, mode: total}" kurfile "$WORK/$mode-part" 24 bn "${settings[@]}"
  rm -f "$WORK/lines" && mkfifo "$WORK/lines"
  (cd "$WORK/$mode-part" && exec mpirun -np 4 "$BIN/kurc-train" --step k.yml) \
    <"$WORK/lines" >"$WORK/$mode-part/out" 2>&1 &
  PID=$!
  exec 3>"$WORK/lines"
  yes '' | head -n 17 >&3
  for _ in $(seq 600); do
    [ "$(grep -c 'press ENTER' "$WORK/$mode-part/out")" -lt 18 ] || break
    sleep 0.1
  done
  grep -q "^Training, Batch 8: press ENTER" "$WORK/$mode-part/out" ||
    fail "$mode first part: no 18th batch: $(why "$WORK/$mode-part/out")"
  kill -USR1 $PID
  reap $PID 30
  exec 3>&-
  [ "$RC" -eq 3 ] || fail "$mode first part: exit status $RC, not 3: $(why "$WORK/$mode-part/out")"
  # then on 2 ranks, from that checkpoint, to 3 epochs in all
  EPOCHS="{number: 3, mode: total}" kurfile "$WORK/$mode-part" 24 bn "${settings[@]}"
  run 2 "$WORK/$mode-part" -v || fail "$mode resumed: $(why "$WORK/$mode-part/out")"
  if grep -q "resuming from checkpoint ck.kurc (1 epochs and 8 batches done)" "$WORK/$mode-part/out"; then
    ok "$mode: resumed on 2 ranks after epoch 2, batch 8 (written on 4)"
  else
    fail "$mode: did not resume from the mid-epoch checkpoint: $(grep -i resum "$WORK/$mode-part/out")"
  fi
  if out=$(same "$WORK/$mode-all/last.w" "$WORK/$mode-part/last.w" "${tol[@]}"); then
    ok "$mode: resumed and uninterrupted runs agree ($out)"
  else
    fail "$mode: resumed and uninterrupted runs differ: $out"
  fi
done
finish
