#!/usr/bin/env bash
# provider.sh BIN SRC WORK - provider options through the command line
# (Kur's section 4.3): batch_size, randomize (and its being forced off for
# test and evaluate), sortagrad, num_batches, force_batch_size, as `kurc
# data` prints batches and as training counts samples.
. "$(dirname "$0")/lib.sh"
need_python numpy

points 10 data.jsonl 51

# kurfile FILE PROVIDER [SEED]: the same provider for every section
kurfile() {
  cat >"$1" <<EOF
settings: {seed: ${3:-1}}
model:
  - input: x
  - dense: 2
  - activation: softmax
    name: y
train:
  data:
    - jsonl: data.jsonl
  provider: $2
  stop_when: {epochs: 2}
  log: ${1%.yml}-log
validate:
  data:
    - jsonl: data.jsonl
  provider: $2
test:
  data:
    - jsonl: data.jsonl
  provider: $2
evaluate:
  data:
    - jsonl: data.jsonl
  provider: $2
loss:
  - target: y
    name: categorical_crossentropy
EOF
}

# order NAME OUT WANT: the x of the entries `kurc data` printed in OUT are
# those of data.jsonl's lines WANT (1-based, space-separated, or "sorted":
# ascending by x[0]; "shuffled": a permutation other than the file's).
order() {
  pycheck "$1" "$2" "$3" <<'EOF'
import json, re, sys
import numpy as np
out, want = open(sys.argv[1]).read(), sys.argv[2]
lines = [np.float32(json.loads(l)["x"]) for l in open("data.jsonl")]
entries = re.findall(r"^Entry (\d+)/(\d+):\n  x: \[([^\]]*)\]\n  y: \[([^\]]*)\]$", out, re.M)
assert entries, out
xs = [np.array([float(v) for v in e[2].split(",")], dtype=np.float32) for e in entries]
rows = []
for x in xs:
    match = [i + 1 for i, l in enumerate(lines) if np.array_equal(l, x)]
    assert len(match) == 1, (x, match)
    rows.append(match[0])
if want == "sorted":
    firsts = [lines[r - 1][0] for r in rows]
    assert firsts == sorted(firsts), rows
elif want == "shuffled":
    assert len(set(rows)) == len(rows) and rows != sorted(rows), rows
else:
    assert rows == [int(v) for v in want.split()], (rows, want)
print(" ".join(map(str, rows)))
EOF
}

# --- batch_size and randomize ----------------------------------------------------
kurfile plain.yml "{batch_size: 4, randomize: no}"
kurc_run data-unshuffled 0 data plain.yml
count data-batch-size data-unshuffled.out "Entry " 4
has data-counts-batch data-unshuffled.out "Entry 4/4:"
order data-file-order data-unshuffled.out "1 2 3 4"
kurc_run data-n 0 data -n 2 plain.yml
count data-n-two data-n.out "Entry " 2
has data-n-out-of-batch data-n.out "Entry 2/4:"
order data-n-first data-n.out "1 2"
kurfile whole.yml "{batch_size: 32, randomize: no}"
kurc_run data-whole 0 data whole.yml
order data-short-batch data-whole.out "1 2 3 4 5 6 7 8 9 10"

kurfile shuffled.yml "{batch_size: 10}"
kurc_run data-shuffled 0 data shuffled.yml
order data-shuffled-order data-shuffled.out shuffled
cp pycheck.log shuffled-1.txt
kurc_run data-shuffled-again 0 data shuffled.yml
order data-shuffled-again-order data-shuffled-again.out shuffled
check shuffle-reproducible cmp shuffled-1.txt pycheck.log
kurfile seed2.yml "{batch_size: 10}" 2
kurc_run data-other-seed 0 data seed2.yml
order data-other-seed-order data-other-seed.out shuffled
check shuffle-follows-seed bash -c '! cmp -s shuffled-1.txt pycheck.log'
# validation shuffles too; test and evaluate never do
kurc_run data-validate 0 data -t validate shuffled.yml
order data-validate-shuffled data-validate.out shuffled
kurc_run data-test 0 data -t test shuffled.yml
order data-test-file-order data-test.out "1 2 3 4 5 6 7 8 9 10"
kurc_run data-evaluate 0 data -t evaluate shuffled.yml
order data-evaluate-file-order data-evaluate.out "1 2 3 4 5 6 7 8 9 10"
# sortagrad: the first epoch sorted by x (its first element)
kurfile sorted.yml "{batch_size: 10, sortagrad: x}"
kurc_run data-sortagrad 0 data sorted.yml
order data-sortagrad-sorted data-sortagrad.out sorted

# --- num_batches and force_batch_size in training ------------------------------
kurfile nb.yml "{batch_size: 3, num_batches: 2}"
kurc_run num-batches 0 train nb.yml
count num-batches-samples num-batches.err ": 6 samples in" 4
pycheck num-batches-log <<'EOF'
import struct
f = open("nb-log/batch_loss_total", "rb"); f.read(4)
assert struct.unpack(">I", f.read(4))[0] == 4
EOF
kurfile full.yml "{batch_size: 4}"
kurc_run short-last-batch 0 train full.yml
count short-last-batch-kept short-last-batch.err ": 10 samples in" 4
kurfile force.yml "{batch_size: 4, force_batch_size: yes}"
kurc_run force-batch-size 0 train force.yml
count force-batch-size-drops force-batch-size.err ": 8 samples in" 4
kurc_run test-num-batches 0 test nb.yml
has test-num-batches-samples test-num-batches.err "Testing, loss="
has test-num-batches-six test-num-batches.err ": 6 samples in"
finish
