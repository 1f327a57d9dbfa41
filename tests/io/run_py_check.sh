#!/usr/bin/env bash
# run_py_check.sh FIXTURE SCRIPT MODULE... - writes the io_fixture files
# into a scratch directory and checks them with SCRIPT under Debian's
# python3 (/usr/bin/python3, which has numpy and h5py).  Skipped when that
# python lacks one of the MODULEs.
set -u
py=/usr/bin/python3
fixture=$1 script=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=/dev/null
. "$(dirname "$0")/../harness.sh" "$tmp"
[ -x "$py" ] || skip "$py not found"
for module in "$@"; do
  "$py" -c "import $module" 2>/dev/null || skip "$py cannot import $module"
done
if "$fixture" "$tmp" && "$py" "$script" "$tmp"; then
  ok "$(basename "$script") reads $(basename "$fixture")'s files"
else
  fail "$(basename "$script") on $(basename "$fixture")'s files"
fi
finish
