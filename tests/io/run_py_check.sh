#!/usr/bin/env bash
# run_py_check.sh FIXTURE SCRIPT MODULE... - writes the io_fixture files
# into a scratch directory and checks them with SCRIPT under Debian's
# python3 (/usr/bin/python3, which has numpy and h5py).  Exits 77 (ctest:
# skipped) when that python lacks one of the MODULEs.
set -u
py=/usr/bin/python3
fixture=$1 script=$2
shift 2
if [ ! -x "$py" ]; then
  echo "skipped: $py not found"
  exit 77
fi
for module in "$@"; do
  if ! "$py" -c "import $module" 2>/dev/null; then
    echo "skipped: $py cannot import $module"
    exit 77
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$fixture" "$tmp" || exit 1
"$py" "$script" "$tmp"
