#!/usr/bin/env bash
# cuda_module_start.sh CPU_BUILD CUDA_BUILD... - what a CPU start costs a
# CUDA build: `kurc --version` of the CPU-only build (the peer) and of each
# CUDA build, in the same run, alternating: the peak RSS and the CPU time
# (user + system) from /usr/bin/time -v, the wall time per run timed on
# its own (each a median of RUNS), and the CUDA libraries loaded
# (LD_DEBUG=libs).  Prints a line per build, with its ratios to the peer.
# Environment: RUNS (default 20); KURC_BENCH_ARGS replaces --version
# (e.g. "--help").
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 CPU_BUILD CUDA_BUILD..." >&2; exit 2; }
runs=${RUNS:-20}
read -r -a args <<<"${KURC_BENCH_ARGS:---version}"
kurcs=()
for b in "$@"; do
  k=$(realpath "$b")/bin/kurc
  [ -x "$k" ] || { echo "no $k" >&2; exit 2; }
  kurcs+=("$k")
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for _ in $(seq "$runs"); do
  for i in "${!kurcs[@]}"; do
    t0=$(date +%s%N)
    "${kurcs[$i]}" "${args[@]}" >/dev/null
    t1=$(date +%s%N)
    echo "$(((t1 - t0) / 1000))" >>"$tmp/$i.us"
    /usr/bin/time -v "${kurcs[$i]}" "${args[@]}" 2>"$tmp/time" >/dev/null
    awk -F': ' '/Maximum resident set size/ { kb = $2 } /User time/ { u = $2 } /System time/ { s = $2 }
                END { print kb > "'"$tmp/$i.kb"'.new"; print (u + s) * 1000 }' "$tmp/time" >>"$tmp/$i.cpu"
    cat "$tmp/$i.kb.new" >>"$tmp/$i.kb"
  done
done
printf '%-34s %8s %9s %9s  %s\n' build "RSS MB" "wall ms" "CPU ms" "CUDA libraries loaded"
for i in "${!kurcs[@]}"; do
  LD_DEBUG=libs LD_DEBUG_OUTPUT="$tmp/ld" "${kurcs[$i]}" "${args[@]}" >/dev/null 2>&1 || true
  libs=$(grep -hoE 'calling init: [^ ]*/lib(cuda|cudart|cublas|cublasLt|cudnn[a-z_]*|nccl|kurc_cuda)\.so[^ ]*' "$tmp"/ld.* |
         sed 's|.*/||' | sort -u | tr '\n' ' ' || true)
  rm -f "$tmp"/ld.*
  rss[i]=$(median <"$tmp/$i.kb")
  wall[i]=$(median <"$tmp/$i.us")
  cpu[i]=$(median <"$tmp/$i.cpu")
  ratio=""
  # (CPU time is counted in 10 ms steps: no ratio to a peer's 0)
  [ "$i" -gt 0 ] && ratio=$(printf '  (x%.2f RSS, x%.2f wall of the first)' \
    "$(echo "${rss[i]} / ${rss[0]}" | bc -l)" "$(echo "${wall[i]} / ${wall[0]}" | bc -l)")
  printf '%-34s %8.1f %9.2f %9.1f  %s%s\n' "$(basename "$(dirname "$(dirname "${kurcs[$i]}")")")" \
    "$(echo "${rss[i]} / 1024" | bc -l)" "$(echo "${wall[i]} / 1000" | bc -l)" "${cpu[i]}" \
    "${libs:-none}" "$ratio"
done
echo "kurc ${args[*]}, medians of $runs runs"
