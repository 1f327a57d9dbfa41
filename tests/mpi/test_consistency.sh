#!/usr/bin/env bash
# test_consistency.sh BIN_DIR TOOLS_DIR - the same training on 1, 2 and 4
# ranks: weights within 1e-5 (relative) by default; bitwise identical with
# settings.deterministic, also with a batch the ranks cannot split evenly,
# with batch normalisation and with dropout.
. "$(dirname "$0")/lib.sh"

# default mode: MLP, batch normalisation (statistics of the global batch)
# and dropout (masks follow the global sample index)
for model in mlp bn dropout; do
  for np in 0 2 4; do
    kurfile "$WORK/$model-$np" 24 $model
    run "$np" "$WORK/$model-$np" || { fail "$model on $np ranks: $(why "$WORK/$model-$np/out")"; continue; }
  done
  for np in 2 4; do
    if out=$(same "$WORK/$model-0/last.w" "$WORK/$model-$np/last.w" 1e-5); then
      ok "default $model: 1 and $np ranks agree ($out)"
    else
      fail "default $model: 1 and $np ranks differ: $out"
    fi
  done
done

# settings.batch_norm: per_rank really normalises each rank's share alone
kurfile "$WORK/per-rank" 24 bn "batch_norm: per_rank"
if run 2 "$WORK/per-rank" && ! same "$WORK/bn-0/last.w" "$WORK/per-rank/last.w" 1e-3 >/dev/null; then
  ok "batch_norm: per_rank on 2 ranks differs from the global statistics"
else
  fail "batch_norm: per_rank on 2 ranks: $(why "$WORK/per-rank/out")"
fi

# deterministic mode: bitwise for any number of ranks
det() { # NAME BATCH MODEL CHUNK
  local name=$1 batch=$2 model=$3 chunk=$4
  for np in 0 1 2 4; do
    local d="$WORK/det-$name-$np"
    kurfile "$d" "$batch" "$model" "deterministic: yes" "deterministic_chunk: $chunk"
    run "$np" "$d" || fail "deterministic $name on $np ranks: $(why "$d/out")"
  done
  for np in 1 2 4; do
    if out=$(same "$WORK/det-$name-0/last.w" "$WORK/det-$name-$np/last.w"); then
      ok "deterministic $name: 1 and $np ranks bitwise equal"
    else
      fail "deterministic $name: 1 and $np ranks differ: $out"
    fi
  done
}
det mlp 24 mlp 4
det uneven 25 mlp 3    # 9 chunks of 3 (the last 1): 2, 2, 2, 3 per rank
det bn 24 bn 4
det dropout 20 dropout 2
# the loss printed is the same too
if diff <(grep -o 'loss=[0-9.]*' "$WORK/det-bn-0/out") <(grep -o 'loss=[0-9.]*' "$WORK/det-bn-4/out") >/dev/null; then
  ok "deterministic bn: the losses shown on 1 and 4 ranks are equal"
else
  fail "deterministic bn: the losses shown differ"
fi
finish
