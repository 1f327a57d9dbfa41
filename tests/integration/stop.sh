#!/usr/bin/env bash
# stop.sh BIN SRC WORK - when training stops (Kur's section 4.5):
# stop_when.epochs, the legacy `epochs`, stop_when.elapsed, and mode total
# against additional, for epochs and for time.
. "$(dirname "$0")/lib.sh"

points 24 train.jsonl 31

# kurfile FILE STOP [LOG] [DATA]: STOP is the whole stopping key
kurfile() {
  cat >"$1" <<EOF
settings: {seed: 6}
model:
  - input: x
  - dense: ${HIDDEN:-4}
  - activation: tanh
  - dense: 2
  - activation: softmax
    name: y
train:
  data:
    - jsonl: ${4:-train.jsonl}
  provider: {batch_size: 8}
  $2
  weights: {last: ${1%.yml}.w}
${3:+  log: $3}
loss:
  - target: y
    name: categorical_crossentropy
EOF
}

# epochs NAME FILE N: the run trained exactly N epochs this session.
epochs() {
  local n
  n=$(grep -c '^Epoch [0-9]*/[0-9]*, loss=' "$2")
  if [ "$n" -eq "$3" ]; then
    ok "$1"
  else
    fail "$1" "$n epochs, want $3"
    show "$2"
  fi
}

# --- epochs -------------------------------------------------------------------
kurfile sw.yml "stop_when: {epochs: 3}"
kurc_run stop-when-epochs 0 train sw.yml
epochs stop-when-epochs-three stop-when-epochs.err 3
has stop-when-epochs-label stop-when-epochs.err "Epoch 3/3, loss="
has stop-when-epochs-done stop-when-epochs.err "Completed 3 epochs."
kurfile legacy.yml "epochs: 2"
kurc_run legacy-epochs 0 train legacy.yml
epochs legacy-epochs-two legacy-epochs.err 2
kurfile legacy2.yml "epochs: {number: 2, mode: additional}"
kurc_run legacy-epochs-map 0 train legacy2.yml
epochs legacy-epochs-map-two legacy-epochs-map.err 2
# stop_when wins over the deprecated epochs, with a warning
kurfile both.yml "epochs: 5
  stop_when: {epochs: 1}"
kurc_run both 0 train both.yml
epochs both-stop-when-wins both.err 1
has both-warns both.err "\`epochs\` is deprecated next to \`stop_when\`"
kurfile zero.yml "stop_when: {epochs: 0}"
kurc_run zero-epochs 0 train zero.yml
epochs zero-epochs-none zero-epochs.err 0
check zero-epochs-last test -s zero.w

# --- mode total and additional with a log -------------------------------------
kurfile m1.yml "stop_when: {epochs: 2}" mlog
kurc_run mode-first 0 train m1.yml
kurfile m2.yml "stop_when: {epochs: 2, mode: additional}" mlog
kurc_run mode-additional 0 train m2.yml
epochs mode-additional-two-more mode-additional.err 2
has mode-additional-label mode-additional.err "Epoch 4/4, loss="
kurfile m3.yml "stop_when: {epochs: 3, mode: total}" mlog
kurc_run mode-total-done 0 train m3.yml
epochs mode-total-nothing-left mode-total-done.err 0
kurfile m4.yml "stop_when: {epochs: 6, mode: total}" mlog
kurc_run mode-total 0 train m4.yml
epochs mode-total-up-to-six mode-total.err 2
has mode-total-label mode-total.err "Epoch 5/6, loss="
has mode-log-epochs mlog/summary.yml "epochs: 6"
has mode-log-sessions mlog/summary.yml "sessions: 4"

# --- elapsed --------------------------------------------------------------------
# Enough data that 1000 epochs take far longer than the limit (6 ms).
points 2000 big.jsonl 32
HIDDEN=64 kurfile el.yml "stop_when: {epochs: 1000, elapsed: {minutes: 0.0001}}" \
  "" big.jsonl
kurc_run elapsed 0 train el.yml
has elapsed-message elapsed.err "Epoch stopping-criterion met."
lacks elapsed-stopped-early elapsed.err "Epoch 1000/1000"
check elapsed-last-saved test -s el.w
# a bare number is minutes (Kur crashed on it), and epochs may be inf
HIDDEN=64 kurfile el2.yml "stop_when: {epochs: inf, elapsed: 0.0001}" "" big.jsonl
kurc_run elapsed-number 0 train el2.yml
has elapsed-number-message elapsed-number.err "Epoch stopping-criterion met."
# without an epoch limit, Kur's label: "Epoch N/inf"
kurfile inf.yml "stop_when: {epochs: inf, elapsed: 0.0005}"
kurc_run epochs-inf 0 train inf.yml
has epochs-inf-label epochs-inf.err "Epoch 2/inf, loss="
HIDDEN=64 kurfile el3.yml "stop_when: {elapsed: {minutes: 0.0001, clock: batch}}" "" big.jsonl
kurc_run elapsed-batch-clock 0 train el3.yml
has elapsed-batch-clock-message elapsed-batch-clock.err "Epoch stopping-criterion met."

# elapsed with a history: the log says earlier sessions took a day.  Mode
# additional gives this session its own hour; mode total has none left.
kurfile t1.yml "stop_when: {epochs: 1}" tlog
kurc_run time-first 0 train t1.yml
sed -i 's/^  all: .*/  all: 86400.0/; s/^  train: .*/  train: 86400.0/' tlog/summary.yml
kurfile t2.yml "stop_when: {epochs: 2, elapsed: {hours: 1}}" tlog
kurc_run time-additional 0 train t2.yml
epochs time-additional-trains time-additional.err 2
lacks time-additional-no-stop time-additional.err "stopping-criterion"
# the timers are Kur's: cumulative over the sessions, shown before the
# first epoch (the log's history) and after each one, with Kur's labels
count timers-total time-additional.err "     Total wall-clock time: 24h 00m 0" 3
count timers-train time-additional.err "  Training wall-clock time: 24h 00m 0" 3
count timers-batch time-additional.err "     Batch wall-clock time: 00h 00m 0" 3
lacks timers-no-validation time-additional.err "Validation wall-clock time"
kurfile t3.yml "stop_when: {epochs: 2, elapsed: {hours: 1}, mode: total}" tlog
kurc_run time-total 0 train t3.yml
epochs time-total-none-left time-total.err 0
has time-total-message time-total.err "Epoch stopping-criterion met."
kurfile t4.yml "stop_when: {epochs: 5, elapsed: {days: 1, hours: 1, clock: train}, mode: total}" tlog
kurc_run time-total-train-clock 0 train t4.yml
epochs time-total-train-clock-trains time-total-train-clock.err 2
finish
