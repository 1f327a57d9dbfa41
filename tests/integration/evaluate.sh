#!/usr/bin/env bash
# evaluate.sh BIN SRC WORK - `kurc evaluate` and its destinations: weights
# written with h5py, the outputs of a small two-output model computed by
# hand with numpy, and the .pkl, .h5 and .npz files read back by Debian's
# python3, with the truth and without it.
. "$(dirname "$0")/lib.sh"
need_python numpy h5py

# The model: x (3) -> dense 4 (h) -> relu (hr) -> dense 2 (out), and a
# second output from hr: dense 1 (side).
"$PY" - <<'EOF'
import json, h5py, numpy as np
rng = np.random.default_rng(7)
w = {"h": (rng.normal(size=(3, 4)), rng.normal(size=4)),
     "out": (rng.normal(size=(4, 2)), rng.normal(size=2)),
     "side": (rng.normal(size=(4, 1)), rng.normal(size=1))}
with h5py.File("hand.w", "w") as f:
    f.attrs["format"] = "kurc-weights"
    f.attrs["format_version"] = np.int32(1)
    for layer, (kernel, bias) in w.items():
        g = f.create_group(layer)
        g["kernel"] = kernel.astype(np.float32)
        g["bias"] = bias.astype(np.float32)
x = rng.normal(size=(11, 3)).astype(np.float32)
out_truth = rng.normal(size=(11, 2)).astype(np.float32)
side_truth = rng.normal(size=(11, 1)).astype(np.float32)
def row(i, keys):
    d = {"x": x[i].tolist(), "out": out_truth[i].tolist(), "side": side_truth[i].tolist()}
    return json.dumps({k: d[k] for k in keys})
for name, keys in (("truth", ("x", "out", "side")), ("partial", ("x", "out")), ("none", ("x",))):
    with open(name + ".jsonl", "w") as f:
        f.writelines(row(i, keys) + "\n" for i in range(11))
EOF

# kurfile FILE DATA DESTINATION
kurfile() {
  cat >"$1" <<EOF
model:
  - input: x
  - dense: 4
    name: h
  - activation: relu
    name: hr
  - dense: 2
    name: out
  - dense: 1
    inputs: hr
    name: side
evaluate:
  data:
    - jsonl: $2.jsonl
  provider: {batch_size: 4}
  weights: hand.w
  destination: $3
EOF
}

# read.py: the file's {'result': {...}, 'truth': {...}} (truth None when
# absent), whatever its format; the forward pass by hand.
cat >read.py <<'EOF'
import json, pickle, h5py, numpy as np
def read(path):
    if path.endswith(".pkl"):
        with open(path, "rb") as f:
            d = pickle.load(f)
        assert set(d) <= {"result", "truth"}, d.keys()
        return d["result"], d.get("truth")
    if path.endswith((".h5", ".hdf5")):
        with h5py.File(path, "r") as f:
            assert set(f) <= {"result", "truth"}, list(f)
            get = lambda g: {k: f[g][k][()] for k in f[g]} if g in f else None
            return get("result"), get("truth")
    with np.load(path) as z:
        result = {k[7:]: z[k] for k in z.files if k.startswith("result/")}
        truth = {k[6:]: z[k] for k in z.files if k.startswith("truth/")}
        assert len(result) + len(truth) == len(z.files), z.files
        return result, truth or None
def forward(data):
    with h5py.File("hand.w", "r") as f:
        w = {l: (f[l]["kernel"][()].astype(np.float64), f[l]["bias"][()].astype(np.float64))
             for l in f}
    x = np.array([json.loads(l)["x"] for l in open(data)], dtype=np.float32).astype(np.float64)
    hr = np.maximum(x @ w["h"][0] + w["h"][1], 0)
    return {"out": hr @ w["out"][0] + w["out"][1], "side": hr @ w["side"][0] + w["side"][1]}
def truths(data):
    rows = [json.loads(l) for l in open(data)]
    return {k: np.array([r[k] for r in rows], dtype=np.float32) for k in ("out", "side")}
EOF

# expect NAME FILE DATA TRUTH(yes/no)
expect() {
  pycheck "$1" "$2" "$3" "$4" <<'EOF'
import sys, numpy as np
from read import read, forward, truths
path, data, want_truth = sys.argv[1], sys.argv[2] + ".jsonl", sys.argv[3] == "yes"
result, truth = read(path)
want = forward(data)
assert sorted(result) == ["out", "side"], sorted(result)
for k in want:
    assert result[k].dtype == np.float32 and result[k].shape == want[k].shape, \
        (k, result[k].dtype, result[k].shape)
    assert np.allclose(result[k], want[k], rtol=1e-5, atol=1e-5), (k, result[k], want[k])
if want_truth:
    t = truths(data)
    assert truth is not None and sorted(truth) == ["out", "side"], truth
    for k in t:
        assert truth[k].shape == t[k].shape and np.array_equal(truth[k], t[k]), k
else:
    assert truth is None, truth
EOF
}

for ext in pkl h5 npz; do
  kurfile "$ext-truth.yml" truth "res-truth.$ext"
  kurc_run "evaluate-$ext-truth" 0 evaluate "$ext-truth.yml"
  has "evaluate-$ext-progress" "evaluate-$ext-truth.err" "Evaluating: 11 samples in"
  expect "$ext-with-truth" "res-truth.$ext" truth yes
  kurfile "$ext-none.yml" none "res-none.$ext"
  kurc_run "evaluate-$ext-no-truth" 0 evaluate "$ext-none.yml"
  expect "$ext-without-truth" "res-none.$ext" none no
done
# the truth is kept only when the data has every output's (Kur's rule)
kurfile partial.yml partial res-partial.pkl
kurc_run evaluate-partial-truth 0 evaluate partial.yml
expect partial-truth-dropped res-partial.pkl partial no
# {path, format}: the format wins over the extension
kurfile fmt.yml truth "{path: res.bin, format: h5}"
kurc_run evaluate-format 0 evaluate fmt.yml
check format-h5-written cp res.bin res-fmt.h5
expect format-h5 res-fmt.h5 truth yes
# an unknown format is an error before anything runs
kurfile badfmt.yml truth "{path: res.bin, format: xls}"
kurc_run evaluate-bad-format 2 evaluate badfmt.yml
has evaluate-bad-format-message evaluate-bad-format.err \
  "badfmt.yml:17:40: the output hook: unknown format 'xls' (expected pkl, pickle, csv, h5, hdf5 or npz)"
lacks evaluate-bad-format-before-running evaluate-bad-format.err "Evaluating"
# no destination: outputs are computed and nothing is written
kurfile nodest.yml truth "null"
kurc_run evaluate-no-destination 0 evaluate nodest.yml
check evaluate-no-destination-nothing bash -c '! ls res-nodest* 2>/dev/null'
finish
