#!/usr/bin/env bash
# tutorial.sh BIN SRC WORK - Kur's "Tutorial From Scratch" end to end, as
# its page tells it: make the data (examples/make_tutorial_data.py), train
# examples/tutorial.yml, test, evaluate, and look at the log and output.pkl.
. "$(dirname "$0")/lib.sh"
need_python numpy

cp "$src/examples/tutorial.yml" .
check make-data "$PY" "$src/examples/make_tutorial_data.py" --all
check make-one-file "$PY" "$src/examples/make_tutorial_data.py" --seed 3 50 extra.pkl
pycheck data-format <<'EOF'
import pickle, numpy as np
for name, n in (("train", 10000), ("validate", 1000), ("test", 1000), ("evaluate", 1000),
                ("extra", 50)):
    with open(name + ".pkl", "rb") as f:
        d = pickle.load(f)
    assert sorted(d) == ["above", "point"], d.keys()
    p, a = d["point"], d["above"]
    assert p.shape == (n, 2) and a.shape == (n,) and a.dtype == np.float32
    assert np.all(np.abs(p[:, 0]) <= np.pi) and np.all(np.abs(p[:, 1]) <= 1)
    assert np.array_equal(a, np.where(p[:, 1] > np.sin(p[:, 0]), 1, -1).astype(np.float32))
EOF

kurc_run tutorial-train 0 train tutorial.yml
has tutorial-ten-epochs tutorial-train.err "Epoch 10/10, loss="
has tutorial-completes tutorial-train.err "Completed 10 epochs."
check tutorial-best-weights test -s best.w
pycheck tutorial-loss-fell <<'EOF'
import os, struct
import numpy as np
def column(name):
    with open(os.path.join("tutorial-log", name), "rb") as f:
        f.read(4)
        n = struct.unpack(">I", f.read(4))[0]
        return np.frombuffer(f.read(4 * n), dtype=">f4")
# the log the tutorial lists
for name in ("training_loss_above", "training_loss_total", "validation_loss_above",
             "validation_loss_total"):
    assert len(column(name)) == 10, name
t, v = column("training_loss_total"), column("validation_loss_total")
print("training loss", t.round(3), "\nvalidation loss", v.round(3))
# below what a constant guess (0: loss 1) or a straight line would give,
# and falling
assert t[-1] < t[0] and v[-1] < v[0] and v.min() < 0.4, (t, v)
assert t[-1] < 0.9 * t[0], t
EOF
cat pycheck.log
kurc_run tutorial-test 0 test tutorial.yml
pycheck tutorial-test-loss <<'EOF'
import re
loss = float(re.search(r"^Test loss: ([0-9.]+)$", open("tutorial-test.err").read(), re.M).group(1))
assert loss < 0.45, loss
EOF
kurc_run tutorial-evaluate 0 evaluate tutorial.yml
pycheck tutorial-output <<'EOF'
import pickle, numpy as np
with open("output.pkl", "rb") as f:
    out = pickle.load(f)
with open("evaluate.pkl", "rb") as f:
    data = pickle.load(f)
assert sorted(out) == ["result", "truth"], out.keys()
r, t = out["result"]["above"], out["truth"]["above"]
assert r.shape == (1000, 1) and t.shape == (1000, 1), (r.shape, t.shape)
assert np.array_equal(t[:, 0], data["above"])
assert np.all(np.abs(r) <= 1)
accuracy = np.mean(np.sign(r[:, 0]) == t[:, 0])
print("evaluation accuracy", accuracy)
assert accuracy > 0.75, accuracy
EOF
cat pycheck.log
# training again starts from best.w (train.weights) and goes on
kurc_run tutorial-train-again 0 train tutorial.yml
has tutorial-again-numbering tutorial-train-again.err "Epoch 11/20, loss="
finish
