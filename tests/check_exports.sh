#!/usr/bin/env bash
# check_exports.sh BUILD_DIR - every function or object a kurc library
# exports is used by another object file (of the libraries, the programs
# or the tests): an exported symbol nobody references is dead code, or
# should be static.  Reads the symbol tables of the build with nm; prints
# the unreferenced symbols and their libraries, and fails when there are
# any.  Symbols the compiler makes (a sanitizer's __odr_asan.NAME, ...)
# are not kurc's and are left out.
set -euo pipefail
build=$1
mapfile -t libraries < <(find "$build/src" "$build/config" "$build/kernels" "$build/comm" \
                              -name 'libkurc_*.a' | sort)
[ ${#libraries[@]} -gt 0 ] || { echo "no kurc libraries under $build" >&2; exit 2; }
defined=$(for lib in "${libraries[@]}"; do
            nm -g --defined-only "$lib" 2>/dev/null |
              awk -v lib="${lib##*/}" 'NF == 3 && $2 ~ /^[TDRB]$/ && $3 !~ /^__|\./ { print $3, lib }'
          done | sort -u)
referenced=$(find "$build" \( -name '*.o' -o -name '*.a' \) -print0 |
               xargs -0 nm -u 2>/dev/null | awk 'NF >= 2 { print $NF }' | sort -u)
unused=$(join -v 1 <(echo "$defined") <(echo "$referenced"))
if [ -n "$unused" ]; then
  echo "exported but never referenced (delete them, or make them static):"
  echo "$unused" | awk '{ printf "  %-40s %s\n", $1, $2 }'
  exit 1
fi
echo "every exported symbol of $(echo "$defined" | wc -l) is referenced"
