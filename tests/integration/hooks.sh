#!/usr/bin/env bash
# hooks.sh BIN SRC WORK - hooks as a Kurfile uses them: the mnist table
# after `kurc evaluate` on 10-class data, the output hook's csv (on all of
# evaluate's outputs, and on the first batch of a test), and the plot
# hook's PNG and SVG drawn from a training log.
. "$(dirname "$0")/lib.sh"
need_python numpy h5py

# --- mnist --------------------------------------------------------------------
# The classifier is x (10) -> dense 10 (identity kernel, no bias) -> softmax,
# so it predicts the argmax of x; the data says which class each sample is.
"$PY" - <<'EOF'
import json, h5py, numpy as np
rng = np.random.default_rng(3)
with h5py.File("ten.w", "w") as f:
    f.attrs["format"] = "kurc-weights"
    f.attrs["format_version"] = np.int32(1)
    f.create_group("scores")
    f["scores/kernel"] = np.eye(10, dtype=np.float32)
    f["scores/bias"] = np.zeros(10, dtype=np.float32)
truth = rng.integers(0, 10, size=57)
guess = np.where(rng.random(57) < 0.7, truth, rng.integers(0, 10, size=57))
guess[truth == 4] = 4          # every 4 right
guess[truth == 7] = (7 + 1)    # every 7 wrong
truth[truth == 9] = 8          # no 9 at all
with open("ten.jsonl", "w") as f:
    for t, g in zip(truth, guess):
        x = np.zeros(10)
        x[g] = 1
        x += rng.random(10) * 0.1
        f.write(json.dumps({"images": x.tolist(), "labels": np.eye(10)[t].tolist()}) + "\n")
# Kur's table (kur/model/hooks/mnist_hook.py)
est = np.array([np.argmax(json.loads(l)["images"]) for l in open("ten.jsonl")])
lines = [("{: <10s}" * 4).format("LABEL", "CORRECT", "TOTAL", "ACCURACY")]
for i in range(10):
    total = int((truth == i).sum())
    correct = int(((truth == i) & (est == i)).sum())
    lines.append(("{: <10d}" * 3 + "{: >5.1f}%").format(
        i, correct, total, correct * 100. / total if total else 0))
correct, total = int((truth == est).sum()), len(truth)
lines.append(("{: <10s}" + "{: <10d}" * 2 + "{: >5.1f}%").format(
    "ALL", correct, total, correct * 100. / total))
open("table.txt", "w").write("\n".join(lines) + "\n")
EOF
cat >ten.yml <<'EOF'
model:
  - input: images
  - dense: 10
    name: scores
  - activation: softmax
    name: labels
evaluate:
  data:
    - jsonl: ten.jsonl
  provider: {batch_size: 16}
  weights: ten.w
  hooks:
    - mnist
test:
  data:
    - jsonl: ten.jsonl
  provider: {batch_size: 5}
  weights: ten.w
  hooks:
    - output: {path: first.csv, format: csv}
loss:
  - target: labels
    name: categorical_crossentropy
EOF
kurc_run mnist-evaluate 0 evaluate ten.yml
check mnist-table diff -u table.txt mnist-evaluate.out
# without truth the hook cannot judge
sed 's/, "labels": \[[^]]*\]//' ten.jsonl >ten-x.jsonl
sed 's/ten.jsonl/ten-x.jsonl/' ten.yml >ten-x.yml
kurc_run mnist-no-truth 1 evaluate ten-x.yml
has mnist-no-truth-message mnist-no-truth.err \
  "the mnist hook needs the truth of output 'labels', and the data has none"

# --- output (csv) ---------------------------------------------------------------
# test hooks run on the first batch (5 samples)
kurc_run output-test 0 test ten.yml
pycheck output-csv-first-batch <<'EOF'
import csv, json, numpy as np
rows = list(csv.reader(open("first.csv", newline="")))
assert rows[0] == ["labels", "labels expected"], rows[0]
assert len(rows) == 6, rows
data = [json.loads(l) for l in open("ten.jsonl")][:5]
for row, d in zip(rows[1:], data):
    x = np.array(d["images"], dtype=np.float64)
    p = np.exp(x - x.max()); p /= p.sum()
    assert abs(float(row[0]) - p[0]) < 1e-6, (row, p[0])
    assert float(row[1]) == d["labels"][0], row
EOF
check output-csv-crlf grep -q $'\r$' first.csv
# on evaluate: every sample, in data order; an extension picks the format
cat >out.yml <<'EOF'
model:
  - input: images
  - dense: 10
    name: scores
  - activation: softmax
    name: labels
evaluate:
  data:
    - jsonl: ten-x.jsonl
  weights: ten.w
  hooks:
    - output: all.csv
    - output: {path: all.pkl}
EOF
kurc_run output-evaluate 0 evaluate out.yml
pycheck output-csv-all <<'EOF'
import csv, pickle, numpy as np
rows = list(csv.reader(open("all.csv", newline="")))
assert rows[0] == ["labels"] and len(rows) == 58, (rows[0], len(rows))
with open("all.pkl", "rb") as f:
    d = pickle.load(f)
assert list(d) == ["result"], d.keys()
got = np.array([float(r[0]) for r in rows[1:]], dtype=np.float32)
assert np.allclose(got, d["result"]["labels"][:, 0], rtol=1e-6), got
EOF

# --- plot -----------------------------------------------------------------------
points 40 train.jsonl 61
points 10 valid.jsonl 62
cat >plot.yml <<'EOF'
model:
  - input: x
  - dense: 4
  - activation: tanh
  - dense: 2
  - activation: softmax
    name: y
train:
  data:
    - jsonl: train.jsonl
  provider: {batch_size: 8}
  stop_when: {epochs: 3}
  log: plot-log
  hooks:
    - plot: loss.png
    - plot:
        loss_per_batch: batch.svg
        loss_per_time: time.png
        throughput_per_time: throughput.png
validate:
  data:
    - jsonl: valid.jsonl
loss:
  - target: y
    name: categorical_crossentropy
EOF
kurc_run plot-train 0 train plot.yml
pycheck plot-pngs <<'EOF'
import struct, zlib
for name in ("loss.png", "time.png", "throughput.png"):
    data = open(name, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", name
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    assert width >= 200 and height >= 150, (name, width, height)
    # the image is drawn: its pixels are not all one colour
    idat = b"".join(data[i + 8:i + 8 + struct.unpack(">I", data[i:i + 4])[0]]
                    for i in range(8, len(data)) if data[i + 4:i + 8] == b"IDAT")
    pixels = zlib.decompress(idat)
    assert len(set(pixels)) > 10, (name, len(set(pixels)))
svg = open("batch.svg").read()
assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "</svg>" in svg
EOF
# without a log there is nothing to plot: one warning for each of its two
# plot hooks, naming it, and training goes on (as Kur did)
sed '/log: plot-log/d' plot.yml >nolog.yml
kurc_run plot-no-log 0 train nolog.yml
count plot-no-log-message plot-no-log.err "the plot hook draws the training log, and training keeps none (give \`train.log\`); it is ignored, as Kur did" 2
# hooks kurc does not run are refused before training
sed 's/    - plot: loss.png/    - slack: {channel: x}/' plot.yml >slack.yml
kurc_run refused-hook 1 train slack.yml
has refused-hook-message refused-hook.err \
  "slack.yml:15:7: the slack hook posts to the network, which kurc does not do"
lacks refused-hook-before-training refused-hook.err "Epoch"
# and so are validation hooks, before the first epoch
sed 's/^  data:$/  hooks: [{slack: {channel: x}}]\n  data:/' plot.yml |
  sed '0,/hooks: \[{slack/{/hooks: \[{slack/d}' >badvalid.yml
kurc_run refused-validation-hook 1 train badvalid.yml
has refused-validation-hook-message refused-validation-hook.err \
  "badvalid.yml:21:12: the slack hook posts to the network, which kurc does not do"
lacks refused-validation-hook-before-training refused-validation-hook.err "Epoch"
# a misspelt hook is the schema's
sed 's/    - plot: loss.png/    - plto: loss.png/' plot.yml >misspelt.yml
kurc_run misspelt-hook 2 train misspelt.yml
has misspelt-hook-message misspelt-hook.err "did you mean 'plot'?"
finish
