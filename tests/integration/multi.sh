#!/usr/bin/env bash
# multi.sh BIN SRC WORK - several data sets: validate.data and test.data as
# mappings {NAME: [suppliers]}; each set is validated (tested) and logged on
# its own, then the sample-weighted overall loss decides and is printed.
. "$(dirname "$0")/lib.sh"
need_python numpy h5py

points 32 train.jsonl 41
points 12 one.jsonl 42
points 20 two.jsonl 43

cat >multi.yml <<'EOF'
settings: {seed: 8}
model:
  - input: x
  - dense: 6
    name: hidden
  - activation: tanh
  - dense: 2
    name: logits
  - activation: softmax
    name: y
train:
  data:
    - jsonl: train.jsonl
  provider: {batch_size: 8}
  stop_when: {epochs: 3}
  optimizer: {name: adam, learning_rate: 0.05}
  weights: {last: last.w}
  log: log
validate:
  data:
    set_one:
      - jsonl: one.jsonl
    beta:
      - jsonl: two.jsonl
  provider: {batch_size: 5}
  weights: best-valid.w
test:
  data:
    set_one:
      - jsonl: one.jsonl
    beta:
      - jsonl: two.jsonl
  weights: last.w
loss:
  - target: y
    name: categorical_crossentropy
EOF

kurc_run train 0 train multi.yml
count validates-set-one train.err "Validating set_one, loss=" 3
count validates-beta train.err "Validating beta, loss=" 3
count validates-all-of-beta train.err ": 20 samples in" 3
pycheck validation-log <<'EOF'
import os, re, struct
import numpy as np
def column(name):
    with open(os.path.join("log", name), "rb") as f:
        f.read(4)
        n = struct.unpack(">I", f.read(4))[0]
        return np.frombuffer(f.read(4 * n), dtype=">i4" if name.endswith("_batch") else ">f4")
one = column("validation_loss.set__one_total")
two = column("validation_loss.beta_total")
overall = column("validation_loss_total")
assert len(one) == len(two) == len(overall) == 3, (one, two, overall)
# the overall loss weighs each set by its samples (12 and 20)
assert np.allclose(overall, (12 * one.astype(float) + 20 * two) / 32, atol=1e-6), overall
# and is what the progress lines said, set by set
text = open("train.err").read()
printed_one = [float(v) for v in re.findall(r"^Validating set_one, loss=([0-9.]+): 12 samples", text, re.M)]
printed_two = [float(v) for v in re.findall(r"^Validating beta, loss=([0-9.]+): 20 samples", text, re.M)]
assert np.allclose(one, printed_one, atol=5e-4) and np.allclose(two, printed_two, atol=5e-4)
# the best validation weights are those of the epoch of least overall loss:
# the epoch the log shows it first at
best = int(np.argmin(overall))
open("best-epoch.txt", "w").write(str(best + 1))
EOF
# retrain to that epoch and compare
sed "s/stop_when: {epochs: 3}/stop_when: {epochs: $(cat best-epoch.txt)}/; s/last.w/again.w/; s/log: log/log: log2/; s/best-valid.w/again-valid.w/" \
  multi.yml >again.yml
kurc_run train-to-best 0 train again.yml
same_weights best-by-overall best-valid.w again.w

kurc_run test 0 test multi.yml
has test-set-one test.err "Testing set_one, loss="
has test-beta test.err "Testing beta, loss="
pycheck test-overall <<'EOF'
import re
text = open("test.err").read()
one = float(re.search(r"^Testing set_one, loss=([0-9.]+): 12 samples", text, re.M).group(1))
two = float(re.search(r"^Testing beta, loss=([0-9.]+): 20 samples", text, re.M).group(1))
overall = float(re.search(r"^Overall test loss: ([0-9.]+)$", text, re.M).group(1))
assert abs(overall - (12 * one + 20 * two) / 32) < 1e-3, (one, two, overall)
EOF
# the last epoch's validation losses are the test losses of the last weights
pycheck test-equals-last-validation <<'EOF'
import re
train, test = open("train.err").read(), open("test.err").read()
for name in ("set_one", "beta"):
    v = re.findall(r"^Validating " + name + r", loss=([0-9.]+)", train, re.M)[-1]
    t = re.search(r"^Testing " + name + r", loss=([0-9.]+)", test, re.M).group(1)
    assert v == t, (name, v, t)
EOF

# one set (a list) is reported without a name, and without an overall line
{
  sed '/^test:/,$d' multi.yml
  printf 'test:\n  data:\n    - jsonl: one.jsonl\n  weights: last.w\n'
  printf 'loss:\n  - target: y\n    name: categorical_crossentropy\n'
} >single.yml
kurc_run test-single 0 test single.yml
has test-single-label test-single.err "Testing, loss="
has test-single-total test-single.err "Test loss: "
lacks test-single-no-overall test-single.err "Overall"
finish
