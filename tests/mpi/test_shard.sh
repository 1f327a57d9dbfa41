#!/usr/bin/env bash
# test_shard.sh BIN_DIR TOOLS_DIR - settings.shard_optimizer: in
# deterministic mode sharded training on 1 to 4 ranks is bitwise an
# unsharded run (Adam and SGD with momentum, clipping by norm, batch
# normalisation and dropout, several gradient buckets and gather pieces;
# also with train.accumulate and an optimizer.schedule);
# by default it agrees within 1e-6 with unsharded training on as many ranks;
# -v states the state bytes per rank; checkpoints are those of unsharded
# runs, and a run resumes across sharded/unsharded and 4/3 ranks ending
# bitwise where an uninterrupted run ends.
. "$(dirname "$0")/lib.sh"

# skurfile DIR MODEL OPTIMIZER [settings lines...]: kurfile's deep model,
# with batch normalisation (MODEL bn) or not (plain), batches of 24;
# buckets of 256 and 1024 floats (and as many gather pieces) so that
# buckets and pieces straddle the shards.
skurfile() {
  local dir=$1 model=deep opt=$3
  [ "$2" = bn ] && model=deepbn
  shift 3
  OPTIMIZER=$opt kurfile "$dir" 24 $model "buckets: {first_mb: 0.001, mb: 0.004}" "$@"
}

ADAM="{name: adam, learning_rate: 0.01, clip: {norm: 0.5}}"
SGD="{name: sgd, learning_rate: 0.05, momentum: 0.9, clip: {norm: 0.5}}"
DET=("deterministic: yes" "deterministic_chunk: 4")

# deterministic mode: sharded on 1-4 ranks == unsharded on one process
for opt in adam sgd; do
  spec=$ADAM
  [ $opt = sgd ] && spec=$SGD
  skurfile "$WORK/det-$opt-u" bn "$spec" "${DET[@]}"
  run 0 "$WORK/det-$opt-u" || fail "det $opt unsharded: $(why "$WORK/det-$opt-u/out")"
  for np in 1 2 3 4; do
    d="$WORK/det-$opt-s$np"
    skurfile "$d" bn "$spec" "${DET[@]}" "shard_optimizer: yes"
    run $np "$d" -v || { fail "det $opt sharded on $np: $(why "$d/out")"; continue; }
    if out=$(same "$WORK/det-$opt-u/last.w" "$d/last.w"); then
      ok "deterministic $opt: sharded on $np ranks is bitwise unsharded"
    else
      fail "deterministic $opt: sharded on $np ranks differs: $out"
    fi
  done
done

# with train.accumulate and a schedule: sharded on 3 ranks, 2 micro-batches
# of 12, is bitwise one unsharded process with the same
SCHED="{name: adam, learning_rate: 0.01, clip: {norm: 0.5}, schedule: {warmup_steps: 5, decay: cosine, total_steps: 20}}"
for how in u s; do
  extra=()
  [ $how = s ] && extra=("shard_optimizer: yes")
  skurfile "$WORK/acc-$how" plain "$SCHED" "${DET[@]}" "${extra[@]}"
  sed -i 's|provider: {batch_size: 24}|provider: {batch_size: 12}\
  accumulate: 2|' "$WORK/acc-$how/k.yml"
done
run 0 "$WORK/acc-u" || fail "accumulate unsharded: $(why "$WORK/acc-u/out")"
run 3 "$WORK/acc-s" || fail "accumulate sharded: $(why "$WORK/acc-s/out")"
if grep -q "^  accumulate: 2$" "$WORK/acc-s/k.yml" && out=$(same "$WORK/acc-u/last.w" "$WORK/acc-s/last.w"); then
  ok "deterministic accumulate 2 x 12 with a schedule: sharded on 3 ranks is bitwise unsharded"
else
  fail "deterministic accumulate with a schedule: sharded differs: ${out:-no accumulate}"
fi

# the plan: 4 shards whose state bytes add up to the unsharded state's
line=$(grep -o "optimizer state sharded over 4 ranks, bytes per rank: .*" "$WORK/det-adam-s4/out")
if [ -n "$line" ] && echo "$line" | awk '{
    split($0, a, "rank: "); split(a[2], b, " [(]"); n = split(b[1], r, ", ")
    s = 0; m = 0; for (i = 1; i <= n; i++) { s += r[i]; if (r[i] > m) m = r[i] }
    match($0, /[(][0-9]+ per rank unsharded/); u = substr($0, RSTART + 1, RLENGTH - 1) + 0
    exit !(n == 4 && s == u && m < u / 3) }'; then
  ok "-v states each rank's share of the state: $line"
else
  fail "-v plan missing or wrong: '$line'"
fi

# default mode: within 1e-6 of unsharded on as many ranks (buckets
# reduce-scattered); Adam at its default rate without batch normalisation,
# whose preceding bias has a gradient of pure rounding noise that Adam
# scales up whatever the reduction
for np in 2 3 4; do
  for opt in sgd adam; do
    spec=$SGD model=bn
    [ $opt = adam ] && spec="{name: adam, clip: {norm: 0.5}}" model=plain
    skurfile "$WORK/def-$opt-u$np" $model "$spec"
    skurfile "$WORK/def-$opt-s$np" $model "$spec" "shard_optimizer: yes"
    run $np "$WORK/def-$opt-u$np" || fail "default $opt on $np: $(why "$WORK/def-$opt-u$np/out")"
    run $np "$WORK/def-$opt-s$np" -v || fail "default $opt sharded on $np: $(why "$WORK/def-$opt-s$np/out")"
    if out=$(same "$WORK/def-$opt-u$np/last.w" "$WORK/def-$opt-s$np/last.w" 1e-6); then
      ok "default $opt on $np ranks: sharded within 1e-6 of unsharded ($out)"
    else
      fail "default $opt on $np ranks: sharded and unsharded differ: $out"
    fi
  done
done
if grep -qE "gradients: [0-9]+ buckets reduce-scattered during backward" "$WORK/def-sgd-s4/out"; then
  ok "default mode reduce-scatters the buckets during backward"
else
  fail "no reduce-scatter plan: $(grep gradients "$WORK/def-sgd-s4/out")"
fi

# checkpoints: written sharded on 4 ranks, the very file unsharded writes
for how in u s; do
  extra=()
  [ $how = s ] && extra=("shard_optimizer: yes")
  EPOCHS="{number: 1, mode: total}" CHECKPOINT=ck.kurc \
    skurfile "$WORK/ck-$how" bn "$ADAM" "${DET[@]}" "${extra[@]}"
  run 4 "$WORK/ck-$how" || fail "checkpoint $how: $(why "$WORK/ck-$how/out")"
done
if out=$(same "$WORK/ck-u/ck.kurc" "$WORK/ck-s/ck.kurc"); then
  ok "a checkpoint written sharded is bitwise the unsharded one ($out)"
else
  fail "sharded and unsharded checkpoints differ: $out"
fi

# resume: 1 epoch then 3 in all, across sharded/unsharded and 4/3 ranks,
# against 3 epochs in one run
EPOCHS="{number: 3, mode: total}" skurfile "$WORK/all" bn "$ADAM" "${DET[@]}"
run 2 "$WORK/all" || fail "uninterrupted: $(why "$WORK/all/out")"
for combo in "4 u 3 s" "4 s 3 u" "3 u 4 s" "3 s 4 u"; do
  read -r np1 how1 np2 how2 <<<"$combo"
  d="$WORK/resume-$np1$how1-$np2$how2"
  s1=() s2=()
  [ "$how1" = s ] && s1=("shard_optimizer: yes")
  [ "$how2" = s ] && s2=("shard_optimizer: yes")
  EPOCHS="{number: 1, mode: total}" CHECKPOINT=ck.kurc skurfile "$d" bn "$ADAM" "${DET[@]}" "${s1[@]}"
  run "$np1" "$d" || fail "$combo first part: $(why "$d/out")"
  EPOCHS="{number: 3, mode: total}" CHECKPOINT=ck.kurc skurfile "$d" bn "$ADAM" "${DET[@]}" "${s2[@]}"
  run "$np2" "$d" || fail "$combo resumed: $(why "$d/out")"
  grep -q "resuming from checkpoint ck.kurc (1 epochs" "$d/out" || fail "$combo: did not resume"
  name="$np1 ranks $([ "$how1" = s ] && echo sharded || echo unsharded) -> $np2 ranks $([ "$how2" = s ] && echo sharded || echo unsharded)"
  if out=$(same "$WORK/all/last.w" "$d/last.w"); then
    ok "resumed $name: bitwise the uninterrupted run"
  else
    fail "resumed $name: differs from the uninterrupted run: $out"
  fi
done
# a stop by a signal mid-epoch (batch 18 of 30: with --step rank 0 waits for
# a line before each batch; after 17 lines SIGUSR1 lets the 18th run and
# stops there): sharded on 4 ranks, the checkpoint gathered on the way
# out, resumed sharded on 3
d="$WORK/signal"
EPOCHS="{number: 3, mode: total}" CHECKPOINT=ck.kurc skurfile "$d" bn "$ADAM" "${DET[@]}" "shard_optimizer: yes"
stop_by_signal 4 "$d" 17
[ "$RC" -eq 3 ] || fail "signal: exit status $RC, not 3: $(why "$d/out")"
run 3 "$d" || fail "signal resumed: $(why "$d/out")"
if grep -q "resuming from checkpoint ck.kurc (1 epochs and 8 batches done)" "$d/out" &&
  out=$(same "$WORK/all/last.w" "$d/last.w"); then
  ok "stopped by a signal mid-epoch sharded on 4 ranks, resumed sharded on 3: bitwise the uninterrupted run"
else
  fail "signal stop and resume: $(grep -i resum "$d/out") ${out:-}"
fi
finish
