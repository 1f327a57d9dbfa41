#!/usr/bin/env bash
# test_rank0_io.sh BIN_DIR TOOLS_DIR - only rank 0 writes files: each rank
# runs in its own copy of the directory (mpirun -wdir per rank), and after
# training (log, checkpoint, best and last weights, a plot) and evaluation
# (a destination) rank 1's copy holds nothing new.  The output shows one
# progress line per epoch, and log lines of several ranks do not mix.
. "$(dirname "$0")/lib.sh"

kurfile "$WORK/r0" 24 mlp
cat >>"$WORK/r0/k.yml" <<'YAML'
  log: train.log
  checkpoint: ck.kurc
  hooks:
    - plot: loss.png
validate:
  data:
    - jsonl: data.jsonl
  weights: best.w
evaluate:
  data:
    - jsonl: data.jsonl
  weights: last.w
  destination: out.pkl
YAML
sed -i 's/^    last: last.w/    last: last.w\n    best: best-train.w/' "$WORK/r0/k.yml"
cp -r "$WORK/r0" "$WORK/r1"
before=$(ls "$WORK/r1" | sort | tr '\n' ' ')
if (mpirun -np 1 -wdir "$WORK/r0" "$BIN/kurc-train" k.yml : -np 1 -wdir "$WORK/r1" "$BIN/kurc-train" k.yml) >"$WORK/out" 2>&1; then
  ok "trained on 2 ranks"
else
  fail "training: $(why "$WORK/out")"
fi
if (mpirun -np 1 -wdir "$WORK/r0" "$BIN/kurc" evaluate k.yml : -np 1 -wdir "$WORK/r1" "$BIN/kurc" evaluate k.yml) >"$WORK/eval" 2>&1; then
  ok "evaluated on 2 ranks"
else
  fail "evaluation: $(why "$WORK/eval")"
fi
for f in train.log ck.kurc best.w best-train.w last.w loss.png out.pkl; do
  [ -s "$WORK/r0/$f" ] || fail "rank 0 did not write $f"
done
after=$(ls "$WORK/r1" | sort | tr '\n' ' ')
if [ "$before" = "$after" ]; then
  ok "rank 1 wrote nothing ($after)"
else
  fail "rank 1 wrote files: before: $before after: $after"
fi
lines=$(grep -c "^Epoch 1/2" "$WORK/out")
[ "$lines" -eq 1 ] && ok "one progress line per epoch" || fail "$lines progress lines for epoch 1"

# -vv: every rank logs, a whole line at a time (a line written in pieces
# by two ranks would mix their prefixes on one line)
kurfile "$WORK/verbose" 24 mlp
if run 4 "$WORK/verbose" -vv; then
  ok "trained on 4 ranks with -vv"
else
  fail "-vv training: $(why "$WORK/verbose/out")"
fi
count=$(grep -cE '^\[(INFO|DEBUG) [0-9:]+ rank [0-9]\]' "$WORK/verbose/out")
mixed=$(grep -E '.\[(INFO|DEBUG|WARNING) [0-9:]+ rank [0-9]\]' "$WORK/verbose/out" | head -n 3)
if [ "$count" -gt 10 ] && [ -z "$mixed" ]; then
  ok "$count log lines from 4 ranks, none mixed"
else
  fail "log lines: $count; mixed: $mixed"
fi
finish
