#!/usr/bin/env bash
# test_fault_loops.sh BIN_DIR TOOLS_DIR - faults at random moments, 20 times
# each (ctest label faults, a few minutes): a random rank of a 2-rank job
# killed with SIGKILL, and rank 0 killed while it saves a checkpoint after
# every batch.  Each time the job must end within 30 s, and the checkpoint
# on disk (if one was written) must load: a 1-rank run resumes from it.
. "$(dirname "$0")/lib.sh"

LOOPS=${KURC_FAULT_LOOPS:-20}
# resumes DIR: the checkpoint in DIR loads (a 1-rank run resumes from it
# and trains one more epoch)
resumes() {
  [ -e "$1/ck.kurc" ] || return 0
  sed 's/^  epochs: .*/  epochs: {number: 1, mode: additional}/' "$1/k.yml" >"$1/r.yml"
  (cd "$1" && "$BIN/kurc-train" r.yml) >"$1/resume" 2>&1
}

# loop NAME VICTIM CHECKPOINT: LOOPS runs, each killing VICTIM (random|0)
# after a random 0.3 to 2.3 s of training
loop() {
  local name=$1 victim=$2 checkpoint=$3 hung=0 broken=0 checked=0 i pid
  for i in $(seq "$LOOPS"); do
    local dir="$WORK/$name$i"
    EPOCHS=inf CHECKPOINT="$checkpoint" kurfile "$dir" 24 mlp
    start 2 "$dir"
    wait_for "$dir/out" "^Epoch 1" 30 || true
    sleep "$(awk -v s="$RANDOM" 'BEGIN { srand(s); printf "%.2f", 0.3 + 2 * rand() }')"
    if [ "$victim" = random ]; then
      pid=$(ranks $PID | shuf -n 1)
    else
      pid=$(ranks $PID | head -1)
    fi
    [ -n "$pid" ] && kill -KILL "$pid"
    reap $PID 30
    if [ "$RC" -eq 124 ]; then
      hung=$((hung + 1))
      echo "  $name $i: hung: $(why "$dir/out")"
    fi
    for p in $(ranks $PID); do kill -KILL "$p"; done
    [ ! -e "$dir/ck.kurc" ] || checked=$((checked + 1))
    if ! resumes "$dir"; then
      broken=$((broken + 1))
      echo "  $name $i: the checkpoint does not load: $(why "$dir/resume")"
    fi
    rm -rf "$dir"
  done
  [ $hung -eq 0 ] && ok "$name: $LOOPS kills, none hung" || fail "$name: $hung of $LOOPS hung"
  [ $broken -eq 0 ] && ok "$name: all $checked checkpoints left on disk load" ||
    fail "$name: $broken of $LOOPS checkpoints do not load"
}

loop kill-rank random "{path: ck.kurc, batches: 5}"
loop kill-saving 0 "{path: ck.kurc, batches: 1}"
finish
