#!/usr/bin/env bash
# bench_shard.sh [BUILD_DIR] - settings.shard_optimizer on this machine (not
# a test).  An MLP of about 50 M parameters (4096-4096-4096-4096-10, Adam)
# on random data:
#   memory      4 ranks, sharded and not: the optimizer-state bytes of each
#               rank (from -v's plan; unsharded: every rank holds it all)
#               and each rank's peak RSS (/usr/bin/time), with the ratios
#   throughput  2 ranks, sharded and not: samples/s of the last epoch, the
#               median of REPS runs (default 3) of each, interleaved, and
#               their ratio (sharded / unsharded)
# Few steps (EPOCHS epochs of BATCHES batches of 16): a small shared machine
# is slow and noisy, check `uptime` first.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/bench_lib.sh
. "$here/bench_lib.sh" "${1:-}"
REPS=${REPS:-3}
EPOCHS=${EPOCHS:-3}
BATCHES=${BATCHES:-4}

# the data: 16 x BATCHES samples of 4096 uniform values, 10 classes
awk -v n=$((16 * BATCHES)) 'BEGIN {
  srand(5)
  for (i = 0; i < n; i++) {
    line = "{\"x\": ["
    for (j = 0; j < 4096; j++) line = line sprintf("%s%.3f", j ? "," : "", rand() * 2 - 1)
    c = i % 10; y = ""
    for (j = 0; j < 10; j++) y = y sprintf("%s%d", j ? "," : "", j == c)
    printf "%s], \"y\": [%s]}\n", line, y
  }
}' >"$work/data.jsonl"

# kurfile NAME SHARD(yes|no)
kurfile() {
  mkdir -p "$work/$1"
  ln -sf "$work/data.jsonl" "$work/$1/data.jsonl"
  cat >"$work/$1/k.yml" <<EOF
settings:
  seed: 3
  shard_optimizer: $2
model:
  - input: x
  - dense: 4096
  - activation: relu
  - dense: 4096
  - activation: relu
  - dense: 4096
  - activation: relu
  - dense: 10
  - activation: softmax
    name: y
loss:
  - target: y
    name: categorical_crossentropy
train:
  data:
    - jsonl: data.jsonl
  provider: {batch_size: 16}
  epochs: $EPOCHS
  optimizer: adam
EOF
}

kurfile unsharded no
kurfile sharded yes
params=$(awk 'BEGIN { print 4096 * 4096 * 3 + 4096 * 3 + 4096 * 10 + 10 }')
echo "model: $params parameters ($(awk -v p="$params" 'BEGIN { printf "%.1f", p * 4 / 1048576 }') MiB of float32), Adam (2 state arenas)"

# run NAME NP: trains on NP ranks, each under /usr/bin/time (peak RSS in KiB
# in $work/NAME/rss.RANK)
run() {
  rm -f "$work/$1"/rss.*
  (cd "$work/$1" && mpirun -np "$2" bash -c \
    'exec /usr/bin/time -o "rss.$OMPI_COMM_WORLD_RANK" -f %M "$0" -v k.yml' "$build/bin/kurc-train") \
    >"$work/$1/out" 2>&1 || { echo "$1 on $2 ranks failed:"; tail -5 "$work/$1/out"; exit 1; }
}

echo
echo "== memory, 4 ranks =="
unit=$((params * 4 * 2))
for how in unsharded sharded; do
  run $how 4
  if [ $how = sharded ]; then
    state=$(grep -o "bytes per rank: [0-9, ]*" "$work/$how/out" | sed 's/bytes per rank: //; s/ *$//')
  else
    state="$unit, $unit, $unit, $unit"
  fi
  rss=$(for r in 0 1 2 3; do cat "$work/$how/rss.$r"; done | awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $1 / 1024 }')
  echo "$how: optimizer state bytes per rank: $state"
  echo "$how: peak RSS per rank (MiB): $rss"
  eval "state_$how=\"$state\" rss_$how=\"$rss\""
done
# shellcheck disable=SC2154
awk -v su="$state_unsharded" -v ss="$state_sharded" -v ru="$rss_unsharded" -v rs="$rss_sharded" 'BEGIN {
  n = split(su, a, ", "); split(ss, b, ", "); split(ru, c, ", "); split(rs, d, ", ")
  for (i = 1; i <= n; i++) { ms = b[i] > ms ? b[i] : ms; sa += a[i]; sb += b[i]; rc += c[i]; rd += d[i]; mc = c[i] > mc ? c[i] : mc; md = d[i] > md ? d[i] : md }
  printf "optimizer state per rank, sharded / unsharded: %.3f (largest shard; 1/4 = 0.250)\n", ms / a[1]
  printf "peak RSS per rank, sharded / unsharded: %.3f (largest rank: %d vs %d MiB; mean %.0f vs %.0f MiB)\n", md / mc, md, mc, rd / n, rc / n
}'

echo
echo "== throughput, 2 ranks (samples/s of epoch $EPOCHS, median of $REPS) =="
rate() {
  grep -E "^Epoch $EPOCHS/$EPOCHS" "$work/$1/out" | sed -E 's/.*\(([0-9.]+) samples\/s\).*/\1/' | tail -1
}
: >"$work/rates.unsharded"
: >"$work/rates.sharded"
for _ in $(seq "$REPS"); do
  for how in unsharded sharded; do
    run $how 2
    rate $how >>"$work/rates.$how"
  done
done
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
u=$(median "$work/rates.unsharded")
s=$(median "$work/rates.sharded")
echo "unsharded: $u samples/s (runs: $(tr '\n' ' ' <"$work/rates.unsharded"))"
echo "sharded:   $s samples/s (runs: $(tr '\n' ' ' <"$work/rates.sharded"))"
awk -v u="$u" -v s="$s" 'BEGIN { printf "throughput sharded / unsharded on 2 ranks: %.3f (target >= 0.95)\n", s / u }'
