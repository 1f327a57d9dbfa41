# lib.sh - helpers for the multi-rank tests (sourced by tests/mpi/test_*.sh).
#
# Every test script is run by ctest as `test_X.sh BIN_DIR TOOLS_DIR` with
# the Open MPI variables of tests/CMakeLists.txt (run as root, oversubscribe
# on 2 cores, one BLAS thread).  It works in a scratch directory and checks
# with tests/harness.sh (ok, fail, finish).
set -u
BIN=$(cd "$1" && pwd)
TOOLS=$(cd "$2" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kurc-mpi.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=/dev/null
. "$(dirname "${BASH_SOURCE[0]}")/../harness.sh" "$WORK"

# gen_data FILE N SEED: N samples {"x": [8 floats], "y": one-hot of 3}, the
# class a function of x, from awk's generator (same data for every run of
# one machine).
gen_data() {
  awk -v n="$2" -v seed="$3" 'BEGIN {
    srand(seed)
    for (i = 0; i < n; i++) {
      s = 0; line = "{\"x\": ["
      for (j = 0; j < 8; j++) {
        v = rand() * 4 - 2; s += (j % 3 - 1) * v
        line = line sprintf("%s%.6f", j ? ", " : "", v)
      }
      c = s < -0.7 ? 0 : (s < 0.7 ? 1 : 2)
      printf "%s], \"y\": [%d, %d, %d]}\n", line, c == 0, c == 1, c == 2
    }
  }' >"$1"
}

# kurfile DIR [batch=24] [model] [settings lines...]: a small classifier
# on DIR/data.jsonl (240 samples), EPOCHS (2) epochs of OPTIMIZER (SGD with
# momentum), writing last.w; TRAIN holds more train lines (one a line);
# CHECKPOINT, when set, is the value of train.checkpoint.  Models: mlp,
# bn, dropout, bndrop (dense 32 with batch normalisation and/or dropout);
# deep, deepbn (dense 64 [batch normalisation] dropout 0.25, dense 48).
kurfile() {
  local dir=$1 batch=${2:-24} model=${3:-mlp}
  local opt=${OPTIMIZER:-"{name: sgd, learning_rate: 0.05, momentum: 0.9}"}
  shift 3 2>/dev/null || shift $#
  mkdir -p "$dir"
  [ -f "$dir/data.jsonl" ] || gen_data "$dir/data.jsonl" 240 11
  {
    echo "settings:"
    echo "  seed: 7"
    for line in "$@"; do echo "  $line"; done
    echo "model:"
    echo "  - input: x"
    case $model in
      deep*) echo "  - dense: 64" ;;
      *) echo "  - dense: 32" ;;
    esac
    case $model in
      bn | deepbn) echo "  - batch_normalization:" ;;
      dropout) echo "  - dropout: 0.25" ;;
      bndrop) echo "  - batch_normalization:"; echo "  - dropout: 0.25" ;;
    esac
    echo "  - activation: relu"
    case $model in
      deep*) echo "  - dropout: 0.25"; echo "  - dense: 48"; echo "  - activation: relu" ;;
    esac
    echo "  - dense: 3"
    echo "  - activation: softmax"
    echo "    name: y"
    echo "loss:"
    echo "  - target: y"
    echo "    name: categorical_crossentropy"
    echo "train:"
    echo "  data:"
    echo "    - jsonl: data.jsonl"
    echo "  provider: {batch_size: $batch}"
    echo "  epochs: ${EPOCHS:-2}"
    echo "  optimizer: $opt"
    [ -z "${TRAIN:-}" ] || while IFS= read -r line; do echo "  $line"; done <<<"$TRAIN"
    echo "  weights:"
    echo "    last: last.w"
    [ -z "${CHECKPOINT:-}" ] || echo "  checkpoint: $CHECKPOINT"
  } >"$dir/k.yml"
}

# run NP DIR [kurc args...]: trains DIR/k.yml on NP ranks (NP 0: kurc-train
# without mpirun, the single-process communicator); output in DIR/out.
run() {
  local np=$1 dir=$2
  shift 2
  if [ "$np" -eq 0 ]; then
    (cd "$dir" && "$BIN/kurc-train" "$@" k.yml) >"$dir/out" 2>&1
  else
    (cd "$dir" && mpirun -np "$np" "$BIN/kurc-train" "$@" k.yml) >"$dir/out" 2>&1
  fi
}

# start NP DIR [kurc args...]: like run, in the background; $PID is mpirun's.
start() {
  local np=$1 dir=$2
  shift 2
  (cd "$dir" && exec mpirun -np "$np" "$BIN/kurc-train" "$@" k.yml) >"$dir/out" 2>&1 &
  PID=$!
}

# ranks PID: the kurc-train processes under mpirun PID.
ranks() {
  pgrep -P "$1" -f kurc-train
}

# wait_for FILE PATTERN SECONDS: until FILE holds PATTERN (0) or time is up (1).
wait_for() {
  local i=0
  while [ $i -lt $((10 * $3)) ]; do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# reap PID SECONDS: waits for PID at most SECONDS (then kills it, status
# 124); the status is in $RC and the time taken in $TOOK (seconds).
reap() {
  local pid=$1 limit=$2 t0=$(date +%s.%N) i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt $((10 * limit)) ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    RC=124
  else
    wait "$pid"
    RC=$?
  fi
  TOOK=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}

# stop_by_signal NP DIR LINES: trains DIR/k.yml on NP ranks with --step
# (rank 0 waits for a line before each step), gives it LINES lines, and
# once the next step waits for its line sends SIGUSR1, which lets that
# step run whole and stops the run there; the status is in $RC (reap).
stop_by_signal() {
  local np=$1 dir=$2 lines=$3
  rm -f "$WORK/lines" && mkfifo "$WORK/lines"
  (cd "$dir" && exec mpirun -np "$np" "$BIN/kurc-train" --step k.yml) <"$WORK/lines" >"$dir/out" 2>&1 &
  local pid=$!
  exec 3>"$WORK/lines"
  yes '' | head -n "$lines" >&3
  for _ in $(seq 600); do
    [ "$(grep -c 'press ENTER' "$dir/out")" -le "$lines" ] || break
    sleep 0.1
  done
  kill -USR1 $pid
  reap $pid 30
  exec 3>&-
}

# same A B [TOL]: weight files A and B agree (bitwise without TOL).
same() {
  "$TOOLS/weights_cmp" "$@"
}
