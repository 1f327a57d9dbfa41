#!/usr/bin/env bash
# test_resume.sh BIN_DIR TOOLS_DIR - a checkpoint written mid-epoch on 4
# ranks resumes on 2 and ends where an uninterrupted run ends: bitwise in
# deterministic mode, within 1e-5 by default.
. "$(dirname "$0")/lib.sh"

export CHECKPOINT="{path: ck.kurc, batches: 7}"
for mode in det default; do
  settings=()
  tol=()
  if [ $mode = det ]; then settings=("deterministic: yes" "deterministic_chunk: 4"); else tol=(1e-5); fi
  # uninterrupted: 3 epochs of 10 batches on 2 ranks
  EPOCHS="{number: 3, mode: total}" kurfile "$WORK/$mode-all" 24 bn "${settings[@]}"
  run 2 "$WORK/$mode-all" || fail "$mode uninterrupted: $(tail -3 "$WORK/$mode-all/out")"
  # 1 epoch on 4 ranks: the last checkpoint is after batch 7 of epoch 1
  EPOCHS="{number: 1, mode: total}" kurfile "$WORK/$mode-part" 24 bn "${settings[@]}"
  run 4 "$WORK/$mode-part" || fail "$mode first part: $(tail -3 "$WORK/$mode-part/out")"
  # then on 2 ranks, from that checkpoint, to 3 epochs in all
  EPOCHS="{number: 3, mode: total}" kurfile "$WORK/$mode-part" 24 bn "${settings[@]}"
  run 2 "$WORK/$mode-part" -v || fail "$mode resumed: $(tail -3 "$WORK/$mode-part/out")"
  if grep -q "resuming from checkpoint ck.kurc (0 epochs and 7 batches done)" "$WORK/$mode-part/out"; then
    ok "$mode: resumed on 2 ranks after epoch 1, batch 7 (written on 4)"
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
