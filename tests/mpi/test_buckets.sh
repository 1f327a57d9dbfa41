#!/usr/bin/env bash
# test_buckets.sh BIN_DIR TOOLS_DIR - gradients all-reduced in small
# buckets while backward goes on give the same weights as one all-reduce
# of the whole arena after backward: bitwise on 2 ranks (a sum of two
# values does not depend on the algorithm), within 1e-6 on 4 (Open MPI
# may pick another summation order for other sizes).
. "$(dirname "$0")/lib.sh"

for np in 2 4; do
  kurfile "$WORK/one-$np" 24 bn "buckets: no"
  # 387 + 64 floats: buckets of 64 floats, a first one of 32
  kurfile "$WORK/many-$np" 24 bn "buckets: {first_mb: 0.0001, mb: 0.0002}"
  run "$np" "$WORK/one-$np" -v || fail "one all-reduce on $np ranks: $(why "$WORK/one-$np/out")"
  run "$np" "$WORK/many-$np" -v || fail "buckets on $np ranks: $(why "$WORK/many-$np/out")"
  if grep -qE "gradients: [0-9]+ buckets all-reduced during backward" "$WORK/many-$np/out" &&
    grep -q "gradients: 1 bucket all-reduced after backward" "$WORK/one-$np/out"; then
    ok "$np ranks: $(grep -o 'gradients: [0-9]* buckets[^:]*' "$WORK/many-$np/out") against one after backward"
  else
    fail "$np ranks: the bucket plans are not the ones asked for: $(grep -h 'gradients:' "$WORK"/*-$np/out)"
  fi
  if grep -qE "communication: [0-9.]+ s exposed" "$WORK/many-$np/out"; then
    ok "$np ranks: the exposed communication time is reported"
  else
    fail "$np ranks: no communication report"
  fi
done
if out=$(same "$WORK/one-2/last.w" "$WORK/many-2/last.w"); then
  ok "2 ranks: buckets and one all-reduce give bitwise equal weights"
else
  fail "2 ranks: buckets change the weights: $out"
fi
if out=$(same "$WORK/one-4/last.w" "$WORK/many-4/last.w" 1e-6); then
  ok "4 ranks: buckets and one all-reduce agree ($out)"
else
  fail "4 ranks: buckets change the weights: $out"
fi
finish
