#!/usr/bin/env bash
# log.sh BIN SRC WORK - train.log: Kur's binary log (summary.yml and one IDX
# file per column), read back with numpy and yaml; a second run continues
# its epoch numbering, counters, clocks and best-loss tracking.
. "$(dirname "$0")/lib.sh"
need_python numpy yaml h5py

# 36 samples in batches of 8: 5 batches per epoch (the last of 4).  The
# output is called y_out, so its columns show Kur's escaping of '_'.
points 36 train.jsonl 8
points 12 valid.jsonl 9
sed -i 's/"y"/"y_out"/' train.jsonl valid.jsonl

kurfile() {
  cat >"$1" <<EOF
settings: {seed: 4}
model:
  - input: x
  - dense: 8
    name: hidden
  - activation: tanh
  - dense: 2
    name: logits
  - activation: softmax
    name: y_out
train:
  data:
    - jsonl: train.jsonl
  provider: {batch_size: 8}
  stop_when: $2
  optimizer: {name: sgd, learning_rate: ${3:-0.5}}
  weights: {initial: last.w, best: best.w, last: last.w}
  log: logdir
validate:
  data:
    - jsonl: valid.jsonl
  weights: best-valid.w
loss:
  - target: y_out
    name: categorical_crossentropy
EOF
}

# idx.py: reads a column of the log (IDX: 00 00 TYPE NDIM, big-endian
# dimensions, big-endian data; 0x0D float32, 0x0C int32).
cat >idx.py <<'EOF'
import numpy as np, os, struct
def column(name, log="logdir"):
    with open(os.path.join(log, name), "rb") as f:
        zero, kind, ndim = struct.unpack(">HBB", f.read(4))
        assert zero == 0 and ndim == 1, (name, zero, ndim)
        n = struct.unpack(">I", f.read(4))[0]
        dtype = {0x0D: ">f4", 0x0C: ">i4"}[kind]
        data = np.frombuffer(f.read(4 * n), dtype=dtype)
        assert len(data) == n, name
        return data
def losses(stderr, label):
    """The losses printed on the progress lines that start with label."""
    import re
    return [float(m.group(1)) for m in
            re.finditer(r"^" + label + r"[^,\n]*, loss=([0-9.]+)", open(stderr).read(), re.M)]
EOF

kurfile first.yml "{epochs: 2}"
kurc_run first 0 train first.yml
pycheck summary <<'EOF'
import yaml
s = yaml.safe_load(open("logdir/summary.yml"))
assert s["version"] == 3 and s["epochs"] == 2 and s["batches"] == 10, s
assert s["samples"] == 72 and s["sessions"] == 1, s
assert sorted(s["clocks"]) == ["all", "batch", "train", "validate"], s
assert all(v >= 0 for v in s["clocks"].values()), s
assert s["clocks"]["all"] >= s["clocks"]["train"] >= s["clocks"]["batch"], s
EOF
pycheck columns <<'EOF'
import os
from idx import column
files = sorted(os.listdir("logdir"))
want = ["summary.yml"]
for prefix, n in (("batch_loss", 10), ("training_loss", 2),
                  ("validation_loss", 2), ("validation_loss.default", 2)):
    for stat in ("y__out", "total", "batch", "time"):
        want.append(prefix + "_" + stat)
        assert len(column(prefix + "_" + stat)) == n, (prefix, stat, column(prefix + "_" + stat))
# kurc's learning-rate column, beside its own batch counter
want += ["batch_optimizer_lr", "batch_optimizer_batch"]
assert list(column("batch_optimizer_batch")) == list(column("batch_loss_batch"))
assert len(column("batch_optimizer_lr")) == 10
assert files == sorted(want), files
EOF
pycheck values <<'EOF'
import numpy as np
from idx import column, losses
# one output: its loss is the total
for prefix in ("batch_loss", "training_loss", "validation_loss", "validation_loss.default"):
    assert np.array_equal(column(prefix + "_y__out"), column(prefix + "_total")), prefix
# the global batch counter and a clock that never goes back
assert list(column("batch_loss_batch")) == list(range(1, 11))
assert list(column("training_loss_batch")) == [5, 10]
assert list(column("validation_loss.default_batch")) == [5, 10]
for prefix in ("batch_loss", "training_loss", "validation_loss"):
    t = column(prefix + "_time")
    assert np.all(t >= 0) and np.all(np.diff(t) >= 0), (prefix, t)
# what the progress lines printed
assert np.allclose(column("training_loss_total"), losses("first.err", "Epoch"), atol=5e-4)
assert np.allclose(column("validation_loss.default_total"), losses("first.err", "Validating"),
                   atol=5e-4)
# one validation set: the overall record is that set's
assert np.array_equal(column("validation_loss_total"), column("validation_loss.default_total"))
# the epoch's loss is the sample-weighted mean of its batches' losses
b = column("batch_loss_total").astype(np.float64)
w = np.array([8, 8, 8, 8, 4] * 2, dtype=np.float64)
for e in range(2):
    mean = (b[5 * e:5 * e + 5] * w[5 * e:5 * e + 5]).sum() / 36
    assert abs(mean - column("training_loss_total")[e]) < 1e-5, (e, mean)
EOF

# --- a second run continues the log -------------------------------------------
kurfile second.yml "{epochs: 4, mode: total}"
kurc_run second 0 train second.yml
has second-numbering second.err "Epoch 3/4, loss="
lacks second-no-epoch-1 second.err "Epoch 1/"
has second-completes second.err "Completed 4 epochs."
pycheck second-summary <<'EOF'
import yaml, numpy as np
from idx import column
s = yaml.safe_load(open("logdir/summary.yml"))
assert s["epochs"] == 4 and s["batches"] == 20 and s["samples"] == 144, s
assert s["sessions"] == 2, s
assert list(column("batch_loss_batch")) == list(range(1, 21))
assert list(column("training_loss_batch")) == [5, 10, 15, 20]
assert len(column("validation_loss_total")) == 4
t = column("batch_loss_time")
assert np.all(np.diff(t) >= 0), t
EOF

# mode additional: one more epoch, numbered 5
kurfile third.yml "{epochs: 1}"
kurc_run third 0 train third.yml
has third-numbering third.err "Epoch 5/5, loss="

# --- best losses are the log's ------------------------------------------------
# A run whose losses are all worse than the best in the log (SGD with an
# absurd learning rate) must not overwrite the best weights.
cp best.w best-3.w
cp best-valid.w best-valid-3.w
kurfile worse.yml "{epochs: 2}" 300
kurc_run worse 0 train worse.yml
pycheck worse-is-worse <<'EOF'
from idx import column
t, v = column("training_loss_total"), column("validation_loss_total")
assert len(t) == 7 and len(v) == 7
assert min(t[5:]) > min(t[:5]) and min(v[5:]) > min(v[:5]), (t, v)
EOF
same_weights best-training-kept best-3.w best.w
same_weights best-validation-kept best-valid-3.w best-valid.w
finish
