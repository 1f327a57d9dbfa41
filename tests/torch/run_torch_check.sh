#!/bin/sh
# run_torch_check.sh TORCH_DUMP CHECK_SCRIPT - the torch_crosscheck ctest:
# dumps kurc's results for the models of torch_dump.c into a temporary
# directory and compares them with PyTorch (check_torch.py).  Debian's
# python3-torch is importable only from /usr/bin/python3; without it the
# test is skipped (exit 77).
PY=/usr/bin/python3
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
    echo "skipped: python3-torch is not installed"
    exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/kurc-torch-XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
"$1" "$dir" || exit 1
"$PY" "$2" "$dir"
