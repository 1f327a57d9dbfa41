#!/usr/bin/env bash
# test_schedule.sh BIN_DIR TOOLS_DIR - optimizer.schedule and
# scale_with_batch in training: the log's batch_optimizer_lr column holds
# the hand-computed rate of every step (warm-up, then linear decay, scaled
# by global batch / reference_batch), -v shows it per epoch, and a run
# resumed from a checkpoint written in the middle of the warm-up (on 1 or 2
# ranks) ends bitwise where an uninterrupted run ends; with accumulation
# the global batch scales the rate and steps count optimizer steps.
. "$(dirname "$0")/lib.sh"

# sched_kurfile DIR EPOCHS: SGD with momentum, batches of 24 (10 steps per
# epoch), warm-up 12 steps, linear decay to 0.005 at step 30, lr 0.05 x
# 24 / 48; deterministic mode, a checkpoint every epoch.
sched_kurfile() {
  EPOCHS="{number: $2, mode: total}" CHECKPOINT=ck.kurc kurfile "$1" 24 dropout \
    "deterministic: yes" "deterministic_chunk: 4"
  sed -i 's|^  optimizer: .*|  optimizer:\
    name: sgd\
    learning_rate: 0.05\
    momentum: 0.9\
    scale_with_batch: yes\
    reference_batch: 48\
    schedule: {warmup_steps: 12, decay: linear, total_steps: 30, final_lr: 0.005}\
  log: log|' "$1/k.yml"
}

sched_kurfile "$WORK/all" 3
run 0 "$WORK/all" -v || fail "uninterrupted: $(why "$WORK/all/out")"

# the column: float32 IDX, one rate per step, beside its batch counter
check=$(/usr/bin/python3 - "$WORK/all/log" <<'PY'
import struct, sys
def col(path, fmt):
    b = open(path, "rb").read()
    n = struct.unpack(">I", b[4:8])[0]
    return list(struct.unpack(">%d%s" % (n, fmt), b[8:8 + 4 * n]))
lr = col(sys.argv[1] + "/batch_optimizer_lr", "f")
batch = col(sys.argv[1] + "/batch_optimizer_batch", "i")
loss = col(sys.argv[1] + "/batch_loss_total", "f")
peak = 0.05 * 24 / 48
want = [peak * (t + 1) / 12 if t < 12 else peak + (0.005 - peak) * (t - 12) / 18
        for t in range(30)]
bad = [t for t in range(30) if abs(lr[t] - want[t]) > 1e-7 * want[t]]
ok = len(lr) == 30 and batch == list(range(1, 31)) and len(loss) == 30 and not bad
print("ok" if ok else "rows %d, batches %s, bad steps %s: %s" % (len(lr), batch[:3], bad, lr))
PY
)
if [ "$check" = ok ]; then
  ok "log: batch_optimizer_lr holds the scheduled rate of each of 30 steps"
else
  fail "log column: $check"
fi
# -v: the rate of the epoch's last step (the 20th: t = 19, 0.025 - 0.02 x 7 / 18)
if grep -q "epoch 2: learning rate 0.0172222 at optimizer step 20" "$WORK/all/out"; then
  ok "-v: the epoch line shows the learning rate"
else
  fail "-v: $(grep 'learning rate' "$WORK/all/out")"
fi

# resumed after epoch 1 (step 10 of a 12-step warm-up), on 1 and 2 ranks
for np in 0 2; do
  d="$WORK/resume-$np"
  sched_kurfile "$d" 1
  run "$np" "$d" || fail "first part on $np ranks: $(why "$d/out")"
  sched_kurfile "$d" 3
  run "$np" "$d" || fail "resumed on $np ranks: $(why "$d/out")"
  grep -q "resuming from checkpoint ck.kurc (1 epochs and 0 batches done)" "$d/out" ||
    fail "$np ranks: did not resume: $(why "$d/out")"
  if out=$(same "$WORK/all/last.w" "$d/last.w"); then
    ok "resumed mid-warm-up on $np ranks: bitwise the uninterrupted weights"
  else
    fail "resumed mid-warm-up on $np ranks differs: $out"
  fi
  cmp -s "$WORK/all/log/batch_optimizer_lr" "$d/log/batch_optimizer_lr" ||
    fail "resumed on $np ranks: the logged rates differ"
done

# accumulate 2 x 12: the same global batch (scale 24 / 48), the same
# optimizer steps, so the same rates and bitwise the same weights
sched_kurfile "$WORK/acc" 3
sed -i 's|provider: {batch_size: 24}|provider: {batch_size: 12}\
  accumulate: 2|' "$WORK/acc/k.yml"
grep -q "^  accumulate: 2$" "$WORK/acc/k.yml" || fail "accumulate: the Kurfile was not changed"
run 2 "$WORK/acc" || fail "accumulate: $(why "$WORK/acc/out")"
if out=$(same "$WORK/all/last.w" "$WORK/acc/last.w") &&
  cmp -s "$WORK/all/log/batch_optimizer_lr" "$WORK/acc/log/batch_optimizer_lr"; then
  ok "accumulate 2 x 12 on 2 ranks: the rates and weights of batches of 24"
else
  fail "accumulate 2 x 12 with the schedule: ${out:-the logged rates differ}"
fi

# a schedule that changes nothing is no schedule: the rates matter
sed -i 's|warmup_steps: 12|warmup_steps: 2|' "$WORK/resume-0/k.yml"
rm -rf "$WORK/resume-0/ck.kurc" "$WORK/resume-0/log"
run 0 "$WORK/resume-0" || fail "short warm-up: $(why "$WORK/resume-0/out")"
if same "$WORK/all/last.w" "$WORK/resume-0/last.w" >/dev/null; then
  fail "a warm-up of 2 steps ends where one of 12 does"
else
  ok "another warm-up ends elsewhere"
fi
finish
