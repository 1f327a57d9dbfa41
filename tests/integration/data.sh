#!/usr/bin/env bash
# data.sh BIN SRC WORK - `kurc data` (Kur's `kur data`): its output format,
# -n and -t, the first batch being the one training really uses; and
# `--step`, which waits for ENTER before each batch.
. "$(dirname "$0")/lib.sh"
need_python

# --- the format -----------------------------------------------------------------
# keys sorted, samples as nested lists of Python floats, big ones summarised
"$PY" - <<'EOF'
import json
with open("shapes.jsonl", "w") as f:
    for i in range(3):
        f.write(json.dumps({"zeta": i, "alpha": [[i, 0.5], [1e-5, -2]],
                            "big": [i] * 1001, "mid": [0.1 * i] * 7}) + "\n")
EOF
cat >shapes.yml <<'EOF'
model:
  - input: alpha
  - flatten:
  - dense: 1
    name: zeta
train:
  data:
    - jsonl: shapes.jsonl
  provider: {batch_size: 2, randomize: no}
EOF
kurc_run data-format 0 data shapes.yml
cat >want.txt <<'EOF'
Entry 1/2:
  alpha: [[0.0, 0.5], [9.999999747378752e-06, -2.0]]
  big: [0.0, 0.0, 0.0, ..., 0.0, 0.0, 0.0]
  mid: [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
  zeta: [0.0]
Entry 2/2:
  alpha: [[1.0, 0.5], [9.999999747378752e-06, -2.0]]
  big: [1.0, 1.0, 1.0, ..., 1.0, 1.0, 1.0]
  mid: [0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612, 0.10000000149011612]
  zeta: [1.0]
EOF
check data-format-exact diff -u want.txt data-format.out
kurc_run data-n-1 0 data -n 1 shapes.yml
check data-n-1-exact diff -u <(head -n 5 want.txt) data-n-1.out
kurc_run data-n-0 0 data -n 0 shapes.yml
check data-n-0-nothing test ! -s data-n-0.out

# --- targets ------------------------------------------------------------------------
points 20 train.jsonl 71
points 6 valid.jsonl 72
points 5 test.jsonl 73
cat >t.yml <<'EOF'
settings: {seed: 12}
model:
  - input: x
  - dense: 3
  - activation: tanh
  - dense: 2
  - activation: softmax
    name: y
train:
  data:
    - jsonl: train.jsonl
  provider: {batch_size: 4, num_batches: 1}
  stop_when: {epochs: 1}
  optimizer: {name: sgd, learning_rate: 0.1}
  log: tlog
validate:
  data:
    - jsonl: valid.jsonl
test:
  data:
    - jsonl: test.jsonl
evaluate:
  data:
    - jsonl: test.jsonl
loss:
  - target: y
    name: categorical_crossentropy
EOF
kurc_run data-auto 0 data t.yml
count data-auto-train data-auto.out "Entry " 4
kurc_run data-validate 0 data -t validate t.yml
count data-validate-six data-validate.out "Entry " 6
kurc_run data-test 0 data -t test t.yml
has data-test-entries data-test.out "Entry 5/5:"
kurc_run data-evaluate 0 data --target evaluate t.yml
has data-evaluate-entries data-evaluate.out "Entry 5/5:"
kurc_run data-bad-target 2 data -t training t.yml
has data-bad-target-message data-bad-target.err \
  "data: the target must be train, validate, test, evaluate or auto, not 'training'"
# several named data sets: each one's first batch after a Provider line
cat >sets.yml <<'EOF2'
model:
  - input: alpha
  - flatten:
  - dense: 1
    name: zeta
test:
  data:
    first:
      - jsonl: shapes.jsonl
    second:
      - jsonl: shapes.jsonl
  provider: {batch_size: 1}
EOF2
kurc_run data-sets 0 data -t test -n 1 sets.yml
{
  echo "Provider: first"
  head -n 5 want.txt | sed 's|Entry 1/2|Entry 1/1|'
  echo "Provider: second"
  head -n 5 want.txt | sed 's|Entry 1/2|Entry 1/1|'
} >want-sets.txt
check data-sets-exact diff -u want-sets.txt data-sets.out
sed '/^train:/,$d' t.yml >only-model.yml
kurc_run data-no-section 2 data only-model.yml
has data-no-section-message data-no-section.err "data: no section of this Kurfile has data"

# --- the first batch `kurc data` prints is the one training uses ---------------------
# The first training batch's loss (in the log, before the update) equals
# the test loss, at the initial weights, of the samples `kurc data` printed.
sed 's/stop_when: {epochs: 1}/stop_when: {epochs: 0}\n  weights: {last: init.w}/; s/log: tlog/log: ilog/' \
  t.yml >init.yml
kurc_run initial-weights 0 train init.yml
kurc_run train-one-batch 0 train t.yml
"$PY" - data-auto.out first.jsonl <<'EOF'
import json, re, sys
out = open(sys.argv[1]).read()
with open(sys.argv[2], "w") as f:
    for x, y in re.findall(r"^  x: (\[.*\])\n  y: (\[.*\])$", out, re.M):
        f.write(json.dumps({"x": json.loads(x), "y": json.loads(y)}) + "\n")
EOF
{
  sed '/^test:/,$d' t.yml
  printf 'test:\n  data:\n    - jsonl: first.jsonl\n  weights: init.w\n'
  printf 'loss:\n  - target: y\n    name: categorical_crossentropy\n'
} >first.yml
kurc_run test-first-batch 0 test first.yml
pycheck data-shows-training-batch <<'EOF'
import re, struct
with open("tlog/batch_loss_total", "rb") as f:
    f.read(4)
    assert struct.unpack(">I", f.read(4))[0] == 1
    logged = struct.unpack(">f", f.read(4))[0]
tested = float(re.search(r"^Test loss: ([0-9.]+)$", open("test-first-batch.err").read(), re.M).group(1))
assert abs(logged - tested) < 6e-4, (logged, tested)
EOF
# (and a batch of other samples has another loss: the check can fail)
head -n 4 test.jsonl >other.jsonl
sed 's/first.jsonl/other.jsonl/' first.yml >other.yml
kurc_run test-other-batch 0 test other.yml
check other-batch-differs bash -c \
  "[ \"\$(grep '^Test loss' test-other-batch.err)\" != \"\$(grep '^Test loss' test-first-batch.err)\" ]"

# --- --step ---------------------------------------------------------------------------
# kurc waits for ENTER before each batch: fed one line at a time through a
# fifo, it announces a batch and goes no further until the next line.
# wait_for FILE TEXT: waits (up to 10 s) until FILE holds TEXT.
wait_for() {
  for _ in $(seq 1 1000); do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.01
  done
  return 1
}
sed 's/num_batches: 1/num_batches: 2/; s/log: tlog/log: slog/' t.yml >step.yml
mkfifo enter
"$KURC" train --step step.yml <enter >step.out 2>step.err &
pid=$!
exec 3>enter
check step-announces-batch-1 wait_for step.err "Training, Batch 1: press ENTER to run it"
sleep 0.3
lacks step-waits-for-enter step.err "Training, Batch 2"
echo >&3
check step-announces-batch-2 wait_for step.err "Training, Batch 2: press ENTER to run it"
sleep 0.3
lacks step-waits-again step.err "Epoch 1/1"
echo >&3
# then the validation batch (6 samples, one batch)
check step-validation-batch wait_for step.err "Validating, Batch 1: press ENTER to run it"
echo >&3
exec 3>&-
wait "$pid"
status=$?
if [ "$status" -eq 0 ]; then ok "step-completes (exit 0)"; else fail "step-completes" "exit $status"; show step.err; fi
has step-trained step.err "Epoch 1/1, loss="
has step-done step.err "Completed 1 epochs."
# signals while kurc waits for ENTER: training stops after that batch (at
# the next boundary) and saves its state (exit 3); test and evaluate have
# nothing to save and end at once, killed by the signal (SIGTERM: 143; a
# background job of a script ignores SIGINT, which kurc then leaves so)
# signal_while_waiting NAME SIGNAL WANT TEXT ARGS...: runs kurc ARGS with
# stdin from a fifo, waits for TEXT on its stderr, sends SIGNAL, checks the
# exit status.
signal_while_waiting() {
  local name=$1 signal=$2 want=$3 text=$4
  shift 4
  rm -f wait-fifo
  mkfifo wait-fifo
  "$KURC" "$@" <wait-fifo >"$name.out" 2>"$name.err" &
  local pid=$!
  exec 4>wait-fifo
  if wait_for "$name.err" "$text"; then
    # let kurc reach its read: a signal between the prompt and the read is
    # not seen until ENTER (a person presses Ctrl+C again), and the test
    # would wait for ever
    sleep 0.2
    kill "-$signal" "$pid"
  else
    kill -TERM "$pid"
  fi
  wait "$pid"
  local status=$?
  exec 4>&-
  if [ "$status" -eq "$want" ]; then
    ok "$name (exit $status)"
  else
    fail "$name" "exit $status, want $want"
    show "$name.err"
  fi
}
sed -e 's/log: slog/log: intlog\n  weights: {last: int.w}/' -e '/^evaluate:/a\  destination: int.pkl' \
  step.yml >int.yml
signal_while_waiting sigint-train INT 3 "Training, Batch 1: press ENTER" train --step int.yml
has sigint-train-message sigint-train.err \
  "stopped by signal 2 after epoch 1, batch 1; saved the last weights to int.w and the log to intlog"
check sigint-train-saved test -s int.w
# with one batch per epoch, the validation after it does not wait for ENTER
sed -e 's/log: tlog/log: int1log\n  weights: {last: int1.w}/' t.yml >int1.yml
signal_while_waiting sigint-train-last-batch INT 3 "Training, Batch 1: press ENTER" \
  train --step int1.yml
has sigint-train-last-batch-message sigint-train-last-batch.err \
  "stopped by signal 2 after epoch 1, batch 0"
lacks sigint-train-last-batch-no-pause sigint-train-last-batch.err "Validating, Batch 1"
# the message says what was written: here, nothing was configured
sed '/log: tlog/d' t.yml >bare.yml
signal_while_waiting sigint-train-bare INT 3 "Training, Batch 1: press ENTER" train --step bare.yml
has sigint-train-bare-message sigint-train-bare.err "stopped by signal 2 after epoch 1, batch 0; \
nothing was saved: the Kurfile configures no last weights (train.weights.last), checkpoint \
(train.checkpoint) or log (train.log)"
signal_while_waiting sigterm-test TERM 143 "Testing, Batch 1: press ENTER" test --step int.yml
lacks sigterm-test-no-loss sigterm-test.err "Test loss"
signal_while_waiting sigterm-evaluate TERM 143 "Evaluating, Batch 1: press ENTER" \
  evaluate --step int.yml
check sigterm-evaluate-wrote-nothing test ! -e int.pkl

# test and evaluate step too (stdin at its end runs the rest)
"$KURC" test --step t.yml </dev/null >step-test.out 2>step-test.err
has step-test step-test.err "Testing, Batch 1: press ENTER to run it"
"$KURC" evaluate --step t.yml </dev/null >step-eval.out 2>step-eval.err
has step-evaluate step-eval.err "Evaluating, Batch 1: press ENTER to run it"
finish
