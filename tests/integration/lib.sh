# tests/integration/lib.sh - what the integration tests share; sourced as
#   . "$(dirname "$0")/lib.sh" BIN_DIR SOURCE_DIR WORK_DIR
# Each test runs kurc as a user would, in WORK_DIR (emptied first), on small
# data it writes there, and checks files, values, messages and exit codes
# with tests/harness.sh (ok, fail, skip, finish) and the checks below.
set -u
if [ $# -lt 3 ]; then
  echo "usage: $0 BIN_DIR SOURCE_DIR WORK_DIR" >&2
  exit 2
fi
bin=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$3
KURC=$bin/kurc
# Debian's python3 (numpy, h5py), not whichever python3 is first on PATH
PY=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 2
# shellcheck source=/dev/null
. "$src/tests/harness.sh" "$work"

# need_python MODULE...: skips the test when /usr/bin/python3 lacks one.
need_python() {
  [ -x "$PY" ] || skip "$PY is not installed"
  local m
  for m in "$@"; do
    "$PY" -c "import $m" 2>/dev/null || skip "$PY cannot import $m (install python3-$m)"
  done
}

# show FILE...: prints files indented, for failures.
show() {
  local f
  for f in "$@"; do
    [ -f "$f" ] && sed "s|^|  $f: |" "$f" | tail -n 40
  done
}

# kurc_run NAME STATUS ARGS...: runs `kurc ARGS` with stdout in NAME.out
# and stderr in NAME.err, and checks its exit status.
kurc_run() {
  local name=$1 want=$2
  shift 2
  "$KURC" "$@" >"$name.out" 2>"$name.err" </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then
    ok "$name (exit $got)"
  else
    fail "$name" "exit $got, want $want (kurc $*)"
    show "$name.out" "$name.err"
  fi
}

# has NAME FILE TEXT: FILE holds the fixed string TEXT.
has() {
  if grep -qF -- "$3" "$2"; then
    ok "$1"
  else
    fail "$1" "$2 lacks: $3"
    show "$2"
  fi
}

# lacks NAME FILE TEXT: FILE does not hold the fixed string TEXT.
lacks() {
  if grep -qF -- "$3" "$2"; then
    fail "$1" "$2 holds: $3"
    show "$2"
  else
    ok "$1"
  fi
}

# count NAME FILE TEXT N: TEXT is on exactly N lines of FILE.
count() {
  local n
  n=$(grep -cF -- "$3" "$2")
  if [ "$n" -eq "$4" ]; then
    ok "$1"
  else
    fail "$1" "$n lines of $2 hold '$3', want $4"
    show "$2"
  fi
}

# check NAME COMMAND...: the command succeeds.
check() {
  local name=$1
  shift
  if "$@" >check.log 2>&1; then
    ok "$name"
  else
    fail "$name" "$*"
    show check.log
  fi
}

# pycheck NAME [ARGS...] <<'EOF' ... EOF: runs the Python on stdin with
# /usr/bin/python3 (ARGS in sys.argv[1:]); it fails the check by raising
# (an assert) or exiting non-zero.
pycheck() {
  local name=$1
  shift
  if "$PY" - "$@" >pycheck.log 2>&1; then
    ok "$name"
  else
    fail "$name"
    show pycheck.log
  fi
}

# same_weights NAME A B: two weight files hold the same parameters,
# byte for byte (names, shapes, dtypes and values).
same_weights() {
  pycheck "$1" "$2" "$3" <<'EOF'
import sys, h5py, numpy as np
def load(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and not name.startswith(("optimizer", "training", "kurfile")):
                out[name] = obj[()]
        f.visititems(visit)
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a and sorted(a) == sorted(b), (sorted(a), sorted(b))
for k in a:
    assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
    assert a[k].tobytes() == b[k].tobytes(), (k, a[k], b[k])
EOF
}

# points N FILE [SEED]: N samples in jsonl, {"x": [a, b], "y": [1, 0]} when
# a > b and [0, 1] otherwise, a and b in [-1, 1) from a Park-Miller
# generator, so every run writes the same file.
points() {
  awk -v n="$1" -v seed="${3:-12345}" 'BEGIN {
    s = seed
    for (i = 0; i < n; i++) {
      s = (s * 16807) % 2147483647; a = s / 2147483647 * 2 - 1
      s = (s * 16807) % 2147483647; b = s / 2147483647 * 2 - 1
      printf "{\"x\": [%.6f, %.6f], \"y\": %s}\n", a, b, (a > b ? "[1, 0]" : "[0, 1]")
    }
  }' >"$2"
}

# loss_of FILE LABEL: the loss of the first progress line of FILE that
# starts with LABEL ("Epoch 2/3", "Validating"), as printed (%.3f).
loss_of() {
  grep -m1 "^$2, loss=" "$1" | sed 's/.*, loss=\([-0-9.a-z]*\).*/\1/'
}
