#!/usr/bin/env bash
# weights.sh BIN SRC WORK - train.weights as a path and as {initial,
# must_exist, best, last}, validate.weights, and the weights test and
# evaluate load (Kur's section 4.7).
. "$(dirname "$0")/lib.sh"
need_python h5py numpy

points 40 train.jsonl 11
points 20 valid.jsonl 22

# kurfile FILE TRAIN_WEIGHTS EPOCHS [LR] [VALIDATE_WEIGHTS]: a small
# classifier trained with plain SGD (no optimizer state) on unshuffled data,
# so that two runs of one epoch equal one run of two.
kurfile() {
  cat >"$1" <<EOF
settings: {seed: 5}
model:
  - input: x
  - dense: 8
    name: hidden
  - activation: tanh
  - dense: 2
    name: logits
  - activation: softmax
    name: y
train:
  data:
    - jsonl: train.jsonl
  provider: {batch_size: 8, randomize: no}
  stop_when: {epochs: $3}
  optimizer: {name: sgd, learning_rate: ${4:-0.5}}
  weights: $2
  log: ${1%.yml}-log
validate:
  data:
    - jsonl: valid.jsonl
${5:+  weights: $5}
test:
  data:
    - jsonl: valid.jsonl
  weights: {initial: best-valid.w}
evaluate:
  data:
    - jsonl: valid.jsonl
  weights: last.w
  destination: out.h5
loss:
  - target: y
    name: categorical_crossentropy
EOF
}

# --- train.weights: PATH ----------------------------------------------------
# absent: training starts from the seed's weights and saves the best
# training loss there (validate.weights is absent)
kurfile path.yml w.h5 1
kurc_run path-first 0 -v train path.yml
check path-saved-best test -s w.h5
has path-saved-best-message path-first.err "saved best training weights to w.h5"
lacks path-absent-not-loaded path-first.err "loaded initial weights"
# present: loaded, then trained on (the second run picks up where the first
# ended: two runs of one epoch equal one run of two)
kurc_run path-second 0 -v train path.yml
has path-loaded path-second.err "loaded initial weights from w.h5"
kurfile two.yml "{last: two.w}" 2
kurc_run two-epochs 0 train two.yml
same_weights path-continues w.h5 two.w
# zero epochs: the initial weights come back unchanged as `last`
kurfile zero.yml "{initial: two.w, last: zero.w}" 0
kurc_run zero-epochs 0 train zero.yml
same_weights initial-loaded-exactly two.w zero.w

# --- {initial, must_exist} --------------------------------------------------
kurfile must.yml "{initial: nothere.w, must_exist: yes}" 1
kurc_run must-exist-missing 1 train must.yml
has must-exist-message must-exist-missing.err \
  "kurc: the initial weights nothere.w do not exist (train.weights.must_exist)"
check must-exist-no-last test ! -e nothere.w
kurfile optional.yml "{initial: nothere.w, must_exist: no, last: optional.w}" 1
kurc_run initial-missing-optional 0 -v train optional.yml
check initial-missing-optional-trains test -s optional.w
kurfile mustok.yml "{initial: two.w, must_exist: yes, last: mustok.w}" 0
kurc_run must-exist-present 0 train mustok.yml
same_weights must-exist-loaded two.w mustok.w

# --- {best, last} -----------------------------------------------------------
# A learning rate this high makes the training loss go up and down, so the
# best epoch is not the last one.  `best` must hold the weights after the
# epoch of least training loss, `last` those after the final epoch.
kurfile bl.yml "{best: best.w, last: last.w}" 6 40 best-valid.w
kurc_run best-last 0 train bl.yml
check best-written test -s best.w
check last-written test -s last.w
check best-valid-written test -s best-valid.w
"$PY" - >best-epochs.txt <<'EOF'
import struct
def column(path):
    with open(path, "rb") as f:
        head = f.read(4)
        n = struct.unpack(">I", f.read(4))[0]
        return struct.unpack(">%df" % n, f.read(4 * n))
for name in ("training_loss_total", "validation_loss_total"):
    values = column("bl-log/" + name)
    assert len(values) == 6, (name, values)
    # Kur saves when the loss is below the best so far: the first minimum
    print(1 + min(range(6), key=lambda i: (values[i], i)))
EOF
best_train=$(sed -n 1p best-epochs.txt) best_valid=$(sed -n 2p best-epochs.txt)
echo "best training epoch: $best_train, best validation epoch: $best_valid"
check best-not-last [ "$best_train" != 6 ]
kurfile rt.yml "{last: rt.w}" "$best_train" 40
kurc_run rerun-to-best-train 0 train rt.yml
same_weights best-is-best-training-epoch best.w rt.w
kurfile re6.yml "{last: re6.w}" 6 40
kurc_run rerun-six 0 train re6.yml
same_weights last-is-final-epoch last.w re6.w
kurfile rv.yml "{last: rv.w}" "$best_valid" 40
kurc_run rerun-to-best-valid 0 train rv.yml
same_weights best-valid-is-best-validation-epoch best-valid.w rv.w

# train.weights: PATH next to validate.weights: PATH is only the initial
# weights; the best validation loss goes to validate.weights
kurfile tv.yml tw.w 1 0.5 vw.w
kurc_run train-and-validate-weights 0 train tv.yml
check validate-weights-saved test -s vw.w
check train-path-not-saved test ! -e tw.w

# --- test and evaluate load their weights ------------------------------------
# test.weights {initial: best-valid.w} on the validation data: the loss of
# the best validation epoch
"$PY" -c "
import struct
f = open('bl-log/validation_loss_total', 'rb'); f.read(4)
n = struct.unpack('>I', f.read(4))[0]
print('%.3f' % min(struct.unpack('>%df' % n, f.read(4 * n))))" >want.txt
kurc_run test-loads 0 test bl.yml
pycheck test-loss-is-best-validation <<'EOF'
import re
got = float(re.search(r"^Test loss: ([0-9.]+)$", open("test-loads.err").read(), re.M).group(1))
want = float(open("want.txt").read())
assert abs(got - want) < 1.5e-3, (got, want)
EOF
kurc_run evaluate-loads 0 evaluate bl.yml
pycheck evaluate-used-last-weights <<'EOF'
import h5py, json, numpy as np
w = {}
with h5py.File("last.w", "r") as f:
    f.visititems(lambda n, o: w.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
x = np.array([json.loads(l)["x"] for l in open("valid.jsonl")], dtype=np.float64)
h = np.tanh(x @ w["hidden/kernel"] + w["hidden/bias"])
z = h @ w["logits/kernel"] + w["logits/bias"]
y = np.exp(z - z.max(axis=1, keepdims=True))
y /= y.sum(axis=1, keepdims=True)
with h5py.File("out.h5", "r") as f:
    got = f["result/y"][()]
assert got.shape == (20, 2), got.shape
assert np.allclose(got, y, rtol=1e-4, atol=1e-6), (got, y)
EOF

# a named weights file that is missing is an error naming it
sed 's/initial: best-valid.w/initial: gone.w/; s/weights: last.w/weights: gone2.w/' bl.yml >gone.yml
kurc_run test-missing-weights 1 test gone.yml
has test-missing-message test-missing-weights.err "kurc: test: the weights gone.w do not exist"
kurc_run evaluate-missing-weights 1 evaluate gone.yml
has evaluate-missing-message evaluate-missing-weights.err \
  "kurc: evaluate: the weights gone2.w do not exist"
check evaluate-missing-wrote-nothing test ! -e gone2.w

# weights of another model are refused, naming what disagrees
sed 's/dense: 8/dense: 5/' bl.yml >other.yml
kurc_run test-wrong-shape 1 test other.yml
has test-wrong-shape-names-it test-wrong-shape.err \
  "best-valid.w: layer 'hidden' weight 'kernel' has shape (2, 8) in the file but (2, 5) in the model"
finish
