#!/usr/bin/env bash
# run_torch_check.sh TORCH_DUMP CHECK_SCRIPT - the torch_crosscheck ctest:
# dumps kurc's results for the models of torch_dump.c into a temporary
# directory and compares them with PyTorch (check_torch.py).  Debian's
# python3-torch is importable only from /usr/bin/python3; without it the
# test is skipped.
set -u
PY=/usr/bin/python3
dir=$(mktemp -d "${TMPDIR:-/tmp}/kurc-torch-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/../harness.sh" "$dir"
"$PY" -c "import torch" >/dev/null 2>&1 || skip "python3-torch is not installed"
if "$1" "$dir" && "$PY" "$2" "$dir"; then
  ok "$(basename "$2"): kurc agrees with PyTorch"
else
  fail "$(basename "$2")" "kurc and PyTorch differ"
fi
finish
