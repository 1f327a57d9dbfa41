#!/usr/bin/env bash
# test_accumulate.sh BIN_DIR TOOLS_DIR - train.accumulate: K micro-batches
# of B per optimizer step end where batches of K x B end: bitwise in
# deterministic mode (1 and 2 ranks; batch normalisation, dropout, Adam
# with norm clipping; a global batch the parts cannot split evenly), within
# 1e-6 by default; a run resumed from a checkpoint of an accumulating run
# (after an epoch, or stopped by a signal in the middle of one on 2 ranks
# and resumed on 1) ends bitwise where an uninterrupted one ends; the log
# counts optimizer steps and samples.
. "$(dirname "$0")/lib.sh"

# acc_kurfile DIR BATCH K MODEL [settings lines...]: kurfile's with 2
# epochs of Adam with clipping, K micro-batches per step and a log; model
# mlp, dropout or bndrop (batch normalisation and dropout).
acc_kurfile() {
  local dir=$1 batch=$2 k=$3 model=$4
  shift 4
  OPTIMIZER="{name: adam, learning_rate: 0.01, clip: {norm: 0.5}}" TRAIN="accumulate: $k
log: log" kurfile "$dir" "$batch" "$model" "$@"
}

# compare NAME NP B K BIG MODEL TOL [settings...]: accumulate K of B against
# one batch of BIG (= K x B) on NP ranks (0: no mpirun).
compare() {
  local name=$1 np=$2 b=$3 k=$4 big=$5 model=$6 tol=$7
  shift 7
  local a="$WORK/$name-acc" o="$WORK/$name-one"
  acc_kurfile "$a" "$b" "$k" "$model" "$@"
  acc_kurfile "$o" "$big" 1 "$model" "$@"
  run "$np" "$a" -v || { fail "$name: accumulating: $(why "$a/out")"; return; }
  run "$np" "$o" || { fail "$name: one batch: $(why "$o/out")"; return; }
  local out
  if out=$(same "$o/last.w" "$a/last.w" $tol); then
    ok "$name: accumulate $k x $b == batch $big on $np ranks (${tol:-bitwise}: $out)"
  else
    fail "$name: accumulate $k x $b differs from batch $big on $np ranks: $out"
  fi
}

det=("deterministic: yes" "deterministic_chunk: 4")
compare det-mlp-k2 0 12 2 24 mlp "" "${det[@]}"
compare det-drop-k3 0 10 3 30 dropout "" "${det[@]}"   # 8 chunks of 4 (the last 2)
compare det-drop-k3-np2 2 10 3 30 dropout "" "${det[@]}"
compare det-drop-k2-np2 2 12 2 24 dropout "" "${det[@]}"
# 4 chunks, 2 per rank in 3 parts: each rank's first part is empty
compare det-drop-k3-empty-np2 2 5 3 15 dropout "" "${det[@]}"
compare det-bndrop-k2 0 12 2 24 bndrop "" "${det[@]}"
compare det-bndrop-k3-np2 2 10 3 30 bndrop "" "${det[@]}"
compare default-drop-k3 0 10 3 30 dropout 1e-6
compare default-drop-k2-np2 2 12 2 24 dropout 1e-6
compare default-bndrop-k2-np2 2 12 2 24 bndrop 1e-6

# the parts are really separate passes (no batch norm) or one (batch norm)
if grep -q "3 micro-batches of 10 per optimizer step (global batch 30), one pass per micro-batch" \
  "$WORK/det-drop-k3-np2-acc/out"; then
  ok "-v says how the accumulated step runs"
else
  fail "-v: no plan line: $(grep accumulate "$WORK/det-drop-k3-np2-acc/out")"
fi
grep -q "in one pass per rank (batch normalisation" "$WORK/det-bndrop-k3-np2-acc/out" ||
  fail "-v: batch normalisation's plan line missing"

# one gradient reduction per optimizer step (10 per epoch of 240 / 24), not
# per micro-batch
if [ "$(grep -c "communication: .* over 10 steps" "$WORK/default-drop-k2-np2-acc/out")" -eq 2 ]; then
  ok "-v: one gradient reduction per optimizer step"
else
  fail "-v communication: $(grep communication "$WORK/default-drop-k2-np2-acc/out")"
fi

# the log counts optimizer steps (240 / 30 = 8 per epoch) and samples
summary="$WORK/det-drop-k3-np2-acc/log/summary.yml"
if grep -q "^batches: 16$" "$summary" && grep -q "^samples: 480$" "$summary"; then
  ok "log: 16 optimizer steps and 480 samples in 2 epochs"
else
  fail "log summary: $(cat "$summary")"
fi

# resume: 1 epoch, then a second run to 2 epochs in all from its checkpoint
for np in 0 2; do
  d="$WORK/resume-$np"
  EPOCHS="{number: 1, mode: total}" CHECKPOINT="{path: ck.kurc, batches: 3}" \
    acc_kurfile "$d" 10 3 dropout "${det[@]}"
  run "$np" "$d" || fail "resume first part on $np ranks: $(why "$d/out")"
  EPOCHS="{number: 2, mode: total}" CHECKPOINT="{path: ck.kurc, batches: 3}" \
    acc_kurfile "$d" 10 3 dropout "${det[@]}"
  run "$np" "$d" || fail "resume second part on $np ranks: $(why "$d/out")"
  grep -q "resuming from checkpoint ck.kurc (1 epochs and 0 batches done)" "$d/out" ||
    fail "resume on $np ranks did not resume: $(why "$d/out")"
  if out=$(same "$WORK/det-drop-k3-acc/last.w" "$d/last.w"); then
    ok "accumulate 3 resumed after epoch 1 on $np ranks ends bitwise where one run ends"
  else
    fail "accumulate 3 resumed on $np ranks differs: $out"
  fi
done

# stopped by a signal in the middle of epoch 2 on 2 ranks (--step: rank 0
# waits for a line before each optimizer step; after 10 lines, SIGUSR1 lets
# the 11th step run whole and stops there), resumed on 1 rank
d="$WORK/signal"
EPOCHS="{number: 2, mode: total}" CHECKPOINT="{path: ck.kurc, batches: 100}" \
  acc_kurfile "$d" 10 3 dropout "${det[@]}"
stop_by_signal 2 "$d" 10
[ "$RC" -eq 3 ] || fail "signal: exit status $RC, not 3: $(why "$d/out")"
run 0 "$d" || fail "signal: resumed: $(why "$d/out")"
if grep -q "resuming from checkpoint ck.kurc (1 epochs and 3 batches done)" "$d/out" &&
  out=$(same "$WORK/det-drop-k3-acc/last.w" "$d/last.w"); then
  ok "stopped after step 3 of epoch 2 on 2 ranks, resumed on 1: bitwise where one run ends"
else
  fail "signal: $(grep -i resum "$d/out") ${out:-}"
fi
finish
