#!/usr/bin/env bash
# check_includes.sh SOURCE_DIR - kurc's own headers are included by their
# qualified name ("core/graph.h", "kernels/cpu/cpu_kernels.h"), never bare
# or through "..": the build then lets a file see only the libraries it
# links (kurc_library in CMakeLists.txt), and a bare include would find a
# neighbour in the same folder whatever the layering says.
set -euo pipefail
cd "$1"
bad=$(grep -rnE '^\s*#\s*include\s+"([^"/]*|[^"]*\.\./[^"]*)"' src config kernels comm \
        --include='*.c' --include='*.h' --include='*.cu' --include='*.cuh' || true)
if [ -n "$bad" ]; then
  echo "includes that are not qualified by their library's folder:"
  echo "$bad"
  exit 1
fi
echo "every include of kurc's own headers is qualified"
